//! The streaming path between the share and the torrent engine: what a player's reads make
//! the engine fetch, and what is kept for the next read.
//!
//! - **Reuse.** A player's next range request usually starts where its last one ended. A
//!   stream a response has finished with is parked (moved to the end of its file, where
//!   librqbit's priority window is empty, so it fetches nothing) and handed to the next
//!   request that starts at its position: no new stream, no re-seek, no slot wait. Parked
//!   streams close after `stream.reuse_idle_s`.
//! - **Head and tail.** The first open of a file fetches its first `stream.head_mb` and last
//!   `stream.tail_mb` at once, beside the reader: players probe both ends before playing.
//!   `prefetch_on_assign` does the same right after an assignment, in the background.
//! - **Read-ahead.** librqbit fetches 32 MiB after every stream first. When a file is read
//!   faster than that covers for `stream.readahead_s` seconds, more windows are placed
//!   after it, up to `stream.readahead_max_mb`; they follow the latest reader.
//! - **What nobody reads is not fetched.** A file is selected (downloaded in the
//!   background) only while a player reads it; `reuse_idle_s` after its last reader it is
//!   deselected and its windows close.
//! - **Background never outranks a player.** Warm-ups (next episode, prefetch on assign)
//!   park their streams whenever a player's read has waited more than `WAITING`.
//! - **Next episode.** Once an episode is read past 70 %, the next one in library order
//!   gets its head and tail fetched, even in another torrent.
//! - **The disk budget.** With `torrent.cache_max_mb` set, torrents nobody reads are evicted,
//!   least recently read first, whenever the torrents on disk exceed it (see `budget`).
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::error::{Error, Result};
use crate::library::model::SourceFile;
use crate::torrent::{Engine, InfoHash, Reader};
use crate::vfs::{FileNode, NextFile};

const MIB: u64 = 1024 * 1024;
/// What librqbit fetches ahead of every stream by itself.
const ENGINE_WINDOW: u64 = 32 * MIB;
/// The read-ahead never goes below this.
const READAHEAD_MIN: u64 = 16 * MIB;
/// A player's read that has waited this long is waiting on the swarm: warm-ups step aside.
const WAITING: Duration = Duration::from_millis(50);
/// Parked streams kept per file, for players that open several ranges at once.
const PARKED_PER_FILE: usize = 4;
/// How often parked streams, idle files and the disk budget are looked at.
const TICK: Duration = Duration::from_secs(1);
/// Read past this share of an episode, the next one is warmed up.
const NEXT_AT: f64 = 0.7;

#[derive(Debug, Clone)]
pub struct Settings {
    pub head: u64,
    pub tail: u64,
    pub prefetch_on_assign: bool,
    pub readahead: Duration,
    pub readahead_max: u64,
    pub reuse_idle: Duration,
    pub warm_next: bool,
    /// Bytes; 0 = unbounded.
    pub cache_max: u64,
}

impl Settings {
    pub fn from_config(stream: &crate::config::StreamConfig, cache_max_mb: u64) -> Settings {
        Settings {
            head: stream.head_mb * MIB,
            tail: stream.tail_mb * MIB,
            prefetch_on_assign: stream.prefetch_on_assign,
            readahead: Duration::from_secs(stream.readahead_s),
            readahead_max: stream.readahead_max_mb * MIB,
            reuse_idle: Duration::from_secs(stream.reuse_idle_s),
            warm_next: stream.warm_next,
            cache_max: cache_max_mb * MIB,
        }
    }
}

/// One file of a torrent, as the share knows it.
#[derive(Debug, Clone)]
pub struct Target {
    pub info_hash: InfoHash,
    pub magnet: String,
    pub index: usize,
    pub size: u64,
}

impl Target {
    pub fn of(file: &SourceFile, size: u64) -> Option<Target> {
        match file {
            SourceFile::Torrent {
                info_hash,
                magnet,
                index,
                ..
            } => Some(Target {
                info_hash: info_hash.clone(),
                magnet: magnet.clone(),
                index: *index,
                size,
            }),
            SourceFile::Local { .. } => None,
        }
    }

    fn key(&self) -> FileKey {
        (self.info_hash.clone(), self.index)
    }
}

