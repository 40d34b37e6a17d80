//! Background jobs, end to end: the real momod and momoctl, a fake TMDB made slow so jobs
//! take seconds, and the real SQLite file.
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use momo_tests::tmdb::{FakeShow, FakeTmdb};
use momo_tests::{Daemon, DaemonConfig, bin_dir, clean_command, eventually, stderr};
use serde_json::Value;

/// A show with `seasons` seasons of two episodes each.
fn long_show(id: i64, seasons: i32) -> FakeShow {
    FakeShow {
        id,
        name: format!("Long Show {id}"),
        first_air_date: "2010-01-01".into(),
        seasons: (1..=seasons)
            .map(|s| {
                let episodes = (1..=2)
                    .map(|e| (e, format!("Part {s}.{e}"), Some("2010-02-01".to_string())))
                    .collect();
                (s, episodes)
            })
            .collect::<BTreeMap<_, _>>(),
    }
}

/// A fake TMDB with these shows, each season answered only after `delay`.
fn slow_tmdb(shows: &[(i64, i32)], delay: Duration) -> FakeTmdb {
    let tmdb = FakeTmdb::start();
    for &(id, seasons) in shows {
        tmdb.add_show(long_show(id, seasons));
        tmdb.slow(&format!("/3/tv/{id}/season"), delay);
    }
    tmdb
}

fn job(d: &Daemon, id: i64) -> Value {
    d.ctl_json(&["job", "get", &id.to_string()])
}

/// The job's state; empty while it does not exist yet.
fn state(d: &Daemon, id: i64) -> String {
    let out = d.ctl(&["-o", "json", "job", "get", &id.to_string()]);
    if !out.status.success() {
        return String::new();
    }
    let j: Value = serde_json::from_slice(&out.stdout).expect("job JSON");
    j["state"].as_str().unwrap_or_default().to_string()
}

/// Asserts a failed momoctl call: exit 1 and the gRPC code in stderr.
fn fails_with(out: &std::process::Output, code: &str) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {err}");
    assert!(err.contains(&format!("(code: {code})")), "{err}");
    err
}

fn season_requests(tmdb: &FakeTmdb, id: i64) -> usize {
    let prefix = format!("GET /3/tv/{id}/season/");
    tmdb.requests()
        .iter()
        .filter(|r| r.starts_with(&prefix))
        .count()
}

#[test]
fn show_add_runs_as_a_job_with_progress_logs_and_a_result() {
    let tmdb = slow_tmdb(&[(7001, 4)], Duration::from_millis(300));
    let d = Daemon::start(DaemonConfig::new().tmdb(&tmdb));

    // Waited for, without a terminal: the usual result on stdout, progress lines on stderr.
    let out = d.ctl(&["show", "add", "7001"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        "added show 1: Long Show 7001 (2010) [tmdb 7001], 4 seasons, 8 episodes"
    );
    let err = stderr(&out);
    let counts: Vec<u64> = err
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once('[')?;
            let (done, _) = rest.split_once("/4 seasons]")?;
            done.parse().ok()
        })
        .collect();
    assert!(
        counts.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {err}"
    );
    let distinct: std::collections::BTreeSet<_> = counts.iter().collect();
    assert!(distinct.len() >= 3, "progress seen as it moved: {err}");
    assert_eq!(counts.last(), Some(&4), "{err}");
    assert!(err.lines().last().unwrap_or("").contains("done"), "{err}");

    // Recorded: what, the show it made, progress, times.
    let j = job(&d, 1);
    assert_eq!(j["state"], "done");
    assert_eq!(j["kind"], "show_add");
    assert_eq!(j["summary"], "add show tmdb 7001");
    assert_eq!(j["target"], serde_json::json!({"kind": "show", "id": 1}));
    assert_eq!(
        (
            &j["progress_done"],
            &j["progress_total"],
            &j["progress_unit"]
        ),
        (&Value::from(4), &Value::from(4), &Value::from("seasons"))
    );
    assert!(j["error"].is_null() && j["error_code"].is_null(), "{j}");
    assert!(j["started_at"].as_i64() <= j["finished_at"].as_i64(), "{j}");

    // Its log: the job's own lines, in order.
    let logs = d.ctl_ok(&["job", "logs", "1"]);
    let mut at = 0;
    for want in [
        "started: add show tmdb 7001",
        "fetching show 7001 from TMDB",
        "fetching season 1 (1 of 4)",
        "fetching season 4 (4 of 4)",
        "storing 4 seasons",
        "done",
    ] {
        let found = logs[at..]
            .find(want)
            .unwrap_or_else(|| panic!("`{want}` after byte {at} in:\n{logs}"));
        at += found + want.len();
    }
    let json_lines: Vec<Value> = d
        .ctl_ok(&["-o", "json", "job", "logs", "1"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert!(json_lines.len() >= 6, "{json_lines:?}");
    assert!(
        json_lines
            .windows(2)
            .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64())
    );
    assert!(
        json_lines
            .iter()
            .all(|l| l["job_id"] == 1 && l["level"] == "info")
    );

    // `job wait` on a finished job prints what `show add` printed.
    assert_eq!(
        d.ctl_json(&["job", "wait", "1"]),
        d.ctl_json(&["show", "get", "1"])
    );
    // Listed with the last hour's jobs, and in status while none runs.
    let list = d.ctl_json(&["jobs"]);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["id"], 1);
    assert_eq!(d.ctl_json(&["status"])["active_jobs"], 0);
}

