//! The library as a WebDAV share, with local files as sources, checked with real clients:
//! rclone, curl, ffprobe/ffmpeg, and PROPFIND XML parsed as a client would.
use std::path::{Path, PathBuf};
use std::time::Duration;

use momo_tests::tmdb::FakeTmdb;
use momo_tests::{Daemon, DaemonConfig, rclone, run, run_momod_expect_exit, stderr, url_path};
use tempfile::TempDir;

const USER: &str = "viewer";
const PASS: &str = "s3cret pass";

struct Setup {
    d: Daemon,
    media: PathBuf,
    addr: String,
    _tmp: TempDir,
    _tmdb: Option<FakeTmdb>,
}

impl Setup {
    fn new() -> Setup {
        Setup::with(None)
    }

    fn with(tmdb: Option<FakeTmdb>) -> Setup {
        let tmp = TempDir::new().unwrap();
        let media = tmp.path().join("media");
        std::fs::create_dir_all(&media).unwrap();
        let mut config = DaemonConfig::new().share(&media, USER, PASS);
        if let Some(fake) = &tmdb {
            config = config.tmdb(fake);
        }
        let d = Daemon::start(config);
        let addr = d.webdav_addr();
        Setup {
            d,
            media,
            addr,
            _tmp: tmp,
            _tmdb: tmdb,
        }
    }

    /// Writes `len` bytes of a repeatable pattern to media/`name`.
    fn media_file(&self, name: &str, len: usize) -> PathBuf {
        let path = self.media.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let data: Vec<u8> = (0..len)
            .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
            .collect();
        std::fs::write(&path, data).unwrap();
        path
    }

    fn add_movie(&self, title: &str, year: i32) -> String {
        let m = self.d.ctl_json(&[
            "movie",
            "add",
            "--title",
            title,
            "--year",
            &year.to_string(),
        ]);
        m["id"].as_i64().unwrap().to_string()
    }