type FileKey = (InfoHash, usize);

/// What the streamer knows of one file being played.
struct FileState {
    /// Players' readers open on it now.
    active: usize,
    last_active: Instant,
    /// Streams responses finished with, by position.
    parked: Vec<(Reader, Instant)>,
    /// Head and tail fetched (or being fetched) since its first open.
    warmed: bool,
    next_warmed: bool,
    rate: Rate,
    /// Read-ahead windows beyond the engine's own, following the latest reader.
    windows: Vec<Reader>,
    windows_opening: usize,
}

impl FileState {
    fn new() -> FileState {
        FileState {
            active: 0,
            last_active: Instant::now(),
            parked: Vec::new(),
            warmed: false,
            next_warmed: false,
            rate: Rate::default(),
            windows: Vec::new(),
            windows_opening: 0,
        }
    }
}

/// Bytes per second read from a file, smoothed over a few seconds.
#[derive(Default)]
struct Rate {
    since: Option<Instant>,
    bytes: u64,
    per_s: f64,
}

impl Rate {
    fn add(&mut self, n: u64, now: Instant) {
        let since = *self.since.get_or_insert(now);
        self.bytes += n;
        let elapsed = now.duration_since(since).as_secs_f64();
        if elapsed >= 2.0 {
            let sample = self.bytes as f64 / elapsed;
            self.per_s = if self.per_s == 0.0 {
                sample
            } else {
                0.5 * self.per_s + 0.5 * sample
            };
            self.since = Some(now);
            self.bytes = 0;
        }
    }
}

/// Since start: streams opened for players, player reads that found a parked stream at
/// their position, torrents evicted.
#[derive(Debug, Default)]
struct Counters {
    opened: AtomicU64,
    reused: AtomicU64,
    evicted: AtomicU64,
}

/// For `momoctl status`.
#[derive(Debug, Clone, Copy)]
pub struct PlaybackStats {
    /// Bytes the torrents take on disk, and the budget (0 = none).
    pub cache_used: u64,
    pub cache_max: u64,
    pub streams_opened: u64,
    pub streams_reused: u64,
    pub evictions: u64,
}

pub struct Streamer {
    engine: Arc<Engine>,
    settings: Settings,
    files: Mutex<HashMap<FileKey, FileState>>,
    /// Players' reads waiting on the swarm right now.
    waiting: watch::Sender<usize>,
    counters: Counters,
}

impl Streamer {
    pub fn new(engine: Arc<Engine>, settings: Settings) -> Arc<Streamer> {
        Arc::new(Streamer {
            engine,
            settings,
            files: Mutex::new(HashMap::new()),
            waiting: watch::Sender::new(0),
            counters: Counters::default(),
        })
    }

    /// A reader for a player at `offset` of `node`'s torrent file: a parked stream at that
    /// position if there is one, else a new one. The first open of a file also fetches its
    /// head and tail.
    pub async fn reader(self: &Arc<Self>, node: &FileNode, offset: u64) -> Result<PlayReader> {
        let target = Target::of(&node.file, node.size)
            .ok_or_else(|| Error::Internal("not a torrent file".into()))?;
        let key = target.key();
        let (reused, first_open) = {
            let mut files = self.files.lock().expect("stream lock");
            let f = files.entry(key.clone()).or_insert_with(FileState::new);
            f.active += 1;
            f.last_active = Instant::now();
            let reused = f
                .parked
                .iter()
                .position(|(r, _)| r.position() == offset)
                .map(|i| f.parked.swap_remove(i).0);
            (reused, !std::mem::replace(&mut f.warmed, true))
        };
        // From here the reader counts as active; the guard undoes it if opening fails.
        let mut play = PlayReader {
            inner: None,
            target: target.clone(),
            next: node.next.clone(),
            streamer: self.clone(),
            failed: false,
        };
        if first_open && (self.settings.head > 0 || self.settings.tail > 0) {
            let this = self.clone();
            let t = target.clone();
            tokio::spawn(async move {
                if let Err(e) = this.prefetch(&t, Priority::Player).await {
                    debug!(hash = %t.info_hash, index = t.index, "head/tail prefetch stopped: {e}");
                }
            });
        }
        let reader = match reused {
            Some(r) => {
                self.counters.reused.fetch_add(1, Ordering::Relaxed);
                r
            }
            None => {
                let r = self
                    .engine
                    .open(&target.info_hash, &target.magnet, target.index, offset)
                    .await?;
                self.counters.opened.fetch_add(1, Ordering::Relaxed);
                r
            }
        };
        play.inner = Some(reader);
        Ok(play)
    }

