//! momo-bench: speed and memory of the real momod, measured from outside.
//!
//! ```sh
//! cargo build --release --workspace
//! target/release/momo-bench library            # PROPFIND latency and RSS, large library
//! target/release/momo-bench soak               # 500 clients and hostile connections, 3 min
//! ```
//!
//! `stream`: a loopback swarm (librqbit seeders in this process) and the real momod:
//! cold open to first byte, warm first byte, seeks into data not downloaded yet (the seeder
//! is rate-limited so it cannot be), sequential MB/s through WebDAV next to a raw librqbit
//! stream of the same file from the same swarm, and 16 concurrent streams.
//!
//! `library`: fills a library (default 10,000 movies and 500 shows × 60 episodes, every item
//! with a local source) by writing rows into the daemon's SQLite file between two runs (the
//! fill is not what is measured), then times PROPFIND Depth 1 on `/Movies/`, one show and one
//! season over loopback and reads momod's RSS from /proc.
//!
//! `compare`: one file from one shaped swarm (a network namespace behind a tbf-limited veth,
//! opentracker and three capped aria2c seeders) served in turn by momod, rqbit and
//! webtorrent-cli: cold add, first byte, seeks, a simulated player, sequential speed, the
//! next episode and the disk budget, with ratios (see `compare.rs`).
//!
//! `intro`: skip-intro detection of a synthetic season from local files and from a
//! loopback swarm: seconds per episode, bytes fetched per episode, accuracy (see `intro.rs`).
//!
//! `soak`: the same kind of library behind Basic auth, hundreds of keep-alive clients
//! listing, probing and reading at random, and at the same time idle, slow-header and
//! slow-reader connections holding descriptors; reports errors, latency, how long the
//! daemon let the hostile connections live, and momod's RSS and descriptors before, at the
//! peak and after (see `soak.rs`).
mod compare;
mod intro;
mod soak;

use std::path::Path;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use momo_tests::swarm::{Seeder, pattern};
use momo_tests::{Daemon, DaemonConfig, url_path};

#[derive(Parser)]
#[command(
    name = "momo-bench",
    about = "Speed and memory of the real momod, measured from outside",
    after_help = "Build first: cargo build --release --workspace (the bench runs target/release/momod)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// PROPFIND latency and RSS for a large library.
    Library(LibraryArgs),
    /// Streaming from a loopback swarm: first byte, seeks, throughput, concurrent streams.
    Stream(StreamArgs),
    /// Many clients and hostile connections for a while: errors, latency, RSS, descriptors.
    Soak(soak::SoakArgs),
    /// momod, rqbit and webtorrent side by side on one shaped swarm (root; scripts/bench-deps).
    Compare(compare::CompareArgs),
    /// Skip-intro detection of a season: time per episode, bytes fetched from a swarm.
    Intro(intro::IntroArgs),
}

#[derive(clap::Args)]
struct LibraryArgs {
    #[arg(long, default_value_t = 10_000)]
    movies: usize,
    #[arg(long, default_value_t = 500)]
    shows: usize,
    #[arg(long, default_value_t = 60)]
    episodes_per_show: usize,
    /// Subtitles per item (English, German, French, …), listed beside each video.
    #[arg(long, default_value_t = 2)]
    subtitles_per_item: usize,
    /// Timed requests per path.
    #[arg(long, default_value_t = 100)]
    requests: usize,
}

#[derive(clap::Args)]
struct StreamArgs {
    /// Warm first-byte requests (at most 50).
    #[arg(long, default_value_t = 100)]
    requests: usize,
}

fn main() {
    match Cli::parse().command {
        Command::Library(args) => library(&args),
        Command::Stream(args) => stream(&args),
        Command::Soak(args) => soak::soak(&args),
        Command::Compare(args) => compare::compare(&args),
        Command::Intro(args) => intro::intro(&args),
    }
}

/// How many items `fill` writes.
struct LibrarySize {
    movies: usize,
    shows: usize,
    episodes_per_show: usize,
    subtitles_per_item: usize,
}

