//! HTTP(S) sources: a file on a web server (the harness's `FileServer`, on loopback) attached
//! with `momoctl assign … --url`, played through the share by curl, ffprobe and ffmpeg.
use momo_tests::files::{FileServer, Served};
use momo_tests::swarm::pattern;
use momo_tests::{Daemon, DaemonConfig, curl_get, stderr};
use serde_json::Value;
use tempfile::TempDir;

/// Credentials the way IPTV servers carry them: in the path and in the query.
const SECRET_PATH: &str = "/movie/alice/s3cr3t-pass/4711.mkv";
const SECRET_QUERY: &str = "token=hunter2-token";

fn movie(d: &Daemon, title: &str) -> String {
    d.ctl_json(&["movie", "add", "--title", title, "--year", "2001"])["id"]
        .as_i64()
        .unwrap()
        .to_string()
}

fn no_secrets(what: &str, text: &str) {
    for secret in ["alice", "s3cr3t-pass", "hunter2-token"] {
        assert!(!text.contains(secret), "{what} shows `{secret}`:\n{text}");
    }
}

#[test]
fn an_http_file_plays_through_the_share_and_its_credentials_stay_hidden() {
    let tmp = TempDir::new().unwrap();
    let video = tmp.path().join("clip.mkv");
    momo_tests::make_test_video(&video, 20);
    let bytes = std::fs::read(&video).unwrap();
    let server = FileServer::start(vec![(SECRET_PATH, Served::video(bytes.clone()))]);
    let d = Daemon::start(DaemonConfig::new());
    let id = movie(&d, "Night Train");
    let url = format!("{}{SECRET_PATH}?{SECRET_QUERY}", server.root);

    let out = d.ctl(&["-o", "json", "assign", "movie", &id, "--url", &url]);
    assert!(out.status.success(), "assign --url: {}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    no_secrets("assign's answer", &text);
    let a: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(a["source_kind"], "http");
    assert_eq!(a["file_size"], bytes.len() as u64);
    assert!(
        a["file_path"].as_str().unwrap().ends_with("/…/4711.mkv"),
        "{a}"
    );
    let share_path = a["share_path"].as_str().unwrap().to_string();
    assert_eq!(
        share_path,
        "/Movies/Night Train (2001)/Night Train (2001).mkv"
    );
    // The one-byte probe is all the assignment asked for.
    assert_eq!(server.gets(), 1);

    // The whole file, and ranges, byte for byte.
    let addr = d.webdav_addr();
    let (status, body, _) = curl_get(&addr, &share_path, None, 60);
    assert_eq!(status, 200);
    assert!(
        body == bytes,
        "the whole file differs ({} bytes)",
        body.len()
    );
    for (first, last) in [
        (0u64, 0u64),
        (1000, 70_000),
        (bytes.len() as u64 - 100, bytes.len() as u64 - 1),
    ] {
        let (status, body, _) = curl_get(&addr, &share_path, Some(&format!("{first}-{last}")), 30);
        assert_eq!(status, 206);
        assert!(
            body == bytes[first as usize..=last as usize],
            "range {first}-{last} differs"
        );
    }

    // Real players: duration, then a seek that decodes a frame.
    let share_url = format!("http://{addr}{}", momo_tests::url_path(&share_path));
    momo_tests::assert_plays(&share_url, 20.0, 13, &tmp.path().join("frame.png"));

    // The credentials reached the server...
    assert!(server.seen().iter().any(|l| l.contains("hunter2-token")));
    // ...and nowhere else: the source, the item, the listing, the log.
    no_secrets(
        "movie get -o json",
        &d.ctl_ok(&["-o", "json", "movie", "get", &id]),
    );
    no_secrets("movie get", &d.ctl_ok(&["movie", "get", &id]));
    no_secrets("the daemon's log", &d.log());
}

#[test]
fn urls_that_cannot_serve_a_player_are_refused_and_nothing_is_stored() {
    let bytes = pattern(300_000, 3);
    let server = FileServer::start(vec![
        ("/ok.mkv", Served::video(bytes.clone())),
        (
            "/whole.mkv",
            Served {
                ranges: false,
                ..Served::video(bytes.clone())
            },
        ),
        (
            "/login",
            Served {
                content_type: "text/html; charset=utf-8",
                ..Served::video(b"<html>sign in</html>".to_vec())
            },
        ),
        (
            "/stream",
            Served {
                content_type: "application/octet-stream",
                ..Served::video(bytes.clone())
            },
        ),
        (
            "/packed.mkv",
            Served {
                encoding: Some("gzip"),
                ..Served::video(bytes.clone())
            },
        ),
    ]);
    let d = Daemon::start(DaemonConfig::new());
    let id = movie(&d, "Refused");
    let refused = |url: &str, code: i32, says: &str| {
        let out = d.ctl(&["assign", "movie", &id, "--url", url]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{url}: {err}");
        assert!(err.contains(says), "{url}: expected `{says}` in:\n{err}");
    };
    let root = &server.root;
    refused(
        &format!("{root}/whole.mkv"),
        1,
        "does not answer range requests",
    );
    refused(
        &format!("{root}/login"),
        1,
        "not a video (the server calls it text/html)",
    );
    refused(&format!("{root}/missing.mkv"), 1, "HTTP 404");
    refused(&format!("{root}/stream"), 1, "no video extension");
    refused(&format!("{root}/packed.mkv"), 1, "compresses it (gzip)");
    refused("ftp://example.com/a.mkv", 1, "not an http(s) URL");
    refused("not a url", 1, "the URL is not valid");
    refused(
        &format!("http://{}/x.mkv", "a".repeat(9000)),
        1,
        "at most 8192",
    );
    // Nobody listens there.
    let gone = FileServer::start(vec![]);
    let gone_root = gone.root.clone();
    gone.stop();
    drop(gone);
    refused(&format!("{gone_root}/x.mkv"), 1, "unreachable");
    assert_eq!(
        d.ctl_json(&["movie", "get", &id])["assigned"],
        false,
        "a refused URL left a source"
    );
    let out = d.ctl(&["assign", "movie", "999", "--url", &format!("{root}/ok.mkv")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no movie with id 999"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_connection_that_breaks_off_is_resumed_and_a_silent_one_fails_without_zeros() {
    let bytes = pattern(3_000_000, 8);
    let server = FileServer::start(vec![("/film.mkv", Served::video(bytes.clone()))]);
    let d = Daemon::start(DaemonConfig::new().env("MOMO_STREAM_HTTP_TIMEOUT_S", "2"));
    let id = movie(&d, "Broken Wire");
    let a = d.ctl_json(&[
        "assign",
        "movie",
        &id,
        "--url",
        &format!("{}/film.mkv", server.root),
    ]);
    let share_path = a["share_path"].as_str().unwrap().to_string();
    let addr = d.webdav_addr();

    // Twice cut off mid-body: the player still gets every byte, in one response.
    server.cut_next(2, 200_000);
    let (status, body, _) = curl_get(&addr, &share_path, None, 60);
    assert_eq!(status, 200);
    assert!(
        body == bytes,
        "after two drops the file differs ({} bytes)",
        body.len()
    );

    // Silent once: after the timeout the rest is asked for again.
    server.stall_next(1, 300_000);
    let (status, body, _) = curl_get(&addr, &share_path, Some("1000000-"), 60);
    assert_eq!(status, 206);
    assert!(
        body == bytes[1_000_000..],
        "after a stall the range differs ({} bytes):\n{}",
        body.len(),
        d.log()
    );

    // A server that stays silent: the response ends short within a few timeouts, and
    // what came is the file's real prefix, never padding.
    server.stall_next(100, 1);
    let started = std::time::Instant::now();
    let (_, body, _) = curl_get(&addr, &share_path, Some("1000000-"), 60);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "a silent server hung the response for {:?}",
        started.elapsed()
    );
    assert!(
        body.len() < bytes.len() - 1_000_000,
        "a stalled read was padded"
    );
    assert!(
        body == bytes[1_000_000..1_000_000 + body.len()],
        "the bytes before the stall differ"
    );
    // The next read works again.
    server.stall_next(0, 0);
    let (status, body, _) = curl_get(&addr, &share_path, Some("2000000-2099999"), 30);
    assert_eq!(status, 206);
    assert!(body == bytes[2_000_000..2_100_000]);
}

#[test]
fn a_server_that_turns_into_a_page_never_feeds_the_player_or_a_pin_html() {
    let bytes = pattern(500_000, 9);
    let server = FileServer::start(vec![("/vod/film.mkv", Served::video(bytes.clone()))]);
    let d = Daemon::start(DaemonConfig::new().env("MOMO_STREAM_HTTP_TIMEOUT_S", "2"));
    let id = movie(&d, "Expired");
    let a = d.ctl_json(&[
        "assign",
        "movie",
        &id,
        "--url",
        &format!("{}/vod/film.mkv", server.root),
    ]);
    let share_path = a["share_path"].as_str().unwrap().to_string();
    // The subscription runs out: every request gets a page, with 200.
    let page = b"<html><body>Your subscription has expired</body></html>".to_vec();
    server.replace(
        "/vod/film.mkv",
        Served {
            content_type: "text/html",
            ranges: false,
            ..Served::video(page.clone())
        },
    );
    let (_, body, _) = curl_get(&d.webdav_addr(), &share_path, None, 30);
    assert!(
        !body.windows(6).any(|w| w == b"<html>"),
        "the player got the page as video bytes"
    );
    let out = d.ctl(&["pin", "movie", &id, "--wait"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("not a video"), "{}", stderr(&out));
    // Back: the pin finishes, with the file's bytes only.
    server.replace("/vod/film.mkv", Served::video(bytes.clone()));
    assert_eq!(
        d.ctl_json(&["pin", "movie", &id, "--wait"])["state"],
        "done"
    );
    server.stop();
    let (status, body, _) = curl_get(&d.webdav_addr(), &share_path, None, 30);
    assert_eq!(status, 200);
    assert!(body == bytes, "the pinned copy differs from the file");
}
