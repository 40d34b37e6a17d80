//! `soak`: the release momod under a long, mixed load, measured from outside.
//!
//! A library of `--movies` movies and `--shows` × `--episodes-per-show` episodes, all on one
//! local file, behind Basic auth. `--clients` tasks, each with its own keep-alive
//! connection, loop for `--duration-s`: PROPFIND Depth 1 of a random folder (`/Movies/`, a
//! movie, a show or a season), HEAD of a random file, or GET of a random 64 KiB–1 MiB range
//! (every body read whole and checked: length, and the bytes, which follow a pattern).
//!
//! Meanwhile hostile connections hold descriptors: `--idle` that connect and send nothing,
//! `--slow` that send a request header one byte every 2 s and never finish it, and
//! `--slow-readers` that send a GET for the whole file and never read the answer. Each
//! reconnects when the server closes it (at most once a second); how long the server let
//! them live is the measure. A slow reader cannot see the close (the FIN waits behind the
//! unread body), so its server-side socket is looked up in /proc/net/tcp instead: closed
//! once momod no longer holds it ESTABLISHED.
//!
//! When the clients stop, the hostile connections still open stay open for `--settle-s` (no
//! reconnects) so idle timeouts can fire, then are all dropped. momod's RSS, descriptors,
//! threads and server-side connections are read from /proc at start, before the load, every
//! second (peak), at the end of the load, after the settle and after the release.
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use momo_tests::DaemonConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::{LibrarySize, ms, rss, start_filled};

const USER: &str = "soak";
const PASS: &str = "soak-pass";
/// The media file's byte at offset `i` is `i % 251`: any range can be checked without a copy.
const PATTERN: u64 = 251;
const KIB: u64 = 1024;

