//! HTTP(S) sources: a file on a web server that answers range requests (a VOD provider,
//! another media server).
//!
//! - **At assignment** `probe` asks for the first byte: a `206` with `Content-Range` gives
//!   the size and shows ranges work; a server that sends the whole file instead is refused
//!   (a player could not seek), and so is a page or an error document.
//! - **Reads** go through an `HttpStream`: one ranged GET from its position, read chunk by
//!   chunk. A connection that breaks off mid-file is opened again where it stopped (a few
//!   times, then the read fails). No bytes for `timeout` fails the read: the share then
//!   ends the response, it never pads it or hangs.
//! - **Reuse**, as with torrents: a stream a response has finished with is parked with its
//!   connection, and the next range that starts at its position takes it over. Parked
//!   streams close after `reuse_idle`.
//! - The URL can hold credentials (in its user part, its query or, for IPTV servers, its
//!   path): errors and logs name the file only by `shown`.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header;
use tracing::debug;

use crate::error::{Error, Result};

/// Parked streams kept per URL.
const PARKED_PER_URL: usize = 4;
/// A read survives this many broken connections in a row.
const REOPENS: u32 = 3;
/// How often a pin download reports its progress, in bytes.
const PROGRESS_EVERY: u64 = 1024 * 1024;
/// A pin download gives up after this many failed tries in a row.
const PIN_TRIES: u32 = 8;
/// Larger sizes than this are not believed (and could fill the disk of a pin).
const MAX_SOURCE_BYTES: u64 = 1 << 44;
/// A connection that gives fewer bytes than this before it breaks off or goes silent
/// counts as a failure: a server trickling a byte per timeout does not keep a read alive.
const MIN_GAIN: u64 = 64 * 1024;
/// Longest URL accepted, with its credentials.
pub const MAX_URL_BYTES: usize = 8 * 1024;

/// What a URL answered to a one-byte range.
#[derive(Debug, Clone)]
pub struct Probe {
    pub size: u64,
    pub content_type: Option<String>,
}

pub struct Http {
    client: reqwest::Client,
    timeout: Duration,
    reuse_idle: Duration,
    /// Where pinned sources are downloaded, named by a hash of their URL.
    pin_dir: PathBuf,
    /// One download per URL at a time (two items may play the same URL): they would
    /// append to the same part file.
    downloading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    parked: Mutex<HashMap<String, Vec<(Open, Instant)>>>,
}

/// An open ranged GET to the end of the file: the response (read as the player reads:
/// hyper takes no more from the socket than is asked for), and the bytes of its last
/// chunk not read yet.
struct Open {
    resp: reqwest::Response,
    /// Where the next byte of `left` (then of `resp`) is in the file.
    pos: u64,
    /// Where it started.
    from: u64,
    left: Bytes,
}

impl Http {
    /// `timeout`: to connect, and between two chunks of a body.
    pub fn new(timeout: Duration, reuse_idle: Duration, pin_dir: PathBuf) -> Result<Arc<Http>> {
        std::fs::create_dir_all(&pin_dir)
            .map_err(|e| Error::Internal(format!("cannot create {}: {e}", pin_dir.display())))?;
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("momoshtrem/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("HTTP client: {e}")))?;
        Ok(Arc::new(Http {
            client,
            timeout,
            reuse_idle,
            pin_dir,
            downloading: Mutex::new(HashMap::new()),
            parked: Mutex::new(HashMap::new()),
        }))
    }

    /// Checks that `url` serves a file by ranges: its size and content type. `shown` names
    /// it in errors.
    pub async fn probe(&self, url: &reqwest::Url, shown: &str) -> Result<Probe> {
        let what = format!("the file {shown}");
        let host = url.host_str().unwrap_or("the server");
        let resp = self
            .client
            .get(url.clone())
            .header(header::RANGE, "bytes=0-0")
            .header(header::ACCEPT_ENCODING, "identity")
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| crate::web::unreachable(host, &what, e))?;
        let status = resp.status();
        let refuse = |why: String| {
            Err(Error::FailedPrecondition(format!(
                "{shown} cannot be a source: {why}"
            )))
        };
        if status == reqwest::StatusCode::OK {
            return refuse(
                "the server does not answer range requests (it sent the whole file for \
                 `Range: bytes=0-0`), so players could not seek in it"
                    .into(),
            );
        }
        if status == reqwest::StatusCode::RANGE_NOT_SATISFIABLE {
            return refuse("the server says the file is empty".into());
        }
        if status != reqwest::StatusCode::PARTIAL_CONTENT {
            return refuse(format!("the server answered HTTP {status}"));
        }
        if let Err(why) = not_the_bytes(resp.headers()) {
            return refuse(why);
        }
        let content_type = content_type(resp.headers());
        let Some((0, _, total)) = content_range(resp.headers()) else {
            return refuse(
                "the server's answer to a range request has no usable Content-Range".into(),
            );
        };
        let Some(size) = total.filter(|n| *n > 0) else {
            return refuse("the server does not say how large the file is".into());
        };
        if size > MAX_SOURCE_BYTES {
            return refuse(format!(
                "the server says it is {size} bytes; at most {MAX_SOURCE_BYTES} (16 TiB) are believed"
            ));
        }
        Ok(Probe { size, content_type })
    }

