//! Importing an M3U playlist (a VOD provider's list, served with its files by the harness's
//! `FileServer`) with the real momod and momoctl, matched against the fake TMDB.
use std::collections::BTreeMap;

use momo_tests::files::{FileServer, Served};
use momo_tests::swarm::pattern;
use momo_tests::tmdb::{FakeShow, FakeTmdb};
use momo_tests::{Daemon, DaemonConfig, curl_get, stderr};
use serde_json::Value;
use tempfile::TempDir;

/// (entry name, group, file on the server): tricky names on purpose.
const ENTRIES: &[(&str, &str, &str)] = &[
    ("The Matrix (1999)", "VOD | Movies", "1.mkv"),
    ("EN - Fight Club [1999] FHD", "VOD | Movies", "2.mkv"),
    ("千と千尋の神隠し (2001)", "VOD | Movies", "3.mp4"),
    ("Blade Runner 2049 (2017)", "VOD | Movies", "4.mkv"),
    ("Fargo (1996)", "VOD | Movies", "5.mkv"),
    ("Breaking Bad S01 E02", "Series | Drama", "6.mkv"),
    ("Breaking Bad 1x03", "Series | Drama", "7.mkv"),
    // The same episode again, from another file: the first is used.
    ("Breaking Bad S01E02", "Series | Drama", "8.mkv"),
    ("Fargo S01E01", "Series | Drama", "9.mkv"),
    ("Solaris", "VOD | Movies", "10.mkv"),
    ("Our Holiday Video (2015)", "VOD | Movies", "11.mkv"),
    ("Pulp Fiction (1994)", "VOD | Movies", "no-ranges.mkv"),
    ("Breaking Bad S09E01", "Series | Drama", "12.mkv"),
    ("CNN HD", "Live | News", "live.ts"),
];

fn playlist(root: &str) -> String {
    let mut text = String::from("#EXTM3U\n");
    for (name, group, file) in ENTRIES {
        text.push_str(&format!(
            "#EXTINF:-1 tvg-id=\"\" tvg-name=\"{name}\" tvg-logo=\"{root}/logo,1.png\" group-title=\"{group}\",{name}\n\
             {root}/movie/alice/s3cr3t/{file}\n"
        ));
    }
    text
}

fn outcomes(report: &Value) -> Vec<(String, String, String)> {
    momo_tests::report_rows(report, ["title", "kind", "outcome"])
}

