//! Jobs: long operations run in the background, with progress and log lines kept in
//! SQLite, watchable, cancellable, and recorded after they end.
//!
//! - `model`: the types (kinds, states, progress, log lines) and what a restart does to
//!   each kind.
//! - `log`: the tracing layer that turns events inside a job's span into its log lines.
//!
//! One runner: every job is a task that waits for one of `jobs.concurrency` slots (a pin,
//! which downloads for long, for one of `DOWNLOADS` slots of its own), runs the
//! executor (the API layer decodes the request and calls the library), and records the end.
//! The runner knows nothing of what a job does; the executor knows nothing of queues.
//!
//! Cancelling is safe because every use-case fetches first and writes in one transaction:
//! a job is dropped at its next await, and nothing is stored. Just before it writes, a job
//! calls `JobCtx::commit`; from then on it can no longer be cancelled, and a cancel that
//! came first makes `commit` fail instead. Stopping momod does the same to every job, and
//! the next start applies `JobKind::on_restart` to what was left (also after a crash).
pub mod log;
pub mod model;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{Semaphore, broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, info, warn};

use crate::error::{Error, Result};
use crate::store::{JobEnd, Store};
use log::{LogEvent, LogMsg};
use model::{Job, JobError, JobFilter, JobKind, JobState, NewJob, OnRestart, Progress, Target};

/// Runs one job: the kind, the stored request, and the job's handle.
pub type Executor =
    Arc<dyn Fn(JobKind, Vec<u8>, JobCtx) -> BoxFuture<'static, Result<Outcome>> + Send + Sync>;

/// What a finished job leaves: the encoded reply, and what it turned out to work on.
pub struct Outcome {
    pub result: Vec<u8>,
    pub target: Option<Target>,
}

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Jobs running at once; the rest wait in the queue, in order.
    pub concurrency: usize,
    /// Ended jobs (and their lines) are deleted this long after they end.
    pub retention: Duration,
}

/// Download jobs (pins) running at once; more wait their turn.
const DOWNLOADS: usize = 2;

// The phases of a live job, moved by compare-and-swap so that cancel and commit race safely.
const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const COMMITTING: u8 = 2;
const CANCELLED: u8 = 3;
/// Stopped by a shutdown of momod.
const STOPPED: u8 = 4;
/// The work has returned; only the end is left to record.
const FINISHING: u8 = 5;

struct Live {
    phase: AtomicU8,
    cancel: CancellationToken,
    view: watch::Sender<Job>,
    updates: broadcast::Sender<Job>,
}

impl Live {
    fn modify(&self, f: impl FnOnce(&mut Job)) {
        self.view.send_modify(f);
        let _ = self.updates.send(self.view.borrow().clone());
    }
}

/// A job's handle on itself: progress, steps, and the point of no return.
#[derive(Clone)]
pub struct JobCtx {
    live: Option<Arc<Live>>,
}

impl JobCtx {
    /// The job's id (None outside a job).
    pub fn job_id(&self) -> Option<i64> {
        self.live.as_ref().map(|l| l.view.borrow().id)
    }

    /// Says what the job does now; also a log line of the job.
    pub fn step(&self, step: impl Into<String>) {
        let step = step.into();
        info!("{step}");
        if let Some(live) = &self.live {
            live.modify(|j| j.progress.step = step);
        }
    }

    pub fn progress(&self, done: u64, total: Option<u64>, unit: &str) {
        if let Some(live) = &self.live {
            live.modify(|j| {
                j.progress.done = done;
                j.progress.total = total;
                j.progress.unit = unit.to_string();
            });
        }
    }

    /// Called just before the job writes: from here on it runs to its end. Fails when the
    /// job was cancelled (or momod is stopping), so nothing is written.
    pub fn commit(&self) -> Result<()> {
        let Some(live) = &self.live else {
            return Ok(());
        };
        match live
            .phase
            .compare_exchange(RUNNING, COMMITTING, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => Ok(()),
            Err(STOPPED) => Err(interrupted()),
            Err(_) => Err(cancelled()),
        }
    }
}

fn cancelled() -> Error {
    Error::Cancelled("cancelled by request; nothing was stored".into())
}

fn interrupted() -> Error {
    Error::Unavailable(
        "interrupted: momod stopped while this job ran; nothing was stored, run it again".into(),
    )
}