    /// A stream on `url` (a file of `size` bytes) from `pos`. Nothing is asked of the
    /// server before the first read.
    pub fn stream(self: &Arc<Self>, url: &str, size: u64, pos: u64) -> HttpStream {
        HttpStream {
            http: self.clone(),
            url: url.to_string(),
            size,
            pos,
            open: None,
            failed: false,
            thin: 0,
        }
    }

    /// Where a pinned URL is kept: the complete file, and the part being downloaded. Named
    /// by a hash of the URL, so a reader finds it from the source alone and no name on disk
    /// shows the URL.
    pub fn pin_paths(&self, url: &str, size: u64) -> (PathBuf, PathBuf) {
        use sha2::Digest;
        // With the size: two items on one URL that changed size between their assignments
        // are two files.
        let digest = sha2::Sha256::digest(format!("{size}\n{url}").as_bytes());
        let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        (
            self.pin_dir.join(&name),
            self.pin_dir.join(format!("{name}.part")),
        )
    }

    pub fn pin_dir(&self) -> &std::path::Path {
        &self.pin_dir
    }

    /// The complete pinned copy of `url`, if there is one of the right size.
    pub fn pinned(&self, url: &str, size: u64) -> Option<PathBuf> {
        let (done, _) = self.pin_paths(url, size);
        std::fs::metadata(&done)
            .is_ok_and(|m| m.is_file() && m.len() == size)
            .then_some(done)
    }

    /// Bytes of `url` downloaded for its pin so far.
    pub fn pin_progress(&self, url: &str, size: u64) -> u64 {
        if self.pinned(url, size).is_some() {
            return size;
        }
        let (_, part) = self.pin_paths(url, size);
        std::fs::metadata(part)
            .map(|m| m.len().min(size))
            .unwrap_or(0)
    }

