//! Trakt with the real momod and momoctl against a fake Trakt (device flow, refresh,
//! revoke, lists) and the fake TMDB: sign in, import a watchlist and a list, sign out.
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use momo_tests::tmdb::FakeTmdb;
use momo_tests::trakt::{self, FakeTrakt, entry};
use momo_tests::{Daemon, DaemonConfig, stderr};
use serde_json::Value;

fn daemon(trakt: &FakeTrakt, tmdb: &FakeTmdb) -> Daemon {
    Daemon::start(
        DaemonConfig::new()
            .tmdb(tmdb)
            .env("MOMO_TRAKT_CLIENT_ID", trakt::CLIENT_ID)
            .env("MOMO_TRAKT_CLIENT_SECRET", trakt::CLIENT_SECRET)
            .env("MOMO_TRAKT_BASE_URL", trakt.url.clone()),
    )
}

/// `momoctl trakt login`, approved (or denied) once the code is shown; its output.
fn login(d: &Daemon, trakt: &FakeTrakt, approve: bool) -> std::process::Output {
    let mut child = d.ctl_spawn(&["-o", "json", "trakt", "login"]);
    let mut err = child.stderr.take().unwrap();
    let started = Instant::now();
    let mut shown = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&shown).contains(trakt::USER_CODE) {
        assert!(started.elapsed() < Duration::from_secs(20), "no code shown");
        let n = err.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "login ended before showing a code: {}",
            String::from_utf8_lossy(&shown)
        );
        shown.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&shown).contains("https://trakt.tv/activate"));
    trakt.decide(approve);
    // The rest of stderr, read before waiting so the pipe never fills.
    err.read_to_end(&mut shown).unwrap();
    let mut out = child.wait_with_output().unwrap();
    out.stderr = shown;
    out
}

fn rows(report: &Value) -> Vec<(String, String, String)> {
    momo_tests::report_rows(report, ["title", "kind", "outcome"])
}

