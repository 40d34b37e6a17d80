//! Pinning sources to disk: a movie or an episode downloaded whole (a torrent's file, or an
//! HTTP source) so it plays with the swarm or the server gone. The download is a job that
//! resumes after a restart (a torrent keeps its pieces; an HTTP file resumes by range).
//! Pinned data is never evicted by the disk budget. A pin belongs to one assignment: when
//! the item's source is replaced or detached the pin goes, and `sweep_pins` lets its data go.
use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::Library;
use super::model::{Item, Pin, PinState, SourceFile};
use crate::error::{Error, Result};
use crate::jobs::JobCtx;
use crate::torrent::InfoHash;

/// How often a torrent pin's progress is looked at.
const POLL: Duration = Duration::from_secs(1);
/// A torrent pin that gains nothing for this long fails (pinning again resumes it).
const STALLED: Duration = Duration::from_secs(30 * 60);

impl Library {
    /// Pins the item's active source (a pin of it already there is returned; a failed one
    /// starts over). The download itself is `download_pin`, run as a job.
    pub async fn pin(&self, item: Item) -> Result<Pin> {
        let a = self.store.active_source(item).await?.ok_or_else(|| {
            Error::FailedPrecondition(format!("{item} has no source to pin: assign one first"))
        })?;
        if let SourceFile::Local { path } = &a.file {
            return Err(Error::FailedPrecondition(format!(
                "{item} plays the local file {path}: it is on disk already"
            )));
        }
        let pin = self.store.pin(a.id).await?;
        let pin = self.with_progress(pin).await;
        let needed = pin.size.saturating_sub(pin.done);
        if let Some(free) = crate::stream::http::free_bytes(self.streamer.http.pin_dir())
            && free < needed
            && pin.state != PinState::Done
        {
            let why = format!(
                "{item} needs {needed} more bytes on disk and the data dir has {free} free"
            );
            // Nothing downloaded: no pin. Part of it kept: the pin waits, failed, for room.
            if pin.done == 0 {
                self.store.unpin(a.id).await?;
            } else {
                self.store.finish_pin(a.id, Some(why.clone())).await?;
            }
            return Err(Error::FailedPrecondition(why));
        }
        Ok(pin)
    }

    /// The pin of an assignment, with its progress; NotFound when it has none.
    pub async fn pin_of(&self, assignment: i64) -> Result<Pin> {
        let pin = self.store.pin_of(assignment).await?.ok_or_else(|| {
            Error::NotFound(format!(
                "source {assignment} is not pinned (see `momoctl pins`)"
            ))
        })?;
        Ok(self.with_progress(pin).await)
    }

    /// Records the job downloading a pin.
    pub async fn set_pin_job(&self, assignment: i64, job: i64) -> Result<()> {
        self.store.set_pin_job(assignment, job).await
    }

    /// Removes the item's pin. Its data is let go by `release_pin`, once its job has
    /// stopped. NotFound when the item is not pinned.
    pub async fn unpin(&self, item: Item) -> Result<Pin> {
        let not_pinned = || Error::NotFound(format!("{item} is not pinned (see `momoctl pins`)"));
        let a = self
            .store
            .active_source(item)
            .await?
            .ok_or_else(not_pinned)?;
        let pin = self.store.unpin(a.id).await?.ok_or_else(not_pinned)?;
        Ok(self.with_progress(pin).await)
    }

    /// Lets an unpinned pin's data go (a torrent's pieces may be evicted again; an HTTP
    /// copy is deleted), unless another pin holds the same file (two items on one URL).
    pub async fn release_pin(&self, pin: &Pin) -> Result<()> {
        let shared = self.store.pins().await?.iter().any(|p| p.file == pin.file);
        if !shared {
            self.release(&pin.file, pin.size).await;
        }
        Ok(())
    }

    /// Every pin, with its progress.
    pub async fn pins(&self) -> Result<Vec<Pin>> {
        let mut out = Vec::new();
        for p in self.store.pins().await? {
            out.push(self.with_progress(p).await);
        }
        Ok(out)
    }

