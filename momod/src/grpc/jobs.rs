//! `JobService`, and what each job does: a job's payload is its `StartJobRequest`, decoded
//! here and handed to the library; its result is the reply the matching unary call gives.
//! The unary calls (AddShow, RefreshShow, AssignTorrent, AssignPack) go through `run_op`,
//! so they are jobs too and appear in `momoctl jobs`.
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use futures_util::Stream;
use momo_proto::v1 as pb;
use momo_proto::v1::job_service_server::JobService;
use pb::job_result::Value as JobValue;
use pb::start_job_request::Op;
use prost::Message;
use tokio::sync::{broadcast, mpsc};
use tonic::{Request, Response, Status};

use super::convert;
use crate::error::Error;
use crate::jobs::log::LogEvent;
use crate::jobs::model::{Job, JobFilter, JobKind, JobState, NewJob, Target};
use crate::jobs::{Executor, JobCtx, Jobs, Outcome};
use crate::library::Library;
use crate::library::model::Item;

/// Lines read from the database per query while replaying a log.
const LOG_PAGE: i64 = 1000;
/// Without `all`, jobs that ended this long ago are left out of a listing.
const RECENT_S: i64 = 3600;

pub struct JobApi {
    pub jobs: Jobs,
    pub library: Library,
}

type Reply<T> = Result<Response<T>, Status>;
pub type ReplyStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The executor the runner calls: decode, run the use-case, encode the reply.
pub fn executor(library: Library, follow_ups: Arc<OnceLock<Jobs>>) -> Executor {
    Arc::new(move |kind, payload, ctx| {
        let library = library.clone();
        let follow_ups = follow_ups.clone();
        Box::pin(async move {
            let (outcome, assigned) = execute(&library, kind, &payload, &ctx).await?;
            if let Some(jobs) = follow_ups.get() {
                after_assignment(jobs, &library, assigned).await;
            }
            Ok(outcome)
        })
    })
}

/// The jobs that follow new sources: skip-intro detection of their seasons and their
/// missing subtitles (each when configured to).
pub async fn after_assignment(jobs: &Jobs, library: &Library, items: Vec<Item>) {
    detect_intros(jobs, library, &items).await;
    fetch_missing_subtitles(jobs, library, items).await;
}

/// Starts a job that follows another's work (no one waits on it).
async fn follow_up(jobs: &Jobs, library: &Library, op: Op) -> Result<(), Status> {
    jobs.submit(describe(library, op).await?).await?;
    Ok(())
}

/// With `subtitles.auto`, starts a job per item that fetches the languages it lacks.
async fn fetch_missing_subtitles(jobs: &Jobs, library: &Library, items: Vec<Item>) {
    if !library.auto_subtitles() {
        return;
    }
    for item in items {
        let op = Op::FetchSubtitles(pb::FetchSubtitlesRequest {
            item: Some(convert::item_ref(item)),
            languages: Vec::new(),
            file_id: None,
            missing_only: true,
        });
        if let Err(e) = follow_up(jobs, library, op).await {
            tracing::warn!(
                "subtitles of {} {} not fetched: {}",
                item.kind().as_str(),
                item.id(),
                e.message()
            );
        }
    }
}

/// With `intro.auto`, starts a detection of each show of these items with a season that
/// has two episodes with a source now: of the whole show, so that one job (which a new
/// request joins while it is queued or running) covers every season that changed.
async fn detect_intros(jobs: &Jobs, library: &Library, items: &[Item]) {
    for show_id in library.shows_to_detect(items).await {
        let op = Op::DetectIntros(pb::DetectIntrosRequest {
            show_id,
            season_number: None,
        });
        if let Err(e) = follow_up(jobs, library, op).await {
            tracing::warn!(
                "intros of show {show_id} not detected (intro.auto): {}",
                e.message()
            );
        }
    }
}

