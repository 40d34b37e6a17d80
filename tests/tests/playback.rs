//! Playback behaviour on a loopback swarm with rate-limited seeders: what a read makes momod
//! fetch (head and tail first, nothing a reader has left), streams kept for a player's next
//! range, the next episode warmed up, and the disk budget. Checked from outside: the bytes
//! in momod's torrent cache, `momoctl status` and `torrent get`, and the share's answers.
use std::path::{Path, PathBuf};
use std::time::Duration;

use momo_tests::swarm::{Seeded, Seeder, pattern};
use momo_tests::{Daemon, DaemonConfig, curl_get, eventually};
use serde_json::Value;
use tempfile::TempDir;

const MIB: usize = 1024 * 1024;

fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// One movie file of `mib` MiB seeded alone by a seeder uploading `rate` MiB/s (`None`:
/// as fast as it can): (its bytes, the seeder, the torrent). The temp dir must outlive them.
fn seeded_file(
    tmp: &TempDir,
    name: &str,
    mib: usize,
    seed: u8,
    rate: Option<u32>,
) -> (Vec<u8>, Seeder, Seeded) {
    let file = tmp.path().join(name);
    let data = pattern(mib * MIB, seed);
    write(&file, &data);
    let seeder = Seeder::start(rate.map(|r| r * MIB as u32));
    let seeded = seeder.seed(&file);
    (data, seeder, seeded)
}

/// Small head and tail windows, streams kept 1 s: the tests can tell fetched from not.
fn config() -> DaemonConfig {
    DaemonConfig::new()
        .env("MOMO_STREAM_HEAD_MB", "2")
        .env("MOMO_STREAM_TAIL_MB", "2")
        .env("MOMO_STREAM_REUSE_IDLE_S", "1")
}

/// Where momod keeps a single-file torrent's bytes (sparse: holes read as zeros): in a
/// folder of its own, named by its hash.
fn cached_file(d: &Daemon, seeded: &Seeded, name: &str) -> PathBuf {
    let status = d.ctl_json(&["status"]);
    PathBuf::from(status["data_dir"].as_str().unwrap())
        .join("torrents")
        .join(&seeded.info_hash)
        .join(name)
}

/// Whether bytes `range` of the cached copy equal the original.
fn cached(path: &Path, data: &[u8], range: std::ops::Range<usize>) -> bool {
    std::fs::read(path)
        .is_ok_and(|disk| disk.len() == data.len() && disk[range.clone()] == data[range])
}

fn torrent(d: &Daemon, seeded: &Seeded) -> Value {
    d.ctl_json(&["torrent", "get", &seeded.info_hash])
}

fn add_movie(d: &Daemon, title: &str) -> String {
    d.ctl_json(&["movie", "add", "--title", title, "--year", "2024"])["id"].to_string()
}