#[derive(clap::Args)]
pub struct SoakArgs {
    #[arg(long, default_value_t = 7_000)]
    movies: usize,
    #[arg(long, default_value_t = 50)]
    shows: usize,
    #[arg(long, default_value_t = 60)]
    episodes_per_show: usize,
    /// Concurrent client tasks, each with its own keep-alive connection.
    #[arg(long, default_value_t = 500)]
    clients: usize,
    /// How long the clients run (seconds).
    #[arg(long, default_value_t = 180)]
    duration_s: u64,
    /// Connections that connect and send nothing.
    #[arg(long, default_value_t = 200)]
    idle: usize,
    /// Connections that send a request header one byte every 2 s, never finishing it.
    #[arg(long, default_value_t = 100)]
    slow: usize,
    /// Connections that send a GET for the whole file and never read the body.
    #[arg(long, default_value_t = 20)]
    slow_readers: usize,
    /// After the clients stop: how long the hostile connections still open are kept before
    /// the last measure (seconds), so the daemon's idle timeouts can fire.
    #[arg(long, default_value_t = 70)]
    settle_s: u64,
    /// Size of the one media file behind every item (MiB).
    #[arg(long, default_value_t = 64)]
    file_mib: u64,
    /// Limit on each client request, body included (seconds).
    #[arg(long, default_value_t = 30)]
    timeout_s: u64,
    /// Seed of the clients' choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

// ------------------------------------------------------------------ what is measured

const KINDS: [&str; 6] = [
    "PROPFIND /Movies/",
    "PROPFIND a movie",
    "PROPFIND a show",
    "PROPFIND a season",
    "HEAD a file",
    "GET 64 KiB-1 MiB range",
];
const HEAD: usize = 4;
const GET: usize = 5;

#[derive(Clone, Copy)]
enum Cat {
    Connect,
    Status,
    ShortBody,
    BadBytes,
    Timeout,
    Other,
}
const CATS: [&str; 6] = [
    "connect",
    "status",
    "short body",
    "bad bytes",
    "timeout",
    "other",
];

type Fail = (Cat, String);

/// One client task's tally.
#[derive(Default)]
struct ClientStats {
    /// Latency of the successful requests, µs, by kind.
    latency: [Vec<u32>; 6],
    /// Failures by kind and category.
    errors: [[u64; 6]; 6],
    /// Body bytes read (all kinds).
    bytes: u64,
    /// The first few failure messages.
    samples: Vec<String>,
}

impl ClientStats {
    fn merge(&mut self, other: ClientStats) {
        for (mine, theirs) in self.latency.iter_mut().zip(other.latency) {
            mine.extend(theirs);
        }
        for (mine, theirs) in self.errors.iter_mut().zip(other.errors) {
            for (m, t) in mine.iter_mut().zip(theirs) {
                *m += t;
            }
        }
        self.bytes += other.bytes;
        for s in other.samples {
            if self.samples.len() < 8 && !self.samples.contains(&s) {
                self.samples.push(s);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Phase {
    /// Hostile connections reconnect when closed.
    Load,
    /// No more reconnects; the open ones stay open.
    Settle,
    /// Everything is dropped.
    Release,
}

#[derive(Clone, Copy)]
enum Hostile {
    Idle,
    SlowHeader,
    SlowReader,
}

/// One hostile task's tally.
#[derive(Default)]
struct HostileStats {
    connects: u64,
    connect_errors: u64,
    /// Seconds from connect until the server closed it.
    lifetimes: Vec<f64>,
    /// Ages (seconds) of the connections the server never closed, at the release.
    still_open: Vec<f64>,
    /// How the server ended them: "closed, no answer", "HTTP/1.1 408 …", "reset", …
    endings: BTreeMap<String, u64>,
}

impl HostileStats {
    fn merge(&mut self, other: HostileStats) {
        self.connects += other.connects;
        self.connect_errors += other.connect_errors;
        self.lifetimes.extend(other.lifetimes);
        self.still_open.extend(other.still_open);
        for (k, v) in other.endings {
            *self.endings.entry(k).or_default() += v;
        }
    }
}

/// momod seen from /proc.
#[derive(Clone, Copy, Default)]
struct Sample {
    rss: u64,
    fds: usize,
    threads: usize,
    /// Server-side connections of the share held by momod (accepted).
    accepted: usize,
    /// Established but not accepted yet (in the listen queue).
    queued: usize,
}

fn sample(pid: u32, port: u16) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    let sockets = server_sockets(port);
    let established = sockets.values().filter(|s| s.0 == ESTABLISHED);
    let accepted = established.clone().filter(|s| s.1 != 0).count();
    let queued = established.filter(|s| s.1 == 0).count();
    Sample {
        rss: rss(pid).0,
        fds,
        threads,
        accepted,
        queued,
    }
}

const ESTABLISHED: u8 = 1;
const SYN_RECV: u8 = 3;

/// The share's server-side TCP sockets by the client's port: (state, inode). Inode 0 means
/// no process holds it: not accepted yet when ESTABLISHED, orphaned after a close otherwise.
fn server_sockets(port: u16) -> HashMap<u16, (u8, u64)> {
    let text = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let mut map = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 {
            continue;
        }
        let port_of = |a: &str| {
            a.rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok())
        };
        let (Some(local), Some(remote), Ok(state), Ok(inode)) = (
            port_of(f[1]),
            port_of(f[2]),
            u8::from_str_radix(f[3], 16),
            f[9].parse::<u64>(),
        ) else {
            continue;
        };
        if local != port || remote == 0 {
            continue;
        }
        // A TIME_WAIT left by an earlier connection on the same port must not hide a live one.
        let slot = map.entry(remote).or_insert((state, inode));
        if state == ESTABLISHED {
            *slot = (state, inode);
        }
    }
    map
}

/// The latest /proc/net/tcp scan, for the slow readers.
struct NetScan {
    at: Instant,
    sockets: HashMap<u16, (u8, u64)>,
}

/// Raises this process's RLIMIT_NOFILE soft limit to the hard one: (soft before, soft now).
/// momod, started afterwards, inherits it.
fn raise_nofile() -> (libc::rlim_t, libc::rlim_t) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on our own process with a valid rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return (0, 0);
        }
        let before = lim.rlim_cur;
        lim.rlim_cur = lim.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            return (before, before);
        }
        (before, lim.rlim_cur)
    }
}

/// "Max open files" of `pid` (soft limit), as /proc shows it.
fn nofile_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/limits"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// A small deterministic PRNG (splitmix64 seeding, xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &'a [String]) -> &'a str {
        &items[self.below(items.len() as u64) as usize]
    }
}

