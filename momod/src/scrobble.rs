//! Scrobbling from the share's reads: a playback session is inferred from the reads of one
//! item's video, and told to Trakt as start, pause and stop with the progress; past 80 % a
//! stop marks the item watched (kept locally too, for `trakt history`).
//!
//! - **What a player looks like.** Reads that keep coming (no gap of `pause_after`) for
//!   `start_after` make a session; a thumbnailer or a probe (the head, the tail, a few MiB)
//!   stops before that and is never told. The position is the end of the latest read that
//!   belongs to a run of sequential reads of some size (`run_min`), so a tail probe in the
//!   middle of playback does not move it.
//! - **Pause and stop.** No reads for `pause_after` pauses the session; reads again resume
//!   it (a new start); no reads for `stop_after` stops it.
//! - **Never in a read's way.** The share only `try_send`s a small event; the tracker and
//!   the calls to Trakt (one a second at most, 429 and failures waited out) run apart.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use crate::library::model::Item;
use crate::store::{Store, TmdbRef};
use crate::trakt::{LastScrobble, Scrobble, Trakt};

/// Past this progress a stop is a watch.
pub const WATCHED_AT: f64 = 80.0;
/// Sessions kept at once (a share read by many players).
const MAX_SESSIONS: usize = 64;
/// Waits between tries of a scrobble Trakt did not take (down, 5xx, rate limit).
const RETRY_WAITS: [Duration; 3] = [
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::ZERO,
];
/// Runs of sequential reads remembered per session.
const RUNS: usize = 4;

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub start_after: Duration,
    pub pause_after: Duration,
    pub stop_after: Duration,
    /// A file read at a rate that would read it whole in less than this is being copied
    /// (or transcoded, or downloaded whole by a client), not played.
    pub min_runtime: Duration,
}

/// The share's side: tells the tracker of each read of a video, never waiting.
#[derive(Clone)]
pub struct Plays {
    tx: Option<mpsc::Sender<ReadEvent>>,
}

#[derive(Debug, Clone, Copy)]
struct ReadEvent {
    item: Item,
    size: u64,
    at: u64,
    len: u64,
    when: Instant,
}

impl Plays {
    /// Scrobbling off: reads are not looked at.
    pub fn off() -> Plays {
        Plays { tx: None }
    }

    pub fn read(&self, item: Item, size: u64, at: u64, len: u64) {
        if let Some(tx) = &self.tx {
            // A full queue drops the event: a read is never held up for it.
            let _ = tx.try_send(ReadEvent {
                item,
                size,
                at,
                len,
                when: Instant::now(),
            });
        }
    }
}

/// What a session tells Trakt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    Start(f64),
    Pause(f64),
    Stop(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reads seen since `since`, not long enough to be playback yet.
    Probing {
        since: Instant,
    },
    Playing,
    Paused,
    /// Read too fast to be playback: never told (again) until it goes quiet.
    Copy,
}

#[derive(Debug, Clone, Copy)]
struct Run {
    end: u64,
    bytes: u64,
}

/// One item's playback, as its reads show it.
#[derive(Debug)]
struct Session {
    size: u64,
    state: State,
    /// The first read of this burst of reading, and the bytes read since.
    first_read: Instant,
    bytes: u64,
    last_read: Instant,
    runs: Vec<Run>,
    position: u64,
}

impl Session {
    fn new(size: u64, now: Instant) -> Session {
        Session {
            size,
            state: State::Probing { since: now },
            first_read: now,
            bytes: 0,
            last_read: now,
            runs: Vec::new(),
            position: 0,
        }
    }

    /// A run this long reads like playback: 8 MiB, or 2 % of a small file.
    fn run_min(&self) -> u64 {
        (8 * 1024 * 1024).min(self.size / 50).max(1)
    }

    fn progress(&self) -> f64 {
        if self.size == 0 {
            return 0.0;
        }
        ((self.position as f64 * 1000.0 / self.size as f64).round() / 10.0).clamp(0.0, 100.0)
    }

    fn on_read(&mut self, at: u64, len: u64, now: Instant, s: &Settings) -> Option<Action> {
        if now.duration_since(self.last_read) >= s.pause_after
            && let State::Probing { .. } = self.state
        {
            // A new burst after a quiet spell: its own probe.
            self.state = State::Probing { since: now };
            self.runs.clear();
            self.first_read = now;
            self.bytes = 0;
        }
        self.last_read = now;
        self.bytes += len;
        let run = match self.runs.iter().position(|r| r.end == at) {
            Some(i) => {
                let mut r = self.runs.remove(i);
                r.end = at + len;
                r.bytes += len;
                r
            }
            None => Run {
                end: at + len,
                bytes: len,
            },
        };
        self.runs.push(run);
        if self.runs.len() > RUNS {
            self.runs.remove(0);
        }
        let playback_run = run.bytes >= self.run_min();
        if playback_run {
            self.position = run.end.min(self.size);
        }
        let copying = self.copying(now, s);
        match self.state {
            State::Probing { since } if now.duration_since(since) >= s.start_after && copying => {
                self.state = State::Copy;
                None
            }
            State::Probing { since }
                if now.duration_since(since) >= s.start_after && self.position > 0 =>
            {
                self.state = State::Playing;
                Some(Action::Start(self.progress()))
            }
            // Caught copying after it looked like playback: the playback ends, unwatched.
            State::Playing if copying => {
                self.state = State::Copy;
                Some(Action::Pause(self.progress()))
            }
            // A single read (a scanner touching the file) does not resume a playback.
            State::Paused if playback_run => {
                self.state = State::Playing;
                Some(Action::Start(self.progress()))
            }
            _ => None,
        }
    }

