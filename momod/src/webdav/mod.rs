//! The WebDAV share: read-only, behind Basic auth. PROPFIND is answered from the tree
//! (`propfind`); GET and HEAD go to dav-server (ranges, If-Range, 416) over the same tree.
//!
//! Listings and HEAD never open a source. A GET opens the file's source; reads hand
//! dav-server at most what it asks for and fail rather than come up short, because
//! dav-server pads a short body with zeros.
//!
//! Shutdown drains: the listener closes, each connection finishes the response it is
//! sending (and takes no new request), and whatever is still open after the grace period is
//! cut, so the engine behind the streams can stop cleanly.
mod propfind;

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::SeekFrom;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use dav_server::body::Body;
use dav_server::davpath::DavPath;
use dav_server::fs::{
    DavDirEntry, DavFile, DavFileSystem, DavMetaData, FsError, FsFuture, FsStream, OpenOptions,
    ReadDirMeta,
};
use dav_server::{DavHandler, DavMethodSet};
use futures_util::FutureExt;
use headers::HeaderMapExt;
use headers::authorization::{Authorization, Basic};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::library::model::SourceFile;
use crate::scrobble::Plays;
use crate::stream::http::HttpStream;
use crate::stream::{PlayReader, Streamer};
use crate::vfs::{FileNode, Node, Vfs};

/// Bytes per `read_bytes` call: dav-server's 16 KiB default means 65,536 calls per GiB.
const READ_BUF_SIZE: usize = 256 * 1024;
const ALLOW: &str = "OPTIONS, GET, HEAD, PROPFIND";
/// Largest PROPFIND body read, and how long it may take to arrive.
const MAX_PROPFIND_BODY: usize = 64 * 1024;
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line and headers) read from a client.
const MAX_REQUEST_HEAD: usize = 64 * 1024;

pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl Credentials {
    fn accepts(&self, basic: &Basic) -> bool {
        // Both compared, so the time taken does not tell which one was wrong.
        let user =
            crate::auth::constant_time_eq(basic.username().as_bytes(), self.username.as_bytes());
        let pass =
            crate::auth::constant_time_eq(basic.password().as_bytes(), self.password.as_bytes());
        user & pass
    }
}

/// Who may read the share: people (with the configured credentials, or anyone when none
/// are set), and momod's own tools with a grant.
pub struct Access {
    pub people: Option<Credentials>,
    pub grants: Grants,
}

/// Reads momod grants its own tools (ffmpeg detecting intros): each opens one file, from
/// this host, while the grant lives, whatever `webdav.username` is, and is not a play. The
/// secret is on the tool's command line, where other local users can see it: so it opens
/// one file for the length of one run, never the share.
#[derive(Clone, Default)]
pub struct Grants(Arc<std::sync::Mutex<HashMap<String, String>>>);

/// A grant to read one file; revoked when dropped.
pub struct Grant {
    grants: Grants,
    secret: String,
}

impl Grants {
    /// A grant to read the file at tree path `path`.
    pub fn issue(&self, path: &str) -> std::io::Result<Grant> {
        let mut bytes = [0u8; 16];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let path = share_path(&url_path(path)).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a share path")
        })?;
        self.0
            .lock()
            .expect("grants lock")
            .insert(secret.clone(), path);
        Ok(Grant {
            grants: self.clone(),
            secret,
        })
    }

    fn allows(&self, basic: &Basic, path: &str) -> bool {
        basic.username() == GRANT_USER
            && self
                .0
                .lock()
                .expect("grants lock")
                .get(basic.password())
                .is_some_and(|granted| granted == path)
    }
}