#[test]
fn sign_in_import_a_watchlist_and_sign_out() {
    // Tokens valid for two seconds: past half their life, momod renews them first.
    let trakt = FakeTrakt::start(2);
    let tmdb = FakeTmdb::start();
    trakt.set_watchlist(vec![
        entry("movie", "Fight Club", 1999, Some(550)),
        entry("movie", "The Matrix", 1999, Some(603)),
        entry("movie", "A Film Nobody Mapped", 2003, None),
        entry("show", "Breaking Bad", 2008, Some(1396)),
    ]);
    trakt.add_list(
        "to-watch-2026",
        vec![entry("movie", "Pulp Fiction", 1994, Some(680))],
    );
    let d = daemon(&trakt, &tmdb);
    let status = d.ctl_json(&["trakt", "status"]);
    assert_eq!(
        (
            status["configured"].as_bool(),
            status["signed_in"].as_bool()
        ),
        (Some(true), Some(false))
    );
    let out = d.ctl(&["trakt", "import", "watchlist"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("momoctl trakt login"),
        "{}",
        stderr(&out)
    );

    let out = login(&d, &trakt, true);
    assert!(out.status.success(), "login: {}", stderr(&out));
    let account: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(account["signed_in"], true);
    assert_eq!(account["username"], "sean");
    // The tokens are kept private, without the app's secret.
    let file = d.data_dir.join("trakt.json");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        !std::fs::read_to_string(&file)
            .unwrap()
            .contains(trakt::CLIENT_SECRET)
    );
    assert!(!d.log().contains("access-0") && !d.log().contains(trakt::CLIENT_SECRET));

    d.ctl_json(&["movie", "add", "603"]);
    // Past half the token's life.
    std::thread::sleep(Duration::from_secs(2));
    let dry = d.ctl_json(&["trakt", "import", "watchlist", "--dry-run"]);
    let want = vec![
        (
            "Fight Club".to_string(),
            "movie".to_string(),
            "added".to_string(),
        ),
        ("The Matrix".into(), "movie".into(), "unchanged".into()),
        (
            "A Film Nobody Mapped".into(),
            "movie".into(),
            "skipped".into(),
        ),
        ("Breaking Bad".into(), "show".into(), "added".into()),
    ];
    assert_eq!(rows(&dry), want);
    assert_eq!(
        d.ctl_json(&["status"])["movies"],
        1,
        "a dry run stores nothing"
    );
    // The short-lived token was renewed before the list was read with it.
    assert!(trakt.refreshes() >= 1);
    assert!(
        trakt
            .log()
            .iter()
            .any(|l| l == "GET /sync/watchlist/movies authorized")
    );

    let done = d.ctl_json(&["trakt", "import", "watchlist"]);
    assert_eq!(rows(&done), want);
    let status = d.ctl_json(&["status"]);
    assert_eq!(
        (status["movies"].as_u64(), status["shows"].as_u64()),
        (Some(2), Some(1))
    );
    let show = d.ctl_json(&["show", "ls"]);
    assert_eq!(show[0]["season_count"], 3, "all regular seasons: {show}");
    // Again: nothing changes.
    for (title, _, outcome) in rows(&d.ctl_json(&["trakt", "import", "watchlist"])) {
        assert!(
            outcome == "unchanged" || outcome == "skipped",
            "{title}: {outcome}"
        );
    }

    let list = d.ctl_json(&["trakt", "import", "list", "to-watch-2026"]);
    assert_eq!(
        rows(&list),
        vec![("Pulp Fiction".into(), "movie".into(), "added".into())]
    );
    for (args, says) in [
        (vec!["trakt", "import", "list"], "slug"),
        (vec!["trakt", "import", "list", "no such/list"], "slug"),
        (vec!["trakt", "import", "list", "missing-list"], "HTTP 404"),
    ] {
        let out = d.ctl(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }

    let out = d.ctl_json(&["trakt", "logout"]);
    assert_eq!(out["signed_in"], false);
    assert!(!file.exists(), "the tokens are forgotten");
    assert!(
        trakt
            .log()
            .iter()
            .any(|l| l.starts_with("POST /oauth/revoke"))
    );
    assert_eq!(d.ctl_json(&["trakt", "status"])["signed_in"], false);
}

#[test]
fn a_denied_sign_in_and_a_missing_app_say_so() {
    let trakt = FakeTrakt::start(7 * 86_400);
    let tmdb = FakeTmdb::start();
    let d = daemon(&trakt, &tmdb);
    let out = login(&d, &trakt, false);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("denied"), "{}", stderr(&out));
    assert!(!d.data_dir.join("trakt.json").exists());

    let bare = Daemon::start(DaemonConfig::new());
    let out = bare.ctl(&["trakt", "login"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("trakt.client_id"), "{}", stderr(&out));
    assert_eq!(bare.ctl_json(&["trakt", "status"])["configured"], false);
}

/// A player over WebDAV: probes the head and the tail, then reads `chunk`-byte ranges one
/// after another (a pause of `gap` between them) from 0 to `seek_from`, jumps to `seek_to`
/// and reads on to `stop_at`; then stops reading.
fn play(addr: &str, path: &str, size: u64, seek: (u64, u64), stop_at: u64) {
    let get = |first: u64, last: u64| {
        let (status, _, _) = momo_tests::curl_get(addr, path, Some(&format!("{first}-{last}")), 10);
        assert_eq!(status, 206);
    };
    get(0, 65_535);
    get(size - 65_536, size - 1);
    let chunk = 250_000;
    let mut at = 0;
    while at < stop_at {
        if at == seek.0 {
            at = seek.1;
        }
        get(at, at + chunk - 1);
        at += chunk;
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn playback_over_webdav_is_scrobbled_and_a_thumbnailer_is_not() {
    let tmp = tempfile::TempDir::new().unwrap();
    let size = 20_000_000u64;
    let video = tmp.path().join("fc.mkv");
    std::fs::write(&video, momo_tests::swarm::pattern(size as usize, 3)).unwrap();
    let trakt = FakeTrakt::start(7 * 86_400);
    let tmdb = FakeTmdb::start();
    let d = Daemon::start(
        DaemonConfig::new()
            .tmdb(&tmdb)
            .env("MOMO_TRAKT_CLIENT_ID", trakt::CLIENT_ID)
            .env("MOMO_TRAKT_CLIENT_SECRET", trakt::CLIENT_SECRET)
            .env("MOMO_TRAKT_BASE_URL", trakt.url.clone())
            .env("MOMO_TRAKT_SCROBBLE_START_S", "2")
            .env("MOMO_TRAKT_SCROBBLE_PAUSE_S", "2")
            .env("MOMO_TRAKT_SCROBBLE_STOP_S", "4")
            .env("MOMO_TRAKT_SCROBBLE_MIN_RUNTIME_S", "4")
            .env("MOMO_LIBRARY_LOCAL_ROOTS", tmp.path().display().to_string()),
    );
    let id = d.ctl_json(&["movie", "add", "550"])["id"].to_string();
    let a = d.ctl_json(&["assign", "movie", &id, "--local", video.to_str().unwrap()]);
    let path = a["share_path"].as_str().unwrap().to_string();
    let addr = d.webdav_addr();
    let watched = |d: &Daemon| {
        d.ctl_json(&["trakt", "history"])["watches"]
            .as_array()
            .unwrap()
            .len()
    };

    // Signed out: the watch is kept here, to be pushed later.
    play(&addr, &path, size, (8_000_000, 12_000_000), 17_000_000);
    momo_tests::eventually(
        Duration::from_secs(20),
        "the playback is recorded as a watch",
        || watched(&d) == 1,
    );
    assert!(trakt.scrobbles().is_empty());
    assert_eq!(
        d.ctl_json(&["trakt", "history"])["watches"][0]["synced"],
        false
    );

    assert!(login(&d, &trakt, true).status.success());
    let synced = d.ctl_json(&["trakt", "history", "--sync"]);
    assert_eq!(
        (
            synced["pushed"].as_u64(),
            synced["watches"][0]["synced"].as_bool()
        ),
        (Some(1), Some(true))
    );
    assert_eq!(trakt.history().len(), 1);
    assert_eq!(trakt.history()[0]["movies"][0]["ids"]["tmdb"], 550);
    assert!(
        trakt.history()[0]["movies"][0]["watched_at"]
            .as_str()
            .unwrap()
            .ends_with(".000Z")
    );
    // A second sync has nothing to push.
    assert_eq!(d.ctl_json(&["trakt", "history", "--sync"])["pushed"], 0);

    // A thumbnailer: a few MiB from the start, quickly, then nothing.
    for i in 0..3u64 {
        let (s, _, _) = momo_tests::curl_get(
            &addr,
            &path,
            Some(&format!("{}-{}", i << 20, ((i + 1) << 20) - 1)),
            10,
        );
        assert_eq!(s, 206);
    }
    std::thread::sleep(Duration::from_secs(7));
    assert!(
        trakt.scrobbles().is_empty(),
        "a thumbnailer was scrobbled: {:?}",
        trakt.scrobbles()
    );

    // A copy: the whole file, read for longer than a probe but far faster than it plays.
    let url = format!("http://{addr}{}", momo_tests::url_path(&path));
    let (status, body, _) = momo_tests::curl(&url, &["--limit-rate", "6M", "--max-time", "60"]);
    assert_eq!((status, body.len() as u64), (200, size));
    std::thread::sleep(Duration::from_secs(7));
    assert!(
        trakt.scrobbles().is_empty(),
        "a copy was scrobbled: {:?}",
        trakt.scrobbles()
    );
    assert_eq!(watched(&d), 1, "a copy was recorded as a watch");

    // A player: start, then pause and stop at 85 %, a watch on Trakt.
    play(&addr, &path, size, (8_000_000, 12_000_000), 17_000_000);
    momo_tests::eventually(
        Duration::from_secs(20),
        "start, pause and stop are scrobbled",
        || trakt.scrobbles().len() >= 3,
    );
    std::thread::sleep(Duration::from_secs(2));
    let calls = trakt.scrobbles();
    let actions: Vec<&str> = calls.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["start", "pause", "stop"], "{calls:?}");
    let progress = |i: usize| calls[i].1["progress"].as_f64().unwrap();
    assert!(
        progress(0) > 0.0 && progress(0) < 60.0,
        "start at {}",
        progress(0)
    );
    assert_eq!((progress(1), progress(2)), (85.0, 85.0));
    assert_eq!(calls[2].1["movie"]["ids"]["tmdb"], 550);
    let status = d.ctl_json(&["trakt", "status"]);
    assert_eq!(
        (
            status["last_action"].as_str(),
            status["last_progress"].as_f64()
        ),
        (Some("stop"), Some(85.0))
    );
    let history = d.ctl_json(&["trakt", "history"]);
    assert_eq!(history["watches"].as_array().unwrap().len(), 2);
    assert_eq!(
        history["watches"][0]["synced"], true,
        "scrobbled past 80 %: on Trakt already"
    );
    // Week-long tokens are not renewed on every call.
    assert_eq!(trakt.refreshes(), 0);
}