    fn assign(&self, kind: &str, id: &str, file: &Path) -> serde_json::Value {
        self.d
            .ctl_json(&["assign", kind, id, "--local", file.to_str().unwrap()])
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, url_path(path))
    }

    /// curl with the share's credentials; returns (status line code, headers, body).
    fn curl(&self, args: &[&str], path: &str) -> (u16, String, Vec<u8>) {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let headers = tmp.path().to_str().unwrap().to_string();
        let url = self.url(path);
        let mut all = vec!["-s", "-u", "viewer:s3cret pass", "-D", &headers];
        all.extend_from_slice(args);
        all.push(&url);
        let out = run("curl", &all);
        let head = std::fs::read_to_string(tmp.path()).unwrap();
        let code = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (code, head, out.stdout)
    }

    fn rclone(&self, args: &[&str]) -> std::process::Output {
        rclone(&self.addr, USER, PASS, args)
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn rclone_lists_exactly_the_expected_tree() {
    let s = Setup::with(Some(FakeTmdb::start()));
    let mkv = s.media_file("a.mkv", 1000);
    let mp4 = s.media_file("deep/dir/b.mp4", 2000);
    for (title, year) in [
        ("Mission: Impossible", 1996),
        ("AC/DC: Live at Donington?", 1992),
        ("...And Justice for All", 1979),
        (".hack Sign", 2002),
        ("Amélie", 2001),
        ("Solaris", 1972),
        ("Solaris", 1972),
    ] {
        let id = s.add_movie(title, year);
        s.assign("movie", &id, &mkv);
    }
    s.add_movie("Never Assigned", 2000);
    // A show from TMDB with tricky episode names; only some episodes get sources.
    let show = s.d.ctl_json(&["show", "add", "1396", "--specials"]);
    let episode = |season: usize, ep: usize| {
        show["seasons"][season]["episodes"][ep]["id"]
            .as_i64()
            .unwrap()
            .to_string()
    };
    s.assign("episode", &episode(0, 0), &mp4); // S00E01 Good Cop / Bad Cop
    s.assign("episode", &episode(1, 1), &mkv); // S01E02 Cat's in the Bag...
    s.assign("episode", &episode(2, 1), &mp4); // S02E02 Grilled: A Story
    s.assign("episode", &episode(3, 2), &mp4); // S03E03 I.F.T. / Who?
    // A show with no sources at all is hidden.
    s.d.ctl_ok(&["show", "add", "70523"]);

    let out = s.rclone(&["lsf", "-R", ":webdav:"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut listed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    listed.sort();
    let solaris: Vec<String> =
        s.d.ctl_json(&["movie", "ls"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["title"] == "Solaris")
            .map(|m| format!("Solaris (1972) {{id-{}}}", m["id"]))
            .collect();
    let bb = "TV Shows/Breaking Bad (2008)";
    let mut expected: Vec<String> = vec![
        "Movies/".into(),
        "TV Shows/".into(),
        "Movies/AC-DC - Live at Donington (1992)/".into(),
        "Movies/AC-DC - Live at Donington (1992)/AC-DC - Live at Donington (1992).mkv".into(),
        "Movies/And Justice for All (1979)/".into(),
        "Movies/And Justice for All (1979)/And Justice for All (1979).mkv".into(),
        "Movies/hack Sign (2002)/".into(),
        "Movies/hack Sign (2002)/hack Sign (2002).mkv".into(),
        "Movies/Amélie (2001)/".into(),
        "Movies/Amélie (2001)/Amélie (2001).mkv".into(),
        "Movies/Mission - Impossible (1996)/".into(),
        "Movies/Mission - Impossible (1996)/Mission - Impossible (1996).mkv".into(),
        format!("{bb}/"),
        format!("{bb}/Season 00/"),
        format!("{bb}/Season 00/Breaking Bad (2008) - S00E01 - Good Cop - Bad Cop.mp4"),
        format!("{bb}/Season 01/"),
        format!("{bb}/Season 01/Breaking Bad (2008) - S01E02 - Cat's in the Bag.mkv"),
        format!("{bb}/Season 02/"),
        format!("{bb}/Season 02/Breaking Bad (2008) - S02E02 - Grilled - A Story.mp4"),
        format!("{bb}/Season 03/"),
        format!("{bb}/Season 03/Breaking Bad (2008) - S03E03 - I.F.T. - Who.mp4"),
    ];
    assert_eq!(solaris.len(), 2);
    for folder in &solaris {
        expected.push(format!("Movies/{folder}/"));
        expected.push(format!("Movies/{folder}/{folder}.mkv"));
    }
    expected.sort();
    assert_eq!(listed, expected);
}

#[test]
fn ranges_are_byte_identical_to_the_file() {
    let s = Setup::new();
    let len = 3 * 1024 * 1024 + 12345;
    let file = s.media_file("film.mkv", len);
    let original = std::fs::read(&file).unwrap();
    let id = s.add_movie("Range Test", 2020);
    let share_path = s.assign("movie", &id, &file)["share_path"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        share_path,
        "/Movies/Range Test (2020)/Range Test (2020).mkv"
    );
    let remote = format!(":webdav:{}", share_path.trim_start_matches('/'));

    // rclone cat at the start, the middle and the end.
    momo_tests::assert_rclone_ranges(
        &s.addr,
        USER,
        PASS,
        &remote,
        &original,
        &[(0, 4096), (len / 2 - 777, 300_000), (len - 1000, 1000)],
    );
    // The whole file through rclone.
    let out = s.rclone(&["cat", &remote]);
    assert!(out.stdout == original, "full read differs");

    // curl: a-b, a-, -n (suffix).
    let (code, head, body) = s.curl(&["-r", "100-199"], &share_path);
    assert_eq!(code, 206);
    assert_eq!(
        header(&head, "content-range"),
        Some(format!("bytes 100-199/{len}").as_str())
    );
    assert!(body == original[100..200]);
    let (code, _, body) = s.curl(&["-r", &format!("{}-", len - 5000)], &share_path);
    assert_eq!(code, 206);
    assert!(body == original[len - 5000..]);
    let (code, head, body) = s.curl(&["-r", "-500"], &share_path);
    assert_eq!(code, 206);
    assert_eq!(
        header(&head, "content-range"),
        Some(format!("bytes {}-{}/{len}", len - 500, len - 1).as_str())
    );
    assert!(body == original[len - 500..]);
    // Ranges that would repeat bytes (`0-,0-,…`, 200 times in a 1 KB header) get the file
    // once, not 200 times; disjoint ranges are still served as parts.
    let flood = format!("Range: bytes={}", vec!["0-"; 200].join(","));
    let (code, _, body) = s.curl(&["-H", &flood], &share_path);
    assert_eq!(code, 200);
    assert!(
        body == original,
        "the whole file, once ({} bytes)",
        body.len()
    );
    let (code, head, body) = s.curl(&["-r", "0-9,100-109"], &share_path);
    assert_eq!(code, 206);
    assert!(
        header(&head, "content-type").is_some_and(|t| t.starts_with("multipart/byteranges")),
        "{head}"
    );
    assert!(body.len() < 1000);
    // Past the end.
    let (code, head, _) = s.curl(&["-r", &format!("{}-", len + 10)], &share_path);
    assert_eq!(code, 416);
    assert_eq!(
        header(&head, "content-range"),
        Some(format!("bytes */{len}").as_str())
    );
    // If-Range: the current ETag keeps the range, another one gets the whole file.
    let (_, head, _) = s.curl(&["-I"], &share_path);
    let etag = header(&head, "etag").expect("etag").to_string();
    let (code, _, body) = s.curl(
        &["-r", "0-9", "-H", &format!("If-Range: {etag}")],
        &share_path,
    );
    assert_eq!((code, body.len()), (206, 10));
    let (code, _, body) = s.curl(&["-r", "0-9", "-H", "If-Range: \"stale\""], &share_path);
    assert_eq!((code, body.len()), (200, len));
    // HEAD: length and type.
    let (code, head, _) = s.curl(&["-I"], &share_path);
    assert_eq!(code, 200);
    assert_eq!(
        header(&head, "content-length"),
        Some(len.to_string().as_str())
    );
    assert_eq!(header(&head, "accept-ranges"), Some("bytes"));
    assert_eq!(header(&head, "content-type"), Some("video/x-matroska"));
}

#[test]
fn ffprobe_reads_the_duration_and_ffmpeg_seeks() {
    let s = Setup::new();
    let video = s.media.join("clip.mkv");
    momo_tests::make_test_video(&video, 20);
    let id = s.add_movie("Test Pattern: The Movie", 2024);
    let share_path = s.assign("movie", &id, &video)["share_path"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!(
        "http://viewer:s3cret%20pass@{}{}",
        s.addr,
        url_path(&share_path)
    );

    momo_tests::assert_plays(&url, 20.0, 12, &s.media.join("frame.png"));
}

/// One `<response>` of a multistatus, as a client reads it.
#[derive(Debug, PartialEq)]
struct Entry {
    href: String,
    name: String,
    collection: bool,
    length: Option<u64>,
    etag: String,
}

/// The status and the parsed responses of a PROPFIND.
fn propfind(s: &Setup, path: &str, depth: &str) -> (u16, Vec<Entry>) {
    let (code, _, body) = s.curl(&["-X", "PROPFIND", "-H", &format!("Depth: {depth}")], path);
    if code != 207 {
        return (code, vec![]);
    }
    let text = String::from_utf8(body).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("bad XML {e}: {text}"));
    let dav = "DAV:";
    let rows = doc
        .descendants()
        .filter(|n| n.has_tag_name((dav, "response")))
        .map(|r| {
            let text_of = |name: &str| {
                r.descendants()
                    .find(|n| n.has_tag_name((dav, name)))
                    .and_then(|n| n.text())
                    .unwrap_or("")
                    .to_string()
            };
            let collection = r.descendants().any(|n| n.has_tag_name((dav, "collection")));
            Entry {
                href: text_of("href"),
                name: text_of("displayname"),
                collection,
                length: text_of("getcontentlength").parse().ok(),
                etag: text_of("getetag"),
            }
        })
        .collect();
    (code, rows)
}

#[test]
fn propfind_gives_names_sizes_collections_and_stable_etags() {
    let s = Setup::new();
    let file = s.media_file("x.mkv", 123_456);
    let id = s.add_movie("Söme: Fïlm & Co", 2019);
    s.assign("movie", &id, &file);
    let folder = "/Movies/Söme - Fïlm & Co (2019)";

    let (code, rows) = propfind(&s, "/Movies/", "1");
    assert_eq!(code, 207);
    assert_eq!(
        rows.len(),
        2,
        "the folder itself and its one child: {rows:?}"
    );
    assert_eq!(rows[0].href, "/Movies/");
    assert!(rows[0].collection);
    assert_eq!(rows[1].href, format!("{}/", url_path(folder)));
    assert_eq!(rows[1].name, "Söme - Fïlm & Co (2019)");
    assert!(rows[1].collection, "a collection");

    let (_, rows) = propfind(&s, folder, "1");
    let file_row = &rows[1];
    assert_eq!(file_row.name, "Söme - Fïlm & Co (2019).mkv");
    assert!(!file_row.collection);
    assert_eq!(file_row.length, Some(123_456));
    assert!(!file_row.etag.is_empty());
    let (_, again) = propfind(&s, folder, "1");
    assert_eq!(
        again[1].etag, file_row.etag,
        "ETag is stable across requests"
    );

    let (_, rows) = propfind(&s, "/", "0");
    assert_eq!(rows.len(), 1);
    // A <prop> request gets the properties it names that exist, and only those.
    let body = r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:z"><D:prop><D:getcontentlength/><Z:unknown/></D:prop></D:propfind>"#;
    let (code, _, xml) = s.curl(
        &["-X", "PROPFIND", "-H", "Depth: 1", "--data-binary", body],
        folder,
    );
    let xml = String::from_utf8(xml).unwrap();
    assert_eq!(code, 207);
    assert!(
        xml.contains("<D:getcontentlength>123456</D:getcontentlength>"),
        "{xml}"
    );
    assert!(
        !xml.contains("displayname") && !xml.contains("unknown"),
        "{xml}"
    );
    let (code, _) = propfind(&s, "/", "infinity");
    assert_eq!(code, 403);
    let (code, _) = propfind(&s, "/Movies/Nope (1999)/", "1");
    assert_eq!(code, 404);

    // A local file that goes missing leaves the listing at once (the folder stays: it comes
    // from the database), and a GET is a 404.
    std::fs::remove_file(&file).unwrap();
    let (_, rows) = propfind(&s, folder, "1");
    assert_eq!(rows.len(), 1, "only the folder itself is listed");
    let (code, _, _) = s.curl(
        &["-r", "0-9"],
        &format!("{folder}/Söme - Fïlm & Co (2019).mkv"),
    );
    assert_eq!(code, 404, "a missing local file is a 404, not zeros");

    // Swapped for a FIFO, it is refused at once rather than waiting for a writer forever.
    let made = run("mkfifo", &[file.to_str().unwrap()]);
    assert!(made.status.success());
    let (code, _, body) = s.curl(
        &["--max-time", "20", "-r", "0-9"],
        &format!("{folder}/Söme - Fïlm & Co (2019).mkv"),
    );
    assert_eq!(code, 403, "a FIFO in place of the file is refused");
    assert!(body.len() < 100, "no file body: {} bytes", body.len());
}

#[test]
fn the_share_is_read_only_and_needs_credentials() {
    let s = Setup::new();
    for method in [
        "PUT",
        "DELETE",
        "MKCOL",
        "MOVE",
        "COPY",
        "PROPPATCH",
        "LOCK",
        "POST",
    ] {
        let (code, head, _) = s.curl(&["-X", method], "/Movies/x");
        assert_eq!(code, 405, "{method}");
        assert_eq!(
            header(&head, "allow"),
            Some("OPTIONS, GET, HEAD, PROPFIND"),
            "{method}"
        );
    }
    let (code, head, _) = s.curl(&["-X", "OPTIONS"], "/");
    assert_eq!(code, 200);
    assert_eq!(header(&head, "dav"), Some("1"));

    let url = s.url("/Movies/");
    for auth in [
        vec![],
        vec!["-u", "viewer:wrong"],
        vec!["-u", "someone:s3cret pass"],
    ] {
        let mut args = vec![
            "-s",
            "-o",
            "/dev/null",
            "-D",
            "-",
            "-X",
            "PROPFIND",
            "-H",
            "Depth: 1",
        ];
        args.extend(auth.iter());
        args.push(&url);
        let head = String::from_utf8(run("curl", &args).stdout).unwrap();
        assert!(head.starts_with("HTTP/1.1 401"), "{auth:?}: {head}");
        assert!(
            header(&head, "www-authenticate")
                .unwrap_or("")
                .starts_with("Basic"),
            "{head}"
        );
    }
}

#[test]
fn bad_local_paths_are_refused_and_store_nothing() {
    let s = Setup::new();
    let id = s.add_movie("Target", 2000);
    let outside = s._tmp.path().join("outside.mkv");
    std::fs::write(&outside, b"secret").unwrap();
    std::os::unix::fs::symlink(&outside, s.media.join("escape.mkv")).unwrap();
    std::fs::create_dir_all(s.media.join("folder")).unwrap();
    let cases: [(PathBuf, &str, &str); 4] = [
        (
            outside.clone(),
            "InvalidArgument",
            "outside library.local_roots",
        ),
        (
            s.media.join("escape.mkv"),
            "InvalidArgument",
            "leads outside",
        ),
        (s.media.join("missing.mkv"), "NotFound", "no such file"),
        (s.media.join("folder"), "InvalidArgument", "directory"),
    ];
    for (path, code, words) in cases {
        let out =
            s.d.ctl(&["assign", "movie", &id, "--local", path.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{path:?}: {err}");
        assert!(err.contains(code) && err.contains(words), "{path:?}: {err}");
    }
    let good = s.media_file("ok.mkv", 10);
    let out =
        s.d.ctl(&["assign", "movie", "999", "--local", good.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("NotFound") && stderr(&out).contains("999"),
        "{}",
        stderr(&out)
    );
    assert_eq!(s.d.ctl_json(&["status"])["assigned"], 0);
    assert_eq!(s.d.ctl_json(&["movie", "get", &id])["assigned"], false);
    let (_, rows) = propfind(&s, "/Movies/", "1");
    assert_eq!(rows.len(), 1, "nothing in the share: {rows:?}");
}

#[test]
fn local_sources_are_refused_without_roots() {
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("f.mkv");
    std::fs::write(&file, b"x").unwrap();
    let d = Daemon::start(DaemonConfig::new());
    let m = d.ctl_json(&["movie", "add", "--title", "T"]);
    let out = d.ctl(&[
        "assign",
        "movie",
        &m["id"].to_string(),
        "--local",
        file.to_str().unwrap(),
    ]);
    assert!(
        stderr(&out).contains("FailedPrecondition") && stderr(&out).contains("library.local_roots"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unassign_hides_and_reassign_brings_back_with_the_new_size() {
    let s = Setup::new();
    let first = s.media_file("v1.mkv", 5000);
    let second = s.media_file("v2.mp4", 7777);
    let id = s.add_movie("Versions", 2010);
    let a1 = s.assign("movie", &id, &first);
    assert_eq!(a1["replaced_id"], serde_json::Value::Null);
    let folder = "/Movies/Versions (2010)";
    assert_eq!(propfind(&s, folder, "1").1[1].length, Some(5000));

    let removed = s.d.ctl_json(&["unassign", "movie", &id]);
    assert_eq!(removed["removed"]["file_size"], 5000);
    assert_eq!(propfind(&s, folder, "1").0, 404);
    assert_eq!(propfind(&s, "/Movies/", "1").1.len(), 1);
    assert_eq!(s.d.ctl_json(&["movie", "get", &id])["assigned"], false);
    assert!(
        s.d.ctl_ok(&["unassign", "movie", &id])
            .contains("had no source")
    );

    let a2 = s.assign("movie", &id, &second);
    assert_eq!(a2["share_path"], format!("{folder}/Versions (2010).mp4"));
    let rows = propfind(&s, folder, "1").1;
    assert_eq!(
        (rows[1].name.as_str(), rows[1].length),
        ("Versions (2010).mp4", Some(7777))
    );
    // A new assignment replaces the active one.
    let a3 = s.assign("movie", &id, &first);
    assert_eq!(a3["replaced_id"], a2["id"]);
    assert_eq!(propfind(&s, folder, "1").1[1].length, Some(5000));
    assert_eq!(s.d.ctl_json(&["status"])["assigned"], 1);
}

#[test]
fn the_share_survives_a_restart_with_the_same_etags() {
    let mut s = Setup::new();
    let file = s.media_file("r.mkv", 4242);
    let id = s.add_movie("Restart", 2001);
    s.assign("movie", &id, &file);
    let before = propfind(&s, "/Movies/Restart (2001)", "1").1;
    s.d.restart();
    s.addr = s.d.webdav_addr();
    let after = propfind(&s, "/Movies/Restart (2001)", "1").1;
    assert_eq!(before, after);
}

#[test]
fn listening_beyond_loopback_needs_credentials() {
    let tmp = TempDir::new().unwrap();
    let config = DaemonConfig::new().env("MOMO_WEBDAV_LISTEN", "0.0.0.0:0");
    let (status, log) =
        run_momod_expect_exit(&tmp.path().join("data"), &config, Duration::from_secs(20));
    assert!(!status.success());
    assert!(
        log.contains("webdav.listen") && log.contains("webdav.username"),
        "{log}"
    );
}