impl Grant {
    /// The value of an Authorization header carrying the grant.
    pub fn authorization(&self) -> String {
        let mut values = Vec::new();
        headers::Header::encode(&Authorization::basic(GRANT_USER, &self.secret), &mut values);
        values
            .first()
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

impl Drop for Grant {
    fn drop(&mut self) {
        self.grants
            .0
            .lock()
            .expect("grants lock")
            .remove(&self.secret);
    }
}

/// The user name of grants (a person's credentials may use it too).
const GRANT_USER: &str = "momod";

/// Who sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Stranger,
    Person,
    Momod,
}

/// How the share's connections are served and bounded.
pub struct Limits {
    pub max_connections: usize,
    /// For a complete request head, after connecting or after the last response.
    pub idle_timeout: Duration,
    /// For a client that stopped taking the response.
    pub send_timeout: Duration,
    /// At shutdown, for open responses to finish.
    pub grace: Duration,
}

/// Serves the share on `listener` until `shutdown` turns true, then drains: open responses
/// get up to `limits.grace` to finish before they are cut.
///
/// Every connection is bounded: at most `max_connections` at once (more wait in the
/// kernel's accept queue), closed when no complete request head arrives within
/// `idle_timeout` (silent, trickling or idle keep-alive clients), and cut when the client
/// leaves a response unread for `send_timeout`. A request still waiting on its source is
/// bounded by the source's own read timeout.
pub async fn serve(
    listener: TcpListener,
    vfs: Arc<Vfs>,
    streamer: Arc<Streamer>,
    plays: Plays,
    access: Access,
    mut shutdown: watch::Receiver<bool>,
    limits: Limits,
) {
    let fs = LibraryFs {
        vfs: vfs.clone(),
        streamer,
        plays,
    };
    // momod's own reads go through a file system whose reads are not plays.
    let quiet = LibraryFs {
        plays: Plays::off(),
        ..fs.clone()
    };
    let dav = DavHandler::builder()
        .filesystem(Box::new(fs))
        .methods(DavMethodSet::HTTP_RO)
        // GET on a folder: a plain HTML index for browsers.
        .autoindex(true)
        .read_buf_size(READ_BUF_SIZE)
        .build_handler();
    let front = Arc::new(FrontDoor {
        dav,
        quiet,
        vfs,
        access,
        own_ip: listener.local_addr().ok().map(|a| a.ip()),
    });
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut backoff = crate::listen::Backoff::new("WebDAV");
    let mut full_since: Option<Instant> = None;
    // Every connection task, so shutdown can wait for them (and cut the stragglers).
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // A slot first: at the cap, new connections wait in the kernel's queue.
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if full_since.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                    warn!(
                        max = limits.max_connections,
                        "WebDAV connection limit reached (webdav.max_connections): new connections wait"
                    );
                    full_since = Some(Instant::now());
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                    Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                    _ = shutdown.wait_for(|stop| *stop) => break,
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            // Reap finished connections as we go.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => {
                backoff.succeeded();
                a
            }
            Err(e) => {
                // Out of descriptors, mostly: retrying at once would spin.
                let pause = backoff.failed(&e);
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    _ = shutdown.wait_for(|stop| *stop) => break,
                }
                continue;
            }
        };
        // PROPFIND answers are streamed in small pieces; with Nagle on, each waits for the
        // client's delayed ACK (~40 ms).
        let _ = stream.set_nodelay(true);
        // A write that cannot make progress for this long fails the connection.
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_write_timeout(Some(limits.send_timeout));
        let front = front.clone();
        let mut stop = shutdown.clone();
        let idle_timeout = limits.idle_timeout;
        connections.spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |req| {
                let front = front.clone();
                async move { Ok::<_, Infallible>(front.handle(req, peer).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                // Runs whenever hyper waits for a request head: from the connection's
                // start, and between requests on a kept-alive connection.
                .header_read_timeout(idle_timeout)
                .max_header_size(MAX_REQUEST_HEAD)
                // Also bounds what hyper queues to send: the head timer starts once the last
                // bytes of a response are queued, so a small queue keeps a slow reader from
                // losing the tail to it.
                .max_buf_size(MAX_REQUEST_HEAD)
                .serve_connection(TokioIo::new(Box::pin(stream)), service);
            tokio::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                // (The watch guard must not live across the await below: it is not Send.)
                () = async { let _ = stop.wait_for(|stop| *stop).await; } => {
                    // Finish the response in flight; an idle keep-alive connection closes.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            // Errors here are mostly players hanging up mid-body (routine), or the timeouts.
            if let Err(e) = ended {
                debug!(%peer, "WebDAV connection ended: {e}");
            }
        });
    }
    // New connections are refused from here on.
    drop(listener);
    if !connections.is_empty() {
        info!(
            connections = connections.len(),
            grace_s = limits.grace.as_secs_f32(),
            "WebDAV: letting open responses finish"
        );
    }
    let drained = tokio::time::timeout(limits.grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!(
            connections = connections.len(),
            "WebDAV: cutting responses still open after the grace period (shutdown_grace_s)"
        );
        connections.shutdown().await;
    }
    info!("WebDAV stopped");
}

