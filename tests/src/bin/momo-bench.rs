//! momo-bench: speed and memory of the real momod, measured from outside.
//!
//! ```sh
//! cargo build --release --workspace
//! target/release/momo-bench library            # PROPFIND latency and RSS, large library
//! ```
//!
//! `library`: fills a library (default 10,000 movies and 500 shows × 60 episodes, every item
//! with a local source) by writing rows into the daemon's SQLite file between two runs (the
//! fill is not what is measured), then times PROPFIND Depth 1 on `/Movies/`, one show and one
//! season over loopback and reads momod's RSS from /proc.
use std::path::Path;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use momo_tests::{Daemon, DaemonConfig, url_path};

struct Args {
    movies: usize,
    shows: usize,
    episodes_per_show: usize,
    requests: usize,
}

fn parse_args() -> Result<(String, Args), String> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_else(|| "--help".into());
    let mut a = Args {
        movies: 10_000,
        shows: 500,
        episodes_per_show: 60,
        requests: 100,
    };
    while let Some(flag) = args.next() {
        let mut value = || -> Result<usize, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{flag} needs a number"))
        };
        match flag.as_str() {
            "--movies" => a.movies = value()?,
            "--shows" => a.shows = value()?,
            "--episodes-per-show" => a.episodes_per_show = value()?,
            "--requests" => a.requests = value()?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok((command, a))
}

fn main() {
    let (command, args) = match parse_args() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("momo-bench: {e}");
            std::process::exit(2);
        }
    };
    match command.as_str() {
        "library" => library(&args),
        _ => {
            eprintln!(
                "usage: momo-bench library [--movies N] [--shows N] [--episodes-per-show N] [--requests N]\n\
                 Build first: cargo build --release --workspace (the bench runs target/release/momod)"
            );
            std::process::exit(if command == "--help" { 0 } else { 2 });
        }
    }
}

fn library(args: &Args) {
    let tmp = tempfile::tempdir().unwrap();
    let media = tmp.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    let video = media.join("video.mkv");
    std::fs::write(&video, vec![7u8; 1 << 20]).unwrap();
    let data_dir = tmp.path().join("data");
    let config = DaemonConfig::new().env("MOMO_LIBRARY_LOCAL_ROOTS", media.display().to_string());

    // First run creates and migrates the database; then the rows go in while it is down.
    let mut d = Daemon::start_in(&data_dir, config.clone());
    d.stop();
    let started = Instant::now();
    fill(&data_dir.join("library.db"), &video, args);
    let episodes = args.shows * args.episodes_per_show;
    println!(
        "filled {} movies, {} shows, {episodes} episodes, all with sources, in {:.1} s",
        args.movies,
        args.shows,
        started.elapsed().as_secs_f64()
    );

    let d = Daemon::start_in(&data_dir, config);
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

/// Writes the rows in one transaction with prepared statements.
fn fill(db: &Path, video: &Path, args: &Args) {
    let mut conn = SqliteConnection::establish(db.to_str().unwrap()).expect("open library.db");
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
