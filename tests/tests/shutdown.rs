//! Shutdown drains: on SIGTERM a response in flight is finished (or, past
//! `shutdown_grace_s`, cut), momod exits cleanly and promptly, and it leaves nothing behind:
//! no socket, no lock, no unmerged database log, and the library intact for the next start.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use momo_tests::{Daemon, DaemonConfig, clean_command, eventually, momoctl_bin, url_path};
use tempfile::TempDir;

/// A daemon whose share holds one movie backed by a local file of `size` patterned bytes.
struct Share {
    tmp: TempDir,
    daemon: Daemon,
    url: String,
    content: Vec<u8>,
}

fn config(media: &Path, grace_s: u64) -> DaemonConfig {
    DaemonConfig::new()
        .env("MOMO_LIBRARY_LOCAL_ROOTS", media.display().to_string())
        .env("MOMO_SHUTDOWN_GRACE_S", grace_s.to_string())
}

fn share(grace_s: u64, size: usize) -> Share {
    let tmp = TempDir::new().unwrap();
    let media = tmp.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    let video = media.join("film.mkv");
    let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    std::fs::write(&video, &content).unwrap();
    let daemon = Daemon::start_in(&tmp.path().join("data"), config(&media, grace_s));
    daemon.ctl_ok(&["movie", "add", "--title", "Film", "--year", "1999"]);
    let a = daemon.ctl_json(&["assign", "movie", "1", "--local", video.to_str().unwrap()]);
    let url = format!(
        "http://{}{}",
        daemon.webdav_addr(),
        url_path(a["share_path"].as_str().unwrap())
    );
    Share {
        tmp,
        daemon,
        url,
        content,
    }
}

/// A slow player: curl reading the file at `rate` into `out`.
fn slow_download(url: &str, rate: &str, out: &Path) -> Child {
    Command::new("curl")
        .args(["-sS", "--max-time", "120", "--limit-rate", rate, "-o"])
        .arg(out)
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("curl")
}

fn wait_started(out: &Path) {
    eventually(Duration::from_secs(20), "the download to start", || {
        std::fs::metadata(out).is_ok_and(|m| m.len() > 0)
    });
}

fn finish(mut curl: Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = curl.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = curl.kill();
            panic!("curl did not end after momod stopped");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Nothing left behind: the socket is gone, the database log merged, and a new daemon can
/// take the data dir and finds the library as it was.
fn assert_clean_restart(tmp: &TempDir, data_dir: PathBuf) {
    assert!(
        !data_dir.join("momod.sock").exists(),
        "the control socket is removed"
    );
    let wal = data_dir.join("library.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "the database log was merged into library.db at shutdown"
    );
    let next = Daemon::start_in(&data_dir, config(&tmp.path().join("media"), 5));
    let movies = next.ctl_json(&["movie", "ls"]);
    assert_eq!(movies[0]["title"], "Film");
    assert_eq!(movies[0]["assigned"], true);
}

/// How a SIGTERM during a slow download ended.
struct Stopped {
    /// From the signal to momod's exit.
    took: Duration,
    log: String,
    curl: std::process::ExitStatus,
    body: Vec<u8>,
}

/// Starts a player reading at `rate`, sends SIGTERM once bytes flow, and waits up to `limit`
/// for momod (which must exit cleanly) and then for the player.
fn sigterm_during_download(s: &mut Share, rate: &str, limit: Duration) -> Stopped {
    let out = s.tmp.path().join("body");
    let curl = slow_download(&s.url, rate, &out);
    wait_started(&out);
    let signalled = Instant::now();
    let status = s
        .daemon
        .signal_and_wait(libc::SIGTERM, limit)
        .unwrap_or_else(|| panic!("momod did not stop within {limit:?}:\n{}", s.daemon.log()));
    let took = signalled.elapsed();
    let log = s.daemon.log();
    assert!(status.success(), "momod exited with {status}:\n{log}");
    let curl = finish(curl);
    Stopped {
        took,
        log,
        curl,
        body: std::fs::read(&out).unwrap(),
    }
}

#[test]
fn a_response_in_flight_finishes_before_momod_exits() {
    // 24 MiB at 8 MiB/s: about three seconds, well inside a 30 s grace period, and more than
    // loopback socket buffers hold, so the response is still being sent at SIGTERM.
    let mut s = share(30, 24 << 20);
    let stopped = sigterm_during_download(&mut s, "8M", Duration::from_secs(40));
    let log = &stopped.log;
    assert!(
        log.contains("letting open responses finish") && !log.contains("cutting"),
        "{log}"
    );
    assert!(
        stopped.curl.success() && stopped.body == s.content,
        "the player got the whole file ({} of {} bytes, curl {})\n{log}",
        stopped.body.len(),
        s.content.len(),
        stopped.curl
    );
    // It exited when the response was done, not at the end of the grace period.
    assert!(
        stopped.took < Duration::from_secs(25),
        "momod waited {:?} after the response had finished",
        stopped.took
    );
    assert_clean_restart(&s.tmp, s.tmp.path().join("data"));
}

#[test]
fn a_response_still_open_after_the_grace_period_is_cut() {
    // 64 MiB at 2 MiB/s would take half a minute; the grace period is one second.
    let mut s = share(1, 64 << 20);
    let stopped = sigterm_during_download(&mut s, "2M", Duration::from_secs(20));
    assert!(
        stopped.log.contains("cutting responses still open"),
        "{}",
        stopped.log
    );
    // The player sees a short body and an error, never a complete-looking file.
    let body = &stopped.body;
    assert!(
        !stopped.curl.success(),
        "curl reported success on a cut body"
    );
    assert!(body.len() < s.content.len());
    assert!(
        body[..] == s.content[..body.len()],
        "what arrived is the file's own bytes"
    );
    assert_clean_restart(&s.tmp, s.tmp.path().join("data"));
}

#[test]
fn a_grpc_call_still_running_after_the_grace_period_is_answered_unavailable() {
    // A "peer" that accepts connections and never says a word: the metadata never comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    silent.set_nonblocking(true).unwrap();
    let port = silent.local_addr().unwrap().port();
    let tmp = TempDir::new().unwrap();
    let mut d = Daemon::start_in(
        &tmp.path().join("data"),
        DaemonConfig::new()
            .env("MOMO_SHUTDOWN_GRACE_S", "1")
            .env("MOMO_TORRENT_METADATA_TIMEOUT_S", "300"),
    );
    let magnet = format!(
        "magnet:?xt=urn:btih:{}&x.pe=127.0.0.1:{port}",
        "cd".repeat(20)
    );
    let ctl = clean_command(&momoctl_bin())
        .env("MOMOCTL_ADDR", d.addr())
        .args(["torrent", "files", &magnet])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("momoctl");
    // The call is in flight once momod has reached the peer.
    let mut held = Vec::new();
    eventually(Duration::from_secs(20), "momod to ask the peer", || {
        if let Ok((conn, _)) = silent.accept() {
            held.push(conn)
        }
        !held.is_empty()
    });

    let status = d
        .signal_and_wait(libc::SIGTERM, Duration::from_secs(20))
        .unwrap_or_else(|| panic!("a waiting call held momod up:\n{}", d.log()));
    assert!(status.success(), "momod exited with {status}");
    let out = ctl.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Unavailable") && err.contains("shutting down"),
        "the caller is told why: {err}"
    );
    assert!(!d.socket().exists(), "the control socket is removed");
}
