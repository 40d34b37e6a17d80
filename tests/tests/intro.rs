//! Skip markers with the real momod and momoctl: set by hand, or detected by comparing a
//! season's synthetic episodes (ffmpeg), and served as a Kodi EDL beside the video over
//! WebDAV.
use momo_tests::episodes::{CREDITS_S, Episode, THEME_S, make_episode};
use momo_tests::swarm::{Seeder, pattern};
use momo_tests::{Daemon, DaemonConfig, curl, curl_get, stderr, url_path};
use tempfile::TempDir;

#[test]
fn markers_are_served_as_an_edl_beside_the_video() {
    let tmp = TempDir::new().unwrap();
    let video = tmp.path().join("e1.mkv");
    std::fs::write(&video, pattern(100_000, 4)).unwrap();
    let d = Daemon::start(
        DaemonConfig::new().env("MOMO_LIBRARY_LOCAL_ROOTS", tmp.path().display().to_string()),
    );
    let show = d.ctl_json(&["show", "add", "--title", "Home Videos", "--episodes", "1:2"]);
    let show_id = show["id"].to_string();
    let episode = show["seasons"][0]["episodes"][0]["id"].to_string();
    let a = d.ctl_json(&[
        "assign",
        "episode",
        &episode,
        "--local",
        video.to_str().unwrap(),
    ]);
    let share_path = a["share_path"].as_str().unwrap().to_string();
    let edl_path = format!("{}.edl", share_path.strip_suffix(".mkv").unwrap());
    let addr = d.webdav_addr();
    assert_eq!(
        curl_get(&addr, &edl_path, None, 10).0,
        404,
        "no markers, no EDL"
    );

    let m = d.ctl_json(&[
        "intro",
        "set",
        "episode",
        &episode,
        "--start",
        "0:45",
        "--end",
        "1:30",
        "--credits",
        "20:00-21:30",
    ]);
    assert_eq!(
        (m["intro_start_s"].as_f64(), m["intro_end_s"].as_f64()),
        (Some(45.0), Some(90.0))
    );
    assert_eq!(m["origin"], "manual");
    let (status, body, _) = curl_get(&addr, &edl_path, None, 10);
    assert_eq!(status, 200);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "45.000\t90.000\t3\n1200.000\t1290.000\t3\n"
    );
    let listed = d.ctl_json(&["intro", "ls", &show_id, "--season", "1"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["item_id"].to_string(), episode);

    // Bad input changes nothing.
    for (args, code, says) in [
        (
            vec![
                "intro", "set", "episode", &episode, "--start", "90", "--end", "45",
            ],
            1,
            "must end after",
        ),
        (
            vec![
                "intro", "set", "episode", "99999", "--start", "1", "--end", "2",
            ],
            1,
            "no episode",
        ),
        (
            vec!["intro", "set", "episode", &episode, "--start", "1"],
            2,
            "--end",
        ),
        (
            vec![
                "intro", "set", "episode", &episode, "--start", "1:75", "--end", "2:00",
            ],
            2,
            "not a time",
        ),
        (
            vec!["intro", "set", "episode", &episode],
            1,
            "give the intro",
        ),
    ] {
        let out = d.ctl(&args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(
        String::from_utf8(curl_get(&addr, &edl_path, None, 10).1).unwrap(),
        "45.000\t90.000\t3\n1200.000\t1290.000\t3\n"
    );

    d.ctl_json(&["intro", "rm", "episode", &episode]);
    assert_eq!(curl_get(&addr, &edl_path, None, 10).0, 404);
    let out = d.ctl(&["intro", "rm", "episode", &episode]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("has no markers"), "{}", stderr(&out));
}

/// The ids of the first season's episodes of a show as `show add` prints it.
fn episode_ids(show: &serde_json::Value) -> Vec<String> {
    show["seasons"][0]["episodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].to_string())
        .collect()
}

/// Whether `got` is within a second of `want`.
fn near(got: &serde_json::Value, want: f64) -> bool {
    got.as_f64().is_some_and(|g| (g - want).abs() <= 1.0)
}

#[test]
fn a_seasons_shared_intro_and_credits_are_detected_and_served_as_edl() {
    let tmp = TempDir::new().unwrap();
    // The theme at 0, 30 and 62 s in three episodes, with the credits music at their ends;
    // a fourth with neither; a fifth with both, whose markers were set by hand; a sixth
    // that is not a video at all.
    let episodes = [
        (Some(0), true),
        (Some(30), true),
        (Some(62), true),
        (None, false),
        (Some(15), true),
    ];
    // A quarter of 360 s is scanned at each end.
    let seconds = 360;
    // Behind credentials: momod's own reads get in with a grant.
    let d = Daemon::start(
        DaemonConfig::new()
            .share(tmp.path(), "viewer", "secret")
            .env("MOMO_INTRO_SCAN_S", "120")
            .env("MOMO_INTRO_CREDITS_SCAN_S", "120"),
    );
    let show = d.ctl_json(&["show", "add", "--title", "Synthetic", "--episodes", "1:6"]);
    let show_id = show["id"].to_string();
    let ids = episode_ids(&show);
    let mut paths = Vec::new();
    for (i, (theme_at, credits)) in episodes.into_iter().enumerate() {
        let file = tmp.path().join(format!("e{}.mkv", i + 1));
        make_episode(
            &file,
            &Episode {
                seconds,
                seed: i as u32 + 1,
                theme_at,
                credits,
                video_bytes_s: 0,
            },
        );
        let a = d.ctl_json(&[
            "assign",
            "episode",
            &ids[i],
            "--local",
            file.to_str().unwrap(),
        ]);
        paths.push(a["share_path"].as_str().unwrap().to_string());
    }
    let junk = tmp.path().join("e6.mkv");
    std::fs::write(&junk, "not a video\n".repeat(1000)).unwrap();
    d.ctl_json(&[
        "assign",
        "episode",
        &ids[5],
        "--local",
        junk.to_str().unwrap(),
    ]);
    d.ctl_json(&[
        "intro", "set", "episode", &ids[4], "--start", "10", "--end", "40",
    ]);

    let report = d.ctl_json(&["intro", "detect", &show_id, "--season", "1"]);
    let rows = report["episodes"].as_array().unwrap();
    assert_eq!(rows.len(), 6, "{report}");
    let credits_from = (seconds - CREDITS_S) as f64;
    for (i, theme_at) in [0.0, 30.0, 62.0].into_iter().enumerate() {
        let (row, m) = (&rows[i], &rows[i]["markers"]);
        assert_eq!(row["outcome"], "found", "{row}");
        assert_eq!(m["origin"], "detected");
        assert!(
            near(&m["intro_start_s"], theme_at),
            "episode {}: {m}",
            i + 1
        );
        assert!(
            near(&m["intro_end_s"], theme_at + THEME_S as f64),
            "episode {}: {m}",
            i + 1
        );
        assert!(
            near(&m["credits_start_s"], credits_from),
            "episode {}: {m}",
            i + 1
        );
        assert!(
            near(&m["credits_end_s"], seconds as f64),
            "episode {}: {m}",
            i + 1
        );
        assert!(m["confidence"].as_f64().unwrap() > 0.5, "{m}");
    }
    assert_eq!(rows[3]["outcome"], "no common segment", "{}", rows[3]);
    assert!(rows[3]["markers"].is_null());
    assert_eq!(rows[4]["outcome"], "manual markers kept", "{}", rows[4]);
    assert_eq!(rows[4]["markers"]["intro_start_s"], 10.0);
    assert_eq!(rows[5]["outcome"], "failed", "{}", rows[5]);
    assert!(
        rows[5]["error"].as_str().unwrap().contains("ffprobe"),
        "{}",
        rows[5]
    );
    assert!(rows[5]["markers"].is_null());

    // The EDL of the episode whose theme is at 30 s, as Kodi reads it.
    let addr = d.webdav_addr();
    let edl_of = |p: &str| format!("{}.edl", p.strip_suffix(".mkv").unwrap());
    let get = |p: &str, user: &str| {
        let url = format!("http://{addr}{}", url_path(p));
        curl(&url, &["--max-time", "10", "-u", user])
    };
    // momod's own user name without a grant is a stranger.
    assert_eq!(get(&paths[1], "momod:secret").0, 401);
    let (status, body, _) = get(&edl_of(&paths[1]), "viewer:secret");
    assert_eq!(status, 200);
    let lines: Vec<Vec<f64>> = String::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(|f| f.parse().unwrap()).collect())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (line, (start, end)) in lines
        .iter()
        .zip([(30.0, 55.0), (credits_from, seconds as f64)])
    {
        assert!(
            (line[0] - start).abs() <= 1.0 && (line[1] - end).abs() <= 1.0,
            "{lines:?}"
        );
        assert_eq!(line[2], 3.0, "a commercial break, which Kodi skips");
    }
    assert_eq!(get(&edl_of(&paths[3]), "viewer:secret").0, 404);
    let listed = d.ctl_json(&["intro", "ls", &show_id]);
    assert_eq!(listed.as_array().unwrap().len(), 4, "{listed}");

    // The same detection asked twice is one job; a season's is another. Both end well
    // (from the fingerprints kept).
    let first = d.ctl_json(&["intro", "detect", &show_id, "--detach"]);
    let again = d.ctl_json(&["intro", "detect", &show_id, "--detach"]);
    assert_eq!(first["id"], again["id"], "{first} {again}");
    let second = d.ctl_json(&["intro", "detect", &show_id, "--season", "1", "--detach"]);
    assert_ne!(first["id"], second["id"]);
    for job in [&first, &second] {
        let again = d.ctl_json(&["job", "wait", &job["id"].to_string()]);
        assert_eq!(again["episodes"][1]["outcome"], "found", "{again}");
    }

    // A new file for an episode: what was detected in the old one goes.
    d.ctl_json(&[
        "assign",
        "episode",
        &ids[1],
        "--local",
        tmp.path().join("e4.mkv").to_str().unwrap(),
    ]);
    assert_eq!(get(&edl_of(&paths[1]), "viewer:secret").0, 404);
    assert_eq!(
        d.ctl_json(&["intro", "ls", &show_id])
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Refusals: nothing to compare, no such season or show.
    let lone = d.ctl_json(&["show", "add", "--title", "Lone", "--episodes", "1:2"]);
    let lone_episode = lone["seasons"][0]["episodes"][0]["id"].to_string();
    d.ctl_json(&[
        "assign",
        "episode",
        &lone_episode,
        "--local",
        tmp.path().join("e1.mkv").to_str().unwrap(),
    ]);
    for (args, says) in [
        (
            vec!["intro", "detect", &lone["id"].to_string()],
            "no season has two episodes",
        ),
        (
            vec!["intro", "detect", &show_id, "--season", "4"],
            "has no season 4",
        ),
        (vec!["intro", "detect", "99999"], "no show"),
    ] {
        let out = d.ctl(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn a_torrent_backed_season_is_detected_on_its_own_and_fetches_only_what_is_scanned() {
    let tmp = TempDir::new().unwrap();
    // A swarm of 8 MiB/s; episodes of 300 s, mostly video (as real ones are), of which the
    // scan reads the first 30 s and the last 45 s.
    let seeder = Seeder::start(Some(8 << 20));
    let (seconds, scan, credits_scan) = (300, 30.0, 45.0);
    let mut seeded = Vec::new();
    for (i, theme_at) in [0, 3].into_iter().enumerate() {
        let file = tmp.path().join(format!("Show.S01E0{}.mkv", i + 1));
        make_episode(
            &file,
            &Episode {
                seconds,
                seed: i as u32 + 1,
                theme_at: Some(theme_at),
                credits: true,
                video_bytes_s: 400_000,
            },
        );
        seeded.push((
            seeder.seed(&file),
            std::fs::metadata(&file).unwrap().len(),
            theme_at,
        ));
    }
    let d = Daemon::start(
        DaemonConfig::new()
            .env("MOMO_INTRO_AUTO", "true")
            .env("MOMO_INTRO_SCAN_S", "30")
            .env("MOMO_INTRO_CREDITS_SCAN_S", "45")
            .env("MOMO_STREAM_PREFETCH_ON_ASSIGN", "false"),
    );
    let show = d.ctl_json(&["show", "add", "--title", "Swarm Show", "--episodes", "1:2"]);
    let show_id = show["id"].to_string();
    let ids = episode_ids(&show);
    let detections = |d: &Daemon| -> Vec<serde_json::Value> {
        d.ctl_json(&["jobs", "--all"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["kind"] == "intro_detect")
            .cloned()
            .collect()
    };
    d.ctl_json(&["assign", "episode", &ids[0], &seeded[0].0.magnet]);
    assert!(detections(&d).is_empty(), "one episode: nothing to compare");
    d.ctl_json(&["assign", "episode", &ids[1], &seeded[1].0.magnet]);
    let jobs = detections(&d);
    assert_eq!(
        jobs.len(),
        1,
        "the second source starts a detection: {jobs:?}"
    );
    let report = d.ctl_json(&["job", "wait", &jobs[0]["id"].to_string()]);
    let rows = report["episodes"].as_array().unwrap();
    for (row, (_, _, theme_at)) in rows.iter().zip(&seeded) {
        let m = &row["markers"];
        assert_eq!(row["outcome"], "found", "{report}");
        assert!(near(&m["intro_start_s"], *theme_at as f64), "{m}");
        assert!(near(&m["intro_end_s"], (theme_at + THEME_S) as f64), "{m}");
        assert!(
            near(&m["credits_start_s"], (seconds - CREDITS_S) as f64),
            "{m}"
        );
    }
    assert_eq!(
        d.ctl_json(&["intro", "ls", &show_id])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // What the swarm sent for each episode: the scanned minutes (and librqbit's read-ahead
    // past them), not the episode.
    std::thread::sleep(std::time::Duration::from_secs(3));
    for (s, size, _) in &seeded {
        let t = d.ctl_json(&["torrent", "get", &s.info_hash]);
        let fetched = t["progress_bytes"]
            .as_u64()
            .unwrap()
            .max(t["disk_bytes"].as_u64().unwrap());
        let scanned = (scan + credits_scan) / seconds as f64;
        eprintln!(
            "episode of {size} bytes: {fetched} fetched ({:.0} %), {:.0} % of its length scanned",
            fetched as f64 * 100.0 / *size as f64,
            scanned * 100.0
        );
        assert!(fetched < size / 2, "{t}");
    }
}

#[test]
fn without_ffmpeg_detection_is_refused_at_once() {
    let tmp = TempDir::new().unwrap();
    let d = Daemon::start(
        DaemonConfig::new()
            .env("MOMO_LIBRARY_LOCAL_ROOTS", tmp.path().display().to_string())
            .env("MOMO_INTRO_FFMPEG", "/nonexistent/ffmpeg"),
    );
    let show = d.ctl_json(&["show", "add", "--title", "No Tools", "--episodes", "1:2"]);
    for (i, e) in show["seasons"][0]["episodes"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let file = tmp.path().join(format!("e{i}.mkv"));
        std::fs::write(&file, pattern(10_000, i as u8)).unwrap();
        d.ctl_json(&[
            "assign",
            "episode",
            &e["id"].to_string(),
            "--local",
            file.to_str().unwrap(),
        ]);
    }
    let out = d.ctl(&["intro", "detect", &show["id"].to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot run ffmpeg (`/nonexistent/ffmpeg`)"),
        "{}",
        stderr(&out)
    );
    let jobs = d.ctl_json(&["jobs", "--all"]);
    assert!(
        jobs.as_array()
            .unwrap()
            .iter()
            .all(|j| j["kind"] != "intro_detect"),
        "no job was made: {jobs}"
    );
}
