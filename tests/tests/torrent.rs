//! Torrent sources end to end: a real swarm on loopback (a seeding librqbit session), the
//! real momod and momoctl, and real clients (ffprobe/ffmpeg, rclone, curl) over WebDAV.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use momo_tests::swarm::{Seeded, Seeder, pattern};
use momo_tests::tmdb::FakeTmdb;
use momo_tests::{Daemon, DaemonConfig, curl_get, run, stderr};
use serde_json::Value;
use tempfile::TempDir;

fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// A movie release folder: a real video, a sample and an .nfo.
fn movie_release(dir: &Path) -> PathBuf {
    let release = dir.join("Test.Pattern.2024.1080p.WEB");
    let video = release.join("Test.Pattern.2024.1080p.WEB.mkv");
    std::fs::create_dir_all(&release).unwrap();
    momo_tests::make_test_video(&video, 20);
    write(
        &release.join("Sample/test.pattern.sample.mkv"),
        &pattern(300_000, 9),
    );
    write(&release.join("Test.Pattern.nfo"), b"release notes");
    release
}

fn add_movie(d: &Daemon, title: &str) -> String {
    d.ctl_json(&["movie", "add", "--title", title, "--year", "2024"])["id"].to_string()
}

fn assert_fails(d: &Daemon, args: &[&str], code: &str) -> String {
    let out = d.ctl(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert!(err.contains(code), "{args:?}: expected {code}: {err}");
    err
}

#[test]
fn a_movie_streams_from_the_swarm() {
    let tmp = TempDir::new().unwrap();
    let release = movie_release(tmp.path());
    let seeder = Seeder::start(None);
    let seeded = seeder.seed(&release);
    // No prefetch after assign here: what is checked below is that PROPFIND and HEAD
    // alone never wake the torrent.
    let d = Daemon::start(DaemonConfig::new().env("MOMO_STREAM_PREFETCH_ON_ASSIGN", "false"));
    let addr = d.webdav_addr();

    // What the torrent holds, without adding it.
    let files = d.ctl_json(&["torrent", "files", &seeded.magnet]);
    assert_eq!(files["info_hash"], seeded.info_hash.as_str());
    let paths: Vec<&str> = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 3, "{files}");
    assert!(
        paths.contains(&"Test.Pattern.2024.1080p.WEB.mkv")
            && paths.contains(&"Sample/test.pattern.sample.mkv")
    );
    assert_eq!(
        d.ctl_json(&["torrent", "ls"]).as_array().unwrap().len(),
        0,
        "files adds nothing"
    );

    // The sample and the .nfo are never picked.
    let id = add_movie(&d, "Test Pattern");
    let a = d.ctl_json(&[
        "assign",
        "movie",
        &id,
        &seeded.magnet,
        "--resolution",
        "1080p",
        "--source",
        "WEB",
    ]);
    assert_eq!(a["file_path"], "Test.Pattern.2024.1080p.WEB.mkv");
    assert_eq!(a["info_hash"], seeded.info_hash.as_str());
    let share_path = a["share_path"].as_str().unwrap().to_string();
    assert_eq!(
        share_path,
        "/Movies/Test Pattern (2024)/Test Pattern (2024).mkv"
    );

    // Listings and HEAD do not wake the torrent (start_paused is the default).
    let listing = run(
        "curl",
        &[
            "-s",
            "-X",
            "PROPFIND",
            "-H",
            "Depth: 1",
            &format!("http://{addr}/Movies/Test%20Pattern%20%282024%29/"),
        ],
    );
    assert!(String::from_utf8_lossy(&listing.stdout).contains("Test Pattern (2024).mkv"));
    let head = run(
        "curl",
        &[
            "-s",
            "-I",
            &format!("http://{addr}{}", momo_tests::url_path(&share_path)),
        ],
    );
    assert!(String::from_utf8_lossy(&head.stdout).contains("200 OK"));
    let t = d.ctl_json(&["torrent", "get", &seeded.info_hash]);
    assert_eq!(t["state"], "paused", "{t}");
    assert_eq!(t["progress_bytes"], 0, "{t}");

    // Real players.
    let url = format!("http://{addr}{}", momo_tests::url_path(&share_path));
    momo_tests::assert_plays(&url, 20.0, 13, &tmp.path().join("frame.png"));

    // Byte-identical ranges through rclone.
    let original = std::fs::read(release.join("Test.Pattern.2024.1080p.WEB.mkv")).unwrap();
    let remote = format!(":webdav:{}", share_path.trim_start_matches('/'));
    let len = original.len();
    momo_tests::assert_rclone_ranges(
        &addr,
        "",
        "",
        &remote,
        &original,
        &[(0, 1000), (len / 2, 65_536), (len - 777, 777)],
    );
    let t = d.ctl_json(&["torrent", "get", &seeded.info_hash]);
    assert_eq!(t["state"], "live");
    assert_eq!(t["used_by"][0]["share_path"], share_path.as_str());
}