    /// Whether the reads so far would read the whole file in less than `min_runtime`.
    fn copying(&self, now: Instant, s: &Settings) -> bool {
        let elapsed = now.duration_since(self.first_read).as_secs_f64();
        if elapsed < 1.0 || self.bytes == 0 {
            return false;
        }
        let rate = self.bytes as f64 / elapsed;
        (self.size as f64 / rate) < s.min_runtime.as_secs_f64()
    }

    /// Time passing: (an action, whether the session is over).
    fn tick(&mut self, now: Instant, s: &Settings) -> (Option<Action>, bool) {
        let idle = now.duration_since(self.last_read);
        match self.state {
            State::Probing { .. } | State::Copy => (None, idle >= s.pause_after),
            State::Playing if idle >= s.pause_after => {
                self.state = State::Paused;
                (Some(Action::Pause(self.progress())), false)
            }
            State::Paused if idle >= s.stop_after => (Some(Action::Stop(self.progress())), true),
            _ => (None, false),
        }
    }
}

/// Starts the tracker and its sender (with scrobbling on); the share's handle.
pub fn start(
    on: bool,
    settings: Settings,
    store: Store,
    trakt: Arc<Trakt>,
    shutdown: watch::Receiver<bool>,
) -> Plays {
    if !on {
        return Plays::off();
    }
    let (tx, rx) = mpsc::channel(1024);
    let (out_tx, out_rx) = mpsc::channel(256);
    tokio::spawn(track(rx, out_tx, settings, shutdown.clone()));
    tokio::spawn(send(out_rx, store, trakt, shutdown));
    Plays { tx: Some(tx) }
}

/// Turns reads into actions, until shutdown.
async fn track(
    mut rx: mpsc::Receiver<ReadEvent>,
    out: mpsc::Sender<(Item, Action)>,
    settings: Settings,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut sessions: HashMap<Item, Session> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        let mut actions = Vec::new();
        tokio::select! {
            read = rx.recv() => {
                let Some(r) = read else { return };
                if !sessions.contains_key(&r.item) && sessions.len() >= MAX_SESSIONS {
                    continue;
                }
                let session = sessions
                    .entry(r.item)
                    .or_insert_with(|| Session::new(r.size, r.when));
                // Another source (another size) under the same item: a new session.
                if session.size != r.size {
                    *session = Session::new(r.size, r.when);
                }
                if let Some(a) = session.on_read(r.at, r.len, r.when, &settings) {
                    actions.push((r.item, a));
                }
            }
            _ = tick.tick() => {
                let now = Instant::now();
                sessions.retain(|item, s| {
                    let (action, over) = s.tick(now, &settings);
                    if let Some(a) = action {
                        actions.push((*item, a));
                    }
                    !over
                });
            }
            _ = shutdown.wait_for(|s| *s) => return,
        }
        for a in actions {
            debug!(item = %a.0, action = ?a.1, "playback inferred from reads");
            if out.try_send(a).is_err() {
                warn!("scrobbles are backing up: one dropped");
            }
        }
    }
}

