//! The bad-input catalogue: what a hostile client or a careless user sends, through every
//! door momod has (momoctl, raw gRPC, WebDAV, local files, TMDB's answers, the daemon's own
//! start-up). Every case asserts the precise error and that the library did not change:
//! the movies, shows, torrents and the share listing are compared before and after.
//!
//! Cases run one after another against one daemon per group; a failing case does not hide
//! the others: each group reports every failure at the end.
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use momo_tests::tmdb::{FakeShow, FakeTmdb};
use momo_tests::{Daemon, DaemonConfig, run, run_momod_expect_exit, stderr, url_path};
use tempfile::TempDir;

const USER: &str = "viewer";
const PASS: &str = "pw";
const HASH: &str = "0123456789abcdef0123456789abcdef01234567";

/// Cases run and failures seen by one group.
struct Catalogue<'a> {
    d: &'a Daemon,
    share: String,
    run: usize,
    failures: Vec<String>,
}

impl<'a> Catalogue<'a> {
    fn new(d: &'a Daemon) -> Catalogue<'a> {
        Catalogue {
            d,
            share: d.webdav_addr(),
            run: 0,
            failures: Vec::new(),
        }
    }

    /// Everything a user could see of the library: lists, each show, torrents, the share.
    fn snapshot(&self) -> String {
        let mut out = String::new();
        for args in [
            &["-o", "json", "movie", "ls"][..],
            &["-o", "json", "show", "ls"],
            &["-o", "json", "torrent", "ls"],
        ] {
            out.push_str(&String::from_utf8_lossy(&self.d.ctl(args).stdout));
        }
        let shows: serde_json::Value =
            serde_json::from_slice(&self.d.ctl(&["-o", "json", "show", "ls"]).stdout)
                .unwrap_or_default();
        for s in shows.as_array().into_iter().flatten() {
            let id = s["id"].to_string();
            out.push_str(&String::from_utf8_lossy(
                &self.d.ctl(&["-o", "json", "show", "get", &id]).stdout,
            ));
        }
        for dir in ["/Movies/", "/TV Shows/"] {
            let (_, body) = self.curl(&["-X", "PROPFIND", "-H", "Depth: 1"], dir);
            out.push_str(&String::from_utf8_lossy(&body));
        }
        out
    }

    /// Runs `case`; it returns what went wrong, if anything. The library must not change.
    fn case(&mut self, name: &str, case: impl FnOnce(&Self) -> Result<(), String>) {
        self.run += 1;
        let before = self.snapshot();
        let started = Instant::now();
        if let Err(e) = case(self) {
            self.failures.push(format!("{name}: {e}"));
            return;
        }
        // "No hang" is part of every case: none of these may take long.
        if started.elapsed() > Duration::from_secs(20) {
            self.failures
                .push(format!("{name}: took {:?}", started.elapsed()));
        }
        if self.snapshot() != before {
            self.failures.push(format!("{name}: the library changed"));
        }
    }

    /// A momoctl command that must fail with `exit` and say `needle` (and the gRPC code).
    fn ctl(&mut self, name: &str, args: &[&str], exit: i32, needle: &str) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let needle = needle.to_string();
        self.case(name, move |c| {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            expect_fail(&c.d.ctl(&refs), exit, &needle)
        });
    }

    /// curl against the share with credentials: (status, body).
    fn curl(&self, extra: &[&str], path: &str) -> (u16, Vec<u8>) {
        curl_share(&self.share, extra, path, true)
    }

    fn finish(self, at_least: usize) {
        assert!(
            self.failures.is_empty(),
            "{} of {} cases failed:\n{}\n--- momod log ---\n{}",
            self.failures.len(),
            self.run,
            self.failures.join("\n"),
            self.d.log()
        );
        assert!(
            self.run >= at_least,
            "only {} cases ran (expected {at_least})",
            self.run
        );
    }
}

fn expect_fail(out: &Output, exit: i32, needle: &str) -> Result<(), String> {
    let err = stderr(out);
    if out.status.code() != Some(exit) {
        return Err(format!(
            "exit {:?}, wanted {exit}; stderr: {}",
            out.status.code(),
            cut(&err)
        ));
    }
    if !err.contains(needle) {
        return Err(format!("stderr lacks `{needle}`: {}", cut(&err)));
    }
    if err.contains("panicked") {
        return Err(format!("momoctl panicked: {}", cut(&err)));
    }
    Ok(())
}

fn cut(s: &str) -> String {
    s.chars().take(400).collect()
}

/// curl against a share at `addr` (the path as given, not normalised by curl); `auth` adds
/// the test credentials.
fn curl_share(addr: &str, extra: &[&str], path: &str, auth: bool) -> (u16, Vec<u8>) {
    let creds = format!("{USER}:{PASS}");
    let mut args = vec!["-g", "--path-as-is", "--max-time", "20"];
    if auth {
        args.extend(["-u", &creds]);
    }
    args.extend_from_slice(extra);
    let (code, body, _) = momo_tests::curl(&format!("http://{addr}{path}"), &args);
    (code, body)
}

fn status_is(got: (u16, Vec<u8>), want: u16) -> Result<(), String> {
    if got.0 == want {
        Ok(())
    } else {
        Err(format!(
            "HTTP {}, wanted {want}: {}",
            got.0,
            cut(&String::from_utf8_lossy(&got.1))
        ))
    }
}