#[test]
fn detach_and_follow_from_a_script() {
    let tmdb = slow_tmdb(&[(7002, 3)], Duration::from_millis(400));
    let d = Daemon::start(DaemonConfig::new().tmdb(&tmdb));
    let script = r#"set -eu
detached=$(momoctl -o json show add 7002 --detach)
id=$(printf '%s\n' "$detached" | sed -n 's/^  "id": \([0-9]*\),$/\1/p')
state=$(printf '%s\n' "$detached" | sed -n 's/^  "state": "\(.*\)",$/\1/p')
echo "job=$id state=$state"
momoctl job logs "$id" -f
echo "---"
momoctl -o json job get "$id" | grep '"state"'
"#;
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let started = Instant::now();
    let out = clean_command(std::path::Path::new("bash"))
        .args(["-c", script])
        .env("PATH", path)
        .env("MOMOCTL_ADDR", d.addr())
        .stdin(Stdio::null())
        .output()
        .expect("bash");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default();
    // --detach returned before the job was over.
    assert!(
        first == "job=1 state=queued" || first == "job=1 state=running",
        "{text}"
    );
    let (follow, end) = text.split_once("---").expect("the script's marker");
    // `logs -f` ran until the job ended, then returned by itself.
    assert!(follow.contains("fetching season 3 (3 of 3)"), "{text}");
    assert!(follow.trim_end().ends_with("done"), "{text}");
    assert!(end.contains(r#""state": "done""#), "{text}");
    assert!(
        started.elapsed() >= Duration::from_millis(1200),
        "three slow seasons"
    );
    assert_eq!(
        d.ctl_json(&["show", "get", "1"])["seasons"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}

#[test]
fn cancel_mid_way_stores_nothing_and_stops_the_work() {
    let tmdb = slow_tmdb(&[(7003, 6), (7004, 6)], Duration::from_millis(500));
    let d = Daemon::start(DaemonConfig::new().tmdb(&tmdb));
    let j = d.ctl_json(&["show", "add", "7003", "--detach"]);
    assert_eq!(j["id"], 1);
    eventually(Duration::from_secs(20), "the job fetched a season", || {
        job(&d, 1)["progress_done"].as_u64() >= Some(1)
    });
    let c = d.ctl_json(&["job", "cancel", "1"]);
    assert_eq!(c["state"], "cancelled", "{c}");
    assert_eq!(c["error_code"], "Cancelled", "{c}");
    // Nothing half-added: no show, no seasons, no episodes.
    assert_eq!(d.ctl_json(&["show", "ls"]), serde_json::json!([]));
    let status = d.ctl_json(&["status"]);
    assert_eq!(
        (&status["shows"], &status["seasons"], &status["episodes"]),
        (&Value::from(0), &Value::from(0), &Value::from(0))
    );
    // The work stopped: no season is fetched after the cancel.
    let fetched = season_requests(&tmdb, 7003);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        season_requests(&tmdb, 7003),
        fetched,
        "requests after cancel"
    );
    assert!(fetched < 6, "cancelled before the end ({fetched} seasons)");
    assert!(d.ctl_ok(&["job", "logs", "1"]).contains("cancelled"));
    // Over: a second cancel is refused; waiting on it reports the cancel.
    fails_with(&d.ctl(&["job", "cancel", "1"]), "FailedPrecondition");
    fails_with(&d.ctl(&["job", "wait", "1"]), "Cancelled");

    // A momoctl waiting on a job that someone else cancels fails as cancelled.
    let waiting = d.ctl_spawn(&["show", "add", "7004"]);
    eventually(Duration::from_secs(20), "job 2 running", || {
        state(&d, 2) == "running"
    });
    d.ctl_ok(&["job", "cancel", "2"]);
    let out = waiting.wait_with_output().expect("momoctl exits");
    let err = fails_with(&out, "Cancelled");
    assert!(err.contains("nothing was stored"), "{err}");
    assert_eq!(d.ctl_json(&["show", "ls"]), serde_json::json!([]));
}

#[test]
fn after_a_crash_an_add_is_failed_and_a_refresh_runs_again() {
    let tmdb = FakeTmdb::start();
    tmdb.add_show(long_show(7005, 2));
    tmdb.add_show(long_show(7006, 4));
    let d0 = DaemonConfig::new().tmdb(&tmdb);
    let tmp = tempfile::TempDir::new().unwrap();
    let mut d = Daemon::start_in(&tmp.path().join("data"), d0);
    d.ctl_ok(&["show", "add", "7005"]);
    // From now on TMDB is slow, and show 7005 has gained an episode.
    tmdb.slow("/3/tv/7005/season", Duration::from_millis(1500));
    tmdb.slow("/3/tv/7006/season", Duration::from_secs(2));
    tmdb.edit_show(7005, |s| {
        s.seasons
            .get_mut(&2)
            .unwrap()
            .push((3, "Part 2.3".into(), None))
    });
    let refresh = d.ctl_json(&["show", "refresh", "1", "--detach"]);
    let add = d.ctl_json(&["show", "add", "7006", "--detach"]);
    let (refresh, add) = (refresh["id"].as_i64().unwrap(), add["id"].as_i64().unwrap());
    eventually(Duration::from_secs(20), "both jobs running", || {
        state(&d, refresh) == "running" && state(&d, add) == "running"
    });
    assert_eq!(d.ctl_json(&["status"])["active_jobs"], 2);

    d.crash_and_restart();

    // The add: failed as interrupted, nothing stored.
    let a = job(&d, add);
    assert_eq!(a["state"], "failed", "{a}");
    assert_eq!(a["error_code"], "Unavailable", "{a}");
    assert!(a["error"].as_str().unwrap().contains("interrupted"), "{a}");
    assert_eq!(
        d.ctl_json(&["show", "ls"]).as_array().map(Vec::len),
        Some(1)
    );
    // The refresh: queued again, run to its end, and it did its work.
    let r = d.ctl_json(&["job", "wait", &refresh.to_string()]);
    assert_eq!(r["added_episodes"], 1, "{r}");
    assert_eq!(state(&d, refresh), "done");
    let show = d.ctl_json(&["show", "get", "1"]);
    assert_eq!(
        show["seasons"][1]["episodes"].as_array().map(Vec::len),
        Some(3)
    );
    let log = d.log();
    assert!(log.contains("queued again"), "{log}");
    assert!(log.contains("marked failed"), "{log}");
}

#[test]
fn old_jobs_are_pruned_with_their_lines() {
    use diesel::{Connection, RunQueryDsl};
    let tmdb = FakeTmdb::start();
    tmdb.add_show(long_show(7007, 1));
    let tmp = tempfile::TempDir::new().unwrap();
    let mut d = Daemon::start_in(&tmp.path().join("data"), DaemonConfig::new().tmdb(&tmdb));
    d.ctl_ok(&["show", "add", "7007"]);
    // A refresh asks TMDB again, even right after the add (answers are cached for an hour).
    tmdb.edit_show(7007, |s| {
        s.seasons
            .get_mut(&1)
            .unwrap()
            .push((3, "Late".into(), None))
    });
    let r = d.ctl_json(&["show", "refresh", "1"]);
    assert_eq!(r["added_episodes"], 1, "{r}");
    d.stop();
    // Job 1 ended 31 days ago (the default keeps 30).
    let db = d.data_dir.join("library.db");
    let mut conn = diesel::sqlite::SqliteConnection::establish(db.to_str().unwrap()).unwrap();
    diesel::sql_query("UPDATE jobs SET finished_at = finished_at - 31 * 86400 WHERE id = 1")
        .execute(&mut conn)
        .unwrap();
    drop(conn);
    let d = Daemon::start_in(&d.data_dir.clone(), d.config.clone());
    let all = d.ctl_json(&["jobs", "--all"]);
    let ids: Vec<i64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![2]);
    fails_with(&d.ctl(&["job", "logs", "1"]), "NotFound");
    assert!(
        d.ctl_ok(&["job", "logs", "2"])
            .contains("started: refresh show 1")
    );
}

#[test]
fn refused_requests_create_no_job() {
    let tmdb = FakeTmdb::start();
    let d = Daemon::start(DaemonConfig::new().tmdb(&tmdb));
    let hash = "c9e15763f722f23e98a29decdfae341b98d53056";
    let magnet = format!("magnet:?xt=urn:btih:{hash}");
    fails_with(&d.ctl(&["show", "refresh", "42", "--detach"]), "NotFound");
    fails_with(&d.ctl(&["show", "add", "0", "--detach"]), "InvalidArgument");
    fails_with(
        &d.ctl(&["assign", "movie", "1", "magnet:?xt=urn:btih:zz", "--detach"]),
        "InvalidArgument",
    );
    fails_with(
        &d.ctl(&["assign", "movie", "99", &magnet, "--detach"]),
        "NotFound",
    );
    fails_with(&d.ctl(&["assign", "season", "3", "1", &magnet]), "NotFound");
    d.ctl_ok(&["show", "add", "--title", "Manual", "--episodes", "1:2"]);
    // A show added by title has nothing to refresh from.
    fails_with(&d.ctl(&["show", "refresh", "1"]), "FailedPrecondition");
    let all = d.ctl_json(&["jobs", "--all"]);
    let kinds: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["show_add"], "only the manual add ran: {all}");
    fails_with(&d.ctl(&["job", "get", "5"]), "NotFound");
    fails_with(&d.ctl(&["job", "cancel", "5"]), "NotFound");
    fails_with(&d.ctl(&["job", "logs", "5", "-f"]), "NotFound");
}

#[test]
fn ctrl_c_while_following_leaves_the_job_running() {
    let tmdb = slow_tmdb(&[(7008, 3)], Duration::from_millis(700));
    let d = Daemon::start(DaemonConfig::new().tmdb(&tmdb));
    let child = d.ctl_spawn(&["show", "add", "7008"]);
    eventually(Duration::from_secs(20), "job 1 running", || {
        state(&d, 1) == "running"
    });
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().expect("momoctl exits");
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("job 1 keeps running"), "{err}");
    assert!(err.contains("momoctl job wait 1"), "{err}");
    // No terminal to ask at: the job was left alone and ends by itself.
    let show = d.ctl_json(&["job", "wait", "1"]);
    assert_eq!(show["title"], "Long Show 7008");
}