/// Starts momod on `data_dir` once (it creates and migrates the database), writes a library
/// of `size` into it while it is down (every item with `video` as its local source; `config`
/// must allow `video`'s folder as a local root), and starts it again.
fn start_filled(data_dir: &Path, video: &Path, size: &LibrarySize, config: DaemonConfig) -> Daemon {
    let mut d = Daemon::start_in(data_dir, config.clone());
    d.stop();
    let started = Instant::now();
    fill(data_dir, video, size);
    println!(
        "filled {} movies, {} shows, {} episodes, all with sources and {} subtitles each, in {:.1} s",
        size.movies,
        size.shows,
        size.shows * size.episodes_per_show,
        size.subtitles_per_item,
        started.elapsed().as_secs_f64()
    );
    Daemon::start_in(data_dir, config)
}

fn library(args: &LibraryArgs) {
    let tmp = tempfile::tempdir().unwrap();
    let media = tmp.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    let video = media.join("video.mkv");
    std::fs::write(&video, vec![7u8; 1 << 20]).unwrap();
    let config = DaemonConfig::new().env("MOMO_LIBRARY_LOCAL_ROOTS", media.display().to_string());
    let size = LibrarySize {
        movies: args.movies,
        shows: args.shows,
        episodes_per_show: args.episodes_per_show,
        subtitles_per_item: args.subtitles_per_item,
    };
    let d = start_filled(&tmp.path().join("data"), &video, &size, config);
    let base = format!("http://{}", d.webdav_addr());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let show = "/TV Shows/Show 00042 (2000)/";
    let season = "/TV Shows/Show 00042 (2000)/Season 01/";

    let propfind = |path: &str| {
        let url = format!("{base}{}", url_path(path));
        let client = client.clone();
        rt.block_on(async move {
            let t = Instant::now();
            let resp = client
                .request(reqwest::Method::from_bytes(b"PROPFIND").unwrap(), &url)
                .header("Depth", "1")
                .send()
                .await
                .expect("PROPFIND");
            assert_eq!(resp.status().as_u16(), 207, "{url}");
            let body = resp.bytes().await.expect("body");
            (t.elapsed(), body.len())
        })
    };

    let (cold, size) = propfind("/Movies/");
    let responses = size; // bytes
    println!("\nPROPFIND Depth 1 (over loopback, full body read)");
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>12}",
        "path", "p50 ms", "p95 ms", "max ms", "body bytes"
    );
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>12}",
        "/Movies/ (cold: builds the tree)",
        "",
        "",
        ms(cold),
        responses
    );
    for path in ["/Movies/", show, season, "/"] {
        let mut times: Vec<Duration> = Vec::with_capacity(args.requests);
        let mut bytes = 0;
        for _ in 0..args.requests {
            let (t, n) = propfind(path);
            times.push(t);
            bytes = n;
        }
        times.sort();
        let p =
            |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
        println!(
            "{:<34} {:>10} {:>10} {:>10} {:>12}",
            path,
            ms(p(0.50)),
            ms(p(0.95)),
            ms(*times.last().unwrap()),
            bytes
        );
    }
    let (rss, peak) = rss(d.pid());
    println!(
        "\nmomod memory: RSS {:.1} MB, peak RSS {:.1} MB",
        rss as f64 / 1e6,
        peak as f64 / 1e6
    );
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// (VmRSS, VmHWM) in bytes.
fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Writes the rows in one transaction with prepared statements: movies `Movie NNNNN: The
/// Sequel?`, shows `Show NNNNN` of 3 seasons, all on `video`, each with
/// `subtitles_per_item` subtitles (one stored file that all of them share).
fn fill(data_dir: &Path, video: &Path, args: &LibrarySize) {
    let db = data_dir.join("library.db");
    let mut conn = SqliteConnection::establish(db.to_str().unwrap()).expect("open library.db");
    // One stored file per position ("the first subtitle of every item" shares one): an item
    // has a content once, and a listing checks the file is there.
    let shas: Vec<String> = (0..args.subtitles_per_item)
        .map(|n| format!("{:064x}", n + 1))
        .collect();
    for sha in &shas {
        std::fs::write(
            data_dir.join("subtitles").join(format!("{sha}.srt")),
            "1\n00:00:01,000 --> 00:00:02,000\nHello\n",
        )
        .unwrap();
    }
    let subtitles = |conn: &mut SqliteConnection, column: &str, id: i64| {
        let languages = ["en", "de", "fr", "es", "it", "nl"].iter().cycle();
        for (sha, lang) in shas.iter().zip(languages) {
            diesel::sql_query(format!(
                "INSERT INTO subtitles ({column}, language, format, origin, sha256, size, source_name, created_at) \
                 VALUES (?, ?, 'srt', 'local', ?, 40, 'bench.srt', ?)"
            ))
            .bind::<diesel::sql_types::BigInt, _>(id)
            .bind::<diesel::sql_types::Text, _>(*lang)
            .bind::<diesel::sql_types::Text, _>(sha)
            .bind::<diesel::sql_types::BigInt, _>(1_760_000_000i64)
            .execute(conn)
            .unwrap();
        }
    };
    conn.batch_execute("PRAGMA foreign_keys = ON; BEGIN IMMEDIATE;")
        .unwrap();
    let video = video.to_str().unwrap();
    let size = std::fs::metadata(video).unwrap().len() as i64;
    let now = 1_760_000_000i64;
    use diesel::sql_types::{BigInt, Integer, Text};
    for i in 0..args.movies as i64 {
        diesel::sql_query(
            "INSERT INTO movies (id, tmdb_id, title, year, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind::<BigInt, _>(i + 1)
        .bind::<BigInt, _>(100_000 + i)
        .bind::<Text, _>(format!("Movie {i:05}: The Sequel?"))
        .bind::<Integer, _>(1950 + (i % 75) as i32)
        .bind::<BigInt, _>(now)
        .execute(&mut conn)
        .unwrap();
        assign(&mut conn, "movie_id", i + 1, video, size, now + i);
        subtitles(&mut conn, "movie_id", i + 1);
    }
    let mut episode_id = 0i64;
    for s in 0..args.shows as i64 {
        diesel::sql_query("INSERT INTO shows (id, tmdb_id, title, year, specials, created_at) VALUES (?, ?, ?, 2000, 0, ?)")
            .bind::<BigInt, _>(s + 1)
            .bind::<BigInt, _>(200_000 + s)
            .bind::<Text, _>(format!("Show {s:05}"))
            .bind::<BigInt, _>(now)
            .execute(&mut conn)
            .unwrap();
        let seasons = 3i64;
        let per_season = (args.episodes_per_show as i64 + seasons - 1) / seasons;
        for season in 1..=seasons {
            let season_id = s * 10 + season;
            diesel::sql_query("INSERT INTO seasons (id, show_id, season_number) VALUES (?, ?, ?)")
                .bind::<BigInt, _>(season_id)
                .bind::<BigInt, _>(s + 1)
                .bind::<Integer, _>(season as i32)
                .execute(&mut conn)
                .unwrap();
            for e in 1..=per_season {
                if (season - 1) * per_season + e > args.episodes_per_show as i64 {
                    break;
                }
                episode_id += 1;
                diesel::sql_query("INSERT INTO episodes (id, season_id, episode_number, name, air_date) VALUES (?, ?, ?, ?, '2000-01-01')")
                    .bind::<BigInt, _>(episode_id)
                    .bind::<BigInt, _>(season_id)
                    .bind::<Integer, _>(e as i32)
                    .bind::<Text, _>(format!("Chapter {e}: Where / When?"))
                    .execute(&mut conn)
                    .unwrap();
                assign(
                    &mut conn,
                    "episode_id",
                    episode_id,
                    video,
                    size,
                    now + episode_id,
                );
                subtitles(&mut conn, "episode_id", episode_id);
            }
        }
    }
    conn.batch_execute("COMMIT;").unwrap();
}

fn assign(conn: &mut SqliteConnection, column: &str, id: i64, path: &str, size: i64, at: i64) {
    use diesel::sql_types::{BigInt, Text};
    diesel::sql_query(format!(
        "INSERT INTO assignments ({column}, kind, file_path, file_size, is_active, created_at) VALUES (?, 'local', ?, ?, 1, ?)"
    ))
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(path)
    .bind::<BigInt, _>(size)
    .bind::<BigInt, _>(at)
    .execute(conn)
    .unwrap();
}

// ---------------------------------------------------------------------- stream

const MIB: usize = 1024 * 1024;

fn percentile(times: &mut [Duration], q: f64) -> Duration {
    times.sort();
    times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1]
}