async fn execute(
    library: &Library,
    kind: JobKind,
    payload: &[u8],
    ctx: &JobCtx,
) -> crate::error::Result<(Outcome, Vec<Item>)> {
    let op = pb::StartJobRequest::decode(payload)
        .ok()
        .and_then(|r| r.op)
        .ok_or_else(|| {
            Error::Internal(format!(
                "job of kind {} has an unreadable request",
                kind.as_str()
            ))
        })?;
    // The request was checked by `describe` when the job was created.
    let bad = |s: Status| Error::InvalidArgument(s.message().to_string());
    // Items that got a new source, for their subtitles.
    let mut assigned = Vec::new();
    let (value, target) = match op {
        Op::AddShow(r) => {
            let show = library
                .add_show(convert::new_show(r).map_err(bad)?, ctx)
                .await?;
            let target = Some(Target::Show(show.summary.id));
            (JobValue::Show(convert::show_detail(show)), target)
        }
        Op::RefreshShow(r) => {
            let report = library.refresh_show(r.id, ctx).await?;
            (
                JobValue::Refresh(convert::refresh(report)),
                Some(Target::Show(r.id)),
            )
        }
        Op::AssignTorrent(r) => {
            let item = convert::item(r.item).map_err(bad)?;
            let choice = convert::file_choice(r.file_path, r.file_index).map_err(bad)?;
            let labels = convert::labels(r.resolution, r.source);
            let torrent = convert::torrent_input(&r.magnet, &r.torrent_file).map_err(bad)?;
            let a = library
                .assign_torrent(item, torrent, choice, labels, ctx)
                .await?;
            assigned.push(item);
            (
                JobValue::Assignment(convert::assignment(a)),
                Some(item.into()),
            )
        }
        Op::AssignPack(r) => {
            let labels = convert::labels(r.resolution, r.source);
            let report = library
                .assign_pack(
                    r.show_id,
                    r.season_number,
                    convert::torrent_input(&r.magnet, &r.torrent_file).map_err(bad)?,
                    r.dry_run,
                    labels,
                    ctx,
                )
                .await?;
            if !report.dry_run {
                assigned.extend(report.matched.iter().map(|m| Item::Episode(m.episode.id)));
            }
            (
                JobValue::Pack(convert::pack_report(report)),
                Some(Target::Show(r.show_id)),
            )
        }
        Op::ImportRadarr(r) => {
            let report = library
                .import_radarr(&r.url, &r.api_key, r.dry_run, &r.path_map, ctx)
                .await?;
            // No subtitle fetch per imported movie: a first import would queue thousands
            // of jobs against a daily download quota of a few dozen.
            // Many movies: no one target.
            (JobValue::Import(convert::import_report(report)), None)
        }
        Op::ImportSonarr(r) => {
            let report = library
                .import_sonarr(&r.url, &r.api_key, r.dry_run, &r.path_map, ctx)
                .await?;
            (JobValue::Import(convert::import_report(report)), None)
        }
        Op::ImportM3u(r) => {
            let filter = convert::m3u_filter(&r);
            let report = library
                .import_m3u(&r.playlist, &r.url, &filter, r.dry_run, ctx)
                .await?;
            (JobValue::Import(convert::import_report(report)), None)
        }
        Op::TraktLogin(r) => {
            let tokens = library
                .trakt_wait_login(convert::device_code(&r), ctx)
                .await?;
            let status = convert::trakt_status(true, Some(tokens), None);
            (JobValue::Trakt(status), None)
        }
        Op::ImportTrakt(r) => {
            let list = crate::library::trakt_list(&r.list, &r.slug).map_err(|e| bad(e.into()))?;
            let report = library.import_trakt(&list, r.dry_run, ctx).await?;
            (JobValue::Import(convert::import_report(report)), None)
        }
        Op::Pin(r) => {
            if let Some(id) = ctx.job_id() {
                library.set_pin_job(r.assignment_id, id).await?;
            }
            let pin = library.download_pin(r.assignment_id, ctx).await?;
            let target = Some(pin.item.into());
            (JobValue::Pin(convert::pin(pin)), target)
        }
        Op::DetectIntros(r) => {
            let rows = library
                .detect_intros(r.show_id, r.season_number, ctx)
                .await?;
            (
                JobValue::Intros(convert::intro_report(rows)),
                Some(Target::Show(r.show_id)),
            )
        }
        Op::FetchSubtitles(r) => {
            let item = convert::item(r.item).map_err(bad)?;
            let subs = library
                .fetch_subtitles(item, &r.languages, r.file_id, r.missing_only, ctx)
                .await?;
            (
                JobValue::Subtitles(pb::ListSubtitlesResponse {
                    subtitles: subs.into_iter().map(convert::subtitle).collect(),
                }),
                Some(item.into()),
            )
        }
    };
    let outcome = Outcome {
        result: pb::JobResult { value: Some(value) }.encode_to_vec(),
        target,
    };
    Ok((outcome, assigned))
}