// ------------------------------------------------------------------ the share

/// What the clients pick from: hrefs as momod lists them (already percent-encoded).
struct Share {
    base: String,
    movie_folders: Vec<String>,
    shows: Vec<String>,
    seasons: Vec<String>,
    files: Vec<String>,
    file_size: u64,
}

fn propfind_method() -> reqwest::Method {
    reqwest::Method::from_bytes(b"PROPFIND").unwrap()
}

/// PROPFIND Depth 1 of `href`: (child folders, child files).
async fn children(client: &reqwest::Client, base: &str, href: &str) -> (Vec<String>, Vec<String>) {
    let resp = client
        .request(propfind_method(), format!("{base}{href}"))
        .basic_auth(USER, Some(PASS))
        .header("Depth", "1")
        .send()
        .await
        .unwrap_or_else(|e| panic!("PROPFIND {href}: {e}"));
    assert_eq!(resp.status().as_u16(), 207, "PROPFIND {href}");
    let text = resp.text().await.expect("PROPFIND body");
    let doc = roxmltree::Document::parse(&text).expect("multistatus XML");
    let (mut dirs, mut files) = (Vec::new(), Vec::new());
    let hrefs = doc
        .descendants()
        .filter(|n| n.has_tag_name(("DAV:", "href")))
        .filter_map(|n| n.text());
    // The first response is the folder itself.
    for h in hrefs.skip(1) {
        if h.ends_with('/') {
            dirs.push(h.to_string());
        } else {
            files.push(h.to_string());
        }
    }
    (dirs, files)
}

/// Lists the whole share, 32 folders at a time.
async fn discover(base: &str, file_size: u64) -> Share {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let (movie_folders, _) = children(&client, base, "/Movies/").await;
    let (shows, _) = children(&client, base, "/TV%20Shows/").await;
    let listed = list_all(&client, base, &shows).await;
    let seasons: Vec<String> = listed.iter().flat_map(|(d, _)| d.clone()).collect();
    let mut files = Vec::new();
    for (_, f) in list_all(&client, base, &seasons).await {
        files.extend(f);
    }
    for (_, f) in list_all(&client, base, &movie_folders).await {
        files.extend(f);
    }
    Share {
        base: base.to_string(),
        movie_folders,
        shows,
        seasons,
        files,
        file_size,
    }
}

async fn list_all(
    client: &reqwest::Client,
    base: &str,
    hrefs: &[String],
) -> Vec<(Vec<String>, Vec<String>)> {
    let mut out = Vec::with_capacity(hrefs.len());
    for batch in hrefs.chunks(32) {
        let mut set = tokio::task::JoinSet::new();
        for (i, h) in batch.iter().enumerate() {
            let (client, base, h) = (client.clone(), base.to_string(), h.clone());
            set.spawn(async move { (i, children(&client, &base, &h).await) });
        }
        let mut got = set.join_all().await;
        got.sort_by_key(|(i, _)| *i);
        out.extend(got.into_iter().map(|(_, l)| l));
    }
    out
}

// ------------------------------------------------------------------ clients

fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn send_error(what: &str, e: reqwest::Error) -> Fail {
    let cat = if e.is_timeout() {
        Cat::Timeout
    } else if e.is_connect() {
        Cat::Connect
    } else {
        Cat::Other
    };
    (cat, format!("{what}: {}", chain(&e)))
}

fn body_error(what: &str, e: reqwest::Error) -> Fail {
    let cat = if e.is_timeout() {
        Cat::Timeout
    } else {
        Cat::ShortBody
    };
    (cat, format!("{what}: body: {}", chain(&e)))
}

/// Does `chunk`, found at `offset` of the media file, follow the pattern?
fn follows_pattern(chunk: &[u8], offset: u64) -> bool {
    let mut want = (offset % PATTERN) as u8;
    for &b in chunk {
        if b != want {
            return false;
        }
        want = if u64::from(want) == PATTERN - 1 {
            0
        } else {
            want + 1
        };
    }
    true
}