fn assign(d: &Daemon, item: &str, id: &str, seeded: &Seeded) -> String {
    d.ctl_json(&["assign", item, id, &seeded.magnet])["share_path"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn the_first_open_fetches_head_and_tail_and_nothing_after_the_reader_leaves() {
    let tmp = TempDir::new().unwrap();
    // 2 MiB/s: the whole file would take 20 s.
    let (data, _seeder, seeded) = seeded_file(&tmp, "Probe.Movie.mkv", 40, 3, Some(2));
    let d = Daemon::start(config().env("MOMO_STREAM_PREFETCH_ON_ASSIGN", "false"));
    let id = add_movie(&d, "Probe");
    let path = assign(&d, "movie", &id, &seeded);
    let disk = cached_file(&d, &seeded, "Probe.Movie.mkv");
    assert_eq!(
        torrent(&d, &seeded)["progress_bytes"],
        0,
        "nothing before a read"
    );

    // A player's probe: ten bytes, then it hangs up.
    let (code, body, _) = curl_get(&d.webdav_addr(), &path, Some("0-9"), 30);
    assert_eq!((code, body.as_slice()), (206, &data[..10]));
    let tail = data.len() - 2 * MIB..data.len();
    eventually(
        Duration::from_secs(30),
        "the head and the tail reach the disk after the first open",
        || cached(&disk, &data, 0..2 * MIB) && cached(&disk, &data, tail.clone()),
    );
    // The reader is gone: once its stream closes, fetching stops well short of the file.
    std::thread::sleep(Duration::from_secs(4));
    let before = torrent(&d, &seeded)["progress_bytes"].as_u64().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let after = torrent(&d, &seeded)["progress_bytes"].as_u64().unwrap();
    assert_eq!(before, after, "still fetching with no reader");
    assert!(
        after < (data.len() / 2) as u64,
        "fetched {after} of {} bytes for a 10-byte read",
        data.len()
    );

    // What was not fetched is fetched on demand, correctly.
    let (code, body, _) = curl_get(&d.webdav_addr(), &path, Some("20000000-20999999"), 60);
    assert_eq!(code, 206);
    assert!(body == data[20_000_000..21_000_000]);
}

#[test]
fn a_file_kept_for_the_next_range_fetches_little_until_a_reader_comes_back() {
    let tmp = TempDir::new().unwrap();
    // 4 MiB/s: unchecked, the kept selection would fetch 16 MiB in the 4 s watched.
    let (data, _seeder, seeded) = seeded_file(&tmp, "Linger.Movie.mkv", 48, 7, Some(4));
    let d = Daemon::start(
        config()
            .env("MOMO_STREAM_PREFETCH_ON_ASSIGN", "false")
            .env("MOMO_STREAM_REUSE_IDLE_S", "60"),
    );
    let id = add_movie(&d, "Linger");
    let path = assign(&d, "movie", &id, &seeded);
    let disk = cached_file(&d, &seeded, "Linger.Movie.mkv");
    let addr = d.webdav_addr();

    // A seek: 64 KiB in the middle, then the player hangs up.
    let at = 24 * MIB + 12_345;
    let range = format!("{at}-{}", at + 65_535);
    let (code, body, _) = curl_get(&addr, &path, Some(&range), 30);
    assert_eq!((code, body == data[at..at + 65_536]), (206, true));
    let tail = data.len() - 2 * MIB..data.len();
    eventually(Duration::from_secs(30), "head and tail on disk", || {
        cached(&disk, &data, 0..2 * MIB) && cached(&disk, &data, tail.clone())
    });
    // Nothing reads now, though the file stays selected for the player's next range.
    std::thread::sleep(Duration::from_secs(1));
    let progress = || torrent(&d, &seeded)["progress_bytes"].as_u64().unwrap();
    let before = progress();
    std::thread::sleep(Duration::from_secs(4));
    let fetched = progress() - before;
    assert!(
        fetched <= 2 * MIB as u64,
        "{fetched} bytes fetched in 4 s with no reader (idle rate 128 KiB/s)"
    );

    // The peers are still there: the next range comes at the swarm's speed, not the idle rate.
    let at = 36 * MIB;
    let range = format!("{at}-{}", at + 4 * MIB - 1);
    let started = std::time::Instant::now();
    let (code, body, _) = curl_get(&addr, &path, Some(&range), 30);
    assert_eq!((code, body == data[at..at + 4 * MIB]), (206, true));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "4 MiB took {:?}: still held at the idle rate",
        started.elapsed()
    );
}

#[test]
fn an_assigned_file_gets_its_head_and_tail_then_the_torrent_idles() {
    let tmp = TempDir::new().unwrap();
    let (data, _seeder, seeded) = seeded_file(&tmp, "Assigned.Movie.mkv", 40, 4, Some(2));
    let d = Daemon::start(config());
    let id = add_movie(&d, "Assigned");
    assign(&d, "movie", &id, &seeded);
    let disk = cached_file(&d, &seeded, "Assigned.Movie.mkv");
    let tail = data.len() - 2 * MIB..data.len();
    eventually(
        Duration::from_secs(30),
        "prefetch on assign brings the head and the tail, with no read",
        || cached(&disk, &data, 0..2 * MIB) && cached(&disk, &data, tail.clone()),
    );
    // start_paused (the default): back to idle once the prefetch is done.
    eventually(Duration::from_secs(20), "the torrent pauses again", || {
        torrent(&d, &seeded)["state"] == "paused"
    });
    let t = torrent(&d, &seeded);
    assert!(
        t["progress_bytes"].as_u64().unwrap() < (data.len() / 2) as u64,
        "a prefetch fetched most of the file: {t}"
    );
    assert!(t["disk_bytes"].as_u64().unwrap() >= 4 * MIB as u64, "{t}");
}

#[test]
fn a_continuing_range_is_served_by_the_stream_already_open() {
    let tmp = TempDir::new().unwrap();
    let (data, _seeder, seeded) = seeded_file(&tmp, "Reuse.Movie.mkv", 8, 5, None);
    let d = Daemon::start(config().env("MOMO_STREAM_REUSE_IDLE_S", "30"));
    let id = add_movie(&d, "Reuse");
    let path = assign(&d, "movie", &id, &seeded);
    let addr = d.webdav_addr();
    let counters = || {
        let s = d.ctl_json(&["status"]);
        (
            s["streams_opened"].as_u64().unwrap(),
            s["streams_reused"].as_u64().unwrap(),
        )
    };
    assert_eq!(counters(), (0, 0));

    let (code, body, _) = curl_get(&addr, &path, Some("0-1048575"), 30);
    assert_eq!((code, body == data[..MIB]), (206, true));
    assert_eq!(counters(), (1, 0));
    // The player's next range starts where the last ended: the same stream serves it.
    let (code, body, _) = curl_get(&addr, &path, Some("1048576-3145727"), 30);
    assert_eq!((code, body == data[MIB..3 * MIB]), (206, true));
    assert_eq!(counters(), (1, 1));
    // A seek elsewhere opens a new one; the kept stream waits at 3 MiB.
    let (code, body, _) = curl_get(&addr, &path, Some("6000000-6000099"), 30);
    assert_eq!((code, body == data[6_000_000..6_000_100]), (206, true));
    assert_eq!(counters(), (2, 1));
    let (code, body, _) = curl_get(&addr, &path, Some("3145728-"), 30);
    assert_eq!((code, body == data[3 * MIB..]), (206, true));
    assert_eq!(counters(), (2, 2));
}

#[test]
fn the_next_episode_is_warmed_up_when_one_is_read_to_its_end() {
    let tmp = TempDir::new().unwrap();
    // Each episode in a torrent of its own: the warm-up crosses torrents.
    let ep1 = tmp.path().join("one/Show.S01E01.mkv");
    let ep2 = tmp.path().join("two/Show.S01E02.mkv");
    let (data1, data2) = (pattern(6 * MIB, 6), pattern(30 * MIB, 7));
    write(&ep1, &data1);
    write(&ep2, &data2);
    let seeder = Seeder::start(Some(4 * MIB as u32));
    let (seeded1, seeded2) = (seeder.seed(&ep1), seeder.seed(&ep2));
    let d = Daemon::start(config().env("MOMO_STREAM_PREFETCH_ON_ASSIGN", "false"));
    let show = d.ctl_json(&["show", "add", "--title", "Show", "--episodes", "1:2"]);
    let show = d.ctl_json(&["show", "get", &show["id"].to_string()]);
    let episodes = &show["seasons"][0]["episodes"];
    let path1 = assign(&d, "episode", &episodes[0]["id"].to_string(), &seeded1);
    assign(&d, "episode", &episodes[1]["id"].to_string(), &seeded2);
    assert_eq!(torrent(&d, &seeded2)["progress_bytes"], 0);

    let (code, body, _) = curl_get(&d.webdav_addr(), &path1, None, 60);
    assert_eq!((code, body == data1), (200, true));
    let disk2 = cached_file(&d, &seeded2, "Show.S01E02.mkv");
    let tail = data2.len() - 2 * MIB..data2.len();
    eventually(
        Duration::from_secs(30),
        "the next episode's head and tail are fetched",
        || cached(&disk2, &data2, 0..2 * MIB) && cached(&disk2, &data2, tail.clone()),
    );
    let t = torrent(&d, &seeded2);
    assert!(
        t["progress_bytes"].as_u64().unwrap() < (data2.len() / 2) as u64,
        "the warm-up fetched most of the next episode: {t}"
    );
}

#[test]
fn the_disk_budget_evicts_what_nobody_reads_and_evicted_data_reads_back() {
    let tmp = TempDir::new().unwrap();
    let seeder = Seeder::start(None);
    let mut movies = Vec::new();
    for (i, name) in ["Alpha", "Beta", "Gamma"].into_iter().enumerate() {
        let file = tmp.path().join(format!("{name}.mkv"));
        let data = pattern(4 * MIB, 10 + i as u8);
        write(&file, &data);
        movies.push((name, seeder.seed(&file), data));
    }
    // Room for one movie and a half. A read that reaches evicted data waits for the
    // torrent to be checked again and the piece fetched anew: on a busy machine that can
    // take longer than the harness's 15 s read timeout, which would cut the response.
    let d = Daemon::start(
        config()
            .env("MOMO_TORRENT_CACHE_MAX_MB", "6")
            .env("MOMO_TORRENT_READ_TIMEOUT_S", "60")
            .env("MOMO_STREAM_PREFETCH_ON_ASSIGN", "false"),
    );
    let addr = d.webdav_addr();
    let mut paths = Vec::new();
    for (name, seeded, _) in &movies {
        let id = add_movie(&d, name);
        paths.push(assign(&d, "movie", &id, seeded));
    }
    let budget = 6 * MIB as u64;
    let status = d.ctl_json(&["status"]);
    assert_eq!(status["cache_max_bytes"], budget);

    for (i, (_, seeded, data)) in movies.iter().enumerate() {
        let (code, body, _) = curl_get(&addr, &paths[i], None, 60);
        assert_eq!((code, body == *data), (200, true), "movie {i}");
        // Once the reader's stream closes, the older movies are evicted down to the budget;
        // the one just read stays.
        eventually(
            Duration::from_secs(20),
            "the cache goes back under budget",
            || {
                d.ctl_json(&["status"])["cache_used_bytes"]
                    .as_u64()
                    .unwrap()
                    <= budget
            },
        );
        assert_ne!(torrent(&d, seeded)["state"], "evicted");
    }
    let (_, first, first_data) = &movies[0];
    assert_eq!(torrent(&d, first)["state"], "evicted");
    assert!(
        d.ctl_json(&["status"])["evicted_torrents"]
            .as_u64()
            .unwrap()
            >= 2
    );

    // An evicted movie plays again, byte for byte, fetched anew.
    let (code, body, _) = curl_get(&addr, &paths[0], Some("1000000-3999999"), 60);
    assert_eq!(code, 206);
    assert!(body == first_data[1_000_000..4_000_000]);
    assert_ne!(torrent(&d, first)["state"], "evicted");
    eventually(
        Duration::from_secs(20),
        "under budget after the re-read",
        || {
            d.ctl_json(&["status"])["cache_used_bytes"]
                .as_u64()
                .unwrap()
                <= budget
        },
    );
}

#[test]
fn a_long_read_stays_near_the_budget_and_evicted_pieces_read_back() {
    let tmp = TempDir::new().unwrap();
    // 4 MiB/s: the read takes about 12 s, long enough for the budget to act during it.
    let (data, _seeder, seeded) = seeded_file(&tmp, "Long.Movie.mkv", 48, 20, Some(4));
    let d = Daemon::start(
        config()
            .env("MOMO_TORRENT_CACHE_MAX_MB", "8")
            .env("MOMO_STREAM_PREFETCH_ON_ASSIGN", "false")
            .env("RUST_LOG", "info,momod::stream=debug"),
    );
    let id = add_movie(&d, "Long");
    let path = assign(&d, "movie", &id, &seeded);
    let addr = d.webdav_addr();

    let reading = {
        let (addr, path) = (addr.clone(), path.clone());
        std::thread::spawn(move || curl_get(&addr, &path, None, 120))
    };
    let mut peak = 0;
    while !reading.is_finished() {
        let used = d.ctl_json(&["status"])["cache_used_bytes"]
            .as_u64()
            .unwrap();
        peak = peak.max(used);
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, body, _) = reading.join().unwrap();
    assert_eq!(
        (code, body == data),
        (200, true),
        "the whole file, byte for byte ({} bytes came)\n{}",
        body.len(),
        d.log()
    );
    // Without eviction all 48 MiB would be on disk at the end.
    assert!(
        peak < 24 * MIB as u64,
        "peak disk use {peak} bytes for an 8 MiB budget"
    );
    let status = d.ctl_json(&["status"]);
    assert!(
        status["evicted_bytes"].as_u64().unwrap() >= 16 * MIB as u64,
        "{status}"
    );
    assert_eq!(
        torrent(&d, &seeded)["state"],
        "live",
        "pieces went, not the torrent"
    );

    // The start of the file was evicted long ago: it reads back, fetched again.
    let disk = cached_file(&d, &seeded, "Long.Movie.mkv");
    assert!(
        !cached(&disk, &data, 0..MIB),
        "the first MiB is still on disk"
    );
    let (code, body, _) = curl_get(&addr, &path, Some("0-4194303"), 60);
    assert_eq!(code, 206);
    assert!(body == data[..4 * MIB], "evicted data came back different");
}
