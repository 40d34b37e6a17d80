//! Importing a Radarr library (a fake Radarr API in the harness, the fake TMDB, real files
//! under library.local_roots) with the real momod and momoctl.
use momo_tests::arr::{self, FakeRadarr, FakeSonarr};
use momo_tests::swarm::pattern;
use momo_tests::tmdb::{FakeShow, FakeTmdb};
use momo_tests::{Daemon, DaemonConfig, curl_get, stderr};
use serde_json::{Value, json};
use tempfile::TempDir;

fn outcomes(report: &Value) -> Vec<(String, String, String)> {
    momo_tests::report_rows(report, ["title", "outcome", "note"])
}

#[test]
fn a_radarr_library_comes_in_once_with_its_files() {
    let tmp = TempDir::new().unwrap();
    let media = tmp.path().join("media");
    let fight_club = pattern(200_000, 5);
    let matrix = pattern(150_000, 6);
    for (path, data) in [
        ("movies/Fight Club (1999)/fc.mkv", &fight_club),
        ("movies/The Matrix (1999)/m.mkv", &matrix),
    ] {
        let p = media.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    // Outside the roots: a file momod must not serve.
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("sa.mkv"), b"private").unwrap();
    let file = |p: &str| json!({"path": p, "size": 1});
    let radarr = FakeRadarr::start(vec![
        json!({"title": "Fight Club", "year": 1999, "tmdbId": 550, "hasFile": true,
               "movieFile": file("/movies/Fight Club (1999)/fc.mkv")}),
        json!({"title": "The Matrix", "year": 1999, "tmdbId": 603, "hasFile": true,
               "movieFile": file("/movies/The Matrix (1999)/m.mkv")}),
        json!({"title": "Pulp Fiction", "year": 1994, "tmdbId": 680, "hasFile": false}),
        json!({"title": "Spirited Away", "year": 2001, "tmdbId": 129, "hasFile": true,
               "movieFile": file("/elsewhere/sa.mkv")}),
        json!({"title": "Obscure", "year": 1950, "tmdbId": 0}),
        json!({"title": "Lost Reel", "year": 1920, "tmdbId": 424242}),
        json!({"title": 5, "tmdbId": "not a number"}),
    ]);
    let tmdb = FakeTmdb::start();
    let d = Daemon::start(
        DaemonConfig::new()
            .tmdb(&tmdb)
            .env("MOMO_LIBRARY_LOCAL_ROOTS", media.display().to_string()),
    );
    // The Matrix is in the library already, without a source.
    d.ctl_json(&["movie", "add", "603"]);
    let map = format!("/movies={}/movies", media.display());
    let map2 = format!("/elsewhere={}", elsewhere.display());
    let import = |extra: &[&str]| {
        let mut args = vec![
            "import",
            "radarr",
            "--url",
            &radarr.url,
            "--api-key",
            arr::API_KEY,
            "--path-map",
            &map,
            "--path-map",
            &map2,
        ];
        args.extend_from_slice(extra);
        d.ctl_json(&args)
    };

    let dry = import(&["--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    let rows = outcomes(&dry);
    let outcome = |rows: &[(String, String, String)], title: &str| {
        rows.iter()
            .find(|r| r.0 == title)
            .map(|r| (r.1.clone(), r.2.clone()))
            .unwrap_or_else(|| panic!("{title} not in {rows:?}"))
    };
    assert_eq!(outcome(&rows, "Fight Club").0, "added");
    assert_eq!(outcome(&rows, "The Matrix").0, "assigned");
    assert_eq!(
        outcome(&rows, "Pulp Fiction"),
        ("added".into(), "Radarr has no file for it".into())
    );
    let (o, note) = outcome(&rows, "Spirited Away");
    assert_eq!(o, "added");
    assert!(note.contains("library.local_roots"), "{note}");
    assert_eq!(
        outcome(&rows, "Obscure"),
        ("skipped".into(), "Radarr has no TMDB id for it".into())
    );
    assert_eq!(outcome(&rows, "Lost Reel").0, "skipped");
    // The malformed entry reads as one without a TMDB id.
    assert_eq!(
        outcome(&rows, ""),
        ("skipped".into(), "Radarr has no TMDB id for it".into())
    );
    assert_eq!(rows.len(), 7, "{rows:?}");
    assert_eq!(
        d.ctl_json(&["status"])["movies"],
        1,
        "a dry run stores nothing"
    );

    let done = import(&[]);
    assert_eq!(outcomes(&done), rows, "the run does what the dry run said");
    let status = d.ctl_json(&["status"]);
    assert_eq!(
        (status["movies"].as_u64(), status["assigned"].as_u64()),
        (Some(4), Some(2))
    );
    let addr = d.webdav_addr();
    let (code, body, _) = curl_get(
        &addr,
        "/Movies/Fight Club (1999)/Fight Club (1999).mkv",
        None,
        10,
    );
    assert_eq!((code, body == fight_club), (200, true));
    let (code, body, _) = curl_get(
        &addr,
        "/Movies/The Matrix (1999)/The Matrix (1999).mkv",
        None,
        10,
    );
    assert_eq!((code, body == matrix), (200, true));

    // Again: nothing changes.
    let again = import(&[]);
    for (title, outcome, _) in outcomes(&again) {
        assert!(
            outcome == "unchanged" || outcome == "skipped",
            "{title}: {outcome}"
        );
    }
    assert_eq!(d.ctl_json(&["status"])["movies"], 4);

    // A wrong key, a Radarr that is not there, a bad path map: clear errors.
    let refused = |url: &str, key: &str, extra: &[&str], says: &str| {
        let mut args = vec!["import", "radarr", "--url", url, "--api-key", key];
        args.extend_from_slice(extra);
        let out = d.ctl(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    };
    refused(&radarr.url, "wrong", &[], "refused the API key");
    refused("http://127.0.0.1:9", "k", &[], "unreachable");
    refused(&radarr.url, "k", &["--path-map", "nope"], "FROM=TO");
    assert_eq!(d.ctl_json(&["status"])["movies"], 4);
}

#[test]
fn a_sonarr_library_comes_in_with_its_episode_files() {
    let tmp = TempDir::new().unwrap();
    let media = tmp.path().join("media");
    let pilot = pattern(120_000, 11);
    let cat = pattern(130_000, 12);
    let geheimnisse = pattern(110_000, 13);
    for (path, data) in [
        ("tv/Breaking Bad/Season 01/bb.s01e01.mkv", &pilot),
        ("tv/Breaking Bad/Season 01/bb.s01e02.mkv", &cat),
        ("tv/Dark/Season 1/dark.s01e01.mkv", &geheimnisse),
        ("tv/Breaking Bad/Season 03/bb.s03e09.mkv", &geheimnisse),
    ] {
        let p = media.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let episode = |season: i32, number: i32, file: i64| {
        json!({"seriesId": 0, "seasonNumber": season, "episodeNumber": number,
               "title": "x", "hasFile": file > 0, "episodeFileId": file, "monitored": true})
    };
    let file = |id: i64, path: &str| json!({"id": id, "seasonNumber": 1, "relativePath": "x.mkv", "path": path, "size": 1});
    let sonarr = FakeSonarr::start(
        vec![
            // Sonarr v3: TVDB id only, mapped through TMDB's /find.
            json!({"id": 1, "title": "Breaking Bad", "year": 2008, "tvdbId": 81189}),
            // Sonarr v4 knows the TMDB id.
            json!({"id": 2, "title": "Dark", "year": 2017, "tvdbId": 334824, "tmdbId": 70523}),
            json!({"id": 3, "title": "Unknown Show", "year": 1990, "tvdbId": 999999}),
            json!({"id": 4, "title": "No Ids", "year": 1990}),
            // TMDB describes it past the library's limits (a blank name): this row only.
            json!({"id": 5, "title": "Blank On TMDB", "year": 2001, "tmdbId": 90001}),
        ],
        vec![
            (
                1,
                vec![
                    episode(1, 1, 101),
                    episode(1, 2, 102),
                    episode(1, 3, 103),
                    episode(1, 4, 0),
                    // TMDB's season 3 has three episodes: not this one.
                    episode(3, 9, 104),
                ],
                vec![
                    file(101, "/tv/Breaking Bad/Season 01/bb.s01e01.mkv"),
                    file(102, "/tv/Breaking Bad/Season 01/bb.s01e02.mkv"),
                    // Not on this machine.
                    file(103, "/tv/Breaking Bad/Season 01/bb.s01e03.mkv"),
                    file(104, "/tv/Breaking Bad/Season 03/bb.s03e09.mkv"),
                ],
            ),
            (
                2,
                vec![episode(1, 1, 201), episode(1, 2, 0)],
                vec![file(201, "/tv/Dark/Season 1/dark.s01e01.mkv")],
            ),
        ],
    );
    let tmdb = FakeTmdb::start();
    tmdb.add_show(FakeShow {
        id: 90001,
        name: "   ".into(),
        first_air_date: "2001-01-01".into(),
        seasons: Default::default(),
    });
    let d = Daemon::start(
        DaemonConfig::new()
            .tmdb(&tmdb)
            .env("MOMO_LIBRARY_LOCAL_ROOTS", media.display().to_string()),
    );
    // Dark is in the library already, without sources.
    d.ctl_json(&["show", "add", "70523"]);
    let map = format!("/tv={}/tv", media.display());
    let import = |extra: &[&str]| {
        let mut args = vec![
            "import",
            "sonarr",
            "--url",
            &sonarr.url,
            "--api-key",
            arr::API_KEY,
            "--path-map",
            &map,
        ];
        args.extend_from_slice(extra);
        d.ctl_json(&args)
    };
    let row = |report: &Value, title: &str| -> Value {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["title"] == title)
            .cloned()
            .unwrap_or_else(|| panic!("{title} not in {report}"))
    };

    let dry = import(&["--dry-run"]);
    let bb = row(&dry, "Breaking Bad");
    assert_eq!(
        (
            bb["kind"].as_str(),
            bb["outcome"].as_str(),
            bb["tmdb_id"].as_i64(),
            bb["files"].as_u64()
        ),
        (Some("show"), Some("added"), Some(1396), Some(2)),
        "{bb}"
    );
    let note = bb["note"].as_str().unwrap();
    assert!(note.contains("2 left out"), "{note}");
    assert!(note.contains("S01E03"), "{note}");
    assert!(note.contains("S03E09: TMDB has no such episode"), "{note}");
    let dark = row(&dry, "Dark");
    assert_eq!(
        (dark["outcome"].as_str(), dark["files"].as_u64()),
        (Some("assigned"), Some(1))
    );
    let unknown = row(&dry, "Unknown Show");
    assert_eq!(unknown["outcome"], "unmatched");
    assert!(unknown["note"].as_str().unwrap().contains("TVDB id 999999"));
    assert_eq!(row(&dry, "No Ids")["outcome"], "skipped");
    let blank = row(&dry, "Blank On TMDB");
    assert_eq!(blank["outcome"], "skipped", "{blank}");
    assert!(blank["note"].as_str().unwrap().contains("TMDB"), "{blank}");
    assert_eq!(
        d.ctl_json(&["status"])["shows"],
        1,
        "a dry run stores nothing"
    );

    let done = import(&[]);
    assert_eq!(row(&done, "Breaking Bad")["outcome"], "added");
    let status = d.ctl_json(&["status"]);
    assert_eq!(
        (status["shows"].as_u64(), status["assigned"].as_u64()),
        (Some(2), Some(3))
    );
    let addr = d.webdav_addr();
    for (path, data) in [
        (
            "/TV Shows/Breaking Bad (2008)/Season 01/Breaking Bad (2008) - S01E01 - Pilot.mkv",
            &pilot,
        ),
        (
            "/TV Shows/Breaking Bad (2008)/Season 01/Breaking Bad (2008) - S01E02 - Cat's in the Bag.mkv",
            &cat,
        ),
        (
            "/TV Shows/Dark (2017)/Season 01/Dark (2017) - S01E01 - Geheimnisse.mkv",
            &geheimnisse,
        ),
    ] {
        let (code, body, _) = curl_get(&addr, path, None, 10);
        assert_eq!((code, body == *data), (200, true), "{path}");
    }

    // Again: nothing changes.
    let again = import(&[]);
    for r in again["rows"].as_array().unwrap() {
        let o = r["outcome"].as_str().unwrap();
        assert!(["unchanged", "skipped", "unmatched"].contains(&o), "{r}");
    }
    assert_eq!(d.ctl_json(&["status"])["assigned"], 3);

    let out = d.ctl(&[
        "import",
        "sonarr",
        "--url",
        &sonarr.url,
        "--api-key",
        "wrong",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Sonarr refused the API key"),
        "{}",
        stderr(&out)
    );
}