    /// Fetches the head and tail of assigned files (in order) in the background, then lets
    /// their torrents go back to idle if nobody started reading meanwhile.
    pub fn prefetch_assigned(self: &Arc<Self>, targets: Vec<Target>) {
        if !self.settings.prefetch_on_assign || targets.is_empty() {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            for t in &targets {
                match this.prefetch(t, Priority::Background).await {
                    Ok(()) => {
                        info!(hash = %t.info_hash, index = t.index, "head and tail prefetched")
                    }
                    Err(e) => warn!(hash = %t.info_hash, index = t.index, "prefetch stopped: {e}"),
                }
                this.settle(t).await;
            }
        });
    }

    /// After a background prefetch: unless players are on the file, it is deselected and
    /// its torrent goes back to idle.
    async fn settle(&self, t: &Target) {
        // A file players have open, or had moments ago, is the maintenance loop's.
        let played = self
            .files
            .lock()
            .expect("stream lock")
            .contains_key(&t.key());
        if !played {
            self.engine.deselect(&t.info_hash, t.index).await;
            self.engine.pause_if_unread(&t.info_hash).await;
        }
    }

    /// Fetches the first `head` and last `tail` bytes of a file.
    async fn prefetch(&self, target: &Target, priority: Priority) -> Result<()> {
        let head = self.settings.head.min(target.size);
        let tail_start = target.size.saturating_sub(self.settings.tail).max(head);
        for range in [0..head, tail_start..target.size] {
            if !range.is_empty() {
                self.fetch(target, range, priority).await?;
            }
        }
        Ok(())
    }

    /// Waits until `range` of the file is on disk, through a stream of its own whose
    /// priority window fetches it; a background fetch steps aside while a player waits.
    async fn fetch(
        &self,
        t: &Target,
        range: std::ops::Range<u64>,
        priority: Priority,
    ) -> Result<()> {
        if self.engine.has_range(&t.info_hash, t.index, range.clone()) {
            return Ok(());
        }
        let mut reader = self
            .engine
            .open(&t.info_hash, &t.magnet, t.index, range.start)
            .await?;
        let (piece, file_offset) = self
            .engine
            .piece_layout(&t.info_hash, t.index)
            .ok_or_else(|| Error::Unavailable("torrent has no metadata".into()))?;
        let piece = piece.max(1);
        let mut waiting = self.waiting.subscribe();
        let mut pos = range.start;
        while pos < range.end {
            if priority == Priority::Background && *waiting.borrow_and_update() > 0 {
                reader.park();
                // A closed channel means the streamer is gone: stop.
                if waiting.wait_for(|n| *n == 0).await.is_err() {
                    return Ok(());
                }
                continue;
            }
            reader.seek(pos).await.map_err(io_error)?;
            // One byte per piece: a read returns once its piece is on disk.
            let read = reader.read(1);
            let done = if priority == Priority::Background {
                tokio::select! {
                    r = read => Some(r),
                    _ = waiting.wait_for(|n| *n > 0) => None,
                }
            } else {
                Some(read.await)
            };
            match done {
                // On to the next piece boundary, in file coordinates.
                Some(Ok(b)) if !b.is_empty() => {
                    pos = ((file_offset + pos) / piece + 1) * piece - file_offset
                }
                Some(Ok(_)) => break,
                Some(Err(e)) => return Err(io_error(e)),
                None => continue,
            }
        }
        Ok(())
    }

    /// Bookkeeping after a player read `n` bytes ending at `pos`: the rate, the read-ahead
    /// windows, and the next episode's warm-up.
    fn after_read(self: &Arc<Self>, t: &Target, next: &Option<NextFile>, pos: u64, n: usize) {
        let now = Instant::now();
        let (want_windows, open_more, warm_next) = {
            let mut files = self.files.lock().expect("stream lock");
            let Some(f) = files.get_mut(&t.key()) else {
                return;
            };
            f.last_active = now;
            f.rate.add(n as u64, now);
            let ahead = ((f.rate.per_s * self.settings.readahead.as_secs_f64()) as u64).clamp(
                READAHEAD_MIN,
                self.settings.readahead_max.max(READAHEAD_MIN),
            );
            let want = ahead.saturating_sub(ENGINE_WINDOW).div_ceil(ENGINE_WINDOW) as usize;
            f.windows.truncate(want);
            for (k, w) in f.windows.iter_mut().enumerate() {
                let at = pos + ENGINE_WINDOW * (k as u64 + 1);
                if at < t.size {
                    w.place(at);
                } else {
                    w.park();
                }
            }
            let open_more = want.saturating_sub(f.windows.len() + f.windows_opening);
            f.windows_opening += open_more;
            let warm_next = self.settings.warm_next
                && next.is_some()
                && !f.next_warmed
                && pos as f64 >= t.size as f64 * NEXT_AT;
            if warm_next {
                f.next_warmed = true;
            }
            (want, open_more, warm_next)
        };
        for k in 0..open_more {
            let this = self.clone();
            let t = t.clone();
            tokio::spawn(async move {
                // Placed roughly; the next read puts every window where it belongs.
                let at =
                    (pos + ENGINE_WINDOW * (want_windows - open_more + k + 1) as u64).min(t.size);
                let opened = this.engine.open(&t.info_hash, &t.magnet, t.index, at).await;
                let mut files = this.files.lock().expect("stream lock");
                if let Some(f) = files.get_mut(&t.key()) {
                    f.windows_opening -= 1;
                    if let Ok(w) = opened {
                        f.windows.push(w);
                    }
                }
            });
        }
        if warm_next && let Some(next) = next.as_ref().and_then(|n| Target::of(&n.file, n.size)) {
            let this = self.clone();
            tokio::spawn(async move {
                debug!(hash = %next.info_hash, index = next.index, "warming up the next episode");
                if let Err(e) = this.prefetch(&next, Priority::Background).await {
                    debug!(hash = %next.info_hash, "next episode warm-up stopped: {e}");
                }
                this.settle(&next).await;
            });
        }
    }

    /// Takes back a player's stream when its response is done.
    fn give_back(&self, t: &Target, reader: Option<Reader>) {
        let mut files = self.files.lock().expect("stream lock");
        let Some(f) = files.get_mut(&t.key()) else {
            return;
        };
        f.active = f.active.saturating_sub(1);
        f.last_active = Instant::now();
        if let Some(mut r) = reader
            && r.position() < r.len()
            && !self.settings.reuse_idle.is_zero()
        {
            r.park();
            f.parked.push((r, Instant::now()));
            if f.parked.len() > PARKED_PER_FILE {
                // The oldest goes first.
                let oldest = f
                    .parked
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, (_, since))| *since)
                    .map(|(i, _)| i)
                    .unwrap_or(0);
                f.parked.swap_remove(oldest);
            }
        }
    }

    /// Closes what idle files hold (parked streams, windows, the selection) and keeps the
    /// disk under budget, until shutdown.
    pub async fn maintain(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut last_budget = Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = shutdown.wait_for(|s| *s) => break,
            }
            let idle: Vec<FileKey> = {
                let mut files = self.files.lock().expect("stream lock");
                let reuse = self.settings.reuse_idle;
                for f in files.values_mut() {
                    f.parked.retain(|(_, since)| since.elapsed() < reuse);
                }
                let idle: Vec<FileKey> = files
                    .iter()
                    .filter(|(_, f)| {
                        f.active == 0 && f.windows_opening == 0 && f.last_active.elapsed() >= reuse
                    })
                    .map(|(k, _)| k.clone())
                    .collect();
                // Their streams close with them. A later open prefetches again, which costs
                // nothing when the head and tail are still on disk.
                for k in &idle {
                    files.remove(k);
                }
                idle
            };
            for (hash, index) in idle {
                self.engine.deselect(&hash, index).await;
            }
            if self.settings.cache_max > 0 && last_budget.elapsed() >= Duration::from_secs(2) {
                last_budget = Instant::now();
                self.budget().await;
            }
        }
        // Streams go before the engine stops.
        self.files.lock().expect("stream lock").clear();
    }

    /// Evicts torrents nobody reads, least recently read first, until the torrents on disk
    /// fit `cache_max`. A torrent being read is never evicted, so one file larger than the
    /// budget can take the disk over it while it is played (librqbit cannot drop pieces of
    /// a torrent it holds).
    async fn budget(&self) {
        let engine = self.engine.clone();
        let Ok(mut usage) = tokio::task::spawn_blocking(move || engine.disk_usage()).await else {
            return;
        };
        let mut total: u64 = usage.iter().map(|u| u.disk_bytes).sum();
        if total <= self.settings.cache_max {
            return;
        }
        usage.retain(|u| u.open_streams == 0 && u.disk_bytes > 0);
        usage.sort_by_key(|u| u.last_read);
        for u in usage {
            if total <= self.settings.cache_max {
                break;
            }
            match self.engine.evict(&u.info_hash).await {
                Ok(true) => {
                    total = total.saturating_sub(u.disk_bytes);
                    self.counters.evicted.fetch_add(1, Ordering::Relaxed);
                    info!(
                        hash = %u.info_hash,
                        freed_mb = u.disk_bytes / MIB,
                        "torrent evicted from the disk cache (torrent.cache_max_mb); the next read fetches it again"
                    );
                    // Its head and tail are gone: the next open fetches them again.
                    let mut files = self.files.lock().expect("stream lock");
                    files.retain(|(h, _), _| *h != u.info_hash);
                }
                Ok(false) => {}
                Err(e) => warn!(hash = %u.info_hash, "cannot evict: {e}"),
            }
        }
    }

    /// The disk cache against its budget, and how streams were served.
    pub async fn stats(&self) -> PlaybackStats {
        let engine = self.engine.clone();
        let cache_used = tokio::task::spawn_blocking(move || {
            engine.disk_usage().iter().map(|u| u.disk_bytes).sum()
        })
        .await
        .unwrap_or(0);
        PlaybackStats {
            cache_used,
            cache_max: self.settings.cache_max,
            streams_opened: self.counters.opened.load(Ordering::Relaxed),
            streams_reused: self.counters.reused.load(Ordering::Relaxed),
            evictions: self.counters.evicted.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Priority {
    /// Part of serving a player: never steps aside.
    Player,
    /// Warm-ups: step aside while a player waits.
    Background,
}

fn io_error(e: std::io::Error) -> Error {
    Error::Unavailable(format!("torrent read: {e}"))
}

/// A player's stream on one file. Dropping it (the response ended, or the player hung up)
/// parks the stream for the next range.
pub struct PlayReader {
    inner: Option<Reader>,
    target: Target,
    next: Option<NextFile>,
    streamer: Arc<Streamer>,
    failed: bool,
}

impl PlayReader {
    pub async fn read(&mut self, max: usize) -> std::io::Result<Bytes> {
        let reader = self.inner.as_mut().expect("opened");
        let result = {
            let read = reader.read(max);
            tokio::pin!(read);
            tokio::select! {
                r = &mut read => r,
                _ = tokio::time::sleep(WAITING) => {
                    let _waiting = Waiting::new(&self.streamer.waiting);
                    read.await
                }
            }
        };
        match &result {
            Ok(b) => {
                let pos = reader.position();
                self.streamer
                    .after_read(&self.target, &self.next, pos, b.len());
            }
            Err(_) => self.failed = true,
        }
        result
    }

    pub async fn seek(&mut self, pos: u64) -> std::io::Result<()> {
        self.inner.as_mut().expect("opened").seek(pos).await
    }
}

impl Drop for PlayReader {
    fn drop(&mut self) {
        let reader = self.inner.take().filter(|_| !self.failed);
        self.streamer.give_back(&self.target, reader);
    }
}

/// Counts a player's read as waiting for as long as it lives.
struct Waiting<'a>(&'a watch::Sender<usize>);

impl<'a> Waiting<'a> {
    fn new(count: &'a watch::Sender<usize>) -> Waiting<'a> {
        count.send_modify(|n| *n += 1);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}