/// One raw gRPC call over the control socket with curl (HTTP/2, prior knowledge): returns
/// (grpc-status, grpc-message). `payload` is sent as one message, or as is with `raw`.
fn grpc_raw(socket: &Path, method: &str, payload: &[u8], raw: bool) -> (String, String) {
    let mut framed = Vec::new();
    if raw {
        framed.extend_from_slice(payload);
    } else {
        framed.push(0);
        framed.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        framed.extend_from_slice(payload);
    }
    let body = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(body.path(), &framed).unwrap();
    let headers = tempfile::NamedTempFile::new().unwrap();
    let data = format!("@{}", body.path().display());
    let url = format!("http://localhost/{method}");
    let mut args = vec![
        "-s",
        "--max-time",
        "20",
        "--http2-prior-knowledge",
        "--unix-socket",
        socket.to_str().unwrap(),
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
        "-D",
        headers.path().to_str().unwrap(),
        "-o",
        "/dev/null",
    ];
    // An empty raw body is sent as a POST without data, so the request ends with its
    // headers. Otherwise a server that answers before reading the body (an unknown
    // method does) resets the stream afterwards, and curl 7.x then drops the answer.
    if framed.is_empty() {
        args.extend(["-X", "POST"]);
    } else {
        args.extend(["--data-binary", &data]);
    }
    args.push(&url);
    let _ = run("curl", &args);
    let text = std::fs::read_to_string(headers.path()).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    (field("grpc-status"), field("grpc-message"))
}

