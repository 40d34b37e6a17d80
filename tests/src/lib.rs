//! Harness for end-to-end tests: starts the real `momod` from the build's target dir on a
//! private temp data dir, runs the real `momoctl` against it, and cleans up every process it
//! started (a `Daemon` is killed on drop).
//!
//! The binaries must be built first (`cargo build --workspace`); `scripts/test` does that.
pub mod arr;
pub mod episodes;
pub mod files;
pub mod opensubtitles;
pub mod serve;
pub mod swarm;
pub mod tmdb;
pub mod trakt;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Directory holding `momod` and `momoctl` of the same profile as the running executable:
/// beside it (a binary such as the benchmark) or one up (a test in `deps/`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("executable path");
    let here = exe.parent().expect("executable dir");
    let dir = if here.ends_with("deps") {
        here.parent().expect("target dir")
    } else {
        here
    };
    for bin in ["momod", "momoctl"] {
        assert!(
            dir.join(bin).exists(),
            "{} not found: build the binaries first (`cargo build --workspace`, or run scripts/test)",
            dir.join(bin).display()
        );
    }
    dir.to_path_buf()
}

pub fn momod_bin() -> PathBuf {
    bin_dir().join("momod")
}

pub fn momoctl_bin() -> PathBuf {
    bin_dir().join("momoctl")
}