/// Authentication and the method policy, in front of dav-server.
struct FrontDoor {
    dav: DavHandler,
    quiet: LibraryFs,
    vfs: Arc<Vfs>,
    access: Access,
    /// The address listened on: momod's own tools connect from it (or from loopback).
    own_ip: Option<std::net::IpAddr>,
}

impl FrontDoor {
    async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let range = req.headers().get(header::RANGE).cloned();
        let caller = self.caller(&req, peer);
        let resp = if caller == Caller::Stranger {
            // Also for OPTIONS: some clients skip auth when the first request succeeds.
            plain(StatusCode::UNAUTHORIZED, "")
                .map(|mut r| {
                    r.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"momoshtrem\", charset=\"UTF-8\""),
                    );
                    r
                })
                .unwrap()
        } else if share_path(&path).is_none() {
            // One rule for every method: dav-server would resolve `..` on GET while the
            // tree lookup of PROPFIND would not.
            plain(
                StatusCode::BAD_REQUEST,
                "bad path: `.` and `..` segments, encoded `/` and NUL are not allowed\n",
            )
            .unwrap()
        } else if method == Method::OPTIONS {
            // Class 1 only: Finder mounts read-only when the server has no locking.
            let mut r = plain(StatusCode::OK, "").unwrap();
            r.headers_mut().insert("DAV", HeaderValue::from_static("1"));
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
            r.headers_mut()
                .insert("MS-Author-Via", HeaderValue::from_static("DAV"));
            r
        } else if method == Method::GET || method == Method::HEAD {
            let mut req = req;
            if let Some(range) = req.headers().get(header::RANGE)
                && repeats_bytes(range.as_bytes())
            {
                // RFC 9110 14.2 lets a server ignore Range: the whole file, once, beats the
                // same bytes over and over (`bytes=0-,0-,0-,…`).
                debug!(%peer, "multi-range request with overlapping or too many ranges: ignored");
                req.headers_mut().remove(header::RANGE);
            }
            if let Some(clamped) = req
                .headers()
                .get(header::RANGE)
                .and_then(|r| clamp_range(r.to_str().ok()?))
                .and_then(|r| HeaderValue::from_str(&r).ok())
            {
                req.headers_mut().insert(header::RANGE, clamped);
            }
            if caller == Caller::Momod {
                let quiet = dav_server::DavConfig::new().filesystem(Box::new(self.quiet.clone()));
                self.dav.handle_with(quiet, req).await
            } else {
                self.dav.handle(req).await
            }
        } else if method.as_str() == "PROPFIND" {
            self.propfind(req).await
        } else {
            // Read-only share; RFC 9110 requires Allow on a 405.
            let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "read-only share\n").unwrap();
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
            r
        };
        debug!(
            %peer, %method, %path, range = ?range, status = resp.status().as_u16(),
            elapsed = ?started.elapsed(), "WebDAV"
        );
        resp
    }

    async fn propfind(&self, req: Request<Incoming>) -> Response<Body> {
        let depth1 = match req
            .headers()
            .get("depth")
            .map(|d| d.as_bytes().to_ascii_lowercase())
        {
            Some(d) if d == b"0" => false,
            // A missing Depth means infinity (RFC 4918); Depth 1 is the closest finite answer.
            Some(d) if d == b"1" => true,
            None => true,
            Some(_) => {
                // RFC 4918 9.1: a server may refuse infinite depth with 403.
                return xml(
                    StatusCode::FORBIDDEN,
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
                     <D:error xmlns:D=\"DAV:\"><D:propfind-finite-depth/></D:error>\n"
                        .into(),
                );
            }
        };
        let Some(path) = share_path(req.uri().path()) else {
            return plain(StatusCode::BAD_REQUEST, "bad path\n").unwrap();
        };
        let agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        // Request bodies are tiny; a huge one is not a PROPFIND we want to parse, and one
        // that trickles in is not worth waiting for.
        let body = http_body_util::Limited::new(req.into_body(), MAX_PROPFIND_BODY).collect();
        let body = match tokio::time::timeout(BODY_TIMEOUT, body).await {
            Ok(Ok(b)) => b.to_bytes(),
            Ok(Err(_)) => {
                return plain(StatusCode::PAYLOAD_TOO_LARGE, "PROPFIND body too large\n").unwrap();
            }
            Err(_) => {
                return plain(StatusCode::REQUEST_TIMEOUT, "PROPFIND body too slow\n").unwrap();
            }
        };
        // What players really ask for (Infuse's body is not documented anywhere).
        debug!(%path, %agent, body = %String::from_utf8_lossy(&body), "PROPFIND request");
        let wanted = match propfind::parse(&body) {
            Ok(w) => w,
            Err(e) => {
                debug!("bad PROPFIND body: {e}");
                return plain(StatusCode::BAD_REQUEST, "malformed PROPFIND body\n").unwrap();
            }
        };
        let tree = match self.vfs.tree().await {
            Ok(t) => t,
            Err(e) => {
                warn!("cannot build the share tree: {e}");
                return plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "library unavailable, try again\n",
                )
                .unwrap();
            }
        };
        // Off the async threads: a listing checks its local files on disk (a deleted one
        // is not listed), and /Movies of a large library is megabytes of XML.
        // Bounded: a hung network mount must not hang the listing.
        let doc = tokio::time::timeout(
            BODY_TIMEOUT,
            tokio::task::spawn_blocking(move || {
                propfind::multistatus(&tree, &path, depth1, &wanted, local_file_present)
            }),
        )
        .await;
        match doc {
            Ok(Ok(Some(doc))) => xml(StatusCode::MULTI_STATUS, doc),
            Ok(Ok(None)) => plain(StatusCode::NOT_FOUND, "not found\n").unwrap(),
            Ok(Err(_)) => plain(StatusCode::INTERNAL_SERVER_ERROR, "listing failed\n").unwrap(),
            Err(_) => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "local files did not answer in time\n",
            )
            .unwrap(),
        }
    }

    fn caller<B>(&self, req: &Request<B>, peer: SocketAddr) -> Caller {
        let basic = req.headers().typed_get::<Authorization<Basic>>();
        let granted = |b: &Basic| {
            (peer.ip().is_loopback() || Some(peer.ip()) == self.own_ip)
                && share_path(req.uri().path()).is_some_and(|p| self.access.grants.allows(b, &p))
        };
        match (&basic, &self.access.people) {
            (Some(Authorization(b)), _) if granted(b) => Caller::Momod,
            (_, None) => Caller::Person,
            (Some(Authorization(b)), Some(people)) if people.accepts(b) => Caller::Person,
            _ => Caller::Stranger,
        }
    }
}

