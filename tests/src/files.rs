//! A small web server of files for HTTP sources, written on plain sockets so a test can
//! make it misbehave exactly: answer ranges or not, cut a body off after some bytes, go
//! silent in the middle of one. HTTP/1.1 with keep-alive, one thread per connection.
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a path is served.
#[derive(Clone)]
pub struct Served {
    pub bytes: Arc<Vec<u8>>,
    pub content_type: &'static str,
    /// Answer `Range` with 206; false = always the whole file with 200.
    pub ranges: bool,
    /// A `Content-Encoding` to claim (the bytes are sent as they are).
    pub encoding: Option<&'static str>,
}

impl Served {
    pub fn video(bytes: Vec<u8>) -> Served {
        Served {
            bytes: Arc::new(bytes),
            content_type: "video/x-matroska",
            ranges: true,
            encoding: None,
        }
    }
}

#[derive(Default)]
struct Faults {
    /// The next this-many bodies are cut off after `cut_after` bytes.
    cuts: u64,
    cut_after: u64,
    /// The next this-many bodies stop sending after `cut_after` bytes, and hold the
    /// connection open.
    stalls: u64,
}

struct State {
    files: Mutex<HashMap<String, Served>>,
    faults: Mutex<Faults>,
    /// GET requests, and how many carried a `Range`.
    gets: AtomicU64,
    stopped: AtomicBool,
    /// Every request line and header seen, for tests that look for what was sent.
    seen: Mutex<Vec<String>>,
}

pub struct FileServer {
    /// `http://127.0.0.1:PORT`.
    pub root: String,
    state: Arc<State>,
    addr: std::net::SocketAddr,
}

impl FileServer {
    /// Serves `files` (path → how) until dropped. A path is matched without its query.
    pub fn start(files: Vec<(&str, Served)>) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind file server");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            files: Mutex::new(files.into_iter().map(|(p, s)| (p.to_string(), s)).collect()),
            faults: Mutex::new(Faults::default()),
            gets: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            seen: Mutex::new(Vec::new()),
        });
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || serve(conn, &st));
            }
        });
        FileServer {
            root: format!("http://{addr}"),
            state,
            addr,
        }
    }

    /// The next `count` bodies break off after `after` bytes (the connection is closed).
    pub fn cut_next(&self, count: u64, after: u64) {
        let mut f = self.state.faults.lock().unwrap();
        f.cuts = count;
        f.cut_after = after;
    }

    /// The next `count` bodies go silent after `after` bytes, connection held open.
    pub fn stall_next(&self, count: u64, after: u64) {
        let mut f = self.state.faults.lock().unwrap();
        f.stalls = count;
        f.cut_after = after;
    }

    /// Serves `path` another way from now on (an expired subscription's page, a new file).
    pub fn replace(&self, path: &str, served: Served) {
        self.state
            .files
            .lock()
            .unwrap()
            .insert(path.to_string(), served);
    }

    pub fn gets(&self) -> u64 {
        self.state.gets.load(Ordering::SeqCst)
    }

    /// Request lines and headers received so far.
    pub fn seen(&self) -> Vec<String> {
        self.state.seen.lock().unwrap().clone()
    }

    /// Stops accepting connections: new ones are refused.
    pub fn stop(&self) {
        self.state.stopped.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag and drops the listener.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(conn: TcpStream, st: &State) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || st.stopped.load(Ordering::SeqCst) {
            return;
        }
        let mut headers = HashMap::new();
        st.seen.lock().unwrap().push(line.trim().to_string());
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end().to_string();
            if h.is_empty() {
                break;
            }
            st.seen.lock().unwrap().push(h.clone());
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("/");
        let path = target.split('?').next().unwrap_or("/").to_string();
        let file = st.files.lock().unwrap().get(&path).cloned();
        let Some(file) = file else {
            let _ = out.write_all(
                b"HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\ncontent-length: 9\r\n\r\nnot found",
            );
            continue;
        };
        if method == "GET" {
            st.gets.fetch_add(1, Ordering::SeqCst);
        }
        let size = file.bytes.len() as u64;
        let range = headers
            .get("range")
            .filter(|_| file.ranges)
            .and_then(|r| parse_range(r, size));
        let (status, start, end) = match range {
            Some(Some((a, b))) => ("206 Partial Content", a, b + 1),
            Some(None) => {
                let _ = write!(
                    out,
                    "HTTP/1.1 416 Range Not Satisfiable\r\ncontent-range: bytes */{size}\r\ncontent-length: 0\r\n\r\n"
                );
                continue;
            }
            None => ("200 OK", 0, size),
        };
        let mut head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {}\r\ncontent-length: {}\r\n",
            file.content_type,
            end - start
        );
        if file.ranges {
            head.push_str("accept-ranges: bytes\r\n");
        }
        if let Some(e) = file.encoding {
            head.push_str(&format!("content-encoding: {e}\r\n"));
        }
        if status.starts_with("206") {
            head.push_str(&format!(
                "content-range: bytes {start}-{}/{size}\r\n",
                end - 1
            ));
        }
        head.push_str("\r\n");
        if out.write_all(head.as_bytes()).is_err() {
            return;
        }
        if method == "HEAD" {
            continue;
        }
        let (cut, stall, after) = {
            let mut f = st.faults.lock().unwrap();
            let after = f.cut_after;
            // A one-byte probe is never the body a fault is meant for.
            if end - start <= 1 {
                (false, false, after)
            } else if f.cuts > 0 {
                f.cuts -= 1;
                (true, false, after)
            } else if f.stalls > 0 {
                f.stalls -= 1;
                (false, true, after)
            } else {
                (false, false, after)
            }
        };
        let body = &file.bytes[start as usize..end as usize];
        if cut || stall {
            let n = (after as usize).min(body.len());
            let _ = out.write_all(&body[..n]);
            let _ = out.flush();
            if stall {
                std::thread::sleep(Duration::from_secs(600));
            }
            let _ = out.shutdown(Shutdown::Both);
            return;
        }
        if out.write_all(body).is_err() {
            return;
        }
    }
}

/// `bytes=A-B`, `bytes=A-`, `bytes=-N`: Some(Some((first, last))), Some(None) when it
/// cannot be satisfied; None when there is no single byte range.
fn parse_range(header: &str, size: u64) -> Option<Option<(u64, u64)>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (first, last) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (size.saturating_sub(n), size.checked_sub(1)?)
        }
        (a, "") => (a.parse().ok()?, size.checked_sub(1)?),
        (a, b) => (
            a.parse().ok()?,
            b.parse::<u64>().ok()?.min(size.checked_sub(1)?),
        ),
    };
    Some((first <= last && first < size).then_some((first, last)))
}
