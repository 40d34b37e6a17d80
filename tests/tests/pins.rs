//! Pinning sources to disk with the real momod and momoctl: a torrent's file from a real
//! swarm (opentracker and aria2c on loopback) across a crash, and an HTTP source from a
//! server that breaks off; both then read through the share with their source gone.
use std::time::{Duration, Instant};

use momo_tests::files::{FileServer, Served};
use momo_tests::swarm::{Tracker, aria2_seed_at, free_port, make_torrent, pattern};
use momo_tests::{Daemon, DaemonConfig, curl_get, eventually, stderr};
use serde_json::Value;
use tempfile::TempDir;

fn pin_of(d: &Daemon, id: &str) -> Value {
    d.ctl_json(&["pins"])
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["item_id"].as_i64() == id.parse::<i64>().ok())
        .cloned()
        .unwrap_or(Value::Null)
}

fn movie(d: &Daemon, title: &str) -> String {
    d.ctl_json(&["movie", "add", "--title", title, "--year", "2020"])["id"].to_string()
}

#[test]
fn a_pinned_torrent_survives_a_crash_and_plays_with_the_swarm_gone() {
    let tmp = TempDir::new().unwrap();
    let data = pattern(6 * 1024 * 1024 + 12_345, 21);
    let file = tmp.path().join("Pinned.Movie.2020.mkv");
    std::fs::write(&file, &data).unwrap();
    let port = free_port();
    let announce = format!("http://127.0.0.1:{port}/announce");
    let (hash, torrent) = make_torrent(&file, std::slice::from_ref(&announce));
    let torrent_path = tmp.path().join("pinned.torrent");
    std::fs::write(&torrent_path, &torrent).unwrap();
    let _tracker = Tracker::start_on(port, &[&hash]);
    // About six seconds for the whole file: time to crash half-way.
    let seeder = aria2_seed_at(&torrent_path, tmp.path(), Some("1M"));
    // A disk budget far below the file: the pin must not be evicted by it.
    let mut d = Daemon::start(
        DaemonConfig::new()
            .env("MOMO_TORRENT_METADATA_TIMEOUT_S", "40")
            .env("MOMO_TORRENT_CACHE_MAX_MB", "1")
            .env("MOMO_STREAM_PREFETCH_ON_ASSIGN", "false"),
    );
    let id = movie(&d, "Pinned Movie");
    let a = d.ctl_json(&["assign", "movie", &id, torrent_path.to_str().unwrap()]);
    let share_path = a["share_path"].as_str().unwrap().to_string();

    let p = d.ctl_json(&["pin", "movie", &id]);
    assert_eq!(p["state"], "downloading", "{p}");
    assert_eq!(p["size"].as_u64(), Some(data.len() as u64));
    assert!(p["job_id"].is_i64(), "{p}");
    eventually(
        Duration::from_secs(60),
        "the pin downloads part of the file",
        || {
            let done = pin_of(&d, &id)["bytes_done"].as_u64().unwrap_or(0);
            done >= 1024 * 1024
        },
    );
    let before = pin_of(&d, &id)["bytes_done"].as_u64().unwrap();
    assert!(
        before < data.len() as u64,
        "the file came too fast to crash half-way"
    );

    d.crash_and_restart();
    eventually(
        Duration::from_secs(120),
        "the pin finishes after the crash",
        || pin_of(&d, &id)["state"] == "done",
    );
    let p = pin_of(&d, &id);
    assert_eq!(p["bytes_done"], p["size"], "{p}");
    // The budget has had its turns (every 2 s): the pinned file is still whole.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        pin_of(&d, &id)["bytes_done"].as_u64(),
        Some(data.len() as u64)
    );

    drop(seeder);
    let (status, body, _) = curl_get(&d.webdav_addr(), &share_path, None, 30);
    assert_eq!(status, 200);
    assert!(
        body == data,
        "read with the swarm gone, the file differs ({} bytes)",
        body.len()
    );
    let (status, body, _) = curl_get(&d.webdav_addr(), &share_path, Some("3000000-3099999"), 30);
    assert_eq!(status, 206);
    assert!(body == data[3_000_000..3_100_000]);

    // Unpinned, it is an ordinary cached torrent again: the budget may take it.
    let out = d.ctl_json(&["unpin", "movie", &id]);
    assert_eq!(out["item_id"].to_string(), id);
    assert_eq!(d.ctl_json(&["pins"]), serde_json::json!([]));
    eventually(
        Duration::from_secs(30),
        "the budget evicts the unpinned file",
        || d.ctl_json(&["status"])["evicted_bytes"].as_u64() >= Some(4 * 1024 * 1024),
    );
}