/// protobuf: field `n` as a varint.
fn pb_varint(n: u8, mut v: u64) -> Vec<u8> {
    let mut out = vec![n << 3];
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// protobuf: field `n` as a length-delimited string.
fn pb_string(n: u8, s: &[u8]) -> Vec<u8> {
    let mut out = vec![(n << 3) | 2];
    let mut len = pb_varint(0, s.len() as u64);
    len.remove(0);
    out.extend(len);
    out.extend_from_slice(s);
    out
}

fn hostile_tmdb() -> FakeTmdb {
    let t = FakeTmdb::start();
    t.add_movie(7001, &"x".repeat(2 << 20), "2001-01-01");
    t.add_movie(7002, "   ", "2000-01-01");
    t.add_movie(7003, "Far Future", "9999-01-01");
    t.add_movie(7004, "\u{200b}\u{202e}\u{2066}", "2001-01-01");
    let show = |id: i64, name: &str, seasons: BTreeMap<i32, Vec<(i32, String, Option<String>)>>| {
        t.add_show(FakeShow {
            id,
            name: name.into(),
            first_air_date: "2010-01-01".into(),
            seasons,
        })
    };
    let one = |n: i32, name: &str| vec![(n, name.to_string(), None)];
    show(
        8001,
        "Huge Season Number",
        BTreeMap::from([(i32::MAX, one(1, "A"))]),
    );
    show(
        8002,
        "Negative Episode",
        BTreeMap::from([(1, one(-1, "A"))]),
    );
    show(
        8003,
        "Too Many Seasons",
        (1..=250).map(|s| (s, one(1, "A"))).collect(),
    );
    show(
        8004,
        "Endless Season",
        BTreeMap::from([(1, (1..=2500).map(|e| (e, "E".to_string(), None)).collect())]),
    );
    show(8005, " \t ", BTreeMap::from([(1, one(1, "A"))]));
    show(
        8006,
        "Long Episode Name",
        BTreeMap::from([(1, one(1, &"y".repeat(300)))]),
    );
    t.add_movie(7005, "Year Zero", "0000-01-01");
    t
}

struct Setup {
    d: Daemon,
    media: PathBuf,
    _tmdb: FakeTmdb,
    _tmp: TempDir,
}

fn setup(extra: &[(&str, &str)]) -> Setup {
    let tmp = TempDir::new().unwrap();
    let media = tmp.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    let tmdb = hostile_tmdb();
    let mut config = DaemonConfig::new()
        .tmdb(&tmdb)
        .env("MOMO_LIBRARY_LOCAL_ROOTS", media.display().to_string())
        .env("MOMO_WEBDAV_USERNAME", USER)
        .env("MOMO_WEBDAV_PASSWORD", PASS)
        .env("MOMO_TORRENT_METADATA_TIMEOUT_S", "2")
        // Every TMDB answer fresh: a case may change the fake's data.
        .env("MOMO_TMDB_CACHE_TTL_S", "0");
    for (k, v) in extra {
        config = config.env(k, *v);
    }
    let d = Daemon::start(config);
    Setup {
        d,
        media,
        _tmdb: tmdb,
        _tmp: tmp,
    }
}

fn write_file(path: &Path, len: usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
    std::fs::write(path, data).unwrap();
}

/// A library with a bit of everything, so "nothing changed" means something.
/// Returns the URL path of the movie in the share.
fn baseline(s: &Setup) -> String {
    let d = &s.d;
    write_file(&s.media.join("fight.mkv"), 1 << 20);
    d.ctl_ok(&["movie", "add", "550"]);
    d.ctl_ok(&["movie", "add", "603"]);
    d.ctl_ok(&["show", "add", "1396", "--seasons", "1"]);
    d.ctl_ok(&["show", "add", "--title", "Home Videos", "--episodes", "1:2"]);
    let fight = s.media.join("fight.mkv");
    d.ctl_ok(&["assign", "movie", "1", "--local", fight.to_str().unwrap()]);
    url_path("/Movies/Fight Club (1999)/Fight Club (1999).mkv")
}

#[test]
fn the_cli_and_grpc_refuse_bad_input_and_change_nothing() {
    let s = setup(&[]);
    let _ = baseline(&s);
    let mut c = Catalogue::new(&s.d);
    let big_title = "t".repeat(201);
    let long_search = "s".repeat(201);
    let valid = format!("magnet:?xt=urn:btih:{HASH}&x.pe=127.0.0.1:9");

    // Movies and shows, from the user.
    c.ctl("movie add 0", &["movie", "add", "0"], 1, "InvalidArgument");
    c.ctl(
        "movie add text",
        &["movie", "add", "abc"],
        2,
        "invalid value",
    );
    c.ctl(
        "movie add unknown id",
        &["movie", "add", "424242"],
        1,
        "NotFound",
    );
    c.ctl(
        "movie add twice",
        &["movie", "add", "550"],
        1,
        "AlreadyExists",
    );
    c.ctl("empty title", &["movie", "add", "--title", ""], 1, "blank");
    c.ctl(
        "blank title",
        &["movie", "add", "--title", " \t "],
        1,
        "blank",
    );
    c.ctl(
        "control-only title",
        &["movie", "add", "--title", "\u{1b}\u{7}"],
        1,
        "blank",
    );
    c.ctl(
        "format-only title",
        &["movie", "add", "--title", "\u{200b}\u{202e}"],
        1,
        "blank",
    );
    c.ctl(
        "long title",
        &["movie", "add", "--title", &big_title],
        1,
        "at most 200",
    );
    c.ctl(
        "year 9999",
        &["movie", "add", "--title", "X", "--year", "9999"],
        1,
        "not plausible",
    );
    c.ctl(
        "year 1200",
        &["movie", "add", "--title", "X", "--year", "1200"],
        1,
        "InvalidArgument",
    );
    c.ctl("movie get unknown", &["movie", "get", "999"], 1, "NotFound");
    c.ctl("movie rm unknown", &["movie", "rm", "999"], 1, "NotFound");
    c.ctl("show get unknown", &["show", "get", "999"], 1, "NotFound");
    c.ctl("show rm unknown", &["show", "rm", "999"], 1, "NotFound");
    c.ctl(
        "show refresh unknown",
        &["show", "refresh", "999"],
        1,
        "NotFound",
    );
    c.ctl(
        "show refresh manual",
        &["show", "refresh", "2"],
        1,
        "FailedPrecondition",
    );
    c.ctl(
        "show add twice",
        &["show", "add", "1396"],
        1,
        "AlreadyExists",
    );
    c.ctl(
        "season TMDB lacks",
        &["show", "add", "70523", "--seasons", "9"],
        1,
        "no season 9",
    );
    c.ctl(
        "season out of range",
        &["show", "add", "70523", "--seasons", "5000"],
        1,
        "out of range",
    );
    c.ctl(
        "too many episodes",
        &["show", "add", "--title", "X", "--episodes", "1:100000"],
        1,
        "InvalidArgument",
    );
    c.ctl(
        "too many in all",
        &[
            "show",
            "add",
            "--title",
            "X",
            "--episodes",
            "1:2000,2:2000,3:2000,4:2000,5:2000,6:2000",
        ],
        1,
        "at most 10000",
    );
    c.ctl(
        "placeholder season twice",
        &["show", "add", "--title", "X", "--episodes", "1:2,1:3"],
        1,
        "twice",
    );
    c.ctl("empty search", &["search", "movie", " "], 1, "empty");
    c.ctl(
        "long search",
        &["search", "movie", &long_search],
        1,
        "at most 200",
    );
    c.ctl(
        "search year",
        &["search", "movie", "x", "--year", "99999"],
        1,
        "not plausible",
    );

    // What TMDB sends: refused as Unavailable with the item named, nothing stored.
    c.ctl(
        "TMDB 2 MiB title",
        &["movie", "add", "7001"],
        1,
        "Unavailable",
    );
    c.ctl("TMDB blank title", &["movie", "add", "7002"], 1, "blank");
    c.ctl("TMDB year 9999", &["movie", "add", "7003"], 1, "year 9999");
    c.ctl("TMDB year 0", &["movie", "add", "7005"], 1, "Unavailable");
    c.ctl(
        "TMDB invisible title",
        &["movie", "add", "7004"],
        1,
        "blank",
    );
    c.ctl(
        "TMDB season 2147483647",
        &["show", "add", "8001"],
        1,
        "season 2147483647",
    );
    c.ctl(
        "TMDB episode -1",
        &["show", "add", "8002"],
        1,
        "Unavailable",
    );
    c.ctl(
        "TMDB 250 seasons",
        &["show", "add", "8003"],
        1,
        "at most 200",
    );
    c.ctl(
        "TMDB 2500 episodes",
        &["show", "add", "8004"],
        1,
        "2500 episodes",
    );
    c.ctl("TMDB blank show", &["show", "add", "8005"], 1, "blank");
    c.ctl(
        "TMDB long episode name",
        &["show", "add", "8006"],
        1,
        "S01E01",
    );

    // Magnets and torrents: refused before any swarm traffic.
    let many_tr: String = (0..65)
        .map(|i| format!("&tr=udp://t{i}.example:80"))
        .collect();
    let many_pe: String = (0..65)
        .map(|i| format!("&x.pe=127.0.0.1:{}", 1000 + i))
        .collect();
    let huge = format!("magnet:?xt=urn:btih:{HASH}&dn={}", "d".repeat(100_000));
    let tr_magnet = format!("magnet:?xt=urn:btih:{HASH}{many_tr}");
    let pe_magnet = format!("magnet:?xt=urn:btih:{HASH}{many_pe}");
    c.ctl(
        "not a magnet",
        &["assign", "movie", "2", "ftp://x"],
        1,
        "magnet:?",
    );
    c.ctl(
        "a .torrent URL nothing answers",
        &["assign", "movie", "2", "http://127.0.0.1:9/x.torrent"],
        1,
        "unreachable",
    );
    c.ctl(
        "no hash",
        &["assign", "movie", "2", "magnet:?dn=x"],
        1,
        "no `xt=urn:btih:`",
    );
    c.ctl(
        "short hash",
        &["assign", "movie", "2", "magnet:?xt=urn:btih:abc"],
        1,
        "40 hex",
    );
    c.ctl(
        "padded base32",
        &[
            "assign",
            "movie",
            "2",
            "magnet:?xt=urn:btih:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ],
        1,
        "letters and digits",
    );
    c.ctl(
        "two hashes",
        &[
            "assign",
            "movie",
            "2",
            &format!("magnet:?xt=urn:btih:{HASH}&xt=urn:btih:{}", "f".repeat(40)),
        ],
        1,
        "two different",
    );
    c.ctl(
        "bad tracker",
        &[
            "assign",
            "movie",
            "2",
            &format!("magnet:?xt=urn:btih:{HASH}&tr=file:///etc/passwd"),
        ],
        1,
        "tracker",
    );
    c.ctl(
        "bad peer hint",
        &[
            "assign",
            "movie",
            "2",
            &format!("magnet:?xt=urn:btih:{HASH}&x.pe=host:1"),
        ],
        1,
        "IP:port",
    );
    c.ctl(
        "100 KB magnet",
        &["assign", "movie", "2", &huge],
        1,
        "at most 16384",
    );
    c.ctl(
        "65 trackers",
        &["torrent", "files", &tr_magnet],
        1,
        "more than 64 trackers",
    );
    c.ctl(
        "65 peer hints",
        &["torrent", "files", &pe_magnet],
        1,
        "more than 64 peer hints",
    );
    c.ctl(
        "unknown movie",
        &["assign", "movie", "999", &valid],
        1,
        "NotFound",
    );
    c.ctl(
        "unknown episode",
        &["assign", "episode", "999", &valid],
        1,
        "NotFound",
    );
    c.ctl(
        "long resolution",
        &[
            "assign",
            "movie",
            "2",
            &valid,
            "--resolution",
            &"r".repeat(41),
        ],
        1,
        "InvalidArgument",
    );
    c.ctl(
        "control char label",
        &["assign", "movie", "2", &valid, "--source", "Blu\u{1b}Ray"],
        1,
        "InvalidArgument",
    );
    c.ctl(
        "metadata never comes",
        &["torrent", "files", &valid],
        1,
        "DeadlineExceeded",
    );
    c.ctl(
        "pack for unknown show",
        &["assign", "season", "999", "1", &valid],
        1,
        "NotFound",
    );
    c.ctl(
        "torrent get bad hash",
        &["torrent", "get", "xyz"],
        1,
        "InvalidArgument",
    );
    c.ctl(
        "torrent get unknown",
        &["torrent", "get", HASH],
        1,
        "NotFound",
    );
    c.ctl(
        "torrent rm unknown",
        &["torrent", "rm", HASH],
        1,
        "NotFound",
    );
    c.ctl(
        "torrent pause bad",
        &["torrent", "pause", &"g".repeat(40)],
        1,
        "InvalidArgument",
    );

    // Local files.
    let media = s.media.clone();
    let outside = media.parent().unwrap().join("outside.mkv");
    write_file(&outside, 1000);
    let link = media.join("link.mkv");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let fifo = media.join("pipe.mkv");
    run("mkfifo", &[fifo.to_str().unwrap()]);
    std::fs::create_dir_all(media.join("folder.mkv")).unwrap();
    let p = |p: &Path| p.to_str().unwrap().to_string();
    c.ctl(
        "outside the roots",
        &["assign", "movie", "2", "--local", &p(&outside)],
        1,
        "InvalidArgument",
    );
    c.ctl(
        "symlink out of the roots",
        &["assign", "movie", "2", "--local", &p(&link)],
        1,
        "InvalidArgument",
    );
    c.ctl(
        "missing file",
        &[
            "assign",
            "movie",
            "2",
            "--local",
            &p(&media.join("nope.mkv")),
        ],
        1,
        "NotFound",
    );
    c.ctl(
        "a FIFO",
        &["assign", "movie", "2", "--local", &p(&fifo)],
        1,
        "InvalidArgument",
    );
    c.ctl(
        "a folder",
        &[
            "assign",
            "movie",
            "2",
            "--local",
            &p(&media.join("folder.mkv")),
        ],
        1,
        "InvalidArgument",
    );
    c.ctl(
        "dot-dot escape",
        &[
            "assign",
            "movie",
            "2",
            "--local",
            &format!("{}/../outside.mkv", p(&media)),
        ],
        1,
        "InvalidArgument",
    );
    c.ctl(
        "unassign unknown",
        &["unassign", "movie", "999"],
        1,
        "NotFound",
    );

    // Raw gRPC: garbage, oversize, paging.
    let sock = s.d.socket();
    c.case("garbage protobuf", |_| {
        let (code, msg) = grpc_raw(
            &sock,
            "momo.v1.LibraryService/GetMovie",
            &[0xff, 0xff, 0xff, 0xff],
            false,
        );
        (code == "3")
            .then_some(())
            .ok_or(format!("grpc-status {code} ({msg}), wanted 3"))
    });
    c.case("truncated frame", |_| {
        let (code, _) = grpc_raw(
            &sock,
            "momo.v1.LibraryService/GetMovie",
            &[0, 0, 0, 0, 9, 8],
            true,
        );
        // The body ends inside the frame: anything but success, and the daemon lives on.
        (code != "0" && !code.is_empty())
            .then_some(())
            .ok_or(format!("grpc-status `{code}`"))
    });
    // tonic answers OutOfRange (11) or ResourceExhausted (8); when it answers before the
    // upload ends, the stream is reset and curl sees no status at all. Never OK, and the
    // daemon goes on answering.
    let oversize = |c: &Catalogue, method: &str, payload: Vec<u8>| {
        let (code, msg) = grpc_raw(&sock, method, &payload, false);
        if !(code == "8" || code == "11" || code.is_empty()) {
            return Err(format!("grpc-status {code} ({msg})"));
        }
        c.d.ctl(&["status"])
            .status
            .success()
            .then_some(())
            .ok_or("momod stopped answering".into())
    };
    c.case("request over 256 KiB", |c| {
        let magnet = pb_string(1, &vec![b'm'; 300 * 1024]);
        oversize(c, "momo.v1.LibraryService/GetMovie", magnet)
    });
    c.case("a .torrent over 4 MiB", |c| {
        let torrent = pb_string(2, &vec![b'd'; 4 * 1024 * 1024 + 100 * 1024]);
        oversize(c, "momo.v1.TorrentService/Files", torrent)
    });
    c.case("unknown method", |_| {
        let (code, _) = grpc_raw(&sock, "momo.v1.LibraryService/DropTables", &[], true);
        (code == "12")
            .then_some(())
            .ok_or(format!("grpc-status {code}, wanted 12"))
    });
    c.case("page token garbage", |_| {
        let req = pb_string(2, b"drop table");
        let (code, msg) = grpc_raw(&sock, "momo.v1.LibraryService/ListMovies", &req, false);
        (code == "3" && msg.contains("page_token"))
            .then_some(())
            .ok_or(format!("grpc-status {code} ({msg})"))
    });
    c.case("page size too big", |_| {
        let req = pb_varint(1, 5000);
        let (code, _) = grpc_raw(&sock, "momo.v1.LibraryService/ListMovies", &req, false);
        (code == "3")
            .then_some(())
            .ok_or(format!("grpc-status {code}"))
    });
    c.case("negative id", |_| {
        let (code, _) = grpc_raw(
            &sock,
            "momo.v1.LibraryService/GetMovie",
            &pb_varint(1, u64::MAX),
            false,
        );
        (code == "5")
            .then_some(())
            .ok_or(format!("grpc-status {code}, wanted 5 (NotFound)"))
    });

    c.case("5000 trackers over gRPC", |_| {
        let trackers: String = (0..5000)
            .map(|i| format!("&tr=udp://t{i}.example:80"))
            .collect();
        let magnet = format!("magnet:?xt=urn:btih:{HASH}{trackers}");
        let started = Instant::now();
        let (code, msg) = grpc_raw(
            &sock,
            "momo.v1.TorrentService/Files",
            &pb_string(1, magnet.as_bytes()),
            false,
        );
        if code != "3" || !msg.contains("16384") {
            return Err(format!("grpc-status {code} ({msg})"));
        }
        // Refused at once, not parsed for seconds.
        (started.elapsed() < Duration::from_secs(2))
            .then_some(())
            .ok_or(format!("took {:?}", started.elapsed()))
    });

    // A refresh must not take a show past the limits: refresh keeps every stored episode,
    // so TMDB renumbering a season adds up.
    s._tmdb.edit_show(1396, |show| {
        show.seasons
            .insert(1, (5..=2002).map(|e| (e, format!("E{e}"), None)).collect());
    });
    c.ctl(
        "refresh past the episode limit",
        &["show", "refresh", "1"],
        1,
        "season 1 would have 2002",
    );

    // The daemon still answers after all of it.
    s.d.ctl_ok(&["status"]);
    c.finish(72);
}

#[test]
fn the_share_refuses_bad_requests_and_changes_nothing() {
    let s = setup(&[]);
    let movie_url = baseline(&s);
    let mut c = Catalogue::new(&s.d);
    let addr = c.share.clone();
    let size = 1 << 20;

    c.case("no credentials", |_| {
        status_is(curl_share(&addr, &[], "/", false), 401)
    });
    c.case("wrong password", |_| {
        status_is(
            curl_share(&addr, &["-u", "viewer:nope"], "/Movies/", false),
            401,
        )
    });
    c.case("wrong user", |_| {
        status_is(curl_share(&addr, &["-u", "root:pw"], "/", false), 401)
    });
    for method in [
        "PUT",
        "DELETE",
        "MKCOL",
        "MOVE",
        "COPY",
        "LOCK",
        "PROPPATCH",
    ] {
        let u = movie_url.clone();
        c.case(&format!("{method} is refused"), move |c| {
            status_is(c.curl(&["-X", method], &u), 405)
        });
    }
    c.case("PROPFIND infinity", |c| {
        status_is(
            c.curl(&["-X", "PROPFIND", "-H", "Depth: infinity"], "/Movies/"),
            403,
        )
    });
    c.case("PROPFIND bad XML", |c| {
        status_is(
            c.curl(
                &["-X", "PROPFIND", "-H", "Depth: 1", "--data", "<D:propfind"],
                "/Movies/",
            ),
            400,
        )
    });
    c.case("PROPFIND huge body", |c| {
        let big = format!("@{}", big_body().display());
        status_is(
            c.curl(
                &["-X", "PROPFIND", "-H", "Depth: 1", "--data-binary", &big],
                "/Movies/",
            ),
            413,
        )
    });
    c.case("dot-dot on GET", |c| {
        status_is(c.curl(&[], &format!("/Movies/..{movie_url}")), 400)
    });
    c.case("dot-dot on PROPFIND", |c| {
        status_is(
            c.curl(&["-X", "PROPFIND", "-H", "Depth: 0"], "/Movies/../Movies/"),
            400,
        )
    });
    c.case("encoded slash on GET", |c| {
        status_is(c.curl(&[], "/Movies%2FFight%20Club%20(1999)/"), 400)
    });
    c.case("encoded slash on PROPFIND", |c| {
        status_is(
            c.curl(&["-X", "PROPFIND", "-H", "Depth: 0"], "/Movies%2F"),
            400,
        )
    });
    c.case("encoded NUL", |c| {
        status_is(c.curl(&[], "/Movies/a%00b"), 400)
    });
    c.case("not UTF-8", |c| {
        status_is(c.curl(&[], "/Movies/%FF%FE"), 400)
    });
    c.case("unknown file", |c| {
        status_is(c.curl(&[], "/Movies/Nope%20(2000)/Nope.mkv"), 404)
    });
    c.case("range past the end", |c| {
        status_is(c.curl(&["-r", "2000000-2000010"], &movie_url), 416)
    });
    c.case("200 overlapping ranges", |c| {
        let ranges = format!("bytes={}", vec!["0-"; 200].join(","));
        let (code, body) = c.curl(&["-H", &format!("Range: {ranges}")], &movie_url);
        (code == 200 && body.len() == size)
            .then_some(())
            .ok_or(format!(
                "HTTP {code}, {} bytes for a {size}-byte file",
                body.len()
            ))
    });
    c.case("garbage range", |c| {
        let (code, body) = c.curl(&["-H", "Range: bytes=zz-qq"], &movie_url);
        (code == 200 && body.len() == size)
            .then_some(())
            .ok_or(format!("HTTP {code}, {} bytes", body.len()))
    });
    c.case("header over 64 KiB", |c| {
        let h = format!("X-Junk: {}", "j".repeat(70 * 1024));
        let (code, _) = c.curl(&["-H", &h], &movie_url);
        // hyper answers 431, or closes the connection (0 from curl).
        (code == 431 || code == 0)
            .then_some(())
            .ok_or(format!("HTTP {code}"))
    });
    c.case("deleted local file", |c| {
        let media = s.media.join("fight.mkv");
        let kept = s.media.join("kept.bin");
        std::fs::rename(&media, &kept).unwrap();
        let listed = c.curl(
            &["-X", "PROPFIND", "-H", "Depth: 1"],
            &url_path("/Movies/Fight Club (1999)/"),
        );
        let get = c.curl(&[], &movie_url);
        let direct = c.curl(&["-X", "PROPFIND", "-H", "Depth: 0"], &movie_url);
        std::fs::rename(&kept, &media).unwrap();
        let listed_text = String::from_utf8_lossy(&listed.1).into_owned();
        if listed_text.contains(".mkv") {
            return Err(format!(
                "PROPFIND still lists the deleted file: {}",
                cut(&listed_text)
            ));
        }
        status_is(get, 404)?;
        status_is(direct, 404)
    });
    c.case("truncated local file", |c| {
        let media = s.media.join("fight.mkv");
        let whole = std::fs::read(&media).unwrap();
        std::fs::write(&media, &whole[..1000]).unwrap();
        let (code, body) = c.curl(&[], &movie_url);
        std::fs::write(&media, &whole).unwrap();
        // Whatever arrived is the file's own bytes, never padding.
        if body.len() >= size || body[..] != whole[..body.len()] {
            return Err(format!(
                "HTTP {code}: {} bytes, not a prefix of the file",
                body.len()
            ));
        }
        Ok(())
    });
    c.case("FIFO swapped in", |c| {
        let media = s.media.join("fight.mkv");
        let kept = s.media.join("kept.bin");
        std::fs::rename(&media, &kept).unwrap();
        run("mkfifo", &[media.to_str().unwrap()]);
        let got = c.curl(&[], &movie_url);
        std::fs::remove_file(&media).unwrap();
        std::fs::rename(&kept, &media).unwrap();
        status_is(got, 403)
    });
    c.finish(25);
}

/// A PROPFIND body of 100 KiB.
fn big_body() -> PathBuf {
    let path = std::env::temp_dir().join(format!("momo-big-body-{}", std::process::id()));
    let mut body = String::from("<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\"><D:prop>");
    while body.len() < 100 * 1024 {
        body.push_str("<D:getetag/>");
    }
    body.push_str("</D:prop></D:propfind>");
    std::fs::write(&path, body).unwrap();
    path
}

/// Reads from `stream` until EOF or error; returns how long that took and the bytes read.
fn until_closed(stream: &mut TcpStream, limit: Duration) -> (Duration, usize) {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 65536];
    let mut total = 0;
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return (started.elapsed(), total),
            Ok(n) => total += n,
        }
    }
}

