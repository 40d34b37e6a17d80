//! Importing a Radarr library (a fake Radarr API in the harness, the fake TMDB, real files
//! under library.local_roots) with the real momod and momoctl.
use momo_tests::arr::{self, FakeRadarr};
use momo_tests::swarm::pattern;
use momo_tests::tmdb::FakeTmdb;
use momo_tests::{Daemon, DaemonConfig, curl_get, stderr};
use serde_json::{Value, json};
use tempfile::TempDir;

fn outcomes(report: &Value) -> Vec<(String, String, String)> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["title"].as_str().unwrap().to_string(),
                r["outcome"].as_str().unwrap().to_string(),
                r["note"].as_str().unwrap().to_string(),
            )
        })
        .collect()
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
