//! A job's log lines: every tracing event inside the job's span (`job`, with a `job_id`
//! field) becomes a line of that job, stored in SQLite and sent live to followers. The
//! tracing layer never blocks: it hands lines to a bounded channel, and one writer task
//! stores them in batches.
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::RwLock;

use tokio::sync::{broadcast, mpsc};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::model::LogLine;
use crate::store::{NewLogLine, Store};

/// Name of the span a job runs in.
pub const JOB_SPAN: &str = "job";
/// Lines kept per job; a runaway job cannot fill the disk.
pub const MAX_LINES_PER_JOB: usize = 5000;
/// Longest line kept, in bytes.
pub const MAX_LINE_BYTES: usize = 2048;
/// Lines waiting for the writer; past this, new lines are dropped rather than block.
const QUEUE: usize = 8192;

pub enum LogMsg {
    Line(NewLogLine),
    /// The job has ended: sent after its last line, so followers know they have all.
    End(i64),
}

#[derive(Debug, Clone)]
pub enum LogEvent {
    Line(LogLine),
    End(i64),
}

/// Where the layer sends lines: set by the running `Jobs` (None before it starts).
static SINK: RwLock<Option<mpsc::Sender<LogMsg>>> = RwLock::new(None);

pub fn channel() -> (mpsc::Sender<LogMsg>, mpsc::Receiver<LogMsg>) {
    let (tx, rx) = mpsc::channel(QUEUE);
    if let Ok(mut sink) = SINK.write() {
        *sink = Some(tx.clone());
    }
    (tx, rx)
}

/// The tracing layer: install it beside the log formatter (main.rs).
pub struct JobLogLayer;

struct JobSpan(i64);

impl<S> Layer<S> for JobLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != JOB_SPAN {
            return;
        }
        let mut visitor = JobIdVisitor(None);
        attrs.record(&mut visitor);
        if let (Some(job), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().insert(JobSpan(job));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        let Some(job_id) = scope
            .from_root()
            .find_map(|span| span.extensions().get::<JobSpan>().map(|j| j.0))
        else {
            return;
        };
        let Ok(sink) = SINK.read() else { return };
        let Some(sink) = sink.as_ref() else { return };
        let mut message = MessageVisitor::default();
        event.record(&mut message);
        let line = NewLogLine {
            job_id,
            time_ms: now_ms(),
            level: level_name(*event.metadata().level()),
            message: cut(message.finish()),
        };
        // Full: the line is lost rather than the caller blocked.
        let _ = sink.try_send(LogMsg::Line(line));
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn cut(mut text: String) -> String {
    if text.len() > MAX_LINE_BYTES {
        let mut end = MAX_LINE_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

struct JobIdVisitor(Option<i64>);

impl Visit for JobIdVisitor {
    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "job_id" {
            self.0 = Some(value);
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "job_id" {
            self.0 = i64::try_from(value).ok();
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// "message key=value key=value", as the log formatter writes it.
#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl MessageVisitor {
    fn finish(self) -> String {
        match (self.message.is_empty(), self.fields.is_empty()) {
            (_, true) => self.message,
            (true, false) => self.fields,
            (false, false) => format!("{} {}", self.message, self.fields),
        }
    }
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            if !self.fields.is_empty() {
                self.fields.push(' ');
            }
            let _ = write!(self.fields, "{}={value:?}", field.name());
        }
    }
}

/// Stores lines in batches and forwards them, with their ids, to followers.
pub async fn writer(
    store: Store,
    mut rx: mpsc::Receiver<LogMsg>,
    out: broadcast::Sender<LogEvent>,
) {
    let mut counts: HashMap<i64, usize> = HashMap::new();
    let mut buf = Vec::with_capacity(256);
    loop {
        if rx.recv_many(&mut buf, 256).await == 0 {
            return;
        }
        let mut batch = Vec::new();
        let mut ends = Vec::new();
        for msg in buf.drain(..) {
            match msg {
                LogMsg::Line(line) => {
                    let n = counts.entry(line.job_id).or_default();
                    *n += 1;
                    if *n < MAX_LINES_PER_JOB {
                        batch.push(line);
                    } else if *n == MAX_LINES_PER_JOB {
                        batch.push(NewLogLine {
                            message: format!(
                                "… further lines dropped: a job keeps at most {MAX_LINES_PER_JOB}"
                            ),
                            level: "warn",
                            ..line
                        });
                    }
                }
                LogMsg::End(job) => {
                    counts.remove(&job);
                    ends.push(job);
                }
            }
        }
        if !batch.is_empty() {
            match store.insert_job_logs(batch).await {
                Ok(lines) => {
                    for line in lines {
                        let _ = out.send(LogEvent::Line(line));
                    }
                }
                // Not through tracing: this could be inside a job span and loop.
                Err(e) => eprintln!("momod: cannot store job log lines: {e}"),
            }
        }
        for job in ends {
            let _ = out.send(LogEvent::End(job));
        }
    }
}