#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    executor: Executor,
    slots: Arc<Semaphore>,
    /// The lane of download jobs (pins).
    download_slots: Arc<Semaphore>,
    live: Mutex<HashMap<i64, Arc<Live>>>,
    updates: broadcast::Sender<Job>,
    logs: broadcast::Sender<LogEvent>,
    log_tx: mpsc::Sender<LogMsg>,
    stopping: AtomicBool,
    tasks: TaskTracker,
}

impl Jobs {
    /// Starts the runner: the log writer, what the last run left (per `on_restart`), and
    /// pruning of old jobs (now and every hour).
    pub async fn start(store: Store, executor: Executor, settings: Settings) -> Result<Jobs> {
        let (log_tx, log_rx) = log::channel();
        let (logs, _) = broadcast::channel(1024);
        let (updates, _) = broadcast::channel(1024);
        let jobs = Jobs {
            inner: Arc::new(Inner {
                store: store.clone(),
                executor,
                slots: Arc::new(Semaphore::new(settings.concurrency.max(1))),
                download_slots: Arc::new(Semaphore::new(DOWNLOADS)),
                live: Mutex::new(HashMap::new()),
                updates,
                logs: logs.clone(),
                log_tx,
                stopping: AtomicBool::new(false),
                tasks: TaskTracker::new(),
            }),
        };
        tokio::spawn(log::writer(store.clone(), log_rx, logs));
        jobs.recover().await?;
        let pruner = jobs.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(3600));
            loop {
                every.tick().await;
                if pruner.inner.stopping.load(Ordering::SeqCst) {
                    return;
                }
                pruner.prune(settings.retention).await;
            }
        });
        Ok(jobs)
    }

    /// Applies `on_restart` to the jobs the last run left queued or running: whoever
    /// waited on them was told they did not finish.
    async fn recover(&self) -> Result<()> {
        for job in self.inner.store.unfinished_jobs().await? {
            if job.kind.on_restart() == OnRestart::Requeue {
                if job.state == JobState::Running {
                    self.inner.store.requeue_job(job.id).await?;
                    info!(
                        job = job.id,
                        kind = job.kind.as_str(),
                        "job interrupted by the last stop: queued again"
                    );
                }
                let job = self.inner.store.job(job.id).await?.unwrap_or(job);
                self.launch(job);
            } else {
                let error = error_of(&Error::Unavailable(format!(
                    "interrupted: momod stopped before this job ended (it was {}); its work is all \
                     or nothing, so check whether it happened and run it again if not",
                    job.state.as_str()
                )));
                self.inner
                    .store
                    .finish_job(
                        job.id,
                        JobEnd {
                            state: JobState::Failed,
                            target: None,
                            result: None,
                            error: Some(error),
                        },
                        job.progress.clone(),
                    )
                    .await?;
                info!(
                    job = job.id,
                    kind = job.kind.as_str(),
                    "job interrupted by the last stop: marked failed"
                );
            }
        }
        Ok(())
    }

    async fn prune(&self, retention: Duration) {
        let before = crate::store::unix_now() - retention.as_secs() as i64;
        match self.inner.store.prune_jobs(before).await {
            Ok(0) => {}
            Ok(n) => info!(jobs = n, "pruned old jobs"),
            Err(e) => warn!("pruning old jobs: {e}"),
        }
    }

    /// Creates and queues a job, or returns the active one with the same dedupe key.
    pub async fn submit(&self, new: NewJob) -> Result<Job> {
        if self.inner.stopping.load(Ordering::SeqCst) {
            return Err(Error::Unavailable(
                "momod is shutting down; start the job again once it is back".into(),
            ));
        }
        let (job, created) = self.inner.store.insert_job(new.clone()).await?;
        if !created {
            if self.live(job.id).is_some() {
                return Ok(self.current(job));
            }
            // Active in the table but not running here: its end was never recorded.
            let end = JobEnd {
                state: JobState::Failed,
                target: None,
                result: None,
                error: Some(error_of(&Error::Internal(
                    "lost: its end was never recorded".into(),
                ))),
            };
            self.inner
                .store
                .finish_job(job.id, end, job.progress.clone())
                .await?;
            return Box::pin(self.submit(new)).await;
        }
        let _ = self.inner.updates.send(job.clone());
        self.launch(job.clone());
        Ok(job)
    }

    fn launch(&self, job: Job) {
        let (view, _) = watch::channel(job.clone());
        let live = Arc::new(Live {
            phase: AtomicU8::new(QUEUED),
            cancel: CancellationToken::new(),
            view,
            updates: self.inner.updates.clone(),
        });
        self.inner
            .live
            .lock()
            .expect("jobs lock")
            .insert(job.id, live.clone());
        let inner = self.inner.clone();
        self.inner.tasks.spawn(drive(inner, live, job));
    }

    /// The live view of a job that is queued or running, else `job` as stored.
    fn current(&self, job: Job) -> Job {
        match self.live(job.id) {
            Some(live) => live.view.borrow().clone(),
            None => job,
        }
    }

    fn live(&self, id: i64) -> Option<Arc<Live>> {
        self.inner.live.lock().expect("jobs lock").get(&id).cloned()
    }

    pub async fn get(&self, id: i64) -> Result<Job> {
        if let Some(live) = self.live(id) {
            return Ok(live.view.borrow().clone());
        }
        self.inner
            .store
            .job(id)
            .await?
            .ok_or_else(|| job_not_found(id))
    }

    /// Newest first, older than job `before` (None: from the newest); running jobs with
    /// their live progress.
    pub async fn list(
        &self,
        filter: JobFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Job>> {
        let jobs = self.inner.store.jobs(filter, before, limit).await?;
        Ok(jobs
            .into_iter()
            .map(|j| {
                let mut j = self.current(j);
                j.result = None;
                j
            })
            .collect())
    }

    pub async fn active_count(&self) -> Result<u64> {
        self.inner.store.count_active_jobs().await
    }

    /// A receiver that sees every change of a live job, or None once it has ended.
    pub fn watch(&self, id: i64) -> Option<watch::Receiver<Job>> {
        self.live(id).map(|l| l.view.subscribe())
    }

    /// Every change of every job, as it happens.
    pub fn updates(&self) -> broadcast::Receiver<Job> {
        self.inner.updates.subscribe()
    }

    /// Log lines as they are stored, and the end of each job's lines.
    pub fn log_events(&self) -> broadcast::Receiver<LogEvent> {
        self.inner.logs.subscribe()
    }

    pub async fn logs(&self, id: i64, after: i64, limit: i64) -> Result<Vec<model::LogLine>> {
        self.inner.store.job_logs(id, after, limit).await
    }

    /// Waits for the job to end and returns it as it ended.
    pub async fn wait(&self, id: i64) -> Result<Job> {
        if let Some(mut rx) = self.watch(id) {
            // The sender goes when the job has ended and left the live map.
            let _ = rx.wait_for(|j| j.state.has_ended()).await;
        }
        self.get(id).await
    }

    /// Cancels a queued or running job and waits (a few seconds at most) for it to stop.
    pub async fn cancel(&self, id: i64) -> Result<Job> {
        let Some(live) = self.live(id) else {
            let job = self.get(id).await?;
            return Err(Error::FailedPrecondition(format!(
                "job {id} has already ended ({}); there is nothing to cancel",
                job.state.as_str()
            )));
        };
        let mut phase = live.phase.load(Ordering::SeqCst);
        loop {
            match phase {
                QUEUED | RUNNING => match live.phase.compare_exchange(
                    phase,
                    CANCELLED,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                ) {
                    Ok(_) => break,
                    Err(now) => phase = now,
                },
                COMMITTING | FINISHING => {
                    return Err(Error::FailedPrecondition(format!(
                        "job {id} is already writing its result and can no longer be cancelled"
                    )));
                }
                _ => break,
            }
        }
        live.cancel.cancel();
        let mut rx = live.view.subscribe();
        let _ = tokio::time::timeout(
            Duration::from_secs(10),
            rx.wait_for(|j| j.state.has_ended()),
        )
        .await;
        drop(rx);
        self.get(id).await
    }

    /// At shutdown: no new jobs, queued ones stop at once, running ones
    /// get `grace` to finish and are then stopped (one writing its result finishes it).
    /// The next start applies `on_restart` to what was stopped.
    pub async fn stop(&self, grace: Duration) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.stop_phase(QUEUED);
        self.inner.tasks.close();
        if tokio::time::timeout(grace, self.inner.tasks.wait())
            .await
            .is_ok()
        {
            return;
        }
        self.stop_phase(RUNNING);
        if tokio::time::timeout(Duration::from_secs(5), self.inner.tasks.wait())
            .await
            .is_err()
        {
            warn!("jobs still writing after the grace period: left to the next start");
        }
    }

    /// Stops every live job in `phase`.
    fn stop_phase(&self, phase: u8) {
        let live: Vec<Arc<Live>> = self
            .inner
            .live
            .lock()
            .expect("jobs lock")
            .values()
            .cloned()
            .collect();
        for l in live {
            if l.phase
                .compare_exchange(phase, STOPPED, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                l.cancel.cancel();
            }
        }
    }
}