/// A `Command` with no `MOMO*` variables inherited from the developer's shell.
pub fn clean_command(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars() {
        if key.starts_with("MOMO") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Settings for one daemon under test.
#[derive(Default, Clone)]
pub struct DaemonConfig {
    pub env: BTreeMap<String, String>,
    pub config_toml: Option<String>,
}

impl DaemonConfig {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.insert(key.to_string(), value.into());
        self
    }
    /// Points the daemon at a fake TMDB with the key it accepts.
    pub fn tmdb(self, fake: &tmdb::FakeTmdb) -> Self {
        self.env("MOMO_TMDB_BASE_URL", fake.url.clone())
            .env("MOMO_TMDB_API_KEY", tmdb::API_KEY)
            .env("MOMO_TMDB_TIMEOUT_S", "5")
    }
    /// Local sources allowed under `root`, and the share behind `user`/`pass`.
    pub fn share(self, root: &Path, user: &str, pass: &str) -> Self {
        self.env("MOMO_LIBRARY_LOCAL_ROOTS", root.display().to_string())
            .env("MOMO_WEBDAV_USERNAME", user)
            .env("MOMO_WEBDAV_PASSWORD", pass)
    }
    pub fn toml(mut self, text: &str) -> Self {
        self.config_toml = Some(text.to_string());
        self
    }
}

/// A running `momod` on its own data dir.
pub struct Daemon {
    child: Option<Child>,
    pub data_dir: PathBuf,
    pub config: DaemonConfig,
    _tmp: Option<TempDir>,
    log_path: PathBuf,
}

impl Daemon {
    /// Starts `momod` on a fresh temp data dir and waits until it answers.
    pub fn start(config: DaemonConfig) -> Daemon {
        let tmp = TempDir::new().expect("temp dir");
        let data_dir = tmp.path().join("data");
        let mut d = Daemon::start_in(&data_dir, config);
        d._tmp = Some(tmp);
        d
    }

    /// Starts `momod` on `data_dir` (kept by the caller, e.g. for restarts).
    pub fn start_in(data_dir: &Path, config: DaemonConfig) -> Daemon {
        let (child, log_path) = spawn_momod(data_dir, &config);
        let mut d = Daemon {
            child: Some(child),
            data_dir: data_dir.to_path_buf(),
            config,
            _tmp: None,
            log_path,
        };
        d.wait_ready();
        d
    }

    /// host:port of the WebDAV share, as the daemon reports it.
    pub fn webdav_addr(&self) -> String {
        self.ctl_json(&["status"])["webdav_listen"]
            .as_str()
            .expect("webdav_listen")
            .to_string()
    }

    pub fn socket(&self) -> PathBuf {
        self.data_dir.join("momod.sock")
    }

    pub fn addr(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Everything momod wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("momod exited early with {status}:\n{}", self.log());
            }
            if self.socket().exists() && self.ctl(&["status"]).status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "momod not ready after 30 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `momoctl ARGS` against this daemon.
    pub fn ctl(&self, args: &[&str]) -> Output {
        clean_command(&momoctl_bin())
            .env("MOMOCTL_ADDR", self.addr())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run momoctl")
    }

    /// Starts `momoctl ARGS` against this daemon without waiting: stdin closed, stdout and
    /// stderr piped.
    pub fn ctl_spawn(&self, args: &[&str]) -> Child {
        clean_command(&momoctl_bin())
            .env("MOMOCTL_ADDR", self.addr())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run momoctl")
    }

    /// Runs `momoctl ARGS`, asserts success and returns stdout.
    pub fn ctl_ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        assert!(
            out.status.success(),
            "momoctl {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs `momoctl -o json ARGS` and parses its output.
    pub fn ctl_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["-o", "json"];
        all.extend_from_slice(args);
        let text = self.ctl_ok(&all);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("bad JSON from {args:?}: {e}\n{text}"))
    }

    /// Sends `signal` and waits up to `timeout` for the exit.
    pub fn signal_and_wait(&mut self, signal: i32, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut().expect("running");
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, signal) };
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Stops the daemon gracefully (SIGTERM) and asserts a clean exit.
    pub fn stop(&mut self) {
        let status = self
            .signal_and_wait(libc::SIGTERM, Duration::from_secs(15))
            .unwrap_or_else(|| panic!("momod did not stop on SIGTERM:\n{}", self.log()));
        assert!(
            status.success(),
            "momod exited with {status}:\n{}",
            self.log()
        );
    }

    /// Kills the daemon (SIGKILL, as a crash would) and starts it again on the same data dir.
    pub fn crash_and_restart(&mut self) {
        self.signal_and_wait(libc::SIGKILL, Duration::from_secs(10))
            .expect("momod dies on SIGKILL");
        let (child, log_path) = spawn_momod(&self.data_dir, &self.config);
        self.child = Some(child);
        self.log_path = log_path;
        self.wait_ready();
    }

    /// Stops and starts again on the same data dir with the same settings.
    pub fn restart(&mut self) {
        self.stop();
        let (child, log_path) = spawn_momod(&self.data_dir, &self.config);
        self.child = Some(child);
        self.log_path = log_path;
        self.wait_ready();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // A failing test shows what momod said: CI keeps nothing else.
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(LOG_TAIL).collect();
            eprintln!("--- last {} lines of momod's log ---", tail.len());
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// Lines of momod's log printed when a test fails.
const LOG_TAIL: usize = 200;

/// Spawns momod with stderr going to a log file beside the data dir.
pub fn spawn_momod(data_dir: &Path, config: &DaemonConfig) -> (Child, PathBuf) {
    let parent = data_dir.parent().expect("data dir has a parent");
    std::fs::create_dir_all(parent).unwrap();
    let log_path = parent.join(format!(
        "momod-{}.log",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut cmd = clean_command(&momod_bin());
    cmd.arg("--data-dir").arg(data_dir);
    // Never the real ports: tests run in parallel. No DHT or multicast discovery: the
    // swarms in tests are on loopback and reached through x.pe hints or a local tracker.
    cmd.env("MOMO_WEBDAV_LISTEN", "127.0.0.1:0");
    cmd.env("MOMO_TORRENT_DHT", "false");
    cmd.env("MOMO_TORRENT_LOCAL_DISCOVERY", "false");
    cmd.env("MOMO_TORRENT_METADATA_TIMEOUT_S", "15");
    cmd.env("MOMO_TORRENT_READ_TIMEOUT_S", "15");
    cmd.env("RUST_LOG", "info");
    // Most tests' episodes are patterned bytes, not video: no detection jobs on those
    // unless a test asks.
    cmd.env("MOMO_INTRO_AUTO", "false");
    if let Some(text) = &config.config_toml {
        let path = parent.join("momod.toml");
        std::fs::write(&path, text).unwrap();
        cmd.arg("--config").arg(path);
    }
    for (k, v) in &config.env {
        cmd.env(k, v);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn momod");
    (child, log_path)
}

/// Runs momod to completion (for start-up failures) with a time limit.
pub fn run_momod_expect_exit(
    data_dir: &Path,
    config: &DaemonConfig,
    timeout: Duration,
) -> (ExitStatus, String) {
    let (mut child, log_path) = spawn_momod(data_dir, config);
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (
                status,
                std::fs::read_to_string(&log_path).unwrap_or_default(),
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "momod still running after {timeout:?}:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Text of a command's stderr.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Percent-encodes a share path for a URL, the way a WebDAV client would: every byte but
/// the unreserved ones (RFC 3986) and `/`. Done with the `percent-encoding` crate, not
/// momod's own encoder, so the tests check momod's hrefs against an independent one.
pub fn url_path(path: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const PATH: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'/');
    utf8_percent_encode(path, PATH).to_string()
}

/// Runs a command and returns its output (panics if it cannot be started).
pub fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (scripts/install-deps installs it): {e}"))
}

/// `rclone ARGS` against the share at `addr`, with no config file.
pub fn rclone(addr: &str, user: &str, pass: &str, args: &[&str]) -> Output {
    let obscured = run("rclone", &["obscure", pass]);
    let obscured = String::from_utf8(obscured.stdout)
        .unwrap()
        .trim()
        .to_string();
    let url = format!("http://{addr}");
    let mut all = vec![
        "--config",
        "/dev/null",
        "--webdav-url",
        &url,
        "--webdav-user",
        user,
        "--webdav-pass",
        &obscured,
        "--webdav-vendor",
        "other",
        "--retries",
        "1",
        "--low-level-retries",
        "1",
    ];
    all.extend_from_slice(args);
    run("rclone", &all)
}

/// GET `share_path` from an unauthenticated share at `addr` with curl, optionally a range
/// ("100-199"); returns (HTTP status, body). `max_time` bounds the whole transfer.
pub fn curl_get(
    addr: &str,
    share_path: &str,
    range: Option<&str>,
    max_time: u64,
) -> (u16, Vec<u8>, Output) {
    let max = max_time.to_string();
    let mut args = vec!["--max-time", &max];
    if let Some(r) = range {
        args.extend(["-r", r]);
    }
    curl(&format!("http://{addr}{}", url_path(share_path)), &args)
}

/// curl `url` with `args` (silently); returns (HTTP status, body, curl's output). The status
/// is 0 when no response came.
pub fn curl(url: &str, args: &[&str]) -> (u16, Vec<u8>, Output) {
    let body = tempfile::NamedTempFile::new().unwrap();
    let mut all = vec![
        "-s",
        "-o",
        body.path().to_str().unwrap(),
        "-w",
        "%{http_code}",
    ];
    all.extend_from_slice(args);
    all.push(url);
    let out = run("curl", &all);
    let code = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    (code, std::fs::read(body.path()).unwrap_or_default(), out)
}

/// Polls `ok` until it holds, failing with `what` after `limit`.
pub fn eventually(limit: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "{what} (waited {limit:?})");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A real video (H.264 + AAC in Matroska, keyframe every 2 s) of `seconds`, made by ffmpeg.
pub fn make_test_video(path: &Path, seconds: u32) {
    let video = format!("testsrc=duration={seconds}:size=320x240:rate=25");
    let audio = format!("sine=frequency=440:duration={seconds}");
    let out = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            &video,
            "-f",
            "lavfi",
            "-i",
            &audio,
            "-c:v",
            "libx264",
            "-g",
            "50",
            "-c:a",
            "aac",
            "-shortest",
            path.to_str().expect("UTF-8 path"),
        ],
    );
    assert!(
        out.status.success(),
        "ffmpeg could not make the test video: {}",
        stderr(&out)
    );
}

/// Plays `url` as a player would: ffprobe must read `seconds` of duration (±0.5 s), and
/// ffmpeg must seek to `seek_to` seconds and decode a real frame into `frame` (a PNG).
pub fn assert_plays(url: &str, seconds: f64, seek_to: u32, frame: &Path) {
    let out = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
            url,
        ],
    );
    assert!(out.status.success(), "ffprobe {url}: {}", stderr(&out));
    let duration: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a duration");
    assert!(
        (duration - seconds).abs() < 0.5,
        "duration {duration}, expected {seconds}"
    );
    let seek = seek_to.to_string();
    let out = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-ss",
            &seek,
            "-i",
            url,
            "-frames:v",
            "1",
            frame.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "ffmpeg -ss {seek} {url}: {}",
        stderr(&out)
    );
    let png = std::fs::read(frame).expect("the frame");
    assert!(
        png.len() > 1000 && png.starts_with(b"\x89PNG"),
        "a real frame"
    );
}

/// Reads each `(offset, count)` of `remote` with `rclone cat` and compares it to `original`.
pub fn assert_rclone_ranges(
    addr: &str,
    user: &str,
    pass: &str,
    remote: &str,
    original: &[u8],
    ranges: &[(usize, usize)],
) {
    for &(offset, count) in ranges {
        let out = rclone(
            addr,
            user,
            pass,
            &[
                "cat",
                "--offset",
                &offset.to_string(),
                "--count",
                &count.to_string(),
                remote,
            ],
        );
        assert!(
            out.status.success(),
            "rclone cat at {offset}: {}",
            stderr(&out)
        );
        assert!(
            out.stdout == original[offset..offset + count],
            "rclone cat at {offset}: bytes differ"
        );
    }
}

/// Three fields of each row of an import report (`-o json`), e.g. title, kind, outcome.
pub fn report_rows(report: &serde_json::Value, fields: [&str; 3]) -> Vec<(String, String, String)> {
    let field = |r: &serde_json::Value, k: &str| {
        r[k].as_str()
            .unwrap_or_else(|| panic!("row without `{k}`: {r}"))
            .to_string()
    };
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                field(r, fields[0]),
                field(r, fields[1]),
                field(r, fields[2]),
            )
        })
        .collect()
}
