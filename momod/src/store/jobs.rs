//! Jobs and their log lines. Job writes do not move the library's write generation: they
//! change nothing the share shows.
use diesel::prelude::*;

use super::schema::{job_logs, jobs};
use super::{Store, now};
use crate::error::{Error, Result};
use crate::jobs::model::{
    Job, JobError, JobFilter, JobKind, JobState, LogLine, NewJob, Progress, Target,
};

#[derive(Queryable, Selectable)]
#[diesel(table_name = jobs, check_for_backend(diesel::sqlite::Sqlite))]
struct JobRow {
    id: i64,
    kind: String,
    target_kind: Option<String>,
    target_id: Option<i64>,
    summary: String,
    state: String,
    progress_done: i64,
    progress_total: Option<i64>,
    progress_unit: String,
    step: String,
    result: Option<Vec<u8>>,
    error_code: Option<String>,
    error: Option<String>,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}

impl JobRow {
    fn into_job(self) -> Result<Job> {
        let corrupt = || Error::Internal(format!("job {} is malformed in the database", self.id));
        let kind = JobKind::parse(&self.kind).ok_or_else(corrupt)?;
        let state = JobState::parse(&self.state).ok_or_else(corrupt)?;
        let target = match (&self.target_kind, self.target_id) {
            (Some(k), Some(id)) => Some(Target::parse(k, id).ok_or_else(corrupt)?),
            _ => None,
        };
        let error = match (self.error_code, self.error) {
            (Some(code), Some(message)) => Some(JobError { code, message }),
            _ => None,
        };
        Ok(Job {
            id: self.id,
            kind,
            summary: self.summary,
            target,
            state,
            progress: Progress {
                done: self.progress_done.max(0) as u64,
                total: self.progress_total.map(|t| t.max(0) as u64),
                unit: self.progress_unit,
                step: self.step,
            },
            result: self.result,
            error,
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

fn load(conn: &mut SqliteConnection, id: i64) -> Result<Option<Job>> {
    jobs::table
        .find(id)
        .select(JobRow::as_select())
        .first(conn)
        .optional()?
        .map(JobRow::into_job)
        .transpose()
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// How a job ends, as the store records it.
#[derive(Clone)]
pub struct JobEnd {
    pub state: JobState,
    pub target: Option<Target>,
    pub result: Option<Vec<u8>>,
    pub error: Option<JobError>,
}

/// A log line to store.
pub struct NewLogLine {
    pub job_id: i64,
    pub time_ms: i64,
    pub level: &'static str,
    pub message: String,
}

impl Store {
    /// Creates a queued job. When `dedupe_key` is given and a job with that key is queued
    /// or running, returns that job instead, with `false`.
    pub async fn insert_job(&self, new: NewJob) -> Result<(Job, bool)> {
        self.write_quiet(move |conn| {
            if let Some(key) = &new.dedupe_key {
                let active: Option<i64> = jobs::table
                    .filter(jobs::dedupe_key.eq(key))
                    .filter(jobs::state.eq_any(["queued", "running"]))
                    .select(jobs::id)
                    .first(conn)
                    .optional()?;
                if let Some(id) = active {
                    let job =
                        load(conn, id)?.ok_or_else(|| Error::Internal("job vanished".into()))?;
                    return Ok((job, false));
                }
            }
            let id: i64 = diesel::insert_into(jobs::table)
                .values((
                    jobs::kind.eq(new.kind.as_str()),
                    jobs::target_kind.eq(new.target.map(Target::kind)),
                    jobs::target_id.eq(new.target.map(Target::id)),
                    jobs::summary.eq(&new.summary),
                    jobs::state.eq(JobState::Queued.as_str()),
                    jobs::payload.eq(&new.payload),
                    jobs::dedupe_key.eq(&new.dedupe_key),
                    jobs::created_at.eq(now()),
                ))
                .returning(jobs::id)
                .get_result(conn)?;
            let job = load(conn, id)?.ok_or_else(|| Error::Internal("job vanished".into()))?;
            Ok((job, true))
        })
        .await
    }

    /// The job with its request, for the runner.
    pub async fn job_payload(&self, id: i64) -> Result<Vec<u8>> {
        self.run(move |conn| Ok(jobs::table.find(id).select(jobs::payload).first(conn)?))
            .await
    }

    pub async fn job(&self, id: i64) -> Result<Option<Job>> {
        self.run(move |conn| load(conn, id)).await
    }

    /// Newest first, `limit` of them older than job `before`; results are left out (they
    /// can be large).
    pub async fn jobs(
        &self,
        filter: JobFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Job>> {
        self.run(move |conn| {
            let mut query = jobs::table
                .select(JobRow::as_select())
                .order(jobs::id.desc())
                .limit(limit)
                .into_boxed();
            if let Some(before) = before {
                query = query.filter(jobs::id.lt(before));
            }
            if let JobFilter::ActiveOrEndedSince(since) = filter {
                query = query.filter(
                    jobs::state
                        .eq_any(["queued", "running"])
                        .or(jobs::finished_at.ge(since)),
                );
            }
            let rows: Vec<JobRow> = query.load(conn)?;
            rows.into_iter()
                .map(|r| {
                    let mut job = r.into_job()?;
                    job.result = None;
                    Ok(job)
                })
                .collect()
        })
        .await
    }

    /// Jobs left queued or running by the last run of momod.
    pub async fn unfinished_jobs(&self) -> Result<Vec<Job>> {
        self.run(|conn| {
            let rows: Vec<JobRow> = jobs::table
                .filter(jobs::state.eq_any(["queued", "running"]))
                .select(JobRow::as_select())
                .order(jobs::id.asc())
                .load(conn)?;
            rows.into_iter().map(JobRow::into_job).collect()
        })
        .await
    }

    pub async fn count_active_jobs(&self) -> Result<u64> {
        self.run(|conn| {
            let n: i64 = jobs::table
                .filter(jobs::state.eq_any(["queued", "running"]))
                .count()
                .get_result(conn)?;
            Ok(n.max(0) as u64)
        })
        .await
    }

    /// Puts a job (back) in the queue, progress cleared.
    pub async fn requeue_job(&self, id: i64) -> Result<()> {
        self.write_quiet(move |conn| {
            diesel::update(jobs::table.find(id))
                .set((
                    jobs::state.eq(JobState::Queued.as_str()),
                    jobs::started_at.eq(None::<i64>),
                    jobs::progress_done.eq(0),
                    jobs::progress_total.eq(None::<i64>),
                    jobs::step.eq(""),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    pub async fn start_job(&self, id: i64) -> Result<i64> {
        self.write_quiet(move |conn| {
            let at = now();
            diesel::update(jobs::table.find(id))
                .set((
                    jobs::state.eq(JobState::Running.as_str()),
                    jobs::started_at.eq(at),
                ))
                .execute(conn)?;
            Ok(at)
        })
        .await
    }

    pub async fn job_progress(&self, id: i64, p: Progress) -> Result<()> {
        self.write_quiet(move |conn| {
            diesel::update(jobs::table.find(id))
                .set((
                    jobs::progress_done.eq(to_i64(p.done)),
                    jobs::progress_total.eq(p.total.map(to_i64)),
                    jobs::progress_unit.eq(&p.unit),
                    jobs::step.eq(&p.step),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    /// Records how the job ended, with its last progress; returns the end time.
    pub async fn finish_job(&self, id: i64, end: JobEnd, progress: Progress) -> Result<i64> {
        self.write_quiet(move |conn| {
            let at = now();
            diesel::update(jobs::table.find(id))
                .set((
                    jobs::state.eq(end.state.as_str()),
                    jobs::result.eq(&end.result),
                    jobs::error_code.eq(end.error.as_ref().map(|e| e.code.as_str())),
                    jobs::error.eq(end.error.as_ref().map(|e| e.message.as_str())),
                    jobs::finished_at.eq(at),
                    jobs::progress_done.eq(to_i64(progress.done)),
                    jobs::progress_total.eq(progress.total.map(to_i64)),
                    jobs::progress_unit.eq(&progress.unit),
                    jobs::step.eq(&progress.step),
                ))
                .execute(conn)?;
            if let Some(t) = end.target {
                diesel::update(jobs::table.find(id))
                    .set((jobs::target_kind.eq(t.kind()), jobs::target_id.eq(t.id())))
                    .execute(conn)?;
            }
            Ok(at)
        })
        .await
    }

    /// Deletes jobs that ended before `before` (Unix seconds), with their log lines.
    pub async fn prune_jobs(&self, before: i64) -> Result<usize> {
        self.write_quiet(move |conn| {
            Ok(diesel::delete(
                jobs::table
                    .filter(jobs::finished_at.is_not_null())
                    .filter(jobs::finished_at.lt(before)),
            )
            .execute(conn)?)
        })
        .await
    }

    /// Stores log lines in one transaction; returns them with their ids. Lines of jobs
    /// that no longer exist (pruned) are dropped.
    pub async fn insert_job_logs(&self, lines: Vec<NewLogLine>) -> Result<Vec<LogLine>> {
        self.write_quiet(move |conn| {
            let mut out = Vec::with_capacity(lines.len());
            for l in lines {
                let exists: Option<i64> = jobs::table
                    .find(l.job_id)
                    .select(jobs::id)
                    .first(conn)
                    .optional()?;
                if exists.is_none() {
                    continue;
                }
                let id: i64 = diesel::insert_into(job_logs::table)
                    .values((
                        job_logs::job_id.eq(l.job_id),
                        job_logs::time_ms.eq(l.time_ms),
                        job_logs::level.eq(l.level),
                        job_logs::message.eq(&l.message),
                    ))
                    .returning(job_logs::id)
                    .get_result(conn)?;
                out.push(LogLine {
                    id,
                    job_id: l.job_id,
                    time_ms: l.time_ms,
                    level: l.level.to_string(),
                    message: l.message,
                });
            }
            Ok(out)
        })
        .await
    }

    /// Up to `limit` lines of the job after line `after` (0 = from the start), in order.
    pub async fn job_logs(&self, job_id: i64, after: i64, limit: i64) -> Result<Vec<LogLine>> {
        self.run(move |conn| {
            let rows: Vec<(i64, i64, i64, String, String)> = job_logs::table
                .filter(job_logs::job_id.eq(job_id))
                .filter(job_logs::id.gt(after))
                .order(job_logs::id.asc())
                .limit(limit)
                .select((
                    job_logs::id,
                    job_logs::job_id,
                    job_logs::time_ms,
                    job_logs::level,
                    job_logs::message,
                ))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(|(id, job_id, time_ms, level, message)| LogLine {
                    id,
                    job_id,
                    time_ms,
                    level,
                    message,
                })
                .collect())
        })
        .await
    }
}