#[test]
fn file_choice_by_name_index_and_ambiguity() {
    let tmp = TempDir::new().unwrap();
    let release = tmp.path().join("Double.Feature");
    write(&release.join("Part.One.mkv"), &pattern(200_000, 1));
    write(&release.join("Part.Two.mp4"), &pattern(300_000, 2));
    write(&release.join("info.txt"), b"x");
    let seeder = Seeder::start(None);
    let seeded = seeder.seed(&release);
    let d = Daemon::start(DaemonConfig::new());
    let id = add_movie(&d, "Double");

    let err = assert_fails(
        &d,
        &["assign", "movie", &id, &seeded.magnet],
        "InvalidArgument",
    );
    assert!(
        err.contains("Part.One.mkv") && err.contains("Part.Two.mp4") && err.contains("--file"),
        "{err}"
    );
    assert_eq!(d.ctl_json(&["movie", "get", &id])["assigned"], false);

    let a = d.ctl_json(&[
        "assign",
        "movie",
        &id,
        &seeded.magnet,
        "--file",
        "Part.Two.mp4",
    ]);
    assert_eq!(
        (a["file_path"].as_str(), a["file_size"].as_u64()),
        (Some("Part.Two.mp4"), Some(300_000))
    );
    let files = d.ctl_json(&["torrent", "files", &seeded.magnet]);
    let one = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "Part.One.mkv")
        .unwrap()["index"]
        .to_string();
    let a = d.ctl_json(&["assign", "movie", &id, &seeded.magnet, "--index", &one]);
    assert_eq!(a["file_path"], "Part.One.mkv");
    assert!(a["replaced_id"].is_number());
    assert_fails(
        &d,
        &["assign", "movie", &id, &seeded.magnet, "--file", "nope.mkv"],
        "NotFound",
    );
    assert_fails(
        &d,
        &["assign", "movie", &id, &seeded.magnet, "--index", "99"],
        "NotFound",
    );

    let (code, body, _) = curl_get(
        &d.webdav_addr(),
        "/Movies/Double (2024)/Double (2024).mkv",
        Some("1000-1999"),
        30,
    );
    assert_eq!(code, 206);
    assert!(body == pattern(200_000, 1)[1000..2000]);
}

#[test]
fn bad_magnets_and_unreachable_metadata_store_nothing() {
    let d = Daemon::start(DaemonConfig::new().env("MOMO_TORRENT_METADATA_TIMEOUT_S", "3"));
    let id = add_movie(&d, "Nothing");
    let err = assert_fails(
        &d,
        &["assign", "movie", &id, "magnet:?xt=urn:btih:1234"],
        "InvalidArgument",
    );
    assert!(err.contains("40 hex or 32 base32"), "{err}");
    assert_fails(
        &d,
        &["assign", "movie", &id, "ftp://example.com/a.torrent"],
        "InvalidArgument",
    );
    assert_fails(
        &d,
        &["torrent", "files", "magnet:?dn=nohash"],
        "InvalidArgument",
    );
    // A peer that never answers: the metadata cannot come.
    let magnet = format!("magnet:?xt=urn:btih:{}&x.pe=127.0.0.1:9", "ab".repeat(20));
    let started = Instant::now();
    let err = assert_fails(&d, &["assign", "movie", &id, &magnet], "DeadlineExceeded");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "bounded by the metadata timeout"
    );
    assert!(err.contains("metadata"), "{err}");
    assert_fails(&d, &["assign", "movie", "999", &magnet], "NotFound");
    assert_eq!(d.ctl_json(&["movie", "get", &id])["assigned"], false);
    assert_eq!(d.ctl_json(&["status"])["assigned"], 0);
    assert_eq!(d.ctl_json(&["torrent", "ls"]).as_array().unwrap().len(), 0);
}

