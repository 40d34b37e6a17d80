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
//!   after it, up to `stream.readahead_max_mb`; they follow the latest reader, and only once
//!   its own 32 MiB are on disk (librqbit serves all windows in turn, so an earlier further
//!   window would slow the pieces the reader needs next).
//! - **What nobody reads is not fetched.** A file is selected (downloaded in the
//!   background) only while a player reads it; `reuse_idle_s` after its last reader it is
//!   deselected and its windows close.
//! - **Background never outranks a player.** Warm-ups (next episode, prefetch on assign)
//!   park their streams whenever a player's read has waited more than `WAITING`.
//! - **Next episode.** Once an episode is read past 70 %, the next one in library order
//!   gets its head and tail fetched, even in another torrent.
//! - **The disk budget.** With `torrent.cache_max_mb` set, torrents nobody reads and then
//!   pieces nobody is reading are evicted whenever the torrents on disk exceed it (see
//!   `budget`); a read that reaches evicted data heals the torrent and reads on.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::watch;
use tracing::{debug, info, warn};

pub mod http;

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
/// A player's read that has waited this long may be on a file left unselected near the
/// disk budget: it is selected until the read returns (`Engine::unstall`).
const STALLED: Duration = Duration::from_secs(2);
/// Parked streams kept per file, for players that open several ranges at once.
const PARKED_PER_FILE: usize = 4;
/// How often parked streams, idle files and the disk budget are looked at.
const TICK: Duration = Duration::from_secs(1);
/// Read past this share of an episode, the next one is warmed up.
const NEXT_AT: f64 = 0.7;
/// A piece read this recently is not evicted (a player may read it again at once)...
const READ_PROTECT: Duration = Duration::from_secs(2);
/// ...nor one fetched this recently and not read yet: it is some reader's window.
const FETCH_PROTECT: Duration = Duration::from_secs(30);

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
    pub http_timeout: Duration,
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
            http_timeout: Duration::from_secs(stream.http_timeout_s),
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
            SourceFile::Local { .. } | SourceFile::Http { .. } => None,
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
    evicted_torrents: AtomicU64,
    evicted_bytes: AtomicU64,
}

/// For `momoctl status`.
#[derive(Debug, Clone, Copy)]
pub struct PlaybackStats {
    /// Bytes the torrents take on disk, and the budget (0 = none).
    pub cache_used: u64,
    pub cache_max: u64,
    pub streams_opened: u64,
    pub streams_reused: u64,
    pub evicted_torrents: u64,
    /// Freed by evicting torrents and pieces.
    pub evicted_bytes: u64,
}

pub struct Streamer {
    engine: Arc<Engine>,
    settings: Settings,
    files: Mutex<HashMap<FileKey, FileState>>,
    /// Players' reads waiting on the swarm right now.
    waiting: watch::Sender<usize>,
    counters: Counters,
    /// HTTP(S) sources' streams.
    pub http: Arc<http::Http>,
}