#[test]
fn a_vod_playlist_comes_in_once_matched_on_tmdb() {
    let tmp = TempDir::new().unwrap();
    let tmdb = FakeTmdb::start();
    tmdb.add_movie(335984, "Blade Runner 2049", "2017-10-04");
    tmdb.add_movie(78, "Blade Runner", "1982-06-25");
    tmdb.add_movie(275, "Fargo", "1996-03-08");
    tmdb.add_movie(593, "Solaris", "1972-03-20");
    tmdb.add_movie(2103, "Solaris", "2002-11-27");
    let mut fargo = BTreeMap::new();
    fargo.insert(1, vec![(1, "The Crocodile's Dilemma".to_string(), None)]);
    tmdb.add_show(FakeShow {
        id: 60622,
        name: "Fargo".into(),
        first_air_date: "2014-04-15".into(),
        seasons: fargo,
    });

    let mut files: Vec<(String, Served)> = (1..=12)
        .map(|n| {
            let ext = if n == 3 { "mp4" } else { "mkv" };
            (
                format!("/movie/alice/s3cr3t/{n}.{ext}"),
                Served::video(pattern(50_000 + n * 1000, n as u8)),
            )
        })
        .collect();
    files.push((
        "/movie/alice/s3cr3t/no-ranges.mkv".into(),
        Served {
            ranges: false,
            ..Served::video(pattern(40_000, 99))
        },
    ));
    let matrix = files[0].1.bytes.clone();
    let episode_two = files[5].1.bytes.clone();
    let server = FileServer::start(files.iter().map(|(p, s)| (p.as_str(), s.clone())).collect());
    let text = playlist(&server.root);
    let list_file = tmp.path().join("vod.m3u");
    std::fs::write(&list_file, &text).unwrap();
    let list_path = list_file.to_str().unwrap();

    let d = Daemon::start(DaemonConfig::new().tmdb(&tmdb));
    let import = |extra: &[&str]| {
        let mut args = vec!["import", "m3u", list_path, "--group", "vod|series"];
        args.extend_from_slice(extra);
        d.ctl_json(&args)
    };

    let dry = import(&["--dry-run"]);
    let rows = outcomes(&dry);
    let o = |title: &str| {
        rows.iter()
            .find(|r| r.0 == title)
            .map(|r| (r.1.as_str(), r.2.as_str()))
            .unwrap_or_else(|| panic!("{title} not in {rows:?}"))
    };
    assert_eq!(o("The Matrix (1999)"), ("movie", "added"));
    assert_eq!(o("EN - Fight Club [1999] FHD"), ("movie", "added"));
    assert_eq!(o("千と千尋の神隠し (2001)"), ("movie", "added"));
    assert_eq!(o("Blade Runner 2049 (2017)"), ("movie", "added"));
    assert_eq!(o("Fargo (1996)"), ("movie", "added"));
    assert_eq!(o("Breaking Bad S01 E02"), ("episode", "added"));
    assert_eq!(o("Breaking Bad 1x03"), ("episode", "added"));
    assert_eq!(o("Breaking Bad S01E02"), ("episode", "unchanged"));
    assert_eq!(o("Fargo S01E01"), ("episode", "added"));
    assert_eq!(o("Solaris"), ("movie", "ambiguous"));
    assert_eq!(o("Our Holiday Video (2015)"), ("movie", "unmatched"));
    assert_eq!(o("Pulp Fiction (1994)"), ("movie", "skipped"));
    assert_eq!(o("Breaking Bad S09E01"), ("episode", "unmatched"));
    assert_eq!(
        rows.len(),
        ENTRIES.len() - 1,
        "the live channel is filtered out"
    );
    let by_title = |report: &Value, title: &str| -> Value {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["title"] == title)
            .cloned()
            .unwrap()
    };
    let fight_club = by_title(&dry, "EN - Fight Club [1999] FHD");
    assert_eq!(fight_club["tmdb_id"], 550);
    assert_eq!(
        by_title(&dry, "Blade Runner 2049 (2017)")["tmdb_id"],
        335984
    );
    assert_eq!(by_title(&dry, "Fargo (1996)")["tmdb_id"], 275);
    assert_eq!(by_title(&dry, "Fargo S01E01")["tmdb_id"], 60622);
    assert_eq!(by_title(&dry, "千と千尋の神隠し (2001)")["tmdb_id"], 129);
    let solaris = by_title(&dry, "Solaris")["note"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        solaris.contains("1972") && solaris.contains("2002"),
        "{solaris}"
    );
    let pulp = by_title(&dry, "Pulp Fiction (1994)")["note"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(pulp.contains("does not answer range requests"), "{pulp}");
    // Credentials in the URLs' paths are never in the report.
    assert!(!dry.to_string().contains("s3cr3t"), "{dry}");
    assert_eq!(
        d.ctl_json(&["status"])["movies"],
        0,
        "a dry run stores nothing"
    );

    let done = import(&[]);
    assert_eq!(outcomes(&done), rows, "the run does what the dry run said");
    let status = d.ctl_json(&["status"]);
    assert_eq!(
        (
            status["movies"].as_u64(),
            status["shows"].as_u64(),
            status["assigned"].as_u64()
        ),
        (Some(5), Some(2), Some(8))
    );
    let addr = d.webdav_addr();
    let (code, body, _) = curl_get(
        &addr,
        "/Movies/The Matrix (1999)/The Matrix (1999).mkv",
        None,
        10,
    );
    assert_eq!((code, body == *matrix), (200, true));
    let (code, body, _) = curl_get(
        &addr,
        "/TV Shows/Breaking Bad (2008)/Season 01/Breaking Bad (2008) - S01E02 - Cat's in the Bag.mkv",
        None,
        10,
    );
    assert_eq!((code, body == *episode_two), (200, true));

    // Again, by URL this time: nothing changes.
    let list_server = FileServer::start(vec![(
        "/lists/vod.m3u",
        Served {
            content_type: "audio/x-mpegurl",
            ..Served::video(text.clone().into_bytes())
        },
    )]);
    let url = format!("{}/lists/vod.m3u", list_server.root);
    let again = d.ctl_json(&["import", "m3u", &url, "--group", "vod|series"]);
    for (title, _, outcome) in outcomes(&again) {
        assert!(
            ["unchanged", "unmatched", "ambiguous", "skipped"].contains(&outcome.as_str()),
            "{title}: {outcome}"
        );
    }
    assert_eq!(d.ctl_json(&["status"])["assigned"], 8);

    // Filters: only episodes.
    let shows = import(&["--dry-run", "--only", "shows"]);
    assert!(outcomes(&shows).iter().all(|r| r.1 == "episode"));
    assert_eq!(outcomes(&shows).len(), 5);

    // Refusals: not a playlist, a bad pattern, a missing file, a playlist URL that fails.
    let not_m3u = tmp.path().join("notes.txt");
    std::fs::write(&not_m3u, "hello").unwrap();
    let refused = |args: &[&str], code: i32, says: &str| {
        let out = d.ctl(args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    };
    refused(&["import", "m3u", not_m3u.to_str().unwrap()], 1, "#EXTM3U");
    refused(
        &["import", "m3u", list_path, "--group", "("],
        1,
        "not a valid pattern",
    );
    refused(
        &["import", "m3u", "/nonexistent.m3u"],
        2,
        "/nonexistent.m3u",
    );
    refused(
        &[
            "import",
            "m3u",
            &format!("{}/lists/gone.m3u", list_server.root),
        ],
        1,
        "HTTP 404",
    );
    assert_eq!(d.ctl_json(&["status"])["movies"], 5);
}