async fn propfind(client: &reqwest::Client, share: &Share, href: &str) -> Result<u64, Fail> {
    let what = format!("PROPFIND {href}");
    let resp = client
        .request(propfind_method(), format!("{}{href}", share.base))
        .basic_auth(USER, Some(PASS))
        .header("Depth", "1")
        .send()
        .await
        .map_err(|e| send_error(&what, e))?;
    if resp.status().as_u16() != 207 {
        return Err((Cat::Status, format!("{what}: {}", resp.status())));
    }
    let body = resp.bytes().await.map_err(|e| body_error(&what, e))?;
    if !body.ends_with(b"</D:multistatus>\n") {
        return Err((
            Cat::ShortBody,
            format!("{what}: body of {} bytes ends early", body.len()),
        ));
    }
    Ok(body.len() as u64)
}

async fn head(client: &reqwest::Client, share: &Share, href: &str) -> Result<u64, Fail> {
    let what = format!("HEAD {href}");
    let resp = client
        .head(format!("{}{href}", share.base))
        .basic_auth(USER, Some(PASS))
        .send()
        .await
        .map_err(|e| send_error(&what, e))?;
    if resp.status().as_u16() != 200 {
        return Err((Cat::Status, format!("{what}: {}", resp.status())));
    }
    let length = resp
        .headers()
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if length != Some(share.file_size) {
        return Err((Cat::Status, format!("{what}: Content-Length {length:?}")));
    }
    Ok(0)
}

async fn get_range(
    client: &reqwest::Client,
    share: &Share,
    href: &str,
    start: u64,
    len: u64,
) -> Result<u64, Fail> {
    let what = format!("GET {href} bytes={start}-{}", start + len - 1);
    let mut resp = client
        .get(format!("{}{href}", share.base))
        .basic_auth(USER, Some(PASS))
        .header(
            reqwest::header::RANGE,
            format!("bytes={start}-{}", start + len - 1),
        )
        .send()
        .await
        .map_err(|e| send_error(&what, e))?;
    if resp.status().as_u16() != 206 {
        return Err((Cat::Status, format!("{what}: {}", resp.status())));
    }
    let mut got = 0u64;
    while let Some(chunk) = resp.chunk().await.map_err(|e| body_error(&what, e))? {
        if got + chunk.len() as u64 > len || !follows_pattern(&chunk, start + got) {
            return Err((Cat::BadBytes, format!("{what}: wrong bytes at {got}")));
        }
        got += chunk.len() as u64;
    }
    if got != len {
        return Err((Cat::ShortBody, format!("{what}: {got} of {len} bytes")));
    }
    Ok(got)
}