/// A tree path as a URL path (percent-encoded, with its leading `/`).
pub fn url_path(path: &str) -> String {
    let mut out = String::from("/");
    propfind::push_href(&mut out, path.trim_start_matches('/'));
    out
}

/// A request path as a tree path: percent-decoded, `//` collapsed, no trailing `/`
/// (`/` itself is ""). None for what no share path can be: `.` or `..` segments, an
/// encoded `/` or NUL inside a segment, or bytes that are not UTF-8.
pub(crate) fn share_path(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    for segment in raw.split('/').filter(|s| !s.is_empty()) {
        let segment = percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .ok()?;
        if segment == "." || segment == ".." || segment.contains(['/', '\0']) {
            return None;
        }
        out.push('/');
        out.push_str(&segment);
    }
    Some(out)
}

/// Whether a file of the share can still be read: a local source must still be a regular
/// file (torrent and HTTP files are always listed; they are fetched when read).
fn local_file_present(node: &Node) -> bool {
    match node {
        Node::File(f) if f.content.is_some() => true,
        Node::File(f) => match &f.file {
            SourceFile::Local { path } => std::fs::metadata(path).is_ok_and(|m| m.is_file()),
            SourceFile::Torrent { .. } | SourceFile::Http { .. } => true,
        },
        Node::Dir(_) => true,
    }
}

