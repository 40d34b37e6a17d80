//! Accepting connections without falling over: the descriptor limit raised at start, and a
//! back-off when `accept` fails.
//!
//! `accept` fails mostly with EMFILE/ENFILE (out of descriptors). The failed connection stays
//! in the kernel's queue, so retrying at once fails again at once: without a pause the loop
//! spins at 100 % CPU, floods the log and starves everything else (gRPC included). The pause
//! grows from 10 ms to 1 s while the errors go on, and the error is logged once, then at most
//! once a second with a count of the ones not shown.
use std::time::{Duration, Instant};

use futures_util::Stream;
use tracing::{info, warn};

const FIRST_PAUSE: Duration = Duration::from_millis(10);
const MAX_PAUSE: Duration = Duration::from_secs(1);
const LOG_EVERY: Duration = Duration::from_secs(1);

/// Raises the soft `RLIMIT_NOFILE` to the hard limit: every WebDAV connection, torrent peer
/// and piece file holds a descriptor, and the usual soft limit (1024) is far below what the
/// system allows. Returns the soft limit in force afterwards.
pub fn raise_descriptor_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        warn!(
            "cannot read the open-file limit: {}",
            std::io::Error::last_os_error()
        );
        return 1024;
    }
    let before = lim.rlim_cur;
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        } else {
            warn!(
                soft = before,
                hard = lim.rlim_max,
                "cannot raise the open-file limit: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    info!(
        before,
        now = lim.rlim_cur,
        hard = lim.rlim_max,
        "open-file limit"
    );
    lim.rlim_cur
}

/// The pause after a failed `accept`, and the log lines about it.
pub struct Backoff {
    what: &'static str,
    pause: Duration,
    last_log: Option<Instant>,
    unlogged: u64,
}

impl Backoff {
    pub fn new(what: &'static str) -> Backoff {
        Backoff {
            what,
            pause: FIRST_PAUSE,
            last_log: None,
            unlogged: 0,
        }
    }

    /// Logs the error (rate-limited) and returns how long to wait before accepting again.
    pub fn failed(&mut self, error: &std::io::Error) -> Duration {
        let now = Instant::now();
        if self.last_log.is_none_or(|t| now - t >= LOG_EVERY) {
            warn!(
                more = self.unlogged,
                retry_in_ms = self.pause.as_millis() as u64,
                "{} accept failed: {error}",
                self.what
            );
            self.last_log = Some(now);
            self.unlogged = 0;
        } else {
            self.unlogged += 1;
        }
        let pause = self.pause;
        self.pause = (self.pause * 2).min(MAX_PAUSE);
        pause
    }

    /// A connection was accepted: the next error starts from the short pause again.
    pub fn succeeded(&mut self) {
        self.pause = FIRST_PAUSE;
    }
}

/// A listener that can accept: tokio's TCP and Unix listeners.
pub trait Accept: Send + 'static {
    type Conn: Send + 'static;
    fn accept(&self) -> impl Future<Output = std::io::Result<Self::Conn>> + Send;
}

impl Accept for tokio::net::TcpListener {
    type Conn = tokio::net::TcpStream;
    async fn accept(&self) -> std::io::Result<Self::Conn> {
        let (stream, _) = tokio::net::TcpListener::accept(self).await?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

impl Accept for tokio::net::UnixListener {
    type Conn = tokio::net::UnixStream;
    async fn accept(&self) -> std::io::Result<Self::Conn> {
        Ok(tokio::net::UnixListener::accept(self).await?.0)
    }
}

/// The connections of `listener` as a stream for tonic, pausing after accept errors
/// instead of handing them on (tonic would retry at once, and spin).
pub fn incoming<L: Accept>(
    listener: L,
    what: &'static str,
) -> impl Stream<Item = std::io::Result<L::Conn>> {
    futures_util::stream::unfold(
        (listener, Backoff::new(what)),
        |(listener, mut backoff)| async move {
            loop {
                match listener.accept().await {
                    Ok(conn) => {
                        backoff.succeeded();
                        return Some((Ok(conn), (listener, backoff)));
                    }
                    Err(e) => tokio::time::sleep(backoff.failed(&e)).await,
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_to_a_second_and_reset_on_success() {
        let mut b = Backoff::new("test");
        let e = std::io::Error::from_raw_os_error(libc::EMFILE);
        let pauses: Vec<_> = (0..10).map(|_| b.failed(&e)).collect();
        assert_eq!(pauses[0], FIRST_PAUSE);
        assert!(pauses.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*pauses.last().unwrap(), MAX_PAUSE);
        // Only the first of these was logged; the rest are counted.
        assert_eq!(b.unlogged, 9);
        b.succeeded();
        assert_eq!(b.failed(&e), FIRST_PAUSE);
    }
}