/// Tells Trakt, one call a second at most, and records watches; until shutdown.
async fn send(
    mut rx: mpsc::Receiver<(Item, Action)>,
    store: Store,
    trakt: Arc<Trakt>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (item, action) = tokio::select! {
            a = rx.recv() => match a { Some(a) => a, None => return },
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let (name, progress) = match action {
            Action::Start(p) => ("start", p),
            Action::Pause(p) => ("pause", p),
            Action::Stop(p) => ("stop", p),
        };
        let watched = matches!(action, Action::Stop(p) if p >= WATCHED_AT);
        let what = match store.tmdb_ref(item).await {
            Ok(TmdbRef::Movie(Some(id))) => Some(Scrobble::Movie(id)),
            Ok(TmdbRef::Episode(Some(show), season, number)) => {
                Some(Scrobble::Episode(show, season, number))
            }
            Ok(_) => None,
            Err(e) => {
                debug!(%item, "scrobble dropped: {e}");
                continue;
            }
        };
        let mut synced = false;
        match (&what, trakt.account().await) {
            (Some(what), Some(_)) => {
                // Trakt down or busy: tried again a little later (this task only waits;
                // reads never do). A watch that never gets there stays for `history --sync`.
                for (attempt, wait) in RETRY_WAITS.iter().enumerate() {
                    match trakt.scrobble(name, what, progress).await {
                        Ok(answer) => {
                            synced = watched && answer == "scrobble";
                            info!(%item, action = name, progress, "scrobbled to Trakt");
                            break;
                        }
                        Err(e @ crate::error::Error::Unavailable(_))
                        | Err(e @ crate::error::Error::ResourceExhausted(_))
                            if attempt + 1 < RETRY_WAITS.len() =>
                        {
                            debug!(%item, action = name, "scrobble failed, trying again: {e}");
                            tokio::time::sleep(*wait).await;
                        }
                        Err(e) => {
                            warn!(%item, action = name, "not scrobbled to Trakt: {e}");
                            break;
                        }
                    }
                }
            }
            (None, _) => debug!(%item, "no TMDB id: not scrobbled"),
            (_, None) => debug!(%item, "not signed in to Trakt: not scrobbled"),
        }
        if watched && let Err(e) = store.add_watch(item, progress, synced).await {
            warn!(%item, "watch not recorded: {e}");
        }
        trakt.note_scrobble(LastScrobble {
            item,
            action: name,
            progress,
            at: crate::store::unix_now(),
        });
        // Trakt takes one write a second per user.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn settings() -> Settings {
        Settings {
            start_after: Duration::from_secs(10),
            pause_after: Duration::from_secs(5),
            stop_after: Duration::from_secs(60),
            min_runtime: Duration::from_secs(600),
        }
    }

    #[test]
    fn a_copy_is_never_a_watch() {
        let s = settings();
        let t0 = Instant::now();
        let size = 1000 * MIB;
        let mut session = Session::new(size, t0);
        let mut actions = Vec::new();
        // 100 MiB a second: the whole file in 10 s.
        for sec in 0..10u64 {
            actions.extend(session.on_read(
                sec * 100 * MIB,
                100 * MIB,
                t0 + Duration::from_secs(sec + 1),
                &s,
            ));
        }
        for later in [6, 70] {
            actions.extend(session.tick(t0 + Duration::from_secs(10 + later), &s).0);
        }
        assert!(actions.is_empty(), "{actions:?}");
    }

    #[test]
    fn a_player_starts_pauses_and_stops_with_its_progress() {
        let s = settings();
        let t0 = Instant::now();
        // 4000 MiB read at 2 MiB/s: over half an hour of playback.
        let size = 4000 * MIB;
        let mut session = Session::new(size, t0);
        let mut actions = Vec::new();
        // The probe: head and tail.
        session.on_read(0, MIB, t0, &s);
        session.on_read(size - MIB, MIB, t0, &s);
        // Then playback, 2 MiB a second from the start, for a minute, with a seek to 600 MiB.
        let mut at = MIB;
        for sec in 0..60u64 {
            if sec == 30 {
                at = 600 * MIB;
            }
            if let Some(a) = session.on_read(at, 2 * MIB, t0 + Duration::from_secs(sec + 1), &s) {
                actions.push(a);
            }
            at += 2 * MIB;
        }
        let end = t0 + Duration::from_secs(60);
        for later in [3, 6, 30, 70] {
            let (a, _) = session.tick(end + Duration::from_secs(later), &s);
            actions.extend(a);
        }
        assert_eq!(actions.len(), 3, "{actions:?}");
        assert!(
            matches!(actions[0], Action::Start(p) if (0.4..0.8).contains(&p)),
            "{actions:?}"
        );
        // 600 MiB + 30 × 2 MiB of 4000 MiB.
        assert_eq!(actions[1], Action::Pause(16.5));
        assert_eq!(actions[2], Action::Stop(16.5));
    }

    #[test]
    fn a_thumbnailer_is_never_told() {
        let s = settings();
        let t0 = Instant::now();
        let mut session = Session::new(1000 * MIB, t0);
        for i in 0..4 {
            assert_eq!(
                session.on_read(i * MIB, MIB, t0 + Duration::from_millis(i * 200), &s),
                None
            );
        }
        let (a, over) = session.tick(t0 + Duration::from_secs(8), &s);
        assert_eq!((a, over), (None, true));
    }

    #[test]
    fn reads_after_a_pause_resume() {
        let s = settings();
        let t0 = Instant::now();
        let mut session = Session::new(1000 * MIB, t0);
        for sec in 0..12u64 {
            session.on_read(sec * MIB, MIB, t0 + Duration::from_secs(sec), &s);
        }
        assert_eq!(session.state, State::Playing);
        let (a, _) = session.tick(t0 + Duration::from_secs(20), &s);
        assert_eq!(a, Some(Action::Pause(1.2)));
        let a = session.on_read(12 * MIB, MIB, t0 + Duration::from_secs(25), &s);
        assert_eq!(a, Some(Action::Start(1.3)));
    }
}
