//! The library through the real momoctl and momod, with TMDB played by a local server.
use std::time::Duration;

use momo_tests::tmdb::{self, FakeTmdb};
use momo_tests::{Daemon, DaemonConfig, stderr};
use serde_json::Value;

fn daemon(fake: &FakeTmdb) -> Daemon {
    Daemon::start(DaemonConfig::new().tmdb(fake))
}

/// Asserts a failed momoctl call: exit 1, the gRPC code and each of `words` in stderr.
fn assert_fails(d: &Daemon, args: &[&str], code: &str, words: &[&str]) -> String {
    let out = d.ctl(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail: {err}");
    assert!(
        err.contains(&format!("code: {code}")),
        "{args:?}: expected {code}: {err}"
    );
    for w in words {
        assert!(err.contains(w), "{args:?}: expected `{w}` in: {err}");
    }
    err
}

fn counts(d: &Daemon) -> (u64, u64, u64, u64) {
    let s = d.ctl_json(&["status"]);
    let n = |k: &str| s[k].as_u64().unwrap();
    (n("movies"), n("shows"), n("seasons"), n("episodes"))
}

#[test]
fn movies_add_list_get_remove() {
    let fake = FakeTmdb::start();
    let d = daemon(&fake);

    let fc = d.ctl_json(&["movie", "add", "550"]);
    assert_eq!(fc["tmdb_id"], 550);
    assert_eq!(fc["title"], "Fight Club");
    assert_eq!(fc["year"], 1999);
    let table = d.ctl_ok(&["movie", "add", "129"]);
    assert!(table.contains("Spirited Away (2001)"), "{table}");
    // No release date yet: year is null.
    let untitled = d.ctl_json(&["movie", "add", "1000001"]);
    assert_eq!(untitled["year"], Value::Null);

    let list = d.ctl_json(&["movie", "ls"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    for m in list {
        for key in ["id", "tmdb_id", "title", "year"] {
            assert!(m.get(key).is_some(), "movie JSON lacks `{key}`: {m}");
        }
    }
    let titles: Vec<&str> = list.iter().map(|m| m["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        ["Fight Club", "Spirited Away", "Untitled Future Project"]
    );

    let id = fc["id"].as_i64().unwrap().to_string();
    let got = d.ctl_json(&["movie", "get", &id]);
    assert_eq!(got, fc);
    let table = d.ctl_ok(&["movie", "ls"]);
    assert!(
        table.contains("Fight Club") && table.contains("550"),
        "{table}"
    );

    let removed = d.ctl_json(&["movie", "rm", &id]);
    assert_eq!(removed["title"], "Fight Club");
    assert_fails(&d, &["movie", "get", &id], "NotFound", &[&id]);
    assert_fails(&d, &["movie", "rm", &id], "NotFound", &[&id]);
    assert_eq!(d.ctl_json(&["movie", "ls"]).as_array().unwrap().len(), 2);
}

#[test]
fn same_tmdb_id_twice_is_refused_and_stored_once() {
    let fake = FakeTmdb::start();
    let d = daemon(&fake);
    d.ctl_ok(&["movie", "add", "603"]);
    assert_fails(&d, &["movie", "add", "603"], "AlreadyExists", &["603"]);
    d.ctl_ok(&["show", "add", "70523"]);
    assert_fails(&d, &["show", "add", "70523"], "AlreadyExists", &["70523"]);
    assert_eq!(counts(&d).0, 1);
    assert_eq!(counts(&d).1, 1);
}

#[test]
fn unknown_tmdb_id_is_not_found_and_nothing_is_stored() {
    let fake = FakeTmdb::start();
    let d = daemon(&fake);
    assert_fails(&d, &["movie", "add", "424242"], "NotFound", &["424242"]);
    assert_fails(&d, &["show", "add", "424242"], "NotFound", &["424242"]);
    assert_fails(
        &d,
        &["show", "add", "1396", "--seasons", "1,9"],
        "NotFound",
        &["season 9"],
    );
    assert_fails(&d, &["movie", "add", "0"], "InvalidArgument", &[]);
    assert_eq!(counts(&d), (0, 0, 0, 0));
}

#[test]
fn without_a_key_adding_by_id_names_the_setting_and_by_title_works() {
    let d = Daemon::start(DaemonConfig::new().env("MOMO_TMDB_BASE_URL", "http://127.0.0.1:9/3"));
    assert_fails(
        &d,
        &["movie", "add", "550"],
        "FailedPrecondition",
        &["tmdb.api_key", "MOMO_TMDB_API_KEY"],
    );
    let m = d.ctl_json(&[
        "movie",
        "add",
        "--title",
        "Home Movie: Part 1",
        "--year",
        "2001",
    ]);
    assert_eq!(m["tmdb_id"], Value::Null);
    assert_eq!(m["title"], "Home Movie: Part 1");
    assert_eq!(m["year"], 2001);
    // The same title twice is two movies (two films can share a title and year).
    d.ctl_ok(&[
        "movie",
        "add",
        "--title",
        "Home Movie: Part 1",
        "--year",
        "2001",
    ]);
    let s = d.ctl_json(&[
        "show",
        "add",
        "--title",
        "Family Trips",
        "--year",
        "2019",
        "--episodes",
        "1:3,2:2",
    ]);
    assert_eq!(s["seasons"].as_array().unwrap().len(), 2);
    assert_eq!(s["seasons"][1]["episodes"].as_array().unwrap().len(), 2);
    assert_eq!(s["seasons"][0]["episodes"][2]["name"], Value::Null);
    assert_eq!(counts(&d), (2, 1, 2, 5));
    // Bad manual input is a usage error or InvalidArgument, and changes nothing.
    assert_eq!(
        d.ctl(&["movie", "add", "550", "--title", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_fails(
        &d,
        &["movie", "add", "--title", "   "],
        "InvalidArgument",
        &["title"],
    );
    assert_fails(
        &d,
        &["movie", "add", "--title", "Old", "--year", "12"],
        "InvalidArgument",
        &["12"],
    );
    let id = s["id"].as_i64().unwrap().to_string();
    assert_fails(
        &d,
        &["show", "refresh", &id],
        "FailedPrecondition",
        &["without TMDB"],
    );
    assert_eq!(counts(&d), (2, 1, 2, 5));
}

#[test]
fn a_rejected_key_is_a_failed_precondition() {
    let fake = FakeTmdb::start();
    let d = Daemon::start(
        DaemonConfig::new()
            .tmdb(&fake)
            .env("MOMO_TMDB_API_KEY", "0000000000000000000000000000dead"),
    );
    assert_fails(
        &d,
        &["movie", "add", "550"],
        "FailedPrecondition",
        &["rejected", "tmdb.api_key"],
    );
    assert_eq!(counts(&d).0, 0);
}

#[test]
fn a_v4_read_token_is_sent_as_bearer() {
    let fake = FakeTmdb::start();
    let d = Daemon::start(
        DaemonConfig::new()
            .tmdb(&fake)
            .env("MOMO_TMDB_API_KEY", tmdb::READ_TOKEN),
    );
    d.ctl_ok(&["movie", "add", "550"]);
    assert!(
        fake.requests().iter().all(|r| !r.contains("api_key")),
        "{:?}",
        fake.requests()
    );
}

#[test]
fn shows_with_seasons_episodes_and_specials() {
    let fake = FakeTmdb::start();
    let d = daemon(&fake);

    let bb = d.ctl_json(&["show", "add", "1396"]);
    assert_eq!(bb["tmdb_id"], 1396);
    assert_eq!(bb["title"], "Breaking Bad");
    assert_eq!(bb["year"], 2008);
    let seasons = bb["seasons"].as_array().unwrap();
    let numbers: Vec<i64> = seasons
        .iter()
        .map(|s| s["season_number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3], "no specials unless asked");
    let s1 = seasons[0]["episodes"].as_array().unwrap();
    assert_eq!(s1.len(), 4);
    for key in ["id", "episode_number", "name", "air_date", "assigned"] {
        assert!(
            s1[0].get(key).is_some(),
            "episode JSON lacks `{key}`: {}",
            s1[0]
        );
    }
    assert_eq!(s1[1]["name"], "Cat's in the Bag...");
    assert_eq!(s1[0]["air_date"], "2008-01-20");
    assert_eq!(s1[0]["assigned"], false);
    let s3 = seasons[2]["episodes"].as_array().unwrap();
    assert_eq!(s3[0]["name"], "No Más");
    assert_eq!(s3[2]["name"], "I.F.T. / Who?");
    assert_eq!(seasons[1]["episodes"][1]["name"], "Grilled: A Story");

    // get returns the same document
    let id = bb["id"].as_i64().unwrap().to_string();
    assert_eq!(d.ctl_json(&["show", "get", &id]), bb);
    let table = d.ctl_ok(&["show", "get", &id]);
    assert!(
        table.contains("S03E03") && table.contains("I.F.T. / Who?"),
        "{table}"
    );

    // Specials, and a season filter; episodes without a name or date.
    d.ctl_ok(&["show", "rm", &id]);
    let with_specials = d.ctl_json(&["show", "add", "1396", "--specials", "--seasons", "2"]);
    let numbers: Vec<i64> = with_specials["seasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["season_number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [0, 2]);
    assert_eq!(
        with_specials["seasons"][0]["episodes"][0]["name"],
        "Good Cop / Bad Cop"
    );
    let dark = d.ctl_json(&["show", "add", "70523"]);
    let unnamed = &dark["seasons"][0]["episodes"][2];
    assert_eq!(unnamed["name"], Value::Null);
    assert_eq!(unnamed["air_date"], Value::Null);
    assert_eq!(dark["seasons"][0]["episodes"][1]["name"], "Lügen");

    let list = d.ctl_json(&["show", "ls"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["title"], "Breaking Bad");
    assert_eq!(list[0]["season_count"], 2);
    assert_eq!(list[0]["episode_count"], 5);
    assert_eq!(list[1]["title"], "Dark");
    assert_eq!(list[1]["episode_count"], 5);
    assert_eq!(counts(&d), (0, 2, 4, 10));

    let removed = d.ctl_json(&["show", "rm", &dark["id"].as_i64().unwrap().to_string()]);
    assert_eq!(removed["title"], "Dark");
    assert_eq!(counts(&d), (0, 1, 2, 5));
}

#[test]
fn refresh_adds_what_appeared_and_updates_names() {
    let fake = FakeTmdb::start();
    // Caching off, so the daemon sees TMDB's changes at once.
    let d = Daemon::start(
        DaemonConfig::new()
            .tmdb(&fake)
            .env("MOMO_TMDB_CACHE_TTL_S", "0"),
    );
    let dark = d.ctl_json(&["show", "add", "70523"]);
    let id = dark["id"].as_i64().unwrap().to_string();
    let ids_before: Vec<i64> = dark["seasons"][0]["episodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();

    fake.edit_show(70523, |s| {
        let s1 = s.seasons.get_mut(&1).unwrap();
        s1[0].1 = "Geheimnisse (Secrets)".into();
        s1.push((4, "Doppelleben".into(), Some("2017-12-01".into())));
        s.seasons
            .insert(3, vec![(1, "Deja-vu".into(), Some("2020-06-27".into()))]);
    });
    let r = d.ctl_json(&["show", "refresh", &id]);
    assert_eq!(r["added_seasons"], 1);
    assert_eq!(r["added_episodes"], 2);
    assert_eq!(r["updated_episodes"], 1);
    let seasons = r["show"]["seasons"].as_array().unwrap();
    assert_eq!(seasons.len(), 3);
    let s1 = seasons[0]["episodes"].as_array().unwrap();
    assert_eq!(s1.len(), 4);
    assert_eq!(s1[0]["name"], "Geheimnisse (Secrets)");
    assert_eq!(s1[3]["name"], "Doppelleben");
    assert_eq!(seasons[2]["episodes"][0]["name"], "Deja-vu");
    // Existing episodes keep their ids (sources hang off them).
    let ids_after: Vec<i64> = s1
        .iter()
        .take(3)
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids_after, ids_before);
    // Nothing new: a second refresh changes nothing.
    let again = d.ctl_json(&["show", "refresh", &id]);
    assert_eq!(
        (
            again["added_seasons"].as_u64(),
            again["added_episodes"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(again["updated_episodes"], 0);
    assert_eq!(again["show"], r["show"]);
    let table = d.ctl_ok(&["show", "refresh", &id]);
    assert!(table.contains("0 new episodes"), "{table}");
}

#[test]
fn refresh_keeps_episodes_tmdb_dropped() {
    let fake = FakeTmdb::start();
    let d = Daemon::start(
        DaemonConfig::new()
            .tmdb(&fake)
            .env("MOMO_TMDB_CACHE_TTL_S", "0"),
    );
    let show = d.ctl_json(&["show", "add", "1396", "--seasons", "1,2"]);
    let id = show["id"].as_i64().unwrap().to_string();
    fake.edit_show(1396, |s| {
        s.seasons.get_mut(&1).unwrap().truncate(1);
        s.seasons.remove(&2);
        s.seasons
            .insert(5, vec![(1, "Live Free or Die".into(), None)]);
    });
    let r = d.ctl_json(&["show", "refresh", &id]);
    // Season 5 was not asked for at add time (--seasons 1,2): not added.
    assert_eq!(r["added_seasons"], 0);
    let seasons = r["show"]["seasons"].as_array().unwrap();
    assert_eq!(seasons.len(), 2);
    assert_eq!(seasons[0]["episodes"].as_array().unwrap().len(), 4);
    assert_eq!(seasons[1]["episodes"].as_array().unwrap().len(), 3);
}

#[test]
fn tmdb_down_is_unavailable_and_stores_nothing() {
    let mut fake = FakeTmdb::start();
    let d = daemon(&fake);
    fake.stop();
    assert_fails(&d, &["movie", "add", "550"], "Unavailable", &["TMDB"]);
    assert_fails(&d, &["show", "add", "1396"], "Unavailable", &["TMDB"]);
    assert_fails(&d, &["search", "movie", "fight"], "Unavailable", &["TMDB"]);
    assert_eq!(counts(&d), (0, 0, 0, 0));
}

#[test]
fn a_failure_on_the_third_season_leaves_no_rows() {
    let fake = FakeTmdb::start();
    let d = daemon(&fake);
    fake.fail("/3/tv/1396/season/3", 500);
    assert_fails(&d, &["show", "add", "1396"], "Unavailable", &["season 3"]);
    assert_eq!(counts(&d), (0, 0, 0, 0));
    assert_eq!(d.ctl_json(&["show", "ls"]).as_array().unwrap().len(), 0);
    // Seasons 1 and 2 were fetched before the failure, so the failure really was midway.
    let log = fake.requests();
    assert!(
        log.iter().any(|r| r.contains("/tv/1396/season/2")),
        "{log:?}"
    );
}

#[test]
fn a_rate_limited_request_is_retried_after_retry_after() {
    let fake = FakeTmdb::start();
    let d = daemon(&fake);
    fake.rate_limit("/3/movie/680", 1);
    let m = d.ctl_json(&["movie", "add", "680"]);
    assert_eq!(m["title"], "Pulp Fiction");
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.contains("/movie/680"))
            .count(),
        2
    );
}

#[test]
fn search_lists_ids_titles_years() {
    let fake = FakeTmdb::start();
    let d = daemon(&fake);
    d.ctl_ok(&["movie", "add", "603"]);
    let hits = d.ctl_json(&["search", "movie", "the", "matrix"]);
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["tmdb_id"], 603);
    assert_eq!(hits[0]["title"], "The Matrix");
    assert_eq!(hits[0]["year"], 1999);
    assert_eq!(hits[0]["in_library"], true);
    let table = d.ctl_ok(&["search", "movie", "spirited"]);
    assert!(
        table.contains("129") && table.contains("千と千尋の神隠し"),
        "{table}"
    );
    let shows = d.ctl_json(&["search", "show", "breaking"]);
    assert_eq!(shows[0]["tmdb_id"], 1396);
    assert_eq!(shows[0]["year"], 2008);
    assert_eq!(shows[0]["in_library"], false);
    assert_eq!(d.ctl(&["search", "film", "x"]).status.code(), Some(2));
}

#[test]
fn the_library_survives_a_restart() {
    let fake = FakeTmdb::start();
    let mut d = daemon(&fake);
    d.ctl_ok(&["movie", "add", "550"]);
    d.ctl_ok(&["show", "add", "1396"]);
    let movies = d.ctl_json(&["movie", "ls"]);
    let shows = d.ctl_json(&["show", "get", "1"]);
    d.restart();
    assert_eq!(d.ctl_json(&["movie", "ls"]), movies);
    assert_eq!(d.ctl_json(&["show", "get", "1"]), shows);
}

#[test]
fn twenty_concurrent_adds_all_succeed() {
    let fake = FakeTmdb::start();
    let d = daemon(&fake);
    let children: Vec<_> = (0..20)
        .map(|i| {
            momo_tests::clean_command(&momo_tests::momoctl_bin())
                .env("MOMOCTL_ADDR", d.addr())
                .args(["movie", "add", &(9000 + i).to_string()])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(counts(&d).0, 20);
    assert!(!d.log().contains("database is locked"), "{}", d.log());
}

#[test]
fn the_tmdb_key_never_shows_in_logs_or_errors() {
    let mut fake = FakeTmdb::start();
    let d = Daemon::start(DaemonConfig::new().tmdb(&fake).env("RUST_LOG", "trace"));
    let mut errors = String::new();
    d.ctl_ok(&["movie", "add", "550"]);
    errors += &stderr(&d.ctl(&["movie", "add", "424242"]));
    fake.fail("/3/movie/603", 503);
    errors += &stderr(&d.ctl(&["movie", "add", "603"]));
    fake.stop();
    errors += &stderr(&d.ctl(&["movie", "add", "680"]));
    errors += &stderr(&d.ctl(&["show", "add", "1396"]));
    std::thread::sleep(Duration::from_millis(200));
    let log = d.log();
    assert!(log.contains("TMDB"), "trace log has TMDB traffic: {log}");
    assert!(!log.contains(tmdb::API_KEY), "key leaked into the log");
    assert!(
        !errors.contains(tmdb::API_KEY),
        "key leaked into an error: {errors}"
    );
}

#[test]
fn tables_never_pass_terminal_escapes_through_and_json_stays_exact() {
    let fake = FakeTmdb::start();
    // A title that would retitle the terminal window and turn the text red.
    let title = "Evil\u{1b}]0;pwned\u{7}\u{1b}[31mRed\u{9b}2J";
    fake.add_movie(4444, title, "2001-01-01");
    let d = Daemon::start(DaemonConfig::new().tmdb(&fake));
    // Stored titles lose their control characters at the door.
    let added = d.ctl_ok(&["movie", "add", "--title", title]);
    let listed = d.ctl_ok(&["movie", "ls"]);
    d.ctl_ok(&["show", "add", "--title", title, "--episodes", "1:1"]);
    let show = d.ctl_ok(&["show", "get", "1"]);
    let clean = "Evil]0;pwned[31mRed2J";
    assert_eq!(d.ctl_json(&["movie", "get", "1"])["title"], clean);
    assert_eq!(d.ctl_json(&["show", "get", "1"])["title"], clean);
    // What is only shown, like TMDB's search results, is escaped in tables.
    let found = d.ctl_ok(&["search", "movie", "Evil"]);
    for table in [&added, &listed, &show, &found] {
        assert!(
            !table.chars().any(|c| c.is_control() && c != '\n'),
            "control characters reached the terminal: {table:?}"
        );
    }
    assert!(found.contains("Evil\\u{1b}]0;pwned\\u{7}"), "{found}");
    // Scripts get TMDB's text exactly.
    assert_eq!(d.ctl_json(&["search", "movie", "Evil"])[0]["title"], title);
}