#[test]
fn an_http_pin_resumes_over_broken_connections_and_plays_with_the_server_gone() {
    let data = pattern(3_000_000, 22);
    let server = FileServer::start(vec![("/vod/film.mkv", Served::video(data.clone()))]);
    let d = Daemon::start(DaemonConfig::new().env("MOMO_STREAM_HTTP_TIMEOUT_S", "3"));
    let id = movie(&d, "Pinned Stream");
    let url = format!("{}/vod/film.mkv", server.root);
    let a = d.ctl_json(&["assign", "movie", &id, "--url", &url]);
    let share_path = a["share_path"].as_str().unwrap().to_string();

    // The server drops the connection twice; the pin finishes anyway.
    server.cut_next(2, 700_000);
    let started = Instant::now();
    let p = d.ctl_json(&["pin", "movie", &id, "--wait"]);
    assert_eq!(p["state"], "done", "{p}");
    assert_eq!(p["bytes_done"].as_u64(), Some(data.len() as u64));
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(server.gets() >= 3, "the download resumed by ranges");

    // Pinning again changes nothing.
    assert_eq!(
        d.ctl_json(&["pin", "movie", &id, "--wait"])["state"],
        "done"
    );

    // A second item on the same URL shares the copy; unpinning it keeps the first's.
    let twin = movie(&d, "Pinned Twin");
    d.ctl_json(&["assign", "movie", &twin, "--url", &url]);
    assert_eq!(
        d.ctl_json(&["pin", "movie", &twin, "--wait"])["state"],
        "done"
    );
    d.ctl_json(&["unpin", "movie", &twin]);
    assert_eq!(
        pin_of(&d, &id)["bytes_done"].as_u64(),
        Some(data.len() as u64)
    );

    server.stop();
    drop(server);
    let (status, body, _) = curl_get(&d.webdav_addr(), &share_path, None, 30);
    assert_eq!(status, 200);
    assert!(body == data, "read with the server gone, the file differs");

    // Unpinned: the copy is deleted.
    d.ctl_json(&["unpin", "movie", &id]);
    let pins_dir = d.data_dir.join("pins");
    let left: Vec<_> = std::fs::read_dir(&pins_dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in {}: {left:?}", pins_dir.display());

    // A source replaced while its pin downloads takes the pin and its part file along.
    let slow = FileServer::start(vec![
        ("/vod/slow.mkv", Served::video(pattern(2_000_000, 23))),
        ("/vod/other.mkv", Served::video(pattern(100_000, 24))),
        ("/vod/cancelled.mkv", Served::video(pattern(2_000_000, 25))),
    ]);
    // A pin whose download is cancelled says so, and pinning again finishes it.
    let fourth = movie(&d, "Cancelled Pin");
    let cancelled = format!("{}/vod/cancelled.mkv", slow.root);
    d.ctl_json(&["assign", "movie", &fourth, "--url", &cancelled]);
    slow.stall_next(100, 400_000);
    let job = d.ctl_json(&["pin", "movie", &fourth])["job_id"].to_string();
    eventually(
        Duration::from_secs(30),
        "the pin downloads part of the file",
        || pin_of(&d, &fourth)["bytes_done"].as_u64() >= Some(400_000),
    );
    d.ctl_json(&["job", "cancel", &job]);
    eventually(
        Duration::from_secs(10),
        "the pin says its download stopped",
        || pin_of(&d, &fourth)["state"] == "failed",
    );
    let p = pin_of(&d, &fourth);
    assert!(
        p["error"]
            .as_str()
            .unwrap()
            .contains("stopped before the end"),
        "{p}"
    );
    slow.stall_next(0, 0);
    let p = d.ctl_json(&["pin", "movie", &fourth, "--wait"]);
    assert_eq!(
        (p["state"].as_str(), p["error"].as_str()),
        (Some("done"), None),
        "{p}"
    );
    d.ctl_json(&["unpin", "movie", &fourth]);

    let third = movie(&d, "Replaced While Pinning");
    d.ctl_json(&[
        "assign",
        "movie",
        &third,
        "--url",
        &format!("{}/vod/slow.mkv", slow.root),
    ]);
    slow.stall_next(100, 400_000);
    d.ctl_json(&["pin", "movie", &third]);
    eventually(
        Duration::from_secs(30),
        "the pin downloads part of the file",
        || pin_of(&d, &third)["bytes_done"].as_u64() >= Some(400_000),
    );
    d.ctl_json(&[
        "assign",
        "movie",
        &third,
        "--url",
        &format!("{}/vod/other.mkv", slow.root),
    ]);
    eventually(
        Duration::from_secs(30),
        "the replaced source's pin and copy go",
        || {
            pin_of(&d, &third).is_null()
                && std::fs::read_dir(d.data_dir.join("pins"))
                    .map(|r| r.count() == 0)
                    .unwrap_or(true)
        },
    );

    // What cannot be pinned says why.
    let bare = movie(&d, "No Source");
    let out = d.ctl(&["pin", "movie", &bare]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no source to pin"),
        "{}",
        stderr(&out)
    );
    let out = d.ctl(&["unpin", "movie", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not pinned"), "{}", stderr(&out));
    let out = d.ctl(&["pin", "movie", "999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no movie with id 999"),
        "{}",
        stderr(&out)
    );
}