    /// Deletes what a pin of `url` downloaded.
    pub fn drop_pin(&self, url: &str, size: u64) {
        let (done, part) = self.pin_paths(url, size);
        for p in [done, part] {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(path = %p.display(), "cannot delete a pinned file: {e}"),
            }
        }
    }

    /// Downloads `url` (a file of `size` bytes) whole into the pin folder, from where the
    /// last try stopped; `progress` hears the bytes on disk. A connection that breaks off
    /// is opened again where it stopped; after `PIN_TRIES` failures in a row without a byte
    /// gained it gives up (the next pin resumes from the same place).
    pub async fn download(
        self: &Arc<Self>,
        url: &str,
        size: u64,
        progress: impl Fn(u64),
    ) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        let one = self
            .downloading
            .lock()
            .expect("http lock")
            .entry(url.to_string())
            .or_default()
            .clone();
        let _one_at_a_time = one.lock().await;
        if self.pinned(url, size).is_some() {
            progress(size);
            return Ok(());
        }
        tokio::fs::create_dir_all(&self.pin_dir).await?;
        let (done, part) = self.pin_paths(url, size);
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&part)
            .await?;
        let mut have = file.metadata().await?.len();
        if have > size {
            // Not this file's bytes (it changed on the server): start over.
            file.set_len(0).await?;
            have = 0;
        }
        let free = free_bytes(&self.pin_dir);
        if free.is_some_and(|free| free < size - have) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                format!(
                    "{} more bytes are needed and the data dir has {} free",
                    size - have,
                    free.unwrap_or(0)
                ),
            ));
        }
        progress(have);
        let mut reported = (have, std::time::Instant::now());
        let mut failures = 0;
        let mut last_error = String::new();
        while have < size {
            let mut stream = self.stream(url, size, have);
            let gained_from = have;
            loop {
                match stream.read(1024 * 1024).await {
                    Ok(chunk) if chunk.is_empty() => break,
                    Ok(chunk) => {
                        file.write_all(&chunk).await?;
                        have += chunk.len() as u64;
                        // Told every MiB or second, not every chunk: each report wakes
                        // the job's watchers.
                        if have - reported.0 >= PROGRESS_EVERY
                            || reported.1.elapsed() >= Duration::from_secs(1)
                            || have >= size
                        {
                            reported = (have, std::time::Instant::now());
                            progress(have);
                        }
                    }
                    // The server no longer serves this file (a size change, a page): trying
                    // again would not help.
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        file.flush().await?;
                        return Err(std::io::Error::other(format!(
                            "{e}; {have} of {size} bytes are kept"
                        )));
                    }
                    Err(e) => {
                        last_error = e.to_string();
                        break;
                    }
                }
            }
            if have >= size {
                break;
            }
            // A try that gains next to nothing is a failure too (a trickling server).
            if have - gained_from < MIN_GAIN {
                failures += 1;
                if failures >= PIN_TRIES {
                    file.flush().await?;
                    return Err(std::io::Error::other(format!(
                        "the server failed {PIN_TRIES} times in a row ({last_error}); {have} of {size} bytes are kept, and pinning again resumes from there"
                    )));
                }
            } else {
                failures = 0;
            }
            debug!(
                have,
                size, failures, "pin download broke off; resuming: {last_error}"
            );
            tokio::time::sleep(Duration::from_secs(u64::from(failures.min(10)) * 2 + 1)).await;
        }
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&part, &done).await?;
        Ok(())
    }

    /// `len` bytes of the file at `at` (fewer at its end).
    pub async fn read_range(
        self: &Arc<Self>,
        url: &str,
        size: u64,
        at: u64,
        len: u64,
    ) -> std::io::Result<Vec<u8>> {
        let mut stream = self.stream(url, size, at);
        let end = size.min(at.saturating_add(len));
        let mut out = Vec::with_capacity((end - at.min(end)) as usize);
        while stream.position() < end {
            let chunk = stream.read((end - stream.position()) as usize).await?;
            if chunk.is_empty() {
                break;
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// A parked stream on `url` at `pos`, if there is one.
    fn take_parked(&self, url: &str, pos: u64) -> Option<Open> {
        let mut parked = self.parked.lock().expect("http lock");
        let list = parked.get_mut(url)?;
        let i = list.iter().position(|(o, _)| o.pos == pos)?;
        let (open, _) = list.swap_remove(i);
        if list.is_empty() {
            parked.remove(url);
        }
        Some(open)
    }

    fn park(&self, url: String, open: Open) {
        if self.reuse_idle.is_zero() {
            return;
        }
        let mut parked = self.parked.lock().expect("http lock");
        let list = parked.entry(url).or_default();
        list.push((open, Instant::now()));
        if list.len() > PARKED_PER_URL {
            // The oldest goes first.
            let oldest = list
                .iter()
                .enumerate()
                .min_by_key(|(_, (_, since))| *since)
                .map(|(i, _)| i)
                .unwrap_or(0);
            list.swap_remove(oldest);
        }
    }

    /// Closes parked streams idle for longer than `reuse_idle`.
    pub fn expire(&self) {
        let mut parked = self.parked.lock().expect("http lock");
        for list in parked.values_mut() {
            list.retain(|(_, since)| since.elapsed() < self.reuse_idle);
        }
        parked.retain(|_, list| !list.is_empty());
    }

    /// Sends a GET for the file from `from`; checks the answer is that range of a file of
    /// `size` bytes.
    async fn open(&self, url: &str, size: u64, from: u64) -> std::io::Result<Open> {
        let resp = self
            .client
            .get(url)
            .header(header::RANGE, format!("bytes={from}-"))
            .header(header::ACCEPT_ENCODING, "identity")
            .send()
            .await
            .map_err(|e| io_error(e, "no answer"))?;
        let status = resp.status();
        // Answers that can never become the file's bytes: reading on would not help.
        let wrong = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidData, why);
        not_the_bytes(resp.headers()).map_err(wrong)?;
        match status {
            reqwest::StatusCode::PARTIAL_CONTENT => match content_range(resp.headers()) {
                Some((start, _, total)) if start == from && total.is_none_or(|t| t == size) => {}
                Some((_, _, Some(total))) if total != size => {
                    return Err(wrong(format!(
                        "the file is {total} bytes on the server now, {size} when it was \
                         assigned: assign it again"
                    )));
                }
                _ => {
                    return Err(wrong(
                        "the server answered another range than the one asked for".into(),
                    ));
                }
            },
            // A server that ignores ranges still serves the whole file from its start:
            // usable from 0 when it is the file's length.
            reqwest::StatusCode::OK if from == 0 && resp.content_length() == Some(size) => {}
            reqwest::StatusCode::OK => {
                return Err(wrong(
                    "the server no longer answers range requests (it sent a whole answer)".into(),
                ));
            }
            _ => {
                return Err(std::io::Error::other(format!(
                    "the server answered HTTP {status}"
                )));
            }
        }
        Ok(Open {
            resp,
            pos: from,
            from,
            left: Bytes::new(),
        })
    }
}

/// The answer's media type ("video/mp4"), lowercase, without parameters.
fn content_type(headers: &header::HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|v| !v.is_empty())
}