/// More ranges than a player ever asks for in one request.
const MAX_RANGES: usize = 16;

/// Whether a multi-range `Range` header could make the response longer than the file:
/// more than `MAX_RANGES` ranges, overlapping ones, or several open-ended or suffix ranges
/// (which may overlap once the size is known). A single range never repeats bytes.
pub(crate) fn repeats_bytes(range: &[u8]) -> bool {
    let Some(spec) = std::str::from_utf8(range)
        .ok()
        .and_then(|r| r.trim().strip_prefix("bytes="))
    else {
        return false;
    };
    let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
    if parts.len() <= 1 {
        return false;
    }
    if parts.len() > MAX_RANGES {
        return true;
    }
    let mut spans = Vec::with_capacity(parts.len());
    for part in parts {
        match part
            .split_once('-')
            .map(|(a, b)| (a.parse::<u64>(), b.parse::<u64>()))
        {
            Some((Ok(first), Ok(last))) => spans.push((first, last)),
            _ => return true,
        }
    }
    spans.sort_unstable();
    spans.windows(2).any(|w| w[1].0 <= w[0].1)
}

/// Byte positions past any file's size mean "to the end" (a last byte of 2^64-1 is legal),
/// but dav-server adds to them and overflows: they are lowered to `RANGE_CAP` first. None
/// when nothing needs lowering.
pub(crate) fn clamp_range(range: &str) -> Option<String> {
    const RANGE_CAP: u64 = 1 << 62;
    let spec = range.trim().strip_prefix("bytes=")?;
    let mut changed = false;
    let parts: Vec<String> = spec
        .split(',')
        .map(|part| {
            let mut capped = |n: &str| match n.trim().parse::<u64>() {
                Ok(v) if v > RANGE_CAP => {
                    changed = true;
                    RANGE_CAP.to_string()
                }
                _ => n.trim().to_string(),
            };
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (capped(a), capped(b));
                    format!("{a}-{b}")
                }
                None => part.trim().to_string(),
            }
        })
        .collect();
    changed.then(|| format!("bytes={}", parts.join(",")))
}

fn xml(status: StatusCode, doc: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/xml; charset=utf-8")
        .header(header::CONTENT_LENGTH, doc.len())
        .body(Body::from(doc))
        .expect("valid response")
}

fn plain(status: StatusCode, body: &'static str) -> http::Result<Response<Body>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
}

// ---------------------------------------------------------------------- file system

#[derive(Clone)]
struct LibraryFs {
    vfs: Arc<Vfs>,
    streamer: Arc<Streamer>,
    plays: Plays,
}

#[derive(Debug, Clone)]
struct Meta {
    len: u64,
    modified: SystemTime,
    dir: bool,
    etag: String,
}

impl Meta {
    fn of(node: &Node) -> Meta {
        match node {
            Node::File(f) => Meta {
                len: f.size,
                modified: f.modified,
                dir: false,
                etag: f.etag.clone(),
            },
            Node::Dir(d) => {
                let secs = d
                    .modified
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                Meta {
                    len: 0,
                    modified: d.modified,
                    dir: true,
                    etag: propfind::dir_etag(d.children.len(), secs),
                }
            }
        }
    }
}

impl DavMetaData for Meta {
    fn len(&self) -> u64 {
        self.len
    }
    fn modified(&self) -> dav_server::fs::FsResult<SystemTime> {
        Ok(self.modified)
    }
    fn is_dir(&self) -> bool {
        self.dir
    }
    fn etag(&self) -> Option<String> {
        Some(self.etag.clone())
    }
}

struct Entry {
    name: String,
    meta: Meta,
}