    /// The job of a pin: downloads the source whole, then marks the pin done. A failure
    /// marks it failed (with why); an unpin meanwhile ends it.
    pub async fn download_pin(&self, assignment: i64, ctx: &JobCtx) -> Result<Pin> {
        let gone = || {
            Error::FailedPrecondition(format!(
                "assignment {assignment} is no longer pinned (unpinned, or its item got another source)"
            ))
        };
        let pin = self.store.pin_of(assignment).await?.ok_or_else(gone)?;
        if pin.state == PinState::Done && self.on_disk(&pin).await >= pin.size {
            // Torrent pins are marked in the engine again (after a restart).
            if let SourceFile::Torrent { .. } = &pin.file {
                self.fetch_pinned(&pin, ctx).await?;
            }
            return Ok(self.with_progress(pin).await);
        }
        ctx.step(format!(
            "downloading {} ({} bytes)",
            pin.file.path(),
            pin.size
        ));
        let fetched = match &pin.file {
            SourceFile::Torrent { .. } => self.fetch_pinned(&pin, ctx).await,
            SourceFile::Http { url, .. } => {
                let size = pin.size;
                let download = self
                    .streamer
                    .http
                    .download(url, size, |n| ctx.progress(n, Some(size), "bytes"));
                tokio::select! {
                    r = download => r.map_err(|e| {
                        Error::Unavailable(format!("pin of {}: {e}", pin.file.path()))
                    }),
                    // Its source replaced or unpinned: the download stops.
                    () = self.pin_gone(assignment) => return Err(gone()),
                }
            }
            SourceFile::Local { .. } => Ok(()),
        };
        if self.store.pin_of(assignment).await?.is_none() {
            return Err(gone());
        }
        ctx.commit()?;
        self.store
            .finish_pin(assignment, fetched.as_ref().err().map(|e| e.to_string()))
            .await?;
        fetched?;
        let pin = self.store.pin_of(assignment).await?.ok_or_else(gone)?;
        Ok(self.with_progress(pin).await)
    }