/// Checks a request as far as it can be checked at once and says what job it makes. A bad
/// request is refused here, before any job exists.
pub async fn describe(library: &Library, mut op: Op) -> Result<NewJob, Status> {
    // A .torrent URL is fetched now: the job keeps the file, not a URL that may carry a
    // password or a passkey.
    match &mut op {
        Op::AssignTorrent(r) => {
            library
                .fetch_torrent_url(&mut r.magnet, &mut r.torrent_file)
                .await?
        }
        Op::AssignPack(r) => {
            library
                .fetch_torrent_url(&mut r.magnet, &mut r.torrent_file)
                .await?
        }
        // Checked with the key, then the key is kept in memory only.
        Op::ImportRadarr(r) => {
            crate::library::check_arr("Radarr", &r.url, &r.api_key, &r.path_map)?;
            r.api_key = crate::library::hold_key(&r.api_key);
        }
        // The pin is made now; its job downloads that assignment.
        Op::Pin(r) => {
            let pin = library.pin(convert::item(r.item)?).await?;
            r.assignment_id = pin.assignment_id;
        }
        Op::ImportSonarr(r) => {
            crate::library::check_arr("Sonarr", &r.url, &r.api_key, &r.path_map)?;
            r.api_key = crate::library::hold_key(&r.api_key);
        }
        Op::ImportM3u(r) => {
            crate::library::check_m3u(&convert::m3u_filter(r))?;
            if r.playlist.is_empty() {
                crate::library::check_playlist_url(&r.url)?;
            } else if r.playlist.len() > momo_proto::MAX_PLAYLIST_BYTES {
                return Err(Status::invalid_argument(format!(
                    "the playlist is {} bytes; at most {} can be sent (give its URL instead)",
                    r.playlist.len(),
                    momo_proto::MAX_PLAYLIST_BYTES
                )));
            }
        }
        _ => {}
    }
    let (kind, summary, target, dedupe_key) = match &op {
        Op::AddShow(r) => {
            let new = convert::new_show(r.clone())?;
            library.check_add_show(&new).await?;
            let what = match &r.by {
                Some(pb::add_show_request::By::TmdbId(id)) => format!("tmdb {id}"),
                Some(pb::add_show_request::By::Manual(m)) => {
                    format!("\"{}\"", crate::error::echo(&m.title))
                }
                None => String::new(),
            };
            (JobKind::ShowAdd, format!("add show {what}"), None, None)
        }
        Op::RefreshShow(r) => {
            library.check_refresh_show(r.id).await?;
            (
                JobKind::ShowRefresh,
                format!("refresh show {}", r.id),
                Some(Target::Show(r.id)),
                Some(format!("show_refresh:{}", r.id)),
            )
        }
        Op::AssignTorrent(r) => {
            let item = convert::item(r.item)?;
            convert::file_choice(r.file_path.clone(), r.file_index)?;
            let torrent = convert::torrent_input(&r.magnet, &r.torrent_file)?;
            library.check_assign_torrent(item, torrent).await?;
            (
                JobKind::AssignTorrent,
                format!("assign {} {}", item.kind().as_str(), item.id()),
                Some(item.into()),
                None,
            )
        }
        Op::AssignPack(r) => {
            let torrent = convert::torrent_input(&r.magnet, &r.torrent_file)?;
            library.check_assign_pack(r.show_id, torrent).await?;
            let season = r
                .season_number
                .map(|n| format!(" season {n}"))
                .unwrap_or_default();
            let dry = if r.dry_run { " (dry run)" } else { "" };
            (
                JobKind::AssignPack,
                format!("assign pack to show {}{season}{dry}", r.show_id),
                Some(Target::Show(r.show_id)),
                None,
            )
        }
        Op::ImportRadarr(_) => (
            JobKind::ImportRadarr,
            "import Radarr".to_string(),
            None,
            Some("import_radarr".to_string()),
        ),
        Op::Pin(r) => {
            let item = convert::item(r.item)?;
            (
                JobKind::Pin,
                format!("pin {} {}", item.kind().as_str(), item.id()),
                Some(item.into()),
                // One download per pinned source.
                Some(format!("pin:{}", r.assignment_id)),
            )
        }
        Op::TraktLogin(r) => (
            JobKind::TraktLogin,
            format!(
                "sign in to Trakt (code {})",
                crate::error::echo(&r.user_code)
            ),
            None,
            // Each login has its own code: a second one waits beside the first.
            None,
        ),
        Op::ImportTrakt(r) => {
            crate::library::trakt_list(&r.list, &r.slug)?;
            let dry = if r.dry_run { " (dry run)" } else { "" };
            let what = if r.list == "list" {
                format!("list {}", r.slug)
            } else {
                r.list.clone()
            };
            (
                JobKind::ImportTrakt,
                format!("import Trakt {what}{dry}"),
                None,
                None,
            )
        }
        Op::ImportSonarr(_) => (
            JobKind::ImportSonarr,
            "import Sonarr".to_string(),
            None,
            Some("import_sonarr".to_string()),
        ),
        Op::ImportM3u(r) => {
            let from = match reqwest::Url::parse(&r.url) {
                Ok(u) if r.playlist.is_empty() => crate::web::shown_url(&u),
                _ => format!("a playlist of {} bytes", r.playlist.len()),
            };
            let dry = if r.dry_run { " (dry run)" } else { "" };
            (
                JobKind::ImportM3u,
                format!("import M3U {from}{dry}"),
                None,
                None,
            )
        }
        Op::DetectIntros(r) => {
            library
                .check_detect_intros(r.show_id, r.season_number)
                .await?;
            let season = r
                .season_number
                .map(|n| format!(" season {n}"))
                .unwrap_or_default();
            (
                JobKind::IntroDetect,
                format!("detect intros of show {}{season}", r.show_id),
                Some(Target::Show(r.show_id)),
                // A request joins the same detection queued or running: that one looks
                // again before it writes if the episodes changed meanwhile.
                Some(format!(
                    "intro_detect:{}:{}",
                    r.show_id,
                    r.season_number.map_or("all".to_string(), |n| n.to_string())
                )),
            )
        }
        Op::FetchSubtitles(r) => {
            let item = convert::item(r.item)?;
            library.check_fetch_subtitles(item, &r.languages).await?;
            let missing = if r.missing_only {
                " (missing ones)"
            } else {
                ""
            };
            (
                JobKind::SubtitleFetch,
                format!(
                    "fetch subtitles of {} {}{missing}",
                    item.kind().as_str(),
                    item.id()
                ),
                Some(item.into()),
                // One automatic fetch per item at a time.
                r.missing_only
                    .then(|| format!("subtitle_fetch:{}:{}", item.kind().as_str(), item.id())),
            )
        }
    };
    Ok(NewJob {
        kind,
        summary,
        target,
        payload: pb::StartJobRequest { op: Some(op) }.encode_to_vec(),
        dedupe_key,
    })
}