/// Why an answer's body is not the file's bytes, if it is not: a page, JSON, XML or an
/// image instead (a login page, an "expired" notice), or a compressed body (players seek
/// by byte, and reqwest here does not decompress).
fn not_the_bytes(headers: &header::HeaderMap) -> std::result::Result<(), String> {
    if let Some(t) = content_type(headers)
        && (t.starts_with("text/")
            || t.contains("html")
            || t.contains("json")
            || t.contains("xml")
            || t.starts_with("image/"))
    {
        return Err(format!("it is not a video (the server calls it {t})"));
    }
    if let Some(e) = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty() && v != "identity")
    {
        return Err(format!(
            "the server compresses it ({e}) though asked not to"
        ));
    }
    Ok(())
}

/// Free bytes on the file system of `dir` for an unprivileged writer; None when unknown.
pub fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain old data; all zeros is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid NUL-terminated path and a struct for statvfs to fill.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    // The field types differ between platforms (u32 on some 32-bit ones).
    #[allow(clippy::useless_conversion)]
    let free = u64::from(st.f_bavail).saturating_mul(u64::from(st.f_frsize));
    Some(free)
}

/// `Content-Range: bytes FIRST-LAST/TOTAL` (TOTAL `*` = unknown).
fn content_range(headers: &header::HeaderMap) -> Option<(u64, u64, Option<u64>)> {
    let v = headers.get(header::CONTENT_RANGE)?.to_str().ok()?;
    let (span, total) = v.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((first.trim().parse().ok()?, last.trim().parse().ok()?, total))
}

fn io_error(e: reqwest::Error, what: &str) -> std::io::Error {
    let e = e.without_url();
    let kind = if e.is_timeout() {
        std::io::ErrorKind::TimedOut
    } else {
        std::io::ErrorKind::Other
    };
    std::io::Error::new(kind, format!("{what}: {}", crate::web::root_cause(&e)))
}

/// A reader on one HTTP source. Dropping it parks its connection for the next range.
pub struct HttpStream {
    http: Arc<Http>,
    url: String,
    size: u64,
    pos: u64,
    open: Option<Open>,
    failed: bool,
    /// Connections in a row that broke off with less than `MIN_GAIN` read.
    thin: u32,
}