#[test]
fn silent_slow_and_stalled_connections_are_closed() {
    let s = setup(&[
        ("MOMO_WEBDAV_IDLE_TIMEOUT_S", "2"),
        ("MOMO_WEBDAV_SEND_TIMEOUT_S", "2"),
        ("MOMO_WEBDAV_MAX_CONNECTIONS", "8"),
    ]);
    write_file(&s.media.join("big.mkv"), 64 << 20);
    s.d.ctl_ok(&["movie", "add", "--title", "Big", "--year", "2000"]);
    let big = s.media.join("big.mkv");
    s.d.ctl_ok(&["assign", "movie", "1", "--local", big.to_str().unwrap()]);
    let mut c = Catalogue::new(&s.d);
    let addr = c.share.clone();

    c.case("a silent connection is closed", |_| {
        let mut conn = TcpStream::connect(&addr).unwrap();
        let (after, _) = until_closed(&mut conn, Duration::from_secs(15));
        (after < Duration::from_secs(10))
            .then_some(())
            .ok_or(format!("open for {after:?}"))
    });
    c.case("half a request head is closed", |_| {
        let mut conn = TcpStream::connect(&addr).unwrap();
        conn.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
        let (after, _) = until_closed(&mut conn, Duration::from_secs(15));
        (after < Duration::from_secs(10))
            .then_some(())
            .ok_or(format!("open for {after:?}"))
    });
    c.case("a trickling head is closed", |_| {
        let mut conn = TcpStream::connect(&addr).unwrap();
        let started = Instant::now();
        // One byte a second, forever: the head never completes.
        for b in b"GET /Movies/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa".iter()
        {
            if conn.write_all(&[*b]).is_err() || started.elapsed() > Duration::from_secs(15) {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        until_closed(&mut conn, Duration::from_secs(15));
        let open = started.elapsed();
        (open < Duration::from_secs(12))
            .then_some(())
            .ok_or(format!("open for {open:?}"))
    });
    c.case("an idle keep-alive connection is closed", |_| {
        let mut conn = TcpStream::connect(&addr).unwrap();
        let auth = "dmlld2VyOnB3"; // viewer:pw
        write!(
            conn,
            "OPTIONS / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n\r\n"
        )
        .unwrap();
        let (after, n) = until_closed(&mut conn, Duration::from_secs(15));
        (n > 0 && after < Duration::from_secs(10))
            .then_some(())
            .ok_or(format!("{n} bytes, open for {after:?}"))
    });
    c.case("a client that stops reading is cut", |_| {
        let mut conn = TcpStream::connect(&addr).unwrap();
        let auth = "dmlld2VyOnB3";
        let path = url_path("/Movies/Big (2000)/Big (2000).mkv");
        write!(
            conn,
            "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n\r\n"
        )
        .unwrap();
        // Read nothing for a while: the socket buffers fill and the server's writes stall.
        std::thread::sleep(Duration::from_secs(6));
        let (_, n) = until_closed(&mut conn, Duration::from_secs(15));
        // What was buffered arrives, then the connection ends well short of 64 MiB.
        (n < 60 << 20)
            .then_some(())
            .ok_or(format!("{n} bytes: the response was not cut"))
    });
    c.case(
        "at the connection cap new clients wait, then are served",
        |c| {
            let held: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(&addr).unwrap()).collect();
            std::thread::sleep(Duration::from_millis(300));
            // gRPC is unaffected while the share is full.
            let status = c.d.ctl(&["status"]);
            let started = Instant::now();
            let got = c.curl(&["-X", "PROPFIND", "-H", "Depth: 0"], "/");
            let waited = started.elapsed();
            drop(held);
            if !status.status.success() {
                return Err("status failed while the share was full".into());
            }
            status_is(got, 207)?;
            // Served once the silent ones were closed (idle timeout 2 s), not refused.
            (waited >= Duration::from_millis(500))
                .then_some(())
                .ok_or(format!("served after {waited:?}: the cap did not hold"))
        },
    );
    c.finish(6);
}

#[test]
fn start_up_refuses_bad_settings() {
    let tmp = TempDir::new().unwrap();
    let mut failures = Vec::new();
    // (case, environment, what the error must say)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            "open share without credentials",
            &[("MOMO_WEBDAV_LISTEN", "0.0.0.0:0")],
            "no credentials",
        ),
        (
            "user without password",
            &[("MOMO_WEBDAV_USERNAME", "u")],
            "must be set together",
        ),
        (
            "no connections",
            &[("MOMO_WEBDAV_MAX_CONNECTIONS", "0")],
            "`webdav.max_connections` = 0 is out of range",
        ),
        (
            "idle timeout of a day",
            &[("MOMO_WEBDAV_IDLE_TIMEOUT_S", "86400")],
            "`webdav.idle_timeout_s` = 86400 is out of range",
        ),
        (
            "send timeout zero",
            &[("MOMO_WEBDAV_SEND_TIMEOUT_S", "0")],
            "`webdav.send_timeout_s` = 0 is out of range",
        ),
        (
            "negative number",
            &[("MOMO_WEBDAV_MAX_CONNECTIONS", "-1")],
            "MOMO_WEBDAV_MAX_CONNECTIONS",
        ),
        (
            "not a number",
            &[("MOMO_TORRENT_READ_TIMEOUT_S", "soon")],
            "MOMO_TORRENT_READ_TIMEOUT_S",
        ),
        ("unknown key", &[("MOMO_WEBDAV_COLOUR", "red")], "colour"),
        (
            "tcp without token",
            &[("MOMO_GRPC_LISTEN", "tcp://127.0.0.1:0")],
            "grpc.token",
        ),
        (
            "relative local root",
            &[("MOMO_LIBRARY_LOCAL_ROOTS", "media")],
            "absolute",
        ),
        (
            "bad TMDB URL",
            &[("MOMO_TMDB_BASE_URL", "not a url")],
            "tmdb.base_url",
        ),
        (
            "grace of an hour",
            &[("MOMO_SHUTDOWN_GRACE_S", "3600")],
            "shutdown_grace_s",
        ),
    ];
    for (i, (name, env, needle)) in cases.iter().enumerate() {
        let mut config = DaemonConfig::new();
        for (k, v) in *env {
            config = config.env(k, *v);
        }
        let dir = tmp.path().join(format!("d{i}"));
        let (status, log) = run_momod_expect_exit(&dir, &config, Duration::from_secs(20));
        if status.success() || !log.contains(needle) || log.contains("panicked") {
            failures.push(format!("{name}: {status}: {}", cut(&log)));
        }
    }
    // A second daemon on a live data dir names the first one and leaves it running.
    let d = Daemon::start(DaemonConfig::new());
    let (status, log) =
        run_momod_expect_exit(&d.data_dir, &DaemonConfig::new(), Duration::from_secs(20));
    if status.success() || !log.contains(&format!("pid {}", d.pid())) {
        failures.push(format!("second daemon: {status}: {}", cut(&log)));
    }
    d.ctl_ok(&["status"]);
    // A config file that is not there, or not TOML.
    let mut cmd = momo_tests::clean_command(&momo_tests::momod_bin());
    let out = cmd
        .args(["--config", "/nonexistent/momod.toml", "--data-dir"])
        .arg(tmp.path().join("nc"))
        .output()
        .unwrap();
    if out.status.code() != Some(2) || !stderr(&out).contains("/nonexistent/momod.toml") {
        failures.push(format!(
            "missing config file: {:?} {}",
            out.status,
            stderr(&out)
        ));
    }
    let (status, log) = run_momod_expect_exit(
        &tmp.path().join("bad-toml"),
        &DaemonConfig::new().toml("[webdav\nlisten = 1"),
        Duration::from_secs(20),
    );
    if status.success() || !log.contains("config file") {
        failures.push(format!("broken TOML: {status}: {}", cut(&log)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Out of descriptors, momod neither spins nor floods its log, and recovers.
#[test]
fn running_out_of_descriptors_does_not_spin() {
    let tmp = TempDir::new().unwrap();
    let data_dir = tmp.path().join("data");
    let config = DaemonConfig::new().env("MOMO_WEBDAV_IDLE_TIMEOUT_S", "3");
    let (mut child, log_path) = momo_tests::spawn_momod(&data_dir, &config);
    let socket = data_dir.join("momod.sock");
    let ctl = |args: &[&str]| {
        momo_tests::clean_command(&momo_tests::momoctl_bin())
            .env("MOMOCTL_ADDR", format!("unix://{}", socket.display()))
            .args(args)
            .output()
            .unwrap()
    };
    let ready = Instant::now();
    while !ctl(&["status"]).status.success() {
        assert!(ready.elapsed() < Duration::from_secs(30), "momod not ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    let status: serde_json::Value =
        serde_json::from_slice(&ctl(&["-o", "json", "status"]).stdout).unwrap();
    let addr = status["webdav_listen"].as_str().unwrap().to_string();
    let pid = child.id();
    // 80 descriptors from now on: the connection cap (1024) was set for a larger limit,
    // so the flood below runs momod out of descriptors and `accept` fails.
    let limited = run("prlimit", &["--pid", &pid.to_string(), "--nofile=80:80"]);
    assert!(limited.status.success(), "prlimit: {}", stderr(&limited));

    // 200 connections against a limit of 80.
    let cpu_before = cpu_ticks(pid);
    let flood_started = Instant::now();
    let flood: Vec<TcpStream> = (0..200)
        .filter_map(|_| TcpStream::connect(&addr).ok())
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let cpu = cpu_ticks(pid) - cpu_before;
    drop(flood);
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let accept_errors = log.matches("accept failed").count();
    // The connects themselves can take seconds on a busy machine (the backlog is full):
    // the bound is per second of flood. Rate-limited, each of the two listeners logs about
    // once a second; one line per failed accept would be hundreds.
    let flood_secs = flood_started.elapsed().as_secs() + 1;
    // Back to normal once the flood is gone.
    let recovered = Instant::now();
    let mut ok = false;
    while recovered.elapsed() < Duration::from_secs(15) {
        if ctl(&["status"]).status.success() && curl_share(&addr, &[], "/", false).0 == 200 {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let _ = child.wait();
    // Two seconds of a spinning accept loop would be ~200 ticks (100 Hz).
    assert!(
        cpu < 60,
        "momod used {cpu} CPU ticks in 2 s of a connection flood"
    );
    assert!(
        accept_errors as u64 <= 4 + 2 * flood_secs,
        "{accept_errors} accept errors logged in {flood_secs} s:\n{log}"
    );
    assert!(ok, "momod did not recover after the flood:\n{log}");
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}
