//! Jobs: `jobs`, `job get|logs|cancel|wait`, and how the long commands (show add|refresh,
//! assign from a torrent, packs) run: they start a job, then either print it and return
//! (`--detach`) or follow it with a progress bar (a terminal) or progress lines (anything
//! else) on stderr, and print the result as the command always has. Ctrl-C while following
//! asks whether to cancel the job or leave it running.
use std::io::IsTerminal;
use std::time::Duration;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use momo_proto::v1 as pb;
use momo_proto::v1::job_service_client::JobServiceClient;
use pb::job_result::Value as JobValue;
use pb::start_job_request::Op;
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::client::{Auth, Failure, all_pages};
use crate::json;
use crate::output::{self, Format, opt, shown};

pub type Client = JobServiceClient<tonic::service::interceptor::InterceptedService<Channel, Auth>>;

#[derive(Subcommand, Debug)]
pub enum JobCmd {
    /// One job: state, progress, times, error.
    Get { id: i64 },
    /// A job's log lines; with -f, then new ones until the job ends.
    Logs {
        id: i64,
        #[arg(short, long)]
        follow: bool,
    },
    /// Stop a queued or running job; nothing it did is kept.
    Cancel { id: i64 },
    /// Follow a job to its end (with progress) and print its result, as the command that
    /// started it would have.
    Wait { id: i64 },
}

/// A job's result can be a whole import's report: more than tonic's default 4 MiB.
const MAX_RESULT_BYTES: usize = 256 * 1024 * 1024;

pub fn client(channel: Channel, auth: Auth) -> Client {
    JobServiceClient::with_interceptor(channel, auth).max_decoding_message_size(MAX_RESULT_BYTES)
}

pub async fn list(channel: Channel, auth: Auth, format: Format, all: bool) -> Result<(), Failure> {
    let client = client(channel, auth);
    let jobs: Vec<json::Job> = all_pages(|page_token| {
        let mut client = client.clone();
        async move {
            let page = client
                .list(pb::ListJobsRequest {
                    all,
                    page_size: 0,
                    page_token,
                })
                .await?
                .into_inner();
            Ok((page.jobs, page.next_page_token))
        }
    })
    .await?
    .into_iter()
    .map(json::Job::from)
    .collect();
    output::emit(format, &jobs, |jobs| {
        if jobs.is_empty() {
            let hint = if all { "" } else { " (ended ones: --all)" };
            println!("no jobs{hint}");
            return;
        }
        let rows = jobs.iter().map(|j| {
            vec![
                j.id.to_string(),
                j.state.clone(),
                j.summary.clone(),
                progress_text(j),
                j.error.clone().unwrap_or_else(|| j.step.clone()),
            ]
        });
        let header = ["ID", "STATE", "WHAT", "PROGRESS", "STEP / ERROR"];
        println!("{}", output::table(&header, rows));
    });
    Ok(())
}

/// "3/5 seasons", "2 files", or "-".
fn progress_text(j: &json::Job) -> String {
    match (j.progress_total, j.progress_done) {
        (Some(total), done) => format!("{done}/{total} {}", j.progress_unit),
        (None, 0) => "-".into(),
        (None, done) => format!("{done} {}", j.progress_unit),
    }
}

pub async fn job(channel: Channel, auth: Auth, format: Format, cmd: JobCmd) -> Result<(), Failure> {
    let mut client = client(channel, auth);
    match cmd {
        JobCmd::Get { id } => {
            let j = client.get(pb::JobRequest { id }).await?.into_inner();
            print_job(format, j);
        }
        JobCmd::Cancel { id } => {
            let j = client.cancel(pb::JobRequest { id }).await?.into_inner();
            print_job(format, j);
        }
        JobCmd::Logs { id, follow } => {
            let mut lines = client
                .logs(pb::JobLogsRequest { id, follow })
                .await?
                .into_inner();
            while let Some(line) = lines.message().await? {
                let line = json::JobLogLine::from(line);
                match format {
                    Format::Json => println!(
                        "{}",
                        serde_json::to_string(&line).expect("serialisable output")
                    ),
                    Format::Table => println!(
                        "{} {:5} {}",
                        clock(line.time_ms),
                        line.level,
                        shown(&line.message)
                    ),
                }
            }
        }
        JobCmd::Wait { id } => {
            let value = follow(&mut client, format, id).await?;
            print_result(format, value);
        }
    }
    Ok(())
}