fn job_not_found(id: i64) -> Error {
    Error::NotFound(format!("no job {id} (see `momoctl jobs --all`)"))
}

fn error_of(e: &Error) -> JobError {
    JobError {
        code: e.code_name().to_string(),
        message: e.to_string(),
    }
}

/// One job from the queue to its end.
async fn drive(inner: Arc<Inner>, live: Arc<Live>, job: Job) {
    let id = job.id;
    let span = tracing::info_span!(log::JOB_SPAN, job_id = id, kind = job.kind.as_str());
    let slots = if job.kind.is_download() {
        &inner.download_slots
    } else {
        &inner.slots
    };
    let permit = tokio::select! {
        permit = slots.clone().acquire_owned() => permit.ok(),
        () = live.cancel.cancelled() => None,
    };
    let started = permit.is_some()
        && live
            .phase
            .compare_exchange(QUEUED, RUNNING, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
    let outcome = if started {
        run(&inner, &live, &job).instrument(span.clone()).await
    } else {
        Err(cancelled())
    };
    drop(permit);
    // From here a cancel is refused: the outcome is what it is.
    for from in [RUNNING, COMMITTING] {
        let _ = live
            .phase
            .compare_exchange(from, FINISHING, Ordering::SeqCst, Ordering::SeqCst);
    }
    let phase = live.phase.load(Ordering::SeqCst);
    let end = match outcome {
        Ok(o) => JobEnd {
            state: JobState::Done,
            target: o.target,
            result: Some(o.result),
            error: None,
        },
        // Stopped by a shutdown: the next start decides, as after a crash. A job that never
        // started stays queued; one that ran is left running for `recover`.
        Err(_) if phase == STOPPED => {
            inner.live.lock().expect("jobs lock").remove(&id);
            let _ = inner.log_tx.send(LogMsg::End(id)).await;
            return;
        }
        Err(e) if phase == CANCELLED => JobEnd {
            state: JobState::Cancelled,
            target: None,
            result: None,
            error: Some(error_of(&match e {
                Error::Cancelled(_) => e,
                _ => cancelled(),
            })),
        },
        Err(e) => JobEnd {
            state: JobState::Failed,
            target: None,
            result: None,
            error: Some(error_of(&e)),
        },
    };
    span.in_scope(|| match (&end.state, &end.error) {
        (JobState::Done, _) => info!("done"),
        (state, Some(e)) => info!("{}: {}", state.as_str(), e.message),
        (state, None) => info!("{}", state.as_str()),
    });
    let progress = live.view.borrow().progress.clone();
    let state = end.state;
    let (target, result, error) = (end.target, end.result.clone(), end.error.clone());
    // A database that is busy for a moment must not leave the job `running` for good.
    let mut recorded = inner
        .store
        .finish_job(id, end.clone(), progress.clone())
        .await;
    for _ in 0..3 {
        if recorded.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        recorded = inner
            .store
            .finish_job(id, end.clone(), progress.clone())
            .await;
    }
    match recorded {
        Ok(at) => live.modify(|j| {
            j.state = state;
            j.finished_at = Some(at);
            j.result = result;
            j.error = error;
            if target.is_some() {
                j.target = target;
            }
        }),
        Err(e) => warn!(job = id, "cannot record the end of a job: {e}"),
    }
    inner.live.lock().expect("jobs lock").remove(&id);
    let _ = inner.log_tx.send(LogMsg::End(id)).await;
}

/// Runs the executor, saving progress every second, until it ends or is cancelled.
async fn run(inner: &Inner, live: &Arc<Live>, job: &Job) -> Result<Outcome> {
    let started_at = inner.store.start_job(job.id).await?;
    live.modify(|j| {
        j.state = JobState::Running;
        j.started_at = Some(started_at);
    });
    info!("started: {}", job.summary);
    let payload = inner.store.job_payload(job.id).await?;
    let ctx = JobCtx {
        live: Some(live.clone()),
    };
    let work = (inner.executor)(job.kind, payload, ctx);
    tokio::pin!(work);
    let mut saved = Progress::default();
    let mut every = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            outcome = &mut work => return outcome,
            () = live.cancel.cancelled(), if live.phase.load(Ordering::SeqCst) != COMMITTING => {
                return Err(cancelled());
            }
            _ = every.tick() => {
                let now = live.view.borrow().progress.clone();
                if now != saved {
                    if let Err(e) = inner.store.job_progress(job.id, now.clone()).await {
                        warn!("cannot save job progress: {e}");
                    }
                    saved = now;
                }
            }
        }
    }
}