impl DavDirEntry for Entry {
    fn name(&self) -> Vec<u8> {
        self.name.as_bytes().to_vec()
    }
    fn metadata(&self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta: Box<dyn DavMetaData> = Box::new(self.meta.clone());
        async move { Ok(meta) }.boxed()
    }
}

impl LibraryFs {
    async fn node(&self, path: &DavPath) -> Result<Node, FsError> {
        let path = std::str::from_utf8(path.as_bytes()).map_err(|_| FsError::NotFound)?;
        let tree = self.vfs.tree().await.map_err(|e| {
            warn!("cannot build the share tree: {e}");
            FsError::GeneralFailure
        })?;
        tree.lookup(path).cloned().ok_or(FsError::NotFound)
    }
}

impl DavFileSystem for LibraryFs {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        options: OpenOptions,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        async move {
            if options.write
                || options.append
                || options.truncate
                || options.create
                || options.create_new
            {
                return Err(FsError::Forbidden);
            }
            match self.node(path).await? {
                Node::File(file) => open_source(file, &self.streamer, &self.plays).await,
                Node::Dir(_) => Err(FsError::Forbidden),
            }
        }
        .boxed()
    }

    fn read_dir<'a>(
        &'a self,
        path: &'a DavPath,
        _meta: ReadDirMeta,
    ) -> FsFuture<'a, FsStream<Box<dyn DavDirEntry>>> {
        async move {
            let Node::Dir(dir) = self.node(path).await? else {
                return Err(FsError::Forbidden);
            };
            // (The HTML index of a folder, for browsers: the same files PROPFIND lists.)
            let entries: Vec<_> = dir
                .children
                .iter()
                .filter(|c| local_file_present(c))
                .map(|c| {
                    Ok(Box::new(Entry {
                        name: c.name().to_string(),
                        meta: Meta::of(c),
                    }) as Box<dyn DavDirEntry>)
                })
                .collect();
            let stream: FsStream<Box<dyn DavDirEntry>> =
                Box::pin(futures_util::stream::iter(entries));
            Ok(stream)
        }
        .boxed()
    }

    fn metadata<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, Box<dyn DavMetaData>> {
        async move { Ok(Box::new(Meta::of(&self.node(path).await?)) as Box<dyn DavMetaData>) }
            .boxed()
    }
}

/// Opens the bytes behind a file of the share. A local file is opened now (a missing one is
/// a 404 before any header is sent); a torrent or a URL is not touched until the first
/// read, since HEAD opens files too.
async fn open_source(
    file: Arc<FileNode>,
    streamer: &Arc<Streamer>,
    plays: &Plays,
) -> Result<Box<dyn DavFile>, FsError> {
    let backing = match (&file.content, &file.file) {
        // Bytes the share makes itself (an EDL).
        (Some(bytes), _) => Backing::Memory(bytes.clone()),
        (None, SourceFile::Local { path }) => {
            // Non-blocking open: if the file was swapped for a FIFO (or a device) since it was
            // assigned, a plain open would wait for a writer forever. Regular files read the
            // same either way.
            let handle = tokio::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(path)
                .await
                .map_err(|e| {
                    warn!(%path, "local source cannot be opened: {e}");
                    match e.kind() {
                        std::io::ErrorKind::NotFound => FsError::NotFound,
                        std::io::ErrorKind::PermissionDenied => FsError::Forbidden,
                        _ => FsError::GeneralFailure,
                    }
                })?;
            let meta = handle.metadata().await.map_err(|e| {
                warn!(%path, "local source cannot be read: {e}");
                FsError::GeneralFailure
            })?;
            if !meta.is_file() {
                warn!(%path, "local source is no longer a regular file; assign it again");
                return Err(FsError::Forbidden);
            }
            if meta.len() != file.size {
                warn!(
                    %path, recorded = file.size, actual = meta.len(),
                    "local source changed size since it was assigned; assign it again"
                );
            }
            Backing::Local(handle)
        }
        (None, SourceFile::Torrent { .. }) => Backing::Torrent {
            streamer: streamer.clone(),
            reader: None,
        },
        // A pinned copy on disk is read instead of the server.
        (None, SourceFile::Http { url, .. }) => {
            let pinned = match streamer.http.pinned(url, file.size) {
                Some(path) => tokio::fs::File::open(&path)
                    .await
                    .inspect_err(|e| {
                        warn!(file = %file.name, "pinned copy cannot be opened, using the server: {e}")
                    })
                    .ok(),
                None => None,
            };
            match pinned {
                Some(handle) => Backing::Local(handle),
                None => Backing::Http(streamer.http.stream(url, file.size, 0)),
            }
        }
    };
    Ok(Box::new(ShareFile {
        node: file,
        backing,
        pos: 0,
        plays: plays.clone(),
    }))
}