fn print_job(format: Format, j: pb::Job) {
    output::emit(format, &json::Job::from(j), |j| {
        output::fields(&[
            ("id", j.id.to_string()),
            ("what", j.summary.clone()),
            ("kind", j.kind.clone()),
            ("state", j.state.clone()),
            (
                "target",
                opt(j.target.as_ref().map(|t| format!("{} {}", t.kind, t.id))),
            ),
            ("progress", progress_text(j)),
            ("step", j.step.clone()),
            ("created", output::when(j.created_at)),
            ("started", opt(j.started_at.map(output::when))),
            ("finished", opt(j.finished_at.map(output::when))),
            (
                "error",
                opt(j
                    .error
                    .as_ref()
                    .map(|e| format!("{e} (code: {})", j.error_code.clone().unwrap_or_default()))),
            ),
        ])
    });
}

/// "14:03:07.250", local to the machine momoctl runs on being UTC-agnostic: UTC.
fn clock(time_ms: i64) -> String {
    let secs = time_ms.div_euclid(1000);
    let ms = time_ms.rem_euclid(1000);
    let day = secs.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}.{ms:03}",
        day / 3600,
        day / 60 % 60,
        day % 60
    )
}

/// Starts `op` as a job. With `detach`, prints the job and returns None; otherwise
/// follows it and returns its result.
pub async fn start(
    channel: Channel,
    auth: Auth,
    format: Format,
    op: Op,
    detach: bool,
) -> Result<Option<JobValue>, Failure> {
    let mut client = client(channel, auth);
    let job = client
        .start(pb::StartJobRequest { op: Some(op) })
        .await?
        .into_inner();
    if detach {
        let id = job.id;
        output::emit(format, &json::Job::from(job), |j| {
            println!("job {id} {}: {}", j.state, shown(&j.summary));
            println!("  follow: momoctl job logs {id} -f   result: momoctl job wait {id}");
        });
        return Ok(None);
    }
    follow(&mut client, format, job.id).await.map(Some)
}

/// Follows a job to its end with progress on stderr; its result, or its error as the
/// call would have failed.
pub async fn follow(client: &mut Client, format: Format, id: i64) -> Result<JobValue, Failure> {
    let mut changes = client.watch(pb::JobRequest { id }).await?.into_inner();
    let mut meter = Meter::new(id);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            msg = changes.message() => match msg? {
                Some(job) => {
                    let ended = is_ended(&job);
                    meter.show(&job);
                    if ended {
                        break;
                    }
                }
                None => break,
            },
            _ = &mut ctrl_c => {
                meter.clear();
                return Err(interrupted(client, id, format).await);
            }
        }
    }
    meter.clear();
    // The end as stored, with the result.
    let job = client.get(pb::JobRequest { id }).await?.into_inner();
    result_of(job)
}

fn is_ended(job: &pb::Job) -> bool {
    matches!(
        pb::JobState::try_from(job.state),
        Ok(pb::JobState::Done | pb::JobState::Failed | pb::JobState::Cancelled)
    )
}

/// A job that has ended as its command's result, or the error it failed with.
fn result_of(job: pb::Job) -> Result<JobValue, Failure> {
    match pb::JobState::try_from(job.state) {
        Ok(pb::JobState::Done) => job.result.and_then(|r| r.value).ok_or_else(|| {
            Status::internal(format!("job {} is done but has no result", job.id)).into()
        }),
        Ok(pb::JobState::Failed | pb::JobState::Cancelled) => {
            let code = job
                .error_code
                .as_deref()
                .map(momo_proto::code_from_name)
                .unwrap_or(Code::Unknown);
            Err(Status::new(code, job.error.unwrap_or_default()).into())
        }
        _ => Err(Status::unavailable(format!(
            "job {} did not end (momod stopped?): see `momoctl job get {}`",
            job.id, job.id
        ))
        .into()),
    }
}