fn stream(args: &StreamArgs) {
    let tmp = tempfile::tempdir().unwrap();
    // One file per measurement, so each starts cold.
    let probe_file = tmp.path().join("Probe.Movie.mkv");
    std::fs::write(&probe_file, pattern(64 * MIB, 4)).unwrap();
    let seq_file = tmp.path().join("Sequential.Movie.mkv");
    let seek_file = tmp.path().join("Seek.Movie.mkv");
    let par_file = tmp.path().join("Parallel.Movie.mkv");
    std::fs::write(&seq_file, pattern(256 * MIB, 1)).unwrap();
    std::fs::write(&seek_file, pattern(512 * MIB, 2)).unwrap();
    std::fs::write(&par_file, pattern(256 * MIB, 3)).unwrap();
    let fast = Seeder::start(None);
    // 16 MiB/s: seeks land where nothing has arrived yet.
    let slow = Seeder::start(Some(16 * MIB as u32));
    let probe = fast.seed(&probe_file);
    let seq = fast.seed(&seq_file);
    let par = fast.seed(&par_file);
    let seek = slow.seed(&seek_file);

    let d = Daemon::start(
        DaemonConfig::new()
            .env("MOMO_TORRENT_READ_TIMEOUT_S", "60")
            .env("RUST_LOG", "warn"),
    );
    let base = format!("http://{}", d.webdav_addr());
    let mut paths = Vec::new();
    let files = [
        ("Sequential", &seq.magnet),
        ("Seek", &seek.magnet),
        ("Parallel", &par.magnet),
        ("Probe", &probe.magnet),
    ];
    for (title, magnet) in files {
        let id =
            d.ctl_json(&["movie", "add", "--title", title, "--year", "2020"])["id"].to_string();
        let a = d.ctl_json(&["assign", "movie", &id, magnet]);
        paths.push(format!(
            "{base}{}",
            url_path(a["share_path"].as_str().unwrap())
        ));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();

    // Time to the first body byte of a ranged GET, and the whole range read.
    let ranged = |url: String, start: usize, len: usize| {
        let client = client.clone();
        async move {
            let t = Instant::now();
            let mut resp = client
                .get(&url)
                .header("Range", format!("bytes={start}-{}", start + len - 1))
                .send()
                .await
                .expect("GET");
            assert_eq!(resp.status().as_u16(), 206, "{url}");
            let mut first = None;
            let mut got = 0;
            while let Some(chunk) = resp.chunk().await.expect("body") {
                if first.is_none() {
                    first = Some(t.elapsed());
                }
                got += chunk.len();
            }
            assert_eq!(got, len, "{url} at {start}");
            (first.unwrap(), t.elapsed())
        }
    };

    println!("loopback swarm, librqbit seeders in-process; momod release build, start_paused\n");
    let (cold, _) = rt.block_on(ranged(paths[3].clone(), 0, 64 * 1024));
    let mut warm: Vec<Duration> = (0..args.requests.min(50))
        .map(|_| rt.block_on(ranged(paths[3].clone(), 0, 64 * 1024)).0)
        .collect();
    // Seeks: spread over the slow file, each a 256 KiB read at a fresh place.
    let n = 20;
    let mut seeks: Vec<Duration> = (0..n)
        .map(|i| {
            let start = (i * 997 + 13) % n * (512 * MIB / n) + 4096 * i;
            rt.block_on(ranged(paths[1].clone(), start, 256 * 1024)).0
        })
        .collect();
    // Sequential: the whole (cold) file through WebDAV.
    let (_, seq_took) = rt.block_on(ranged(paths[0].clone(), 0, 256 * MIB));
    let webdav_mbps = 256.0 / seq_took.as_secs_f64();
    // The same file from the same swarm through a raw librqbit stream.
    let raw_mbps = rt.block_on(raw_stream(&seq.magnet, fast.addr, tmp.path()));
    // 16 concurrent streams of 8 MiB each on a cold file.
    let t = Instant::now();
    let jobs: Vec<_> = (0..16)
        .map(|k| rt.spawn(ranged(paths[2].clone(), k * 16 * MIB + 777, 8 * MIB)))
        .collect();
    let mut firsts = Vec::new();
    for j in jobs {
        firsts.push(rt.block_on(j).unwrap().0);
    }
    let par_took = t.elapsed();

    println!("{:<52} {:>10}", "measure", "value");
    println!("{:<52} {:>10}", "cold open -> first byte (ms)", ms(cold));
    println!(
        "{:<52} {:>10}",
        "warm first byte p50 (ms)",
        ms(percentile(&mut warm, 0.5))
    );
    println!(
        "{:<52} {:>10}",
        "warm first byte p95 (ms)",
        ms(percentile(&mut warm, 0.95))
    );
    println!(
        "{:<52} {:>10}",
        "seek into undownloaded data, first byte p50 (ms)",
        ms(percentile(&mut seeks, 0.5))
    );
    println!(
        "{:<52} {:>10}",
        "seek into undownloaded data, first byte p95 (ms)",
        ms(percentile(&mut seeks, 0.95))
    );
    println!(
        "{:<52} {:>10.1}",
        "sequential 256 MiB via WebDAV (MiB/s)", webdav_mbps
    );
    println!(
        "{:<52} {:>10.1}",
        "sequential 256 MiB raw librqbit stream (MiB/s)", raw_mbps
    );
    println!(
        "{:<52} {:>10}",
        "16 concurrent 8 MiB streams: all done (ms)",
        ms(par_took)
    );
    println!(
        "{:<52} {:>10.1}",
        "16 concurrent streams: aggregate (MiB/s)",
        128.0 / par_took.as_secs_f64()
    );
    println!(
        "{:<52} {:>10}",
        "16 concurrent streams: worst first byte (ms)",
        ms(*firsts.iter().max().unwrap())
    );
    let (rss, peak) = rss(d.pid());
    println!(
        "{:<52} {:>10.1}",
        "momod RSS after the runs (MB)",
        rss as f64 / 1e6
    );
    println!("{:<52} {:>10.1}", "momod peak RSS (MB)", peak as f64 / 1e6);
}

/// MiB/s of reading the whole file of `magnet` through librqbit's own stream, from a fresh
/// session in this process (same swarm, same selection trick as momod).
async fn raw_stream(magnet: &str, peer: std::net::SocketAddr, dir: &Path) -> f64 {
    use librqbit::{AddTorrent, AddTorrentOptions, Session, SessionOptions};
    use tokio::io::AsyncReadExt;
    let session = Session::new_with_opts(
        dir.join("raw-client"),
        SessionOptions {
            dht: None,
            persistence: None,
            disable_trackers: true,
            disable_local_service_discovery: true,
            runtime_worker_threads: Some(64),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let handle = session
        .add_torrent(
            AddTorrent::from_url(magnet),
            Some(AddTorrentOptions {
                initial_peers: Some(vec![peer]),
                only_files: Some(vec![0]),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .into_handle()
        .unwrap();
    handle.wait_until_initialized().await.unwrap();
    let t = Instant::now();
    let mut stream = handle.clone().stream(0).await.unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        total += n;
    }
    let took = t.elapsed();
    session.stop().await;
    total as f64 / MIB as f64 / took.as_secs_f64()
}