/// Runs `op` as a job and waits for it: the unary calls' way. Fails as the job failed. A
/// caller that goes away (a deadline, a killed client) takes its job with it, as the call
/// did before it was a job: `pick` takes the reply out of the result.
pub async fn run_op<T>(
    jobs: &Jobs,
    library: &Library,
    op: Op,
    pick: impl FnOnce(JobValue) -> Option<T>,
) -> Result<T, Status> {
    let job = jobs.submit(describe(library, op).await?).await?;
    let mut guard = CancelOnDrop {
        jobs: jobs.clone(),
        id: Some(job.id),
    };
    let job = jobs.wait(job.id).await?;
    guard.id = None;
    pick(outcome(&job)?)
        .ok_or_else(|| Status::internal(format!("job {} returned another kind of result", job.id)))
}

/// Cancels the job if the call waiting on it is dropped first.
struct CancelOnDrop {
    jobs: Jobs,
    id: Option<i64>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let jobs = self.jobs.clone();
            tokio::spawn(async move {
                let _ = jobs.cancel(id).await;
            });
        }
    }
}

/// A job that has ended as its call's reply or error.
fn outcome(job: &Job) -> Result<JobValue, Status> {
    match (job.state, &job.result, &job.error) {
        (JobState::Done, Some(bytes), _) => pb::JobResult::decode(bytes.as_slice())
            .ok()
            .and_then(|r| r.value)
            .ok_or_else(|| Status::internal(format!("job {} has an unreadable result", job.id))),
        (_, _, Some(e)) => Err(Error::from_code_name(&e.code, e.message.clone()).into()),
        (state, _, _) if !state.has_ended() => Err(Status::unavailable(format!(
            "momod is stopping and job {} did not finish; nothing was stored (see `momoctl job get {}` once momod is back)",
            job.id, job.id
        ))),
        _ => Err(Status::internal(format!(
            "job {} ended {} without a result",
            job.id,
            job.state.as_str()
        ))),
    }
}