impl HttpStream {
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Moves to `pos`; the connection open elsewhere is parked for a later range.
    pub fn seek(&mut self, pos: u64) {
        if pos != self.pos
            && let Some(open) = self.open.take()
        {
            self.http.park(self.url.clone(), open);
        }
        self.pos = pos;
    }

    /// Up to `max` bytes at the position; empty only at the end of the file.
    pub async fn read(&mut self, max: usize) -> std::io::Result<Bytes> {
        if self.pos >= self.size || max == 0 {
            return Ok(Bytes::new());
        }
        loop {
            match self.read_once(max).await {
                Ok(b) => return Ok(b),
                Err(e)
                    if e.kind() == std::io::ErrorKind::ConnectionAborted && self.thin < REOPENS =>
                {
                    // A connection that gave a fair amount first starts the count again.
                    let gained = self.open.as_ref().map_or(0, |o| o.pos - o.from);
                    self.thin = if gained >= MIN_GAIN { 1 } else { self.thin + 1 };
                    debug!(
                        pos = self.pos,
                        thin = self.thin,
                        "HTTP source broke off; asking again: {e}"
                    );
                    self.open = None;
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(self.thin))).await;
                }
                Err(e) => {
                    self.failed = true;
                    self.open = None;
                    return Err(e);
                }
            }
        }
    }

    /// One try: the open connection's next chunk, opening one first if needed. A body that
    /// breaks off, ends early or goes silent is `ConnectionAborted`, so `read` asks again
    /// from there; failing to open is final.
    async fn read_once(&mut self, max: usize) -> std::io::Result<Bytes> {
        if self.open.is_none() {
            let open = match self.http.take_parked(&self.url, self.pos) {
                Some(o) => o,
                None => {
                    let opening = self.http.open(&self.url, self.size, self.pos);
                    tokio::time::timeout(self.http.timeout, opening)
                        .await
                        .map_err(|_| timed_out(self.http.timeout))??
                }
            };
            self.open = Some(open);
        }
        let open = self.open.as_mut().expect("opened above");
        while open.left.is_empty() {
            // A server silent for `timeout` is asked again too: a stuck connection is
            // common, a stuck server rarer (and then the reads fail after a few timeouts).
            let chunk = tokio::time::timeout(self.http.timeout, open.resp.chunk())
                .await
                .map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        timed_out(self.http.timeout).to_string(),
                    )
                })?;
            match chunk {
                Ok(Some(c)) => open.left = c,
                Ok(None) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "the server ended the answer early",
                    ));
                }
                Err(e) => {
                    let e = io_error(e, "the connection broke off");
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        e.to_string(),
                    ));
                }
            }
        }
        let n = max.min(open.left.len());
        // Never past the end of the file, whatever the server sends.
        let n = n.min((self.size - self.pos) as usize);
        let out = open.left.split_to(n);
        open.pos += n as u64;
        self.pos += n as u64;
        Ok(out)
    }
}

fn timed_out(after: Duration) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("the server sent nothing for {} s", after.as_secs()),
    )
}

impl Drop for HttpStream {
    fn drop(&mut self) {
        if !self.failed
            && let Some(open) = self.open.take()
            && open.pos < self.size
        {
            self.http.park(std::mem::take(&mut self.url), open);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::content_range;
    use reqwest::header::{CONTENT_RANGE, HeaderMap, HeaderValue};

    #[test]
    fn content_ranges_are_read() {
        let h = |v: &'static str| {
            let mut m = HeaderMap::new();
            m.insert(CONTENT_RANGE, HeaderValue::from_static(v));
            content_range(&m)
        };
        assert_eq!(h("bytes 0-0/1234"), Some((0, 0, Some(1234))));
        assert_eq!(h("bytes 100-199/*"), Some((100, 199, None)));
        assert_eq!(h("bytes */1234"), None);
        assert_eq!(h("items 0-1/2"), None);
        assert_eq!(h("bytes 0-x/2"), None);
        assert_eq!(content_range(&HeaderMap::new()), None);
    }
}