/// One client: its own connection (kept alive), random requests until `end`.
async fn client_task(share: Arc<Share>, seed: u64, end: Instant, timeout: Duration) -> ClientStats {
    let client = reqwest::Client::builder()
        .http1_only()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .build()
        .unwrap();
    let mut rng = Rng::new(seed);
    let mut stats = ClientStats::default();
    while Instant::now() < end {
        let kind = match rng.below(3) {
            0 => rng.below(4) as usize,
            1 => HEAD,
            _ => GET,
        };
        let started = Instant::now();
        let result = match kind {
            0 => propfind(&client, &share, "/Movies/").await,
            1 => propfind(&client, &share, rng.pick(&share.movie_folders)).await,
            2 => propfind(&client, &share, rng.pick(&share.shows)).await,
            3 => propfind(&client, &share, rng.pick(&share.seasons)).await,
            HEAD => head(&client, &share, rng.pick(&share.files)).await,
            _ => {
                let len = 64 * KIB + rng.below(1024 * KIB - 64 * KIB + 1);
                let start = rng.below(share.file_size - len + 1);
                get_range(&client, &share, rng.pick(&share.files), start, len).await
            }
        };
        match result {
            Ok(bytes) => {
                let us = started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                stats.latency[kind].push(us);
                stats.bytes += bytes;
            }
            Err((cat, message)) => {
                stats.errors[kind][cat as usize] += 1;
                if stats.samples.len() < 3 {
                    stats
                        .samples
                        .push(format!("{}: {message}", CATS[cat as usize]));
                }
                // No hot loop against a server that refuses.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    stats
}

// ------------------------------------------------------------------ hostile connections

enum Ending {
    /// The server closed it; how.
    Closed(String),
    /// Still open when we let go.
    Released,
}

async fn released(phase: &mut watch::Receiver<Phase>) {
    let _ = phase.wait_for(|p| *p == Phase::Release).await;
}

/// The first line of a response, or a note on how it ended.
fn status_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().next().unwrap_or("").trim();
    format!(
        "answered `{}`, then closed",
        line.chars().take(60).collect::<String>()
    )
}

/// Waits for the server to close `stream`, sending `drip` (then `a`s) one byte every 2 s if
/// given.
async fn until_closed(
    stream: &mut TcpStream,
    phase: &mut watch::Receiver<Phase>,
    drip: Option<&[u8]>,
) -> Ending {
    let mut buf = vec![0u8; 16 * 1024];
    let mut answer: Option<String> = None;
    let mut sent = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) => {
                    return Ending::Closed(answer.unwrap_or_else(|| "closed, no answer".into()));
                }
                Ok(n) => {
                    if answer.is_none() {
                        answer = Some(status_line(&buf[..n]));
                    }
                }
                Err(e) => {
                    return Ending::Closed(answer.unwrap_or_else(|| format!("read: {}", e.kind())));
                }
            },
            _ = tick.tick(), if drip.is_some() => {
                if let Some(drip) = drip {
                    let byte = drip.get(sent).copied().unwrap_or(b'a');
                    sent += 1;
                    if let Err(e) = stream.write_all(&[byte]).await {
                        return Ending::Closed(
                            answer.unwrap_or_else(|| format!("write: {}", e.kind())),
                        );
                    }
                }
            },
            () = released(phase) => return Ending::Released,
        }
    }
}

/// Sends `request` and never reads; watches the server-side socket in the scans.
async fn slow_reader(
    stream: &mut TcpStream,
    phase: &mut watch::Receiver<Phase>,
    net: &Mutex<NetScan>,
    request: &[u8],
) -> Ending {
    let Ok(local) = stream.local_addr() else {
        return Ending::Closed("no local address".into());
    };
    if let Err(e) = stream.write_all(request).await {
        return Ending::Closed(format!("write: {}", e.kind()));
    }
    let sent = Instant::now();
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            () = released(phase) => return Ending::Released,
        }
        let server_side = {
            let scan = net.lock().unwrap();
            if scan.at < sent + Duration::from_millis(50) {
                continue;
            }
            scan.sockets.get(&local.port()).copied()
        };
        match server_side {
            Some((ESTABLISHED | SYN_RECV, _)) => {}
            Some((state, _)) => {
                return Ending::Closed(format!(
                    "closed by momod (its socket in state {state:02X})"
                ));
            }
            None => return Ending::Closed("closed by momod (its socket gone)".into()),
        }
    }
}

/// One hostile connection at a time, reconnecting (at most once a second) while in `Load`.
async fn hostile_task(
    kind: Hostile,
    addr: SocketAddr,
    mut phase: watch::Receiver<Phase>,
    net: Arc<Mutex<NetScan>>,
    header_prefix: Arc<Vec<u8>>,
    reader_request: Arc<Vec<u8>>,
) -> HostileStats {
    let mut stats = HostileStats::default();
    let mut last_connect: Option<Instant> = None;
    loop {
        if let Some(t) = last_connect {
            tokio::time::sleep_until((t + Duration::from_secs(1)).into()).await;
        }
        if *phase.borrow() != Phase::Load {
            break;
        }
        last_connect = Some(Instant::now());
        let mut stream =
            match tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr)).await {
                Ok(Ok(s)) => s,
                _ => {
                    stats.connect_errors += 1;
                    continue;
                }
            };
        stats.connects += 1;
        let opened = Instant::now();
        let ending = match kind {
            Hostile::Idle => until_closed(&mut stream, &mut phase, None).await,
            Hostile::SlowHeader => {
                until_closed(&mut stream, &mut phase, Some(&header_prefix)).await
            }
            Hostile::SlowReader => {
                slow_reader(&mut stream, &mut phase, &net, &reader_request).await
            }
        };
        match ending {
            Ending::Closed(how) => {
                stats.lifetimes.push(opened.elapsed().as_secs_f64());
                *stats.endings.entry(how).or_default() += 1;
            }
            Ending::Released => {
                stats.still_open.push(opened.elapsed().as_secs_f64());
                break;
            }
        }
    }
    stats
}