/// A season pack with scene names, a multi-episode file, a sample and an .nfo.
fn season_pack(dir: &Path) -> (PathBuf, Vec<(&'static str, Vec<u8>)>) {
    let pack = dir.join("Breaking.Bad.S01.1080p.BluRay.x264-GRP");
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "Breaking.Bad.S01E01.Pilot.1080p.BluRay.x264-GRP.mkv",
            pattern(400_000, 11),
        ),
        (
            "Breaking.Bad.S01E02E03.1080p.BluRay.x264-GRP.mkv",
            pattern(500_000, 12),
        ),
        ("breaking.bad.1x04.cancer.man.mkv", pattern(450_000, 13)),
        ("Sample/breaking.bad.s01e01.sample.mkv", pattern(50_000, 14)),
        ("Extras/Breaking.Bad.S01.Gag.Reel.mkv", pattern(60_000, 15)),
        (
            "Breaking.Bad.S01.1080p.BluRay.x264-GRP.nfo",
            b"nfo".to_vec(),
        ),
    ];
    for (name, data) in &files {
        write(&pack.join(name), data);
    }
    (pack, files)
}

#[test]
fn a_season_pack_maps_files_to_episodes() {
    let tmp = TempDir::new().unwrap();
    let (pack, files) = season_pack(tmp.path());
    let seeder = Seeder::start(None);
    let seeded = seeder.seed(&pack);
    let fake = FakeTmdb::start();
    // No prefetch after assign: these episodes are a few KiB, so a prefetch finishes every
    // selected piece at once, librqbit then drops the seeder as not needed, and its
    // reconnect on the next read sometimes marks the only seeder dead for good ("peer was
    // in a wrong state Dead, ignoring it forever", a librqbit 9.1 bug). This test is about
    // which file each episode streams.
    let d = Daemon::start(
        DaemonConfig::new()
            .tmdb(&fake)
            .env("MOMO_STREAM_PREFETCH_ON_ASSIGN", "false"),
    );
    let show = d.ctl_json(&["show", "add", "1396"]);
    let show_id = show["id"].to_string();

    let dry = d.ctl_json(&[
        "assign",
        "season",
        &show_id,
        "1",
        &seeded.magnet,
        "--dry-run",
    ]);
    assert_eq!(dry["dry_run"], true);
    let mapping: Vec<(i64, String)> = dry["matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["episode_number"].as_i64().unwrap(),
                m["file_path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        mapping,
        vec![
            (1, files[0].0.to_string()),
            (2, files[1].0.to_string()),
            (3, files[1].0.to_string()),
            (4, files[2].0.to_string()),
        ]
    );
    assert!(dry["missing_episodes"].as_array().unwrap().is_empty());
    let unmatched: Vec<&str> = dry["unmatched_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        unmatched.is_empty(),
        "samples, extras and .nfo are not even candidates: {unmatched:?}"
    );
    // The dry run stored nothing.
    assert_eq!(d.ctl_json(&["status"])["assigned"], 0);
    let table = d.ctl_ok(&[
        "assign",
        "season",
        &show_id,
        "1",
        &seeded.magnet,
        "--dry-run",
    ]);
    assert!(
        table.contains("S01E03") && table.contains("dry run"),
        "{table}"
    );

    let real = d.ctl_json(&["assign", "season", &show_id, "1", &seeded.magnet]);
    assert_eq!(real["matched"].as_array().unwrap().len(), 4);
    let after = d.ctl_json(&["show", "get", &show_id]);
    let s1: Vec<bool> = after["seasons"][0]["episodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["assigned"].as_bool().unwrap())
        .collect();
    assert_eq!(s1, [true, true, true, true]);
    // Only that season was touched.
    for season in &after["seasons"].as_array().unwrap()[1..] {
        assert!(
            season["episodes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["assigned"] == false)
        );
    }
    // Each episode streams its own file.
    let addr = d.webdav_addr();
    for m in real["matched"].as_array().unwrap() {
        let path = m["share_path"].as_str().unwrap();
        let data = &files.iter().find(|(n, _)| *n == m["file_path"]).unwrap().1;
        let (code, body, _) = curl_get(&addr, path, Some("10000-20000"), 30);
        assert_eq!(code, 206, "{path}");
        let want = &data[10000..=20000];
        assert!(
            body == want,
            "{path} streams its own file: got {} of {} bytes, first difference at {:?}\n{}",
            body.len(),
            want.len(),
            body.iter().zip(want).position(|(a, b)| a != b),
            d.log()
        );
    }
    assert!(
        real["matched"][2]["share_path"]
            .as_str()
            .unwrap()
            .ends_with("S01E03 - And the Bag's in the River.mkv")
    );
}

#[test]
fn sixteen_parallel_ranges_on_one_file_and_four_files_at_once() {
    let tmp = TempDir::new().unwrap();
    let pack = tmp.path().join("Parallel.Pack");
    let datas: Vec<Vec<u8>> = (0..4)
        .map(|i| pattern(6 * 1024 * 1024, 40 + i as u8))
        .collect();
    for (i, data) in datas.iter().enumerate() {
        write(&pack.join(format!("Film.Part{i}.mkv")), data);
    }
    let seeder = Seeder::start(None);
    let seeded = seeder.seed(&pack);
    let d = Daemon::start(DaemonConfig::new());
    let mut paths = Vec::new();
    for i in 0..4 {
        let id = d.ctl_json(&[
            "movie",
            "add",
            "--title",
            &format!("Part {i}"),
            "--year",
            "2001",
        ])["id"]
            .to_string();
        let a = d.ctl_json(&[
            "assign",
            "movie",
            &id,
            &seeded.magnet,
            "--file",
            &format!("Film.Part{i}.mkv"),
        ]);
        paths.push(a["share_path"].as_str().unwrap().to_string());
    }
    let addr = d.webdav_addr();
    let len = datas[0].len();
    let mut jobs: Vec<(usize, usize, usize)> =
        (0..16).map(|k| (0, k * len / 16 + 123, 200_000)).collect();
    jobs.extend((0..4).map(|f| (f, len / 3 + f * 1000, 500_000)));
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|(file, start, count)| {
            let addr = addr.clone();
            let path = paths[file].clone();
            std::thread::spawn(move || {
                let range = format!("{}-{}", start, start + count - 1);
                let (code, body, out) = curl_get(&addr, &path, Some(&range), 60);
                (file, start, count, code, body, out)
            })
        })
        .collect();
    for h in handles {
        let (file, start, count, code, body, out) = h.join().unwrap();
        assert_eq!(code, 206, "file {file} at {start}: {}", stderr(&out));
        assert_eq!(
            body.len(),
            count,
            "file {file} at {start}: short body: {}",
            stderr(&out)
        );
        assert!(
            body == datas[file][start..start + count],
            "file {file} at {start}: different bytes"
        );
    }
}

#[test]
fn a_vanished_seeder_fails_reads_in_time_and_a_returning_one_serves_again() {
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("Slow.Movie.mkv");
    let data = pattern(24 * 1024 * 1024, 77);
    write(&file, &data);
    // 512 KiB/s: the file cannot have arrived before the seeder stops.
    let mut seeder = Seeder::start(Some(512 * 1024));
    let seeded = seeder.seed(&file);
    let d = Daemon::start(DaemonConfig::new().env("MOMO_TORRENT_READ_TIMEOUT_S", "3"));
    let id = add_movie(&d, "Slow");
    let path = d.ctl_json(&["assign", "movie", &id, &seeded.magnet])["share_path"]
        .as_str()
        .unwrap()
        .to_string();
    let addr = d.webdav_addr();
    let (code, body, _) = curl_get(&addr, &path, Some("0-99999"), 30);
    assert_eq!(code, 206);
    assert!(body == data[..100_000]);

    // A player that hangs up drops its stream: start a long read, see the stream counted,
    // kill the client, see it go.
    let url = format!("http://{addr}{}", momo_tests::url_path(&path));
    let mut reader = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-r", "5000000-", &url])
        .spawn()
        .unwrap();
    let streams = || {
        d.ctl_json(&["torrent", "get", &seeded.info_hash])["open_streams"]
            .as_u64()
            .unwrap()
    };
    momo_tests::eventually(
        Duration::from_secs(20),
        "the long read never showed as an open stream",
        || streams() >= 1,
    );
    reader.kill().unwrap();
    reader.wait().unwrap();
    momo_tests::eventually(
        Duration::from_secs(20),
        "the stream stayed open after the client left",
        || streams() == 0,
    );

    let port = seeder.addr.port();
    seeder.stop();
    let started = Instant::now();
    let (_, body, out) = curl_get(&addr, &path, Some("20000000-20999999"), 60);
    let took = started.elapsed();
    assert!(body.len() < 1_000_000, "the read must fail, not complete");
    assert!(
        !out.status.success() || body.is_empty(),
        "curl sees an error or no data"
    );
    // Whatever arrived before the failure is the real data, not padding.
    assert!(
        body == data[20_000_000..20_000_000 + body.len()],
        "never zeros"
    );
    assert!(
        took < Duration::from_secs(20),
        "failed within the read timeout, took {took:?}"
    );
    d.ctl_ok(&["status"]);

    // The seeder comes back on the same address: a new read succeeds.
    let seeder = Seeder::start_on(port, None);
    let again = seeder.seed(&file);
    assert_eq!(again.info_hash, seeded.info_hash);
    momo_tests::eventually(
        Duration::from_secs(90),
        "no successful read after the seeder came back",
        || {
            let (code, body, _) = curl_get(&addr, &path, Some("20000000-20099999"), 20);
            code == 206 && body == data[20_000_000..20_100_000]
        },
    );
}

#[test]
fn torrents_survive_a_restart_and_idle_ones_pause() {
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("Kept.Movie.mkv");
    let data = pattern(3 * 1024 * 1024, 5);
    write(&file, &data);
    let mut seeder = Seeder::start(None);
    let seeded = seeder.seed(&file);
    let mut d = Daemon::start(DaemonConfig::new().env("MOMO_TORRENT_IDLE_TIMEOUT_S", "2"));
    let id = add_movie(&d, "Kept");
    let path = d.ctl_json(&["assign", "movie", &id, &seeded.magnet])["share_path"]
        .as_str()
        .unwrap()
        .to_string();
    let addr = d.webdav_addr();
    // A player reads it through: it is all on disk.
    let (code, body, _) = curl_get(&addr, &path, None, 30);
    assert_eq!((code, body == data), (200, true));
    wait_for(&d, &seeded, Duration::from_secs(30), |t| {
        t["progress_bytes"] == t["total_bytes"]
    });
    // No reads for idle_timeout_s: paused.
    wait_for(&d, &seeded, Duration::from_secs(20), |t| {
        t["state"] == "paused"
    });

    // Restart without the seeder: the torrent and its data are back, no re-adding.
    seeder.stop();
    d.restart();
    let addr = d.webdav_addr();
    let t = d.ctl_json(&["torrent", "get", &seeded.info_hash]);
    assert_ne!(t["state"], "missing", "{t}");
    let (code, body, _) = curl_get(&addr, &path, Some("1000000-1999999"), 30);
    assert_eq!(code, 206);
    assert!(body == data[1_000_000..2_000_000]);
    // The read resumed it.
    let t = d.ctl_json(&["torrent", "get", &seeded.info_hash]);
    assert_eq!(t["state"], "live", "{t}");
}

fn wait_for(d: &Daemon, seeded: &Seeded, limit: Duration, ok: impl Fn(&Value) -> bool) {
    momo_tests::eventually(
        limit,
        "the torrent never reached the expected state",
        || ok(&d.ctl_json(&["torrent", "get", &seeded.info_hash])),
    );
}

#[test]
fn torrent_commands_list_pause_resume_and_remove() {
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("Managed.mkv");
    write(&file, &pattern(1024 * 1024, 3));
    let seeder = Seeder::start(None);
    let seeded = seeder.seed(&file);
    let d = Daemon::start(DaemonConfig::new());
    let id = add_movie(&d, "Managed");
    d.ctl_ok(&["assign", "movie", &id, &seeded.magnet]);

    let list = d.ctl_json(&["torrent", "ls"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "Managed.mkv");
    assert_eq!(list[0]["used_by"][0]["item_kind"], "movie");
    assert!(d.ctl_ok(&["torrent", "ls"]).contains(&seeded.info_hash));
    assert_eq!(
        d.ctl_json(&["torrent", "resume", &seeded.info_hash])["state"],
        "live"
    );
    assert_eq!(
        d.ctl_json(&["torrent", "pause", &seeded.info_hash])["state"],
        "paused"
    );
    assert_fails(&d, &["torrent", "get", &"0".repeat(40)], "NotFound");
    // A hash is parsed once where it comes in: either case finds the torrent, and a malformed
    // one is refused as such rather than looked up.
    let upper = d.ctl_json(&["torrent", "get", &seeded.info_hash.to_uppercase()]);
    assert_eq!(upper["info_hash"], seeded.info_hash.as_str());
    let err = assert_fails(&d, &["torrent", "get", "not-a-hash"], "InvalidArgument");
    assert!(err.contains("40 hex or 32 base32"), "{err}");
    assert_fails(
        &d,
        &["torrent", "pause", &"z".repeat(40)],
        "InvalidArgument",
    );

    let err = assert_fails(
        &d,
        &["torrent", "rm", &seeded.info_hash],
        "FailedPrecondition",
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(d.ctl_json(&["torrent", "ls"]).as_array().unwrap().len(), 1);
    let removed = d.ctl_json(&["torrent", "rm", &seeded.info_hash, "--force"]);
    assert_eq!(removed["unassigned"][0]["item_id"].to_string(), id);
    assert_eq!(d.ctl_json(&["torrent", "ls"]).as_array().unwrap().len(), 0);
    assert_eq!(d.ctl_json(&["movie", "get", &id])["assigned"], false);
    assert_eq!(d.ctl_json(&["status"])["torrents"], 0);
}

#[test]
fn an_independent_client_seeds_through_a_tracker() {
    // aria2c seeds, announcing to a local opentracker; the magnet carries only `tr=`.
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("Interop.Movie.2023.mkv");
    let data = pattern(5 * 1024 * 1024 + 4321, 99);
    write(&file, &data);
    let port = momo_tests::swarm::free_port();
    let announce = format!("http://127.0.0.1:{port}/announce");
    let (hash, torrent) = momo_tests::swarm::make_torrent(&file, std::slice::from_ref(&announce));
    let torrent_path = tmp.path().join("interop.torrent");
    std::fs::write(&torrent_path, &torrent).unwrap();
    let tracker = momo_tests::swarm::Tracker::start_on(port, &[&hash]);
    assert_eq!(tracker.announce, announce);
    let _aria2 = momo_tests::swarm::aria2_seed(&torrent_path, tmp.path());

    let d = Daemon::start(DaemonConfig::new().env("MOMO_TORRENT_METADATA_TIMEOUT_S", "40"));
    let id = add_movie(&d, "Interop");
    let magnet = format!(
        "magnet:?xt=urn:btih:{hash}&tr={}",
        announce.replace(':', "%3A").replace('/', "%2F")
    );
    let a = d.ctl_json(&["assign", "movie", &id, &magnet]);
    assert_eq!(a["file_size"].as_u64(), Some(data.len() as u64));
    let path = a["share_path"].as_str().unwrap();
    let addr = d.webdav_addr();
    for (start, len) in [
        (0usize, 4096usize),
        (2_500_000, 100_000),
        (data.len() - 999, 999),
    ] {
        let (code, body, out) = curl_get(
            &addr,
            path,
            Some(&format!("{start}-{}", start + len - 1)),
            60,
        );
        assert_eq!(code, 206, "{}", stderr(&out));
        assert!(body == data[start..start + len], "range at {start} differs");
    }
}

/// Serves `body` at `/name` over HTTP on a free loopback port (404 elsewhere), until the test
/// process ends: the URL.
fn serve_once_per_request(name: &str, body: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/{name}", listener.local_addr().unwrap());
    let wanted = format!("GET /{name} ");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let (status, payload): (&str, &[u8]) =
                if String::from_utf8_lossy(&head).starts_with(&wanted) {
                    ("200 OK", &body)
                } else {
                    ("404 Not Found", b"no such file")
                };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                payload.len()
            );
            let _ = stream.write_all(payload);
        }
    });
    url
}