    /// Returns once the assignment's pin is gone (looked at every few seconds).
    async fn pin_gone(&self, assignment: i64) {
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if matches!(self.store.pin_of(assignment).await, Ok(None)) {
                return;
            }
        }
    }

    /// Keeps a torrent's file pinned in the engine until all of it is on disk.
    async fn fetch_pinned(&self, pin: &Pin, ctx: &JobCtx) -> Result<()> {
        let SourceFile::Torrent {
            info_hash,
            magnet,
            index,
            ..
        } = &pin.file
        else {
            return Ok(());
        };
        let mut best = (0, Instant::now());
        loop {
            // Unpinned, or its source replaced: stop before pinning it in the engine again.
            if self.store.pin_of(pin.assignment_id).await?.is_none() {
                return Ok(());
            }
            let (done, size) = self.engine.pin(info_hash, magnet, *index).await?;
            ctx.progress(done, Some(size), "bytes");
            if done >= size {
                return Ok(());
            }
            if done > best.0 {
                best = (done, Instant::now());
            } else if best.1.elapsed() > STALLED {
                return Err(Error::DeadlineExceeded(format!(
                    "no piece of {} came for {} minutes ({done} of {size} bytes on disk); \
                     pin it again to go on",
                    pin.file.path(),
                    STALLED.as_secs() / 60
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Bytes of a pin on disk now.
    async fn on_disk(&self, pin: &Pin) -> u64 {
        match &pin.file {
            SourceFile::Torrent {
                info_hash, index, ..
            } => self
                .engine
                .file_progress(info_hash, *index)
                .map(|(done, _)| done)
                .unwrap_or(0),
            SourceFile::Http { url, .. } => self.streamer.http.pin_progress(url, pin.size),
            SourceFile::Local { .. } => pin.size,
        }
    }

    async fn with_progress(&self, mut pin: Pin) -> Pin {
        pin.done = self.on_disk(&pin).await;
        // A download whose job ended without finishing (cancelled by hand) stopped: the
        // pin says so rather than "downloading" for ever.
        if pin.state == PinState::Downloading
            && let Some(job) = pin.job_id
            && let Ok(found) = self.store.job(job).await
            && found.is_none_or(|j| j.state.has_ended())
        {
            pin.state = PinState::Failed;
            pin.error = Some(format!(
                "its download (job {job}) stopped before the end (cancelled, or it failed: see `momoctl job get {job}`); `momoctl pin {} {}` resumes it",
                pin.item.kind().as_str(),
                pin.item.id()
            ));
        }
        pin.share_path = self
            .share_path_of(pin.item)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        pin
    }

    async fn release(&self, file: &SourceFile, size: u64) {
        match file {
            SourceFile::Torrent {
                info_hash, index, ..
            } => self.engine.unpin(info_hash, *index).await,
            SourceFile::Http { url, .. } => self.streamer.http.drop_pin(url, size),
            SourceFile::Local { .. } => {}
        }
    }

    /// At start: marks the finished torrent pins in the engine again, so the disk budget
    /// keeps them (pins still downloading come back with their jobs), and lets go of what
    /// pins gone since left on disk.
    pub async fn restore_pins(&self) -> Result<()> {
        for pin in self.store.pins().await? {
            if let (
                PinState::Done,
                SourceFile::Torrent {
                    info_hash,
                    magnet,
                    index,
                    ..
                },
            ) = (pin.state, &pin.file)
                && let Err(e) = self.engine.pin(info_hash, magnet, *index).await
            {
                tracing::warn!(hash = %info_hash, index, "pinned file not restored: {e}");
            }
        }
        self.sweep_pins().await
    }

    /// Sweeps after every library write, until shutdown.
    pub async fn keep_pins(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut changes = self.store.subscribe();
        loop {
            tokio::select! {
                r = changes.changed() => if r.is_err() { return },
                _ = shutdown.wait_for(|s| *s) => return,
            }
            // Writes come in bursts (an import): one sweep after them.
            tokio::time::sleep(Duration::from_secs(1)).await;
            changes.mark_unchanged();
            if let Err(e) = self.sweep_pins().await {
                tracing::warn!("pinned data not swept: {e}");
            }
        }
    }

    /// Lets go of pinned data whose pin is gone (the item got another source, was detached
    /// or removed): files it pinned in the engine, HTTP copies on disk.
    pub async fn sweep_pins(&self) -> Result<()> {
        // What is on disk and in the engine first, the pins after: a pin made in between
        // is in the list, so its new files are kept.
        let dir = self.streamer.http.pin_dir().to_path_buf();
        let on_disk = tokio::task::spawn_blocking(move || {
            std::fs::read_dir(&dir)
                .map(|entries| entries.flatten().map(|e| e.path()).collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .await
        .unwrap_or_default();
        let engine_pins = self.engine.pinned_files();
        let pins = self.store.pins().await?;
        let torrents: HashSet<(InfoHash, usize)> = pins
            .iter()
            .filter_map(|p| match &p.file {
                SourceFile::Torrent {
                    info_hash, index, ..
                } => Some((info_hash.clone(), *index)),
                _ => None,
            })
            .collect();
        for (hash, index) in engine_pins {
            if !torrents.contains(&(hash.clone(), index)) {
                self.engine.unpin(&hash, index).await;
            }
        }
        let keep: HashSet<std::path::PathBuf> = pins
            .iter()
            .filter_map(|p| match &p.file {
                SourceFile::Http { url, .. } => Some((url.as_str(), p.size)),
                _ => None,
            })
            .flat_map(|(url, size)| {
                let (done, part) = self.streamer.http.pin_paths(url, size);
                [done, part]
            })
            .collect();
        let stale: Vec<_> = on_disk.into_iter().filter(|p| !keep.contains(p)).collect();
        let deleted = tokio::task::spawn_blocking(move || {
            stale
                .iter()
                .filter(|p| std::fs::remove_file(p).is_ok())
                .count()
        })
        .await
        .unwrap_or(0);
        if deleted > 0 {
            tracing::info!(files = deleted, "deleted pinned copies whose pin is gone");
        }
        Ok(())
    }
}