pub fn job(j: Job) -> pb::Job {
    let state = match j.state {
        JobState::Queued => pb::JobState::Queued,
        JobState::Running => pb::JobState::Running,
        JobState::Done => pb::JobState::Done,
        JobState::Failed => pb::JobState::Failed,
        JobState::Cancelled => pb::JobState::Cancelled,
    };
    pb::Job {
        id: j.id,
        kind: j.kind.as_str().to_string(),
        summary: j.summary,
        state: state as i32,
        target: j.target.map(|t| pb::ItemTarget {
            kind: t.kind().to_string(),
            id: t.id(),
        }),
        progress_done: j.progress.done,
        progress_total: j.progress.total,
        progress_unit: j.progress.unit,
        step: j.progress.step,
        created_at: j.created_at,
        started_at: j.started_at,
        finished_at: j.finished_at,
        error_code: j.error.as_ref().map(|e| e.code.clone()),
        error: j.error.map(|e| e.message),
        result: j
            .result
            .and_then(|bytes| pb::JobResult::decode(bytes.as_slice()).ok()),
    }
}

fn log_line(l: crate::jobs::model::LogLine) -> pb::JobLogLine {
    pb::JobLogLine {
        id: l.id,
        job_id: l.job_id,
        time_ms: l.time_ms,
        level: l.level,
        message: l.message,
    }
}

/// Sends the job's stored lines after line `last`, page by page; false when the client has
/// gone or reading failed (the error is sent).
async fn replay(
    jobs: &Jobs,
    id: i64,
    last: &mut i64,
    tx: &mpsc::Sender<Result<pb::JobLogLine, Status>>,
) -> bool {
    loop {
        let lines = match jobs.logs(id, *last, LOG_PAGE).await {
            Ok(l) => l,
            Err(e) => {
                let _ = tx.send(Err(e.into())).await;
                return false;
            }
        };
        let full = lines.len() as i64 == LOG_PAGE;
        for l in lines {
            *last = l.id;
            if tx.send(Ok(log_line(l))).await.is_err() {
                return false;
            }
        }
        if !full {
            return true;
        }
    }
}

/// A stream fed by a task; the task sees the client go through `tx.closed()`.
pub fn channel_stream<T: Send + 'static>(rx: mpsc::Receiver<Result<T, Status>>) -> ReplyStream<T> {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

#[tonic::async_trait]
impl JobService for JobApi {
    async fn start(&self, req: Request<pb::StartJobRequest>) -> Reply<pb::Job> {
        let Some(op) = req.into_inner().op else {
            return Err(Status::invalid_argument(
                "say which operation to start (add_show, refresh_show, assign_torrent, assign_pack)",
            ));
        };
        let new = describe(&self.library, op).await?;
        Ok(Response::new(job(self.jobs.submit(new).await?)))
    }