impl Streamer {
    /// `pin_dir`: where pinned HTTP sources are downloaded.
    pub fn new(
        engine: Arc<Engine>,
        settings: Settings,
        pin_dir: std::path::PathBuf,
    ) -> Result<Arc<Streamer>> {
        let http = http::Http::new(settings.http_timeout, settings.reuse_idle, pin_dir)?;
        Ok(Arc::new(Streamer {
            engine,
            settings,
            files: Mutex::new(HashMap::new()),
            waiting: watch::Sender::new(0),
            counters: Counters::default(),
            http,
        }))
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
            let current = self.engine.generation(&target.info_hash);
            f.parked.retain(|(r, _)| r.generation() == current);
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
            .await?
            .unplayed();
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
            // librqbit interleaves every stream's window: further windows would take turns
            // with the pieces this reader needs next. They wait until its own is complete.
            let near_done = !f.windows.is_empty()
                && self
                    .engine
                    .has_range(&t.info_hash, t.index, pos..pos + ENGINE_WINDOW);
            for (k, w) in f.windows.iter_mut().enumerate() {
                let at = pos + ENGINE_WINDOW * (k as u64 + 1);
                if near_done && at < t.size {
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
                // Opened parked: the next read places it once the reader's window is done.
                let opened = this
                    .engine
                    .open(&t.info_hash, &t.magnet, t.index, at)
                    .await
                    .map(|w| {
                        let mut w = w.unplayed();
                        w.park();
                        w
                    });
                let mut files = this.files.lock().expect("stream lock");
                if let Some(f) = files.get_mut(&t.key()) {
                    f.windows_opening = f.windows_opening.saturating_sub(1);
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
        // No player left: the read-ahead windows stop fetching too (the next reader places
        // them again), so nothing holds the engine's idle rate off.
        if f.active == 0 {
            for w in &mut f.windows {
                w.park();
            }
        }
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
            self.http.expire();
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
                // Evicted pieces are still announced to peers, who get disconnected when
                // they ask for one: once nobody plays a torrent, it is healed.
                let played = self.played();
                for hash in self.engine.unhealed() {
                    if !played.contains(&hash)
                        && let Err(e) = self.engine.heal(&hash).await
                    {
                        warn!(%hash, "cannot check the torrent again: {e}");
                    }
                }
            }
        }
        // Streams go before the engine stops.
        self.files.lock().expect("stream lock").clear();
    }

    /// Keeps the torrents on disk within `cache_max`. Near it (80 %), files stop being
    /// selected, so only what streams ask for is fetched. Over it, down to a little under
    /// (so it is not crossed again at once): first whole torrents nobody has open, least
    /// recently read first; then single pieces, the least recently played first, then
    /// those never played, the most recently fetched first. Pieces just read
    /// (`READ_PROTECT`) stay, and so do unplayed ones of torrents being played and ones
    /// fetched in the last `FETCH_PROTECT`: that is what readers are on and what was
    /// fetched for them.
    async fn budget(&self) {
        let max = self.settings.cache_max;
        let engine = self.engine.clone();
        let Ok(mut usage) = tokio::task::spawn_blocking(move || engine.disk_usage()).await else {
            return;
        };
        // Pinned files are kept whatever the budget: they do not count against it.
        let pinned = self.engine.pinned_bytes();
        let mut total: u64 = usage
            .iter()
            .map(|u| u.disk_bytes)
            .sum::<u64>()
            .saturating_sub(pinned);
        self.engine.set_frugal(total > max / 10 * 8).await;
        if total <= max {
            return;
        }
        let target = max - (max / 20).min(64 * MIB);
        // Torrents players are on (or were a moment ago) stay, even between two streams
        // (a heal reopening one).
        let played = self.played();
        usage.retain(|u| u.open_streams == 0 && u.disk_bytes > 0 && !played.contains(&u.info_hash));
        usage.sort_by_key(|u| u.last_read);
        for u in usage {
            if total <= target {
                return;
            }
            match self.engine.evict(&u.info_hash).await {
                Ok(true) => {
                    total = total.saturating_sub(u.disk_bytes);
                    self.counters
                        .evicted_torrents
                        .fetch_add(1, Ordering::Relaxed);
                    self.counters
                        .evicted_bytes
                        .fetch_add(u.disk_bytes, Ordering::Relaxed);
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
        let engine = self.engine.clone();
        let Ok(mut pieces) = tokio::task::spawn_blocking(move || engine.piece_candidates()).await
        else {
            return;
        };
        let (read_protect, fetch_protect) = (
            READ_PROTECT.as_secs() as u32,
            FETCH_PROTECT.as_secs() as u32,
        );
        // Unplayed pieces of a torrent being played are what its readers' windows fetched
        // for them: evicting them would only have librqbit fetch them again.
        pieces.retain(|p| match p.read_age {
            Some(age) => age >= read_protect,
            None => {
                !played.contains(&p.info_hash) && p.write_age.is_none_or(|age| age >= fetch_protect)
            }
        });
        // Played ones, longest ago first; then unplayed ones, the most recently fetched
        // first: a reader going forward reaches those last (the oldest fetched are the
        // next it plays).
        pieces.sort_by_key(|p| match p.read_age {
            Some(age) => (0, u32::MAX - age),
            None => (1, p.write_age.unwrap_or(u32::MAX)),
        });
        let mut chosen: HashMap<InfoHash, (Vec<usize>, u64)> = HashMap::new();
        let mut freed = 0;
        for p in pieces {
            if total.saturating_sub(freed) <= target {
                break;
            }
            freed += p.bytes;
            let entry = chosen.entry(p.info_hash).or_default();
            entry.0.push(p.piece);
            entry.1 += p.bytes;
        }
        for (hash, (list, bytes)) in chosen {
            let count = list.len();
            let engine = self.engine.clone();
            let evicting = hash.clone();
            let evicted =
                tokio::task::spawn_blocking(move || engine.evict_pieces(&evicting, &list)).await;
            match evicted.unwrap_or_else(|e| Err(crate::error::Error::Internal(e.to_string()))) {
                Ok(()) => {
                    self.counters
                        .evicted_bytes
                        .fetch_add(bytes, Ordering::Relaxed);
                    debug!(%hash, pieces = count, "pieces evicted from the disk cache");
                }
                Err(e) => warn!(%hash, "cannot evict pieces: {e}"),
            }
        }
    }

    /// Torrents players are on, or were a moment ago.
    fn played(&self) -> Vec<InfoHash> {
        self.files
            .lock()
            .expect("stream lock")
            .keys()
            .map(|(h, _)| h.clone())
            .collect()
    }

    /// After a read failed on an evicted piece, or on a torrent that was added back since
    /// the reader opened: heals the torrent if it needs it and forgets the streams kept
    /// on it (they read the old one).
    async fn recover(&self, t: &Target) -> Result<()> {
        self.engine.heal(&t.info_hash).await?;
        let mut files = self.files.lock().expect("stream lock");
        for ((hash, _), f) in files.iter_mut() {
            if *hash == t.info_hash {
                f.parked.clear();
                f.windows.clear();
            }
        }
        Ok(())
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
            evicted_torrents: self.counters.evicted_torrents.load(Ordering::Relaxed),
            evicted_bytes: self.counters.evicted_bytes.load(Ordering::Relaxed),
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
    /// Reads up to `max` bytes. A read that reached evicted data, or a torrent added back
    /// under it, heals the torrent and is tried once more on a new stream.
    pub async fn read(&mut self, max: usize) -> std::io::Result<Bytes> {
        match self.read_once(max).await {
            Err(e) if self.stale(&e) => {
                let pos = self.inner.as_ref().map(|r| r.position()).unwrap_or(0);
                debug!(hash = %self.target.info_hash, pos, "reopening after: {e}");
                self.inner = None;
                let t = &self.target;
                self.streamer
                    .recover(t)
                    .await
                    .map_err(std::io::Error::other)?;
                let reader = self
                    .streamer
                    .engine
                    .open(&t.info_hash, &t.magnet, t.index, pos)
                    .await
                    .map_err(std::io::Error::other)?;
                self.inner = Some(reader);
                self.failed = false;
                self.read_once(max).await
            }
            r => r,
        }
    }

    /// Whether a failed read failed because its stream outlived its data.
    fn stale(&self, e: &std::io::Error) -> bool {
        let Some(reader) = &self.inner else {
            return false;
        };
        e.to_string().contains(crate::torrent::cache::EVICTED)
            || self.streamer.engine.generation(&self.target.info_hash) != reader.generation()
    }

    async fn read_once(&mut self, max: usize) -> std::io::Result<Bytes> {
        let Some(reader) = self.inner.as_mut() else {
            return Err(std::io::Error::other(
                "the stream could not be opened again",
            ));
        };
        let result = {
            let read = reader.read(max);
            tokio::pin!(read);
            tokio::select! {
                r = &mut read => r,
                _ = tokio::time::sleep(WAITING) => {
                    let _waiting = Waiting::new(&self.streamer.waiting);
                    // Every `STALLED` it waits, the file is selected if it is not (another
                    // reader's stall may have ended and deselected it).
                    let (engine, t) = (&self.streamer.engine, &self.target);
                    let mut selected = false;
                    let r = loop {
                        tokio::select! {
                            r = &mut read => break r,
                            _ = tokio::time::sleep(STALLED) => {
                                selected |= engine.unstall(&t.info_hash, t.index).await;
                            }
                        }
                    };
                    if selected {
                        engine.restall(&t.info_hash, t.index).await;
                    }
                    r
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
        match self.inner.as_mut() {
            Some(reader) => reader.seek(pos).await,
            None => Err(std::io::Error::other(
                "the stream could not be opened again",
            )),
        }
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