/// Ctrl-C while following: ask (at a terminal) whether to cancel the job or leave it.
async fn interrupted(client: &mut Client, id: i64, format: Format) -> Failure {
    let ask = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let cancel = ask
        && {
            eprint!("\ncancel job {id}? [y/N] ");
            // A thread, not spawn_blocking: if the answer never comes, exiting must not wait.
            let (tx, rx) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = std::io::stdin().read_line(&mut line);
                let _ = tx.send(line);
            });
            tokio::select! {
                line = rx => line.is_ok_and(|l| l.trim().eq_ignore_ascii_case("y") || l.trim().eq_ignore_ascii_case("yes")),
                // A second Ctrl-C: leave it.
                _ = tokio::signal::ctrl_c() => false,
            }
        };
    if cancel {
        match client.cancel(pb::JobRequest { id }).await {
            Ok(j) => {
                if format == Format::Json {
                    print_job(format, j.into_inner());
                }
                Failure::Interrupted(format!("job {id} cancelled"))
            }
            Err(s) => Failure::Daemon(s),
        }
    } else {
        Failure::Interrupted(format!(
            "job {id} keeps running in momod: `momoctl job wait {id}` for its result, `momoctl job logs {id} -f` to follow it"
        ))
    }
}

/// A result of another kind than the command expects (a daemon of another version).
pub fn unexpected(value: JobValue) -> Failure {
    let kind = match value {
        JobValue::Show(_) => "a show",
        JobValue::Refresh(_) => "a refresh report",
        JobValue::Assignment(_) => "an assignment",
        JobValue::Pack(_) => "a pack report",
        JobValue::Subtitles(_) => "a list of subtitles",
        JobValue::Import(_) => "an import report",
        JobValue::Pin(_) => "a pin",
        JobValue::Trakt(_) => "a Trakt account",
        JobValue::Intros(_) => "an intro detection report",
    };
    Failure::Daemon(Status::internal(format!(
        "the job returned {kind}, not what this command expects"
    )))
}

/// Prints a finished job's result as the command that started it does.
pub fn print_result(format: Format, value: JobValue) {
    match value {
        JobValue::Show(s) => crate::library::print_added_show(format, s),
        JobValue::Refresh(r) => crate::library::print_refresh(format, r),
        JobValue::Assignment(a) => crate::assign::print_assignment(format, a),
        JobValue::Pack(r) => crate::assign::print_pack_report(format, r),
        JobValue::Subtitles(r) => crate::subs::print_list(format, r.subtitles),
        JobValue::Import(r) => crate::import::print_report(format, r),
        JobValue::Pin(p) => crate::pins::print_pin(format, p),
        JobValue::Trakt(s) => crate::trakt::print_status(format, s),
        JobValue::Intros(r) => crate::intro::print_report(format, r),
    }
}

/// Progress on stderr: a bar at a terminal, a line per change otherwise.
struct Meter {
    id: i64,
    bar: Option<ProgressBar>,
    last: String,
}

impl Meter {
    fn new(id: i64) -> Meter {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Meter {
            id,
            bar,
            last: String::new(),
        }
    }

    fn show(&mut self, job: &pb::Job) {
        let state = json::job_state(job.state);
        let step = shown(&job.step);
        match &self.bar {
            Some(bar) => {
                match job.progress_total {
                    Some(total) => {
                        bar.set_style(
                            ProgressStyle::with_template(&format!(
                                "{{spinner}} job {} [{{bar:30}}] {{pos}}/{{len}} {} {{msg}}",
                                self.id,
                                shown(&job.progress_unit)
                            ))
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                        );
                        bar.set_length(total);
                        bar.set_position(job.progress_done);
                    }
                    None => bar.set_style(
                        ProgressStyle::with_template(&format!(
                            "{{spinner}} job {} {{elapsed}} {{msg}}",
                            self.id
                        ))
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    ),
                }
                bar.set_message(if step.is_empty() {
                    state.to_string()
                } else {
                    step
                });
            }
            None => {
                let progress = match job.progress_total {
                    Some(total) => format!(
                        " [{}/{total} {}]",
                        job.progress_done,
                        shown(&job.progress_unit)
                    ),
                    None => String::new(),
                };
                let line = format!("job {}: {state}{progress} {step}", self.id);
                if line != self.last {
                    eprintln!("{}", line.trim_end());
                    self.last = line;
                }
            }
        }
    }

    fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