// ------------------------------------------------------------------ the run

fn write_media(path: &Path, size: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let block: Vec<u8> = (0..PATTERN * 4096).map(|i| (i % PATTERN) as u8).collect();
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len() as u64);
        f.write_all(&block[..n as usize]).unwrap();
        left -= n;
    }
    f.flush().unwrap();
}

fn basic_auth() -> String {
    // Tiny base64, for the raw requests.
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{USER}:{PASS}");
    let mut out = String::new();
    for chunk in input.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

pub fn soak(args: &SoakArgs) {
    let (nofile_before, nofile) = raise_nofile();
    let hostile_n = args.idle + args.slow + args.slow_readers;
    let needed = (args.clients + hostile_n + 64) as libc::rlim_t;
    let tmp = tempfile::tempdir().unwrap();
    let media = tmp.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    let video = media.join("video.mkv");
    let file_size = args.file_mib * 1024 * KIB;
    assert!(file_size >= 1024 * KIB, "--file-mib must be at least 1");
    write_media(&video, file_size);
    let config = DaemonConfig::new().share(&media, USER, PASS);
    let size = LibrarySize {
        movies: args.movies,
        shows: args.shows,
        episodes_per_show: args.episodes_per_show,
        subtitles_per_item: 2,
    };
    let mut d = start_filled(&tmp.path().join("data"), &video, &size, config);
    let pid = d.pid();
    let addr: SocketAddr = d.webdav_addr().parse().expect("WebDAV address");
    let base = format!("http://{addr}");
    println!(
        "RLIMIT_NOFILE: this process {nofile_before} -> {nofile}, momod {}; needed here ~{needed}{}",
        nofile_of(pid),
        if nofile < needed {
            " (too low: expect connect errors from this side)"
        } else {
            ""
        }
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let at_start = sample(pid, addr.port());

    let started = Instant::now();
    let share = Arc::new(rt.block_on(discover(&base, file_size)));
    println!(
        "listed the share: {} movie folders, {} shows, {} seasons, {} files, in {:.1} s",
        share.movie_folders.len(),
        share.shows.len(),
        share.seasons.len(),
        share.files.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        !share.files.is_empty() && !share.seasons.is_empty() && !share.movie_folders.is_empty(),
        "the soak needs movies and episodes"
    );
    // The listing client is gone; let its connections close before the baseline.
    std::thread::sleep(Duration::from_secs(1));
    let before = sample(pid, addr.port());

    let (phase_tx, phase_rx) = watch::channel(Phase::Load);
    let net = Arc::new(Mutex::new(NetScan {
        at: Instant::now(),
        sockets: server_sockets(addr.port()),
    }));
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let auth = basic_auth();
    let header_prefix = Arc::new(
        format!("GET /Movies/ HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nX-Slow: ")
            .into_bytes(),
    );
    let reader_request = Arc::new(
        format!(
            "GET {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\n\r\n",
            share.files[0]
        )
        .into_bytes(),
    );

    let (clients, hostile, end_of_load, after_settle, after_release, load_took) =
        rt.block_on(async {
            // Every second: momod from /proc, and the socket scan the slow readers use.
            let sampler = {
                let (net, samples, mut phase) = (net.clone(), samples.clone(), phase_rx.clone());
                tokio::spawn(async move {
                    loop {
                        let s = sample(pid, addr.port());
                        samples.lock().unwrap().push(s);
                        let sockets = server_sockets(addr.port());
                        *net.lock().unwrap() = NetScan {
                            at: Instant::now(),
                            sockets,
                        };
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                            () = released(&mut phase) => break,
                        }
                    }
                })
            };
            let mut hostile = tokio::task::JoinSet::new();
            let kinds = std::iter::repeat_n(Hostile::Idle, args.idle)
                .chain(std::iter::repeat_n(Hostile::SlowHeader, args.slow))
                .chain(std::iter::repeat_n(Hostile::SlowReader, args.slow_readers));
            for kind in kinds {
                let task = hostile_task(
                    kind,
                    addr,
                    phase_rx.clone(),
                    net.clone(),
                    header_prefix.clone(),
                    reader_request.clone(),
                );
                hostile.spawn(async move { (kind as usize, task.await) });
            }
            // Let them settle in before the clients come.
            tokio::time::sleep(Duration::from_secs(2)).await;

            println!(
                "running {} clients for {} s with {} idle, {} slow-header and {} slow-reader connections",
                args.clients, args.duration_s, args.idle, args.slow, args.slow_readers
            );
            let load_started = Instant::now();
            let end = load_started + Duration::from_secs(args.duration_s);
            let mut clients = tokio::task::JoinSet::new();
            for i in 0..args.clients {
                clients.spawn(client_task(
                    share.clone(),
                    args.seed.wrapping_mul(1_000_003).wrapping_add(i as u64),
                    end,
                    Duration::from_secs(args.timeout_s),
                ));
            }
            let mut merged = ClientStats::default();
            while let Some(stats) = clients.join_next().await {
                merged.merge(stats.expect("client task"));
            }
            let load_took = load_started.elapsed();
            let end_of_load = sample(pid, addr.port());

            println!(
                "clients done; keeping the hostile connections still open for {} s",
                args.settle_s
            );
            phase_tx.send_replace(Phase::Settle);
            tokio::time::sleep(Duration::from_secs(args.settle_s)).await;
            let after_settle = sample(pid, addr.port());
            phase_tx.send_replace(Phase::Release);
            let mut by_kind: [HostileStats; 3] = Default::default();
            while let Some(done) = hostile.join_next().await {
                let (kind, stats) = done.expect("hostile task");
                by_kind[kind].merge(stats);
            }
            let _ = sampler.await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let after_release = sample(pid, addr.port());
            (
                merged,
                by_kind,
                end_of_load,
                after_settle,
                after_release,
                load_took,
            )
        });
    let peak = samples
        .lock()
        .unwrap()
        .iter()
        .fold(Sample::default(), |p, s| Sample {
            rss: p.rss.max(s.rss),
            fds: p.fds.max(s.fds),
            threads: p.threads.max(s.threads),
            accepted: p.accepted.max(s.accepted),
            queued: p.queued.max(s.queued),
        });
    let hwm = rss(pid).1;

    let stop_started = Instant::now();
    let stopped = d.signal_and_wait(libc::SIGTERM, Duration::from_secs(30));
    let stop_took = stop_started.elapsed();
    let log = d.log();

    report_requests(&clients, load_took);
    report_hostile(&hostile);
    println!(
        "\n{:<34} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "momod", "start", "pre-load", "peak", "load end", "settled", "released"
    );
    let columns = [
        at_start,
        before,
        peak,
        end_of_load,
        after_settle,
        after_release,
    ];
    let row = |name: &str, f: &dyn Fn(&Sample) -> String| {
        let cells: Vec<String> = columns.iter().map(|s| format!("{:>10}", f(s))).collect();
        println!("{name:<34} {}", cells.join(" "));
    };
    row("RSS (MB)", &|s| format!("{:.1}", s.rss as f64 / 1e6));
    row("open descriptors", &|s| s.fds.to_string());
    row("threads", &|s| s.threads.to_string());
    row("share connections accepted", &|s| s.accepted.to_string());
    row("share connections not accepted", &|s| s.queued.to_string());
    println!(
        "(peak: the largest of 1 s samples from the hostile start to the release; kernel peak RSS {:.1} MB)",
        hwm as f64 / 1e6
    );
    report_log(&log);
    match stopped {
        Some(status) => println!(
            "momod stopped on SIGTERM in {:.2} s: {status}",
            stop_took.as_secs_f64()
        ),
        None => println!("momod did NOT stop within 30 s of SIGTERM (killed)"),
    }
}

fn pct(sorted: &[u32], q: f64) -> String {
    if sorted.is_empty() {
        return "-".into();
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    ms(Duration::from_micros(u64::from(sorted[i])))
}

fn report_requests(stats: &ClientStats, took: Duration) {
    println!("\nrequests (one keep-alive connection per client; latency of the successful ones)");
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "kind", "ok", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    let mut all: Vec<u32> = Vec::new();
    let mut total_errors = 0;
    for (k, name) in KINDS.iter().enumerate() {
        let mut lat = stats.latency[k].clone();
        lat.sort_unstable();
        let errors: u64 = stats.errors[k].iter().sum();
        total_errors += errors;
        println!(
            "{:<34} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            name,
            lat.len(),
            errors,
            pct(&lat, 0.50),
            pct(&lat, 0.95),
            pct(&lat, 0.99),
            pct(&lat, 1.0)
        );
        all.extend(lat);
    }
    all.sort_unstable();
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "all",
        all.len(),
        total_errors,
        pct(&all, 0.50),
        pct(&all, 0.95),
        pct(&all, 0.99),
        pct(&all, 1.0)
    );
    println!(
        "{} requests in {:.1} s: {:.0} requests/s, {:.1} MiB/s of bodies",
        all.len() as u64 + total_errors,
        took.as_secs_f64(),
        (all.len() as u64 + total_errors) as f64 / took.as_secs_f64(),
        stats.bytes as f64 / (1024.0 * 1024.0) / took.as_secs_f64()
    );
    println!("\nerrors by category (goal: 0)");
    let header: Vec<String> = CATS.iter().map(|c| format!("{c:>10}")).collect();
    println!("{:<34} {}", "kind", header.join(" "));
    for (k, name) in KINDS.iter().enumerate() {
        let cells: Vec<String> = stats.errors[k].iter().map(|n| format!("{n:>10}")).collect();
        println!("{name:<34} {}", cells.join(" "));
    }
    for s in &stats.samples {
        println!("  e.g. {}", s.chars().take(240).collect::<String>());
    }
}

fn report_hostile(by_kind: &[HostileStats; 3]) {
    println!("\nhostile connections (lifetime: from connect until the server closed it)");
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "kind", "connects", "closed", "median s", "max s", "still open", "oldest s"
    );
    let names = [
        "idle (sends nothing)",
        "slow header (1 byte / 2 s)",
        "slow reader (never reads)",
    ];
    for (name, s) in names.iter().zip(by_kind) {
        let mut life = s.lifetimes.clone();
        life.sort_by(f64::total_cmp);
        let median = life
            .get(life.len().saturating_sub(1) / 2)
            .map(|v| format!("{v:.1}"))
            .unwrap_or_else(|| "-".into());
        let max = life
            .last()
            .map(|v| format!("{v:.1}"))
            .unwrap_or_else(|| "-".into());
        let oldest = s
            .still_open
            .iter()
            .copied()
            .reduce(f64::max)
            .map(|v| format!("{v:.1}"))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<34} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            name,
            s.connects,
            life.len(),
            median,
            max,
            s.still_open.len(),
            oldest
        );
        if s.connect_errors > 0 {
            println!("  connect failures: {}", s.connect_errors);
        }
        for (how, n) in &s.endings {
            println!("  {n} × {how}");
        }
    }
    println!(
        "(still open: never closed by the server until released after the settle; oldest: the age of the oldest)"
    );
}

/// WARN and ERROR lines of momod's log, grouped with digits blanked.
fn report_log(log: &str) {
    let mut groups: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let (mut warn, mut error) = (0, 0);
    for line in log.lines() {
        let mut words = line.split_whitespace();
        let _time = words.next();
        let level = words.next().unwrap_or("");
        match level {
            "WARN" => warn += 1,
            "ERROR" => error += 1,
            _ => continue,
        }
        let text: String = words.collect::<Vec<_>>().join(" ");
        let key: String = text
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect();
        let entry = groups.entry(key).or_insert((0, text));
        entry.0 += 1;
    }
    println!("\nmomod log: {warn} WARN, {error} ERROR lines");
    let mut groups: Vec<_> = groups.into_values().collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.0));
    for (n, example) in groups.iter().take(6) {
        println!("  {n} × {}", example.chars().take(200).collect::<String>());
    }
}