#[test]
fn a_torrent_file_or_its_url_works_where_a_magnet_does() {
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("Dotfile.Movie.2023.mkv");
    let data = pattern(3 * 1024 * 1024 + 77, 98);
    write(&file, &data);
    let port = momo_tests::swarm::free_port();
    let announce = format!("http://127.0.0.1:{port}/announce");
    let (hash, torrent) = momo_tests::swarm::make_torrent(&file, std::slice::from_ref(&announce));
    let torrent_path = tmp.path().join("dotfile.torrent");
    std::fs::write(&torrent_path, &torrent).unwrap();
    let _tracker = momo_tests::swarm::Tracker::start_on(port, &[&hash]);
    let _aria2 = momo_tests::swarm::aria2_seed(&torrent_path, tmp.path());
    let url = serve_once_per_request("dotfile.torrent", torrent.clone());
    let d = Daemon::start(DaemonConfig::new().env("MOMO_TORRENT_METADATA_TIMEOUT_S", "40"));
    let torrent_arg = torrent_path.to_str().unwrap();

    // The file says what the torrent holds: no swarm needed to list it.
    let files = d.ctl_json(&["torrent", "files", torrent_arg]);
    assert_eq!(files["info_hash"], hash.as_str());
    assert_eq!(files["files"][0]["size"].as_u64(), Some(data.len() as u64));
    assert_eq!(
        d.ctl_json(&["torrent", "files", &url])["info_hash"],
        hash.as_str()
    );

    // Assigned from the file, and from the URL: both stream from the swarm (its tracker).
    let addr = d.webdav_addr();
    for (title, source) in [("Dotfile", torrent_arg), ("Dotfile Again", url.as_str())] {
        let id = add_movie(&d, title);
        let a = d.ctl_json(&["assign", "movie", &id, source]);
        assert_eq!(a["info_hash"], hash.as_str());
        let path = a["share_path"].as_str().unwrap();
        let (code, body, out) = curl_get(&addr, path, Some("2000000-2099999"), 60);
        assert_eq!(code, 206, "{}", stderr(&out));
        assert!(body == data[2_000_000..2_100_000], "{title}: range differs");
    }

    // What is not a torrent, or not one that could be written: a clear error, nothing stored.
    let id = add_movie(&d, "Nothing");
    let crafted = |name: &str, info: &str| {
        let path = tmp.path().join(name);
        write(&path, format!("d4:info{info}e").as_bytes());
        path.to_str().unwrap().to_string()
    };
    let hashes = |n: usize| format!("{}:{}", 20 * n, "x".repeat(20 * n));
    let cases = [
        (
            crafted(
                "zero.torrent",
                &format!(
                    "d6:lengthi100e4:name5:a.mkv12:piece lengthi0e6:pieces{}e",
                    hashes(1)
                ),
            ),
            "piece length 0",
        ),
        (
            crafted(
                "short.torrent",
                &format!(
                    "d6:lengthi1048576e4:name5:a.mkv12:piece lengthi16384e6:pieces{}e",
                    hashes(1)
                ),
            ),
            "piece hashes",
        ),
        (
            crafted(
                "empty-component.torrent",
                &format!(
                    "d5:filesld6:lengthi100e4:pathl0:5:a.mkveee4:name1:x12:piece lengthi16384e6:pieces{}e",
                    hashes(1)
                ),
            ),
            "cannot be a file name",
        ),
    ];
    let not_torrent = tmp.path().join("notes.torrent");
    write(&not_torrent, b"these are not the bytes you are looking for");
    let missing = url.replace("dotfile.torrent", "missing.torrent");
    let mut all: Vec<(String, &str)> = cases.to_vec();
    all.push((
        not_torrent.to_str().unwrap().to_string(),
        "not a .torrent file",
    ));
    all.push((missing.clone(), "HTTP 404"));
    for (source, says) in &all {
        let source = source.as_str();
        let out = d.ctl(&["assign", "movie", &id, source]);
        assert_eq!(out.status.code(), Some(1), "{source}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{source}: {}", stderr(&out));
    }
    assert_eq!(d.ctl_json(&["status"])["assigned"], 2);
}