#[test]
fn a_graceful_stop_leaves_jobs_to_the_next_start_by_kind() {
    let tmdb = FakeTmdb::start();
    tmdb.add_show(long_show(7009, 1));
    tmdb.add_show(long_show(7010, 3));
    let config = DaemonConfig::new()
        .tmdb(&tmdb)
        .env("MOMO_JOBS_CONCURRENCY", "1")
        .env("MOMO_SHUTDOWN_GRACE_S", "1");
    let tmp = tempfile::TempDir::new().unwrap();
    let mut d = Daemon::start_in(&tmp.path().join("data"), config);
    d.ctl_ok(&["show", "add", "7009"]);
    tmdb.slow("/3/tv/7010/season", Duration::from_secs(3));
    let add = d.ctl_json(&["show", "add", "7010", "--detach"])["id"]
        .as_i64()
        .unwrap();
    eventually(Duration::from_secs(20), "the add running", || {
        state(&d, add) == "running"
    });
    // One slot: the refresh waits behind the add.
    let refresh = d.ctl_json(&["show", "refresh", "1", "--detach"])["id"]
        .as_i64()
        .unwrap();
    assert_eq!(state(&d, refresh), "queued");
    let stopping = Instant::now();
    d.restart();
    assert!(
        stopping.elapsed() < Duration::from_secs(15),
        "stopped within the grace"
    );
    let a = job(&d, add);
    assert_eq!(a["state"], "failed", "{a}");
    assert!(a["error"].as_str().unwrap().contains("interrupted"), "{a}");
    assert_eq!(
        d.ctl_json(&["show", "ls"]).as_array().map(Vec::len),
        Some(1)
    );
    let r = d.ctl_json(&["job", "wait", &refresh.to_string()]);
    assert_eq!(r["show"]["id"], 1, "{r}");
    assert_eq!(state(&d, refresh), "done");
}