/// The open handle on a file's bytes.
enum Backing {
    Local(tokio::fs::File),
    /// The stream opens on the first read, at the current position; dropping the file (the
    /// response ended or the player hung up) hands the stream back for the next range.
    Torrent {
        streamer: Arc<Streamer>,
        reader: Option<Box<PlayReader>>,
    },
    /// Connects on the first read; dropped, its connection waits for the next range.
    Http(HttpStream),
    /// Bytes the share makes itself (an EDL).
    Memory(Bytes),
}

/// One open file of the share, read in chunks: memory stays at one chunk whatever the size.
struct ShareFile {
    node: Arc<FileNode>,
    backing: Backing,
    pos: u64,
    /// Told of every read of a video, for scrobbling.
    plays: Plays,
}

impl std::fmt::Debug for ShareFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShareFile")
            .field("name", &self.node.name)
            .field("pos", &self.pos)
            .finish()
    }
}

impl ShareFile {
    /// Up to `want` bytes at `self.pos` (at least one).
    async fn read_at(&mut self, want: usize) -> Result<Bytes, FsError> {
        let name = &self.node.name;
        match &mut self.backing {
            Backing::Local(handle) => {
                let mut buf = BytesMut::zeroed(want);
                let n = handle.read(&mut buf).await.map_err(|e| {
                    warn!(file = %name, "read error on a local source: {e}");
                    FsError::GeneralFailure
                })?;
                buf.truncate(n);
                Ok(buf.freeze())
            }
            Backing::Torrent { streamer, reader } => {
                if reader.is_none() {
                    let opened = streamer.reader(&self.node, self.pos).await.map_err(|e| {
                        warn!(file = %name, "cannot stream from the torrent: {e}");
                        FsError::GeneralFailure
                    })?;
                    *reader = Some(Box::new(opened));
                }
                reader
                    .as_mut()
                    .expect("opened above")
                    .read(want)
                    .await
                    .map_err(|e| {
                        warn!(file = %name, pos = self.pos, "torrent read failed: {e}");
                        FsError::GeneralFailure
                    })
            }
            Backing::Memory(bytes) => {
                let at = (self.pos as usize).min(bytes.len());
                Ok(bytes.slice(at..(at + want).min(bytes.len())))
            }
            Backing::Http(stream) => stream.read(want).await.map_err(|e| {
                warn!(file = %name, pos = self.pos, "HTTP source read failed: {e}");
                FsError::GeneralFailure
            }),
        }
    }
}

