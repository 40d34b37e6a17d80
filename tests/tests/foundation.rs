//! Daemon lifecycle, the control socket, the TCP listener, config errors and momoctl's exit
//! codes, all through the real binaries.
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::time::Duration;

use momo_tests::{Daemon, DaemonConfig, clean_command, momoctl_bin, run_momod_expect_exit, stderr};

#[test]
fn status_over_the_control_socket() {
    let d = Daemon::start(DaemonConfig::new());
    let table = d.ctl_ok(&["status"]);
    assert!(table.contains(env!("CARGO_PKG_VERSION")), "{table}");

    let json = d.ctl_json(&["status"]);
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        json["data_dir"],
        d.data_dir.canonicalize().unwrap().display().to_string()
    );
    assert_eq!(
        json["grpc_listen"][0],
        format!(
            "unix://{}",
            d.data_dir
                .canonicalize()
                .unwrap()
                .join("momod.sock")
                .display()
        )
    );
    assert_eq!(json["movies"], 0);

    let meta = std::fs::metadata(d.socket()).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "socket must be private to the user"
    );
    // stderr goes to a file here: the log is plain text, no terminal colour codes.
    let log = d.log();
    assert!(log.contains("momod starting"), "{log}");
    assert!(!log.contains('\x1b'), "colour codes in a log file: {log:?}");
}

#[test]
fn momoctl_finds_the_socket_through_momo_data_dir() {
    let d = Daemon::start(DaemonConfig::new());
    let out = clean_command(&momoctl_bin())
        .env("MOMO_DATA_DIR", &d.data_dir)
        .args(["-o", "json", "status"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn no_daemon_exits_3_and_says_how_to_start_one() {
    let tmp = tempfile::tempdir().unwrap();
    // Default discovery through MOMO_DATA_DIR, and an explicit --addr.
    let by_env = clean_command(&momoctl_bin())
        .env("MOMO_DATA_DIR", tmp.path())
        .arg("status")
        .output()
        .unwrap();
    let by_addr = clean_command(&momoctl_bin())
        .args([
            "--addr",
            &format!("unix://{}/momod.sock", tmp.path().display()),
            "status",
        ])
        .output()
        .unwrap();
    let by_tcp = clean_command(&momoctl_bin())
        .args(["--addr", "http://127.0.0.1:1", "status"])
        .output()
        .unwrap();
    for out in [by_env, by_addr, by_tcp] {
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(stderr(&out).contains("momod"), "{}", stderr(&out));
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["-o", "yaml", "status"],
        &["--addr", "ftp://x", "status"],
    ] {
        let out = clean_command(&momoctl_bin()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = clean_command(&momoctl_bin())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.contains("momoctl") && script.contains("status"),
            "{shell}: {script}"
        );
    }
}

#[test]
fn a_second_daemon_on_the_same_data_dir_refuses_and_the_first_keeps_serving() {
    let d = Daemon::start(DaemonConfig::new());
    let (status, log) =
        run_momod_expect_exit(&d.data_dir, &DaemonConfig::new(), Duration::from_secs(20));
    assert!(!status.success());
    assert!(log.contains("already running"), "{log}");
    assert!(
        log.contains(&d.pid().to_string()),
        "message names the running pid: {log}"
    );
    d.ctl_ok(&["status"]);
    assert!(d.socket().exists());
}

#[test]
fn sigterm_and_sigint_stop_gracefully_and_remove_the_socket() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let mut d = Daemon::start(DaemonConfig::new());
        let status = d
            .signal_and_wait(signal, Duration::from_secs(10))
            .expect("momod exits");
        assert!(status.success(), "exit status {status}");
        assert!(!d.socket().exists(), "socket removed on shutdown");
    }
}

#[test]
fn a_stale_socket_from_a_crash_is_replaced() {
    let mut d = Daemon::start(DaemonConfig::new());
    // kill -9 leaves the socket file behind.
    d.signal_and_wait(libc::SIGKILL, Duration::from_secs(10))
        .expect("killed");
    assert!(d.socket().exists());
    let out = d.ctl(&["status"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let d2 = Daemon::start_in(&d.data_dir, DaemonConfig::new());
    d2.ctl_ok(&["status"]);
}

#[test]
fn tcp_listener_needs_the_token() {
    let d = Daemon::start(
        DaemonConfig::new()
            .env("MOMO_GRPC_LISTEN", "tcp://127.0.0.1:0")
            .env("MOMO_GRPC_TOKEN", "correct horse"),
    );
    let json = d.ctl_json(&["status"]);
    let tcp = json["grpc_listen"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|l| {
            l.as_str()
                .unwrap()
                .strip_prefix("tcp://")
                .map(str::to_string)
        })
        .expect("a tcp listener in status");
    let addr = format!("http://{tcp}");
    let run = |token: Option<&str>| {
        let mut cmd = clean_command(&momoctl_bin());
        cmd.args(["--addr", &addr, "status"]);
        if let Some(t) = token {
            cmd.env("MOMOCTL_TOKEN", t);
        }
        cmd.output().unwrap()
    };
    for token in [None, Some("wrong")] {
        let out = run(token);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains("Unauthenticated"), "{}", stderr(&out));
    }
    let out = run(Some("correct horse"));
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn bad_config_stops_momod_at_start_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let cases = [
        (
            DaemonConfig::new().toml("[webdav]\nlisten = \"nope\"\n"),
            "webdav.listen",
        ),
        (
            DaemonConfig::new().toml("[torrent]\nidle_timeout_s = \"soon\"\n"),
            "torrent.idle_timeout_s",
        ),
        (
            DaemonConfig::new().toml("[tmdb]\napi_kee = \"x\"\n"),
            "tmdb.api_kee",
        ),
        (
            DaemonConfig::new().toml("[grpc]\nlisten = \"tcp://127.0.0.1:0\"\n"),
            "grpc.token",
        ),
    ];
    for (config, key) in cases {
        // The harness sets MOMO_WEBDAV_LISTEN for every daemon; the file must lose to it
        // only for webdav.listen, so that case goes through the environment.
        let config = if key == "webdav.listen" {
            config.env("MOMO_WEBDAV_LISTEN", "nope")
        } else {
            config
        };
        let (status, log) = run_momod_expect_exit(&data_dir, &config, Duration::from_secs(20));
        assert!(!status.success(), "{key}: {log}");
        assert!(log.contains(key), "message names `{key}`: {log}");
    }
}

#[test]
fn bad_config_file_value_names_the_key_and_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let config = DaemonConfig::new().toml("[torrent]\nstart_paused = \"perhaps\"\n");
    let (status, log) =
        run_momod_expect_exit(&tmp.path().join("data"), &config, Duration::from_secs(20));
    assert!(!status.success());
    assert!(
        log.contains("torrent.start_paused") && log.contains("momod.toml"),
        "{log}"
    );
}

#[test]
fn momoctl_ends_quietly_when_its_reader_goes_away() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;

    let d = Daemon::start(DaemonConfig::new());
    // Enough output (hundreds of KB) that momoctl is still writing when the reader leaves.
    d.ctl_ok(&[
        "show",
        "add",
        "--title",
        "Long",
        "--episodes",
        "1:2000,2:1000",
    ]);
    let mut child = d.ctl_spawn(&["-o", "json", "show", "get", "1"]);
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // Reader gone (like `| head -c 100`).
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        out.status.signal() == Some(libc::SIGPIPE) || out.status.success(),
        "ends by SIGPIPE like other tools, not {:?}: {err}",
        out.status
    );
}