#[test]
fn a_unary_call_whose_caller_gives_up_cancels_its_job() {
    let tmdb = slow_tmdb(&[(7011, 4)], Duration::from_millis(800));
    let d = Daemon::start(DaemonConfig::new().tmdb(&tmdb));
    // LibraryService/AddShow {tmdb_id: 7011}, one gRPC frame, from a client that waits 1 s.
    let body = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(body.path(), [0, 0, 0, 0, 3, 0x08, 0xE3, 0x36]).unwrap();
    let out = momo_tests::run(
        "curl",
        &[
            "-s",
            "--max-time",
            "1",
            "--http2-prior-knowledge",
            "--unix-socket",
            d.socket().to_str().unwrap(),
            "-H",
            "content-type: application/grpc",
            "-H",
            "te: trailers",
            "--data-binary",
            &format!("@{}", body.path().display()),
            "-o",
            "/dev/null",
            "http://localhost/momo.v1.LibraryService/AddShow",
        ],
    );
    assert_eq!(out.status.code(), Some(28), "curl gave up at its deadline");
    eventually(Duration::from_secs(10), "the job cancelled", || {
        state(&d, 1) == "cancelled"
    });
    let fetched = season_requests(&tmdb, 7011);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        season_requests(&tmdb, 7011),
        fetched,
        "no work after the cancel"
    );
    assert_eq!(d.ctl_json(&["show", "ls"]), serde_json::json!([]));
}