impl DavFile for ShareFile {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta = Meta::of(&Node::File(self.node.clone()));
        async move { Ok(Box::new(meta) as Box<dyn DavMetaData>) }.boxed()
    }

    fn read_bytes(&mut self, count: usize) -> FsFuture<'_, Bytes> {
        async move {
            let want = (count as u64).min(self.node.size.saturating_sub(self.pos)) as usize;
            if want == 0 {
                return Ok(Bytes::new());
            }
            let data = self.read_at(want).await?;
            if data.is_empty() {
                // Shorter than recorded: fail rather than let dav-server pad zeros.
                warn!(file = %self.node.name, pos = self.pos, "source ended early");
                return Err(FsError::GeneralFailure);
            }
            if let Some(item) = self.node.item {
                self.plays
                    .read(item, self.node.size, self.pos, data.len() as u64);
            }
            self.pos += data.len() as u64;
            Ok(data)
        }
        .boxed()
    }

    fn seek(&mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        async move {
            let target = match pos {
                SeekFrom::Start(p) => Some(p),
                SeekFrom::End(d) => self.node.size.checked_add_signed(d),
                SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            }
            .filter(|p| *p <= self.node.size)
            .ok_or(FsError::GeneralFailure)?;
            match &mut self.backing {
                Backing::Local(handle) => {
                    handle
                        .seek(SeekFrom::Start(target))
                        .await
                        .map_err(|_| FsError::GeneralFailure)?;
                }
                Backing::Torrent {
                    reader: Some(reader),
                    ..
                } => {
                    reader
                        .seek(target)
                        .await
                        .map_err(|_| FsError::GeneralFailure)?;
                }
                Backing::Torrent { reader: None, .. } => {}
                Backing::Http(stream) => stream.seek(target),
                Backing::Memory(_) => {}
            }
            self.pos = target;
            Ok(target)
        }
        .boxed()
    }

    fn write_buf(&mut self, _buf: Box<dyn bytes::Buf + Send>) -> FsFuture<'_, ()> {
        async { Err(FsError::Forbidden) }.boxed()
    }

    fn write_bytes(&mut self, _buf: Bytes) -> FsFuture<'_, ()> {
        async { Err(FsError::Forbidden) }.boxed()
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        async { Ok(()) }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::{clamp_range, repeats_bytes, share_path};

    #[test]
    fn ranges_past_any_size_are_lowered() {
        assert_eq!(
            clamp_range("bytes=0-18446744073709551615").as_deref(),
            Some("bytes=0-4611686018427387904")
        );
        assert_eq!(
            clamp_range("bytes=-99999999999999999999").as_deref(),
            None,
            "not a number: left to dav-server's parser"
        );
        assert_eq!(
            clamp_range("bytes=9223372036854775807-").as_deref(),
            Some("bytes=4611686018427387904-")
        );
        assert_eq!(clamp_range("bytes=0-99"), None);
        assert_eq!(clamp_range("items=0-1"), None);
    }

    #[test]
    fn one_path_rule_for_every_method() {
        let p = |s: &str| share_path(s);
        assert_eq!(p("/").as_deref(), Some(""));
        assert_eq!(p("//Movies///x/").as_deref(), Some("/Movies/x"));
        assert_eq!(p("/TV%20Shows/A%3A%20B").as_deref(), Some("/TV Shows/A: B"));
        assert_eq!(p("/Movies/../Movies/x"), None);
        assert_eq!(p("/Movies/./x"), None);
        assert_eq!(p("/Movies/%2E%2E/x"), None);
        assert_eq!(p("/Movies/a%2Fb"), None);
        assert_eq!(p("/Movies/a%00b"), None);
        assert_eq!(p("/Movies/%FF"), None);
        // Dots inside a name are fine.
        assert_eq!(
            p("/Movies/A.B (1999)").as_deref(),
            Some("/Movies/A.B (1999)")
        );
    }

    #[test]
    fn ranges_that_could_repeat_bytes_are_spotted() {
        let r = |s: &str| repeats_bytes(s.as_bytes());
        // One range, however written, is served as asked.
        assert!(!r("bytes=0-"));
        assert!(!r("bytes=-500"));
        assert!(!r("bytes=100-199"));
        // Disjoint closed ranges are fine, in any order.
        assert!(!r("bytes=0-99, 200-299"));
        assert!(!r("bytes=200-299,0-99"));
        // Overlaps, touching ends, open ends among several, and floods are not.
        assert!(r("bytes=0-99,50-150"));
        assert!(r("bytes=0-99,99-150"));
        assert!(r("bytes=0-,0-"));
        assert!(r("bytes=0-99,-100"));
        assert!(r(&format!("bytes={}", vec!["0-0"; 17].join(","))));
        let many: Vec<String> = (0..17)
            .map(|i| format!("{}-{}", i * 10, i * 10 + 1))
            .collect();
        assert!(r(&format!("bytes={}", many.join(","))));
        // Not a byte range at all: left to dav-server.
        assert!(!r("items=0-1,0-1"));
    }
}