    async fn list(&self, req: Request<pb::ListJobsRequest>) -> Reply<pb::ListJobsResponse> {
        let req = req.into_inner();
        let size = match req.page_size {
            0 => 100,
            n => n.min(1000),
        } as usize;
        // The token is the id of the last job sent: pages stay put while new jobs arrive.
        let before = match req.page_token.as_str() {
            "" => None,
            t => Some(t.parse::<i64>().map_err(|_| {
                Status::invalid_argument(format!(
                    "page_token {} is not one this server gave",
                    crate::error::echo(t)
                ))
            })?),
        };
        let filter = if req.all {
            JobFilter::All
        } else {
            JobFilter::ActiveOrEndedSince(crate::store::unix_now() - RECENT_S)
        };
        // One more than asked says whether there is a next page.
        let mut jobs = self.jobs.list(filter, before, size as i64 + 1).await?;
        let next_page_token = if jobs.len() > size {
            jobs.truncate(size);
            jobs.last().map(|j| j.id.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListJobsResponse {
            jobs: jobs.into_iter().map(job).collect(),
            next_page_token,
        }))
    }

    async fn get(&self, req: Request<pb::JobRequest>) -> Reply<pb::Job> {
        Ok(Response::new(job(self
            .jobs
            .get(req.into_inner().id)
            .await?)))
    }

    async fn cancel(&self, req: Request<pb::JobRequest>) -> Reply<pb::Job> {
        Ok(Response::new(job(self
            .jobs
            .cancel(req.into_inner().id)
            .await?)))
    }

    type WatchStream = ReplyStream<pb::Job>;

    async fn watch(&self, req: Request<pb::JobRequest>) -> Reply<Self::WatchStream> {
        let id = req.into_inner().id;
        let first = self.jobs.get(id).await?;
        let (tx, rx) = mpsc::channel(16);
        let jobs = self.jobs.clone();
        tokio::spawn(async move {
            let Some(mut changes) = jobs.watch(id) else {
                // Ended already (perhaps just now): one message, the end state as stored.
                let end = jobs.get(id).await.unwrap_or(first);
                let _ = tx.send(Ok(job(end))).await;
                return;
            };
            loop {
                let now = changes.borrow_and_update().clone();
                let ended = now.state.has_ended();
                if tx.send(Ok(job(now))).await.is_err() || ended {
                    return;
                }
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() {
                        // The job left the live map: send how it ended, as stored.
                        if let Ok(end) = jobs.get(id).await {
                            let _ = tx.send(Ok(job(end))).await;
                        }
                        return;
                    },
                    () = tx.closed() => return,
                }
            }
        });
        Ok(Response::new(channel_stream(rx)))
    }

    type LogsStream = ReplyStream<pb::JobLogLine>;

    async fn logs(&self, req: Request<pb::JobLogsRequest>) -> Reply<Self::LogsStream> {
        let req = req.into_inner();
        let id = req.id;
        // Subscribed before the stored lines are read, so no line falls between the two.
        let mut events = self.jobs.log_events();
        self.jobs.get(id).await?;
        let (tx, rx) = mpsc::channel(256);
        let jobs = self.jobs.clone();
        tokio::spawn(async move {
            let mut last = 0;
            // Stored lines, then (following a live job) new ones until it ends.
            if !replay(&jobs, id, &mut last, &tx).await {
                return;
            }
            if !req.follow {
                return;
            }
            // A job that just ended may still have lines on their way to the database; its
            // end marker follows them. One that ended long ago sends none: give up soon.
            let deadline = jobs
                .watch(id)
                .is_none()
                .then(|| tokio::time::Instant::now() + std::time::Duration::from_secs(3));
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(sleep);
            loop {
                let event = tokio::select! {
                    e = events.recv() => e,
                    () = tx.closed() => return,
                    () = &mut sleep => return,
                };
                match event {
                    Ok(LogEvent::Line(l)) if l.job_id == id && l.id > last => {
                        last = l.id;
                        if tx.send(Ok(log_line(l))).await.is_err() {
                            return;
                        }
                    }
                    Ok(LogEvent::End(job)) if job == id => return,
                    Ok(_) => {}
                    // Fell behind, perhaps past the end marker: read what was missed from
                    // the database, and stop if the job has ended meanwhile.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if !replay(&jobs, id, &mut last, &tx).await || jobs.watch(id).is_none() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(Response::new(channel_stream(rx)))
    }
}
