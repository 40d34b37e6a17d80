//! Subtitles as users meet them: the ones a season pack carries attached to the right
//! episodes, files added by hand checked and converted, and every one served beside its
//! video in the share (curl, rclone, ffprobe), with the real momod and momoctl.
use std::path::Path;

use momo_tests::opensubtitles::{self, Entry, FakeOpenSubtitles};
use momo_tests::swarm::{Seeder, pattern};
use momo_tests::tmdb::FakeTmdb;
use momo_tests::{Daemon, DaemonConfig, curl_get, rclone, run, stderr, url_path};
use serde_json::Value;
use tempfile::TempDir;

const SRT_EN: &str = "1\n00:00:01,000 --> 00:00:03,000\nSay my name.\n\n2\n00:00:04,000 --> 00:00:05,500\nHeisenberg.\n";
const SRT_DE: &str = "1\n00:00:01,000 --> 00:00:03,000\nSag meinen Namen.\n";
const SRT_FORCED: &str = "1\n00:10:00,000 --> 00:10:02,000\n[SPANISH SIGN]\n";

fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// The share paths of a `subs ls`, by language.
fn listed(subs: &Value) -> Vec<(String, bool, String)> {
    subs.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["language"].as_str().unwrap().to_string(),
                s["forced"].as_bool().unwrap(),
                s["share_path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn episode_id(show: &Value, season: i64, number: i64) -> String {
    show["seasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["season_number"] == season)
        .unwrap()["episodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["episode_number"] == number)
        .unwrap()["id"]
        .to_string()
}

#[test]
fn a_season_packs_subtitles_are_attached_to_their_episodes_and_served_beside_them() {
    let tmp = TempDir::new().unwrap();
    let pack = tmp.path().join("Breaking.Bad.S01.1080p.BluRay.x264-GRP");
    let e1 = "Breaking.Bad.S01E01.Pilot.1080p.BluRay.x264-GRP";
    let e4 = "breaking.bad.1x04.cancer.man";
    write(&pack.join(format!("{e1}.mkv")), &pattern(300_000, 21));
    write(&pack.join(format!("{e4}.mkv")), &pattern(300_000, 22));
    // The usual layouts: a Subs/<episode>/N_Language.srt folder, and a sidecar by name.
    write(
        &pack.join(format!("Subs/{e1}/2_English.srt")),
        SRT_EN.as_bytes(),
    );
    write(
        &pack.join(format!("Subs/{e1}/3_German.srt")),
        SRT_DE.as_bytes(),
    );
    write(
        &pack.join(format!("{e4}.eng.forced.srt")),
        SRT_FORCED.as_bytes(),
    );
    // A subtitle of an episode the pack does not hold goes nowhere.
    write(
        &pack.join("Subs/Breaking.Bad.S01E07/2_English.srt"),
        SRT_EN.as_bytes(),
    );
    let seeder = Seeder::start(None);
    let seeded = seeder.seed(&pack);
    let fake = FakeTmdb::start();
    let media = tmp.path().join("media");
    write(&media.join("Pilot.Remux.mkv"), &pattern(200_000, 23));
    let d = Daemon::start(
        DaemonConfig::new()
            .tmdb(&fake)
            .env("MOMO_STREAM_PREFETCH_ON_ASSIGN", "false")
            .env("MOMO_LIBRARY_LOCAL_ROOTS", media.display().to_string()),
    );
    let show = d.ctl_json(&["show", "add", "1396"]);
    let show_id = show["id"].to_string();

    // The dry run says which subtitle goes where, and stores nothing.
    let dry = d.ctl_json(&[
        "assign",
        "season",
        &show_id,
        "1",
        &seeded.magnet,
        "--dry-run",
    ]);
    let plan: Vec<(i64, String, String, bool)> = dry["subtitles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert!(s["attached"].is_null(), "a dry run attaches nothing: {s}");
            (
                s["episode"]["episode_number"].as_i64().unwrap(),
                s["file"]["path"].as_str().unwrap().to_string(),
                s["language"].as_str().unwrap().to_string(),
                s["forced"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        plan,
        [
            (1, format!("Subs/{e1}/2_English.srt"), "en".into(), false),
            (1, format!("Subs/{e1}/3_German.srt"), "de".into(), false),
            (4, format!("{e4}.eng.forced.srt"), "en".into(), true),
        ]
    );
    let ep1 = episode_id(&show, 1, 1);
    assert_eq!(
        d.ctl_json(&["subs", "ls", "episode", &ep1]),
        Value::Array(vec![])
    );

    let report = d.ctl_json(&["assign", "season", &show_id, "1", &seeded.magnet]);
    let attached: Vec<&Value> = report["subtitles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["attached"])
        .collect();
    assert_eq!(attached.len(), 3, "{report}");
    assert!(attached.iter().all(|a| a.is_object()), "{report}");

    let season = "/TV Shows/Breaking Bad (2008)/Season 01";
    let base1 = format!("{season}/Breaking Bad (2008) - S01E01 - Pilot");
    let base4 = format!("{season}/Breaking Bad (2008) - S01E04 - Cancer Man");
    assert_eq!(
        listed(&d.ctl_json(&["subs", "ls", "episode", &ep1])),
        [
            ("en".into(), false, format!("{base1}.en.srt")),
            ("de".into(), false, format!("{base1}.de.srt")),
        ]
    );
    let ep4 = episode_id(&show, 1, 4);
    let subs4 = d.ctl_json(&["subs", "ls", "episode", &ep4]);
    assert_eq!(
        listed(&subs4),
        [("en".into(), true, format!("{base4}.en.forced.srt"))]
    );
    assert_eq!(subs4[0]["origin"], "torrent");

    // Served from momod's own copy: byte for byte, with the video beside it.
    let addr = d.webdav_addr();
    let (code, body, _) = curl_get(&addr, &format!("{base1}.de.srt"), None, 10);
    assert_eq!((code, body.as_slice()), (200, SRT_DE.as_bytes()));
    let out = rclone(&addr, "", "", &["lsf", &format!(":webdav:{season}")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let names: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    for want in [
        "Breaking Bad (2008) - S01E01 - Pilot.mkv",
        "Breaking Bad (2008) - S01E01 - Pilot.en.srt",
        "Breaking Bad (2008) - S01E01 - Pilot.de.srt",
        "Breaking Bad (2008) - S01E04 - Cancer Man.mkv",
        "Breaking Bad (2008) - S01E04 - Cancer Man.en.forced.srt",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    // A player's demuxer opens the sidecar over the share.
    let url = format!("http://{addr}{}", url_path(&format!("{base1}.en.srt")));
    let probe = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
            &url,
        ],
    );
    assert!(probe.status.success(), "{}", stderr(&probe));
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "subrip");

    // Another release for episode 1: the pack's subtitles, timed for the old one, go.
    let remux = media.join("Pilot.Remux.mkv");
    d.ctl_ok(&[
        "assign",
        "episode",
        &ep1,
        "--local",
        remux.to_str().unwrap(),
    ]);
    assert_eq!(
        d.ctl_json(&["subs", "ls", "episode", &ep1]),
        Value::Array(vec![])
    );
    assert_eq!(
        listed(&d.ctl_json(&["subs", "ls", "episode", &ep4])).len(),
        1
    );
}

struct Setup {
    d: Daemon,
    media: std::path::PathBuf,
    _tmp: TempDir,
}

/// A movie playing from a local file, for subtitles added by hand.
fn movie_with_a_source() -> (Setup, String) {
    let tmp = TempDir::new().unwrap();
    let media = tmp.path().join("media");
    write(&media.join("Fight.Club.1999.mkv"), &pattern(100_000, 3));
    let d = Daemon::start(
        DaemonConfig::new().env("MOMO_LIBRARY_LOCAL_ROOTS", media.display().to_string()),
    );
    let id =
        d.ctl_json(&["movie", "add", "--title", "Fight Club", "--year", "1999"])["id"].to_string();
    let file = media.join("Fight.Club.1999.mkv");
    d.ctl_ok(&["assign", "movie", &id, "--local", file.to_str().unwrap()]);
    (
        Setup {
            d,
            media,
            _tmp: tmp,
        },
        id,
    )
}

/// `momoctl subs add` that must fail: exit 1, the message, and nothing attached.
fn refused(s: &Setup, id: &str, file: &Path, lang: &str, says: &str) {
    let out = s.d.ctl(&[
        "subs",
        "add",
        "movie",
        id,
        file.to_str().unwrap(),
        "--lang",
        lang,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(says),
        "wanted {says:?}: {}",
        stderr(&out)
    );
}

#[test]
fn subtitles_added_by_hand_are_checked_served_and_removed() {
    let (s, id) = movie_with_a_source();
    let d = &s.d;
    let movie = "/Movies/Fight Club (1999)";
    let en = s.media.join("fc.en.srt");
    write(&en, SRT_EN.as_bytes());
    let added = d.ctl_json(&[
        "subs",
        "add",
        "movie",
        &id,
        en.to_str().unwrap(),
        "--lang",
        "English",
    ]);
    assert_eq!(added["language"], "en");
    assert_eq!(added["format"], "srt");
    assert_eq!(added["origin"], "local");
    assert_eq!(
        added["share_path"],
        format!("{movie}/Fight Club (1999).en.srt")
    );

    // Old SubRip files are Windows-1252: served as UTF-8. A second English one gets " 2".
    let latin = s.media.join("latin.srt");
    write(
        &latin,
        b"1\n00:00:01,000 --> 00:00:02,000\nTyler Durden \xE0 Paris\n",
    );
    let second = d.ctl_json(&[
        "subs",
        "add",
        "movie",
        &id,
        latin.to_str().unwrap(),
        "--lang",
        "en",
        "--sdh",
    ]);
    assert_eq!(
        second["share_path"],
        format!("{movie}/Fight Club (1999).en.sdh.srt")
    );
    let third_file = s.media.join("third.srt");
    write(&third_file, SRT_DE.as_bytes());
    let third = d.ctl_json(&[
        "subs",
        "add",
        "movie",
        &id,
        third_file.to_str().unwrap(),
        "--lang",
        "eng",
    ]);
    assert_eq!(
        third["share_path"],
        format!("{movie}/Fight Club (1999).en 2.srt")
    );
    let addr = d.webdav_addr();
    let (code, body, _) = curl_get(&addr, second["share_path"].as_str().unwrap(), None, 10);
    assert_eq!(code, 200);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("Tyler Durden à Paris")
    );

    // Bad input: a clear error, and nothing attached.
    refused(&s, &id, &en, "en", "attached to that item already");
    refused(&s, &id, &en, "xx", "unknown language `xx`");
    let binary = s.media.join("binary.srt");
    write(&binary, &pattern(4096, 9));
    refused(&s, &id, &binary, "en", "not a text file");
    let notes = s.media.join("notes.srt");
    write(&notes, b"buy milk\n");
    refused(&s, &id, &notes, "en", "not a SubRip file");
    let huge = s.media.join("huge.srt");
    write(&huge, &vec![b'a'; 5 * 1024 * 1024 + 1]);
    refused(&s, &id, &huge, "en", "larger than 5 MiB");
    let out = d.ctl(&[
        "subs",
        "add",
        "movie",
        "999",
        en.to_str().unwrap(),
        "--lang",
        "en",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no movie with id 999"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        d.ctl_json(&["subs", "ls", "movie", &id])
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Removing one deletes its copy; the next of its name moves up ("en 2" → "en").
    let data_dir = std::path::PathBuf::from(d.ctl_json(&["status"])["data_dir"].as_str().unwrap());
    let copies = || {
        std::fs::read_dir(data_dir.join("subtitles"))
            .unwrap()
            .count()
    };
    assert_eq!(copies(), 3);
    let removed = d.ctl_json(&["subs", "rm", &added["id"].to_string()]);
    assert_eq!(removed["id"], added["id"]);
    let (code, body, _) = curl_get(&addr, added["share_path"].as_str().unwrap(), None, 10);
    assert_eq!((code, body.as_slice()), (200, SRT_DE.as_bytes()));
    let (code, _, _) = curl_get(&addr, third["share_path"].as_str().unwrap(), None, 10);
    assert_eq!(code, 404);
    assert_eq!(copies(), 2);
    let out = d.ctl(&["subs", "rm", &added["id"].to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no subtitle with id"),
        "{}",
        stderr(&out)
    );

    // A movie removed takes its subtitles along; their copies go at the next start.
    d.ctl_ok(&["movie", "rm", &id]);
    let mut d = s.d;
    d.restart();
    assert_eq!(
        std::fs::read_dir(data_dir.join("subtitles"))
            .unwrap()
            .count(),
        0
    );
}

/// The OpenSubtitles moviehash, written out here from its definition: the file's size plus
/// every little-endian u64 of its first and last 64 KiB, wrapping.
fn moviehash(data: &[u8]) -> String {
    let words = |b: &[u8]| {
        b.chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
            .fold(0u64, u64::wrapping_add)
    };
    let n = data.len();
    let h = (n as u64)
        .wrapping_add(words(&data[..65_536]))
        .wrapping_add(words(&data[n - 65_536..]));
    format!("{h:016x}")
}

fn entry(file_id: i64, language: &str, hash: Option<&str>, downloads: u64, text: &str) -> Entry {
    Entry {
        file_id,
        language: language.into(),
        tmdb_id: Some(550),
        episode: None,
        moviehash: hash.map(str::to_string),
        download_count: downloads,
        hearing_impaired: false,
        release: format!("Fight.Club.1999.release.{file_id}"),
        content: text.as_bytes().to_vec(),
    }
}

/// A daemon with a TMDB, local sources under `media`, and OpenSubtitles at `fake` with the
/// application key.
fn with_opensubtitles(fake: &FakeOpenSubtitles, tmdb: &FakeTmdb, media: &Path) -> DaemonConfig {
    DaemonConfig::new()
        .tmdb(tmdb)
        .env("MOMO_LIBRARY_LOCAL_ROOTS", media.display().to_string())
        .env("MOMO_SUBTITLES_OPENSUBTITLES_BASE_URL", fake.url.clone())
        .env(
            "MOMO_SUBTITLES_OPENSUBTITLES_API_KEY",
            opensubtitles::API_KEY,
        )
}

#[test]
fn opensubtitles_is_searched_by_hash_and_tmdb_id_and_its_quota_respected() {
    let tmp = TempDir::new().unwrap();
    let media = tmp.path().join("media");
    let video = pattern(300_000, 42);
    write(&media.join("Fight.Club.1999.mkv"), &video);
    let hash = moviehash(&video);
    let fake_os = FakeOpenSubtitles::start(vec![
        // Made for this file, but less downloaded than the other English one.
        entry(101, "en", Some(&hash), 10, SRT_EN),
        entry(102, "en", None, 9000, SRT_FORCED),
        entry(201, "de", None, 50, SRT_DE),
        entry(
            301,
            "fr",
            None,
            5,
            "1\n00:00:01,000 --> 00:00:02,000\nLa première règle\n",
        ),
    ]);
    let tmdb = FakeTmdb::start();
    let d = Daemon::start(
        with_opensubtitles(&fake_os, &tmdb, &media)
            .env(
                "MOMO_SUBTITLES_OPENSUBTITLES_USERNAME",
                opensubtitles::USERNAME,
            )
            .env(
                "MOMO_SUBTITLES_OPENSUBTITLES_PASSWORD",
                opensubtitles::PASSWORD,
            )
            .env("MOMO_SUBTITLES_LANGUAGES", "en,de")
            .env("MOMO_SUBTITLES_AUTO", "false"),
    );
    let id = d.ctl_json(&["movie", "add", "550"])["id"].to_string();
    let file = media.join("Fight.Club.1999.mkv");
    d.ctl_ok(&["assign", "movie", &id, "--local", file.to_str().unwrap()]);

    // One 429 on the way is waited out.
    fake_os.rate_limit(1);
    let found = d.ctl_json(&["subs", "search", "movie", &id]);
    assert_eq!(found["moviehash"], hash.as_str());
    let offers: Vec<(i64, bool)> = found["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["file_id"].as_i64().unwrap(),
                o["hash_match"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        offers,
        [(101, true), (102, false), (201, false)],
        "hash match first, then downloads"
    );
    let searched = fake_os.requests();
    let search = searched
        .iter()
        .rev()
        .find(|r| r.starts_with("GET /api/v1/subtitles"))
        .unwrap();
    assert!(
        search.contains(&format!("moviehash={hash}")) && search.contains("tmdb_id=550"),
        "{search}"
    );
    assert!(
        search.contains("agent=momoshtrem v"),
        "a descriptive User-Agent: {search}"
    );

    // Fetch: the best in each configured language, downloaded with the account's token.
    let fetched = d.ctl_json(&["subs", "fetch", "movie", &id]);
    let got: Vec<(String, String)> = fetched
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["language"].as_str().unwrap().to_string(),
                s["origin"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("en".into(), "opensubtitles".into()),
            ("de".into(), "opensubtitles".into())
        ]
    );
    let addr = d.webdav_addr();
    let (code, body, _) = curl_get(
        &addr,
        "/Movies/Fight Club (1999)/Fight Club (1999).en.srt",
        None,
        10,
    );
    assert_eq!(
        (code, body.as_slice()),
        (200, SRT_EN.as_bytes()),
        "the hash match was chosen"
    );
    assert!(
        fake_os
            .requests()
            .iter()
            .filter(|r| r.starts_with("POST /api/v1/download"))
            .all(|r| r.contains("auth=Bearer ")),
        "downloads carry the login token"
    );
    assert_eq!(fake_os.remaining(), 18);

    // A stale login token: momod logs in again, once, and the pick still comes.
    fake_os.expire_token();
    let picked = d.ctl_json(&["subs", "fetch", "movie", &id, "--pick", "102"]);
    assert_eq!(picked.as_array().unwrap().len(), 1, "{picked}");
    let logins = |r: &Vec<String>| {
        r.iter()
            .filter(|r| r.starts_with("POST /api/v1/login"))
            .count()
    };
    assert_eq!(logins(&fake_os.requests()), 2);
    assert_eq!(fake_os.remaining(), 17);

    // The quota spent: a clear error with when it resets, and nothing attached.
    fake_os.set_remaining(0);
    let out = d.ctl(&["subs", "fetch", "movie", &id, "--lang", "fr"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(
        e.contains("quota is spent") && e.contains("resets in 9 hours"),
        "{e}"
    );
    assert_eq!(
        d.ctl_json(&["subs", "ls", "movie", &id])
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let out = d.ctl(&["subs", "search", "movie", &id, "--lang", "xx"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown language `xx`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_assignment_fetches_the_languages_its_item_lacks_in_the_background() {
    let tmp = TempDir::new().unwrap();
    let media = tmp.path().join("media");
    let video = pattern(200_000, 43);
    write(&media.join("Fight.Club.1999.mkv"), &video);
    let fake_os = FakeOpenSubtitles::start(vec![
        entry(101, "en", Some(&moviehash(&video)), 10, SRT_EN),
        entry(201, "de", None, 50, SRT_DE),
    ]);
    let tmdb = FakeTmdb::start();
    let d = Daemon::start(
        with_opensubtitles(&fake_os, &tmdb, &media).env("MOMO_SUBTITLES_LANGUAGES", "en,de,fr"),
    );
    let id = d.ctl_json(&["movie", "add", "550"])["id"].to_string();
    // A German one by hand first: only English (and French, which nobody has) is missing.
    let de = media.join("mine.de.srt");
    write(&de, SRT_DE.as_bytes());
    d.ctl_ok(&[
        "subs",
        "add",
        "movie",
        &id,
        de.to_str().unwrap(),
        "--lang",
        "de",
    ]);
    let file = media.join("Fight.Club.1999.mkv");
    d.ctl_ok(&["assign", "movie", &id, "--local", file.to_str().unwrap()]);
    momo_tests::eventually(
        std::time::Duration::from_secs(30),
        "the automatic subtitle fetch ends",
        || {
            d.ctl_json(&["jobs"])
                .as_array()
                .unwrap()
                .iter()
                .any(|j| j["kind"] == "subtitle_fetch" && j["state"] == "done")
        },
    );
    let subs = d.ctl_json(&["subs", "ls", "movie", &id]);
    let got: Vec<(&str, &str)> = subs
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["language"].as_str().unwrap(),
                s["origin"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("de", "local"), ("en", "opensubtitles")]);
    // One download: German was there already, French is not offered (not an error).
    assert_eq!(fake_os.remaining(), 19);
}

#[test]
fn without_an_api_key_opensubtitles_is_refused_by_name() {
    let (s, id) = movie_with_a_source();
    for cmd in ["search", "fetch"] {
        let out = s.d.ctl(&["subs", cmd, "movie", &id]);
        assert_eq!(out.status.code(), Some(1));
        let e = stderr(&out);
        assert!(
            e.contains("FailedPrecondition") && e.contains("subtitles.opensubtitles_api_key"),
            "{cmd}: {e}"
        );
    }
    // No job was made for a fetch that could not start.
    assert_eq!(s.d.ctl_json(&["jobs"]).as_array().unwrap().len(), 0);
}
