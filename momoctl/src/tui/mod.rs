//! `momoctl tui`: the library, torrents and jobs in the terminal, live, over the same gRPC
//! API as every other command.
//!
//! - `app`: state and rules (keys → commands, daemon updates → state); no I/O.
//! - `view`: drawing `app` with ratatui; no state.
//! - here: the terminal, the calls, and one loop that waits on keys, replies and the live
//!   stream at once (`tokio::select!`), redrawing after each.
//!
//! Live, not polled: `SystemService/Watch` says when the library changed (the lists are
//! fetched again) and streams every job change. Torrent figures have no stream: while the
//! Torrents tab or a torrent-backed item is shown, its numbers are fetched every 2 s.
pub mod app;
pub mod view;

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use momo_proto::v1 as pb;
use momo_proto::v1::assignment_service_client::AssignmentServiceClient;
use momo_proto::v1::job_service_client::JobServiceClient;
use momo_proto::v1::library_service_client::LibraryServiceClient;
use momo_proto::v1::system_service_client::SystemServiceClient;
use momo_proto::v1::torrent_service_client::TorrentServiceClient;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tonic::Status;
use tonic::transport::Channel;

use crate::client::{Auth, Failure, all_movies, all_shows};
use app::{App, Command, Detail, Selected, Tab, Update};

pub async fn run(channel: Channel, auth: Auth) -> Result<(), Failure> {
    if !std::io::stdout().is_terminal() {
        return Err(Failure::Usage("momoctl tui needs a terminal".into()));
    }
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, channel, auth).await;
    ratatui::restore();
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    channel: Channel,
    auth: Auth,
) -> Result<(), Failure> {
    let (tx, mut updates) = mpsc::channel::<Update>(256);
    let rpc = Rpc { channel, auth, tx };
    let (generation_tx, mut generation) = watch::channel(0u64);
    tokio::spawn(rpc.clone().watch(generation_tx));
    tokio::spawn(rpc.clone().reload_on_change(generation.clone()));
    rpc.spawn(Rpc::load_jobs);
    rpc.spawn(Rpc::load_torrents);

    let mut app = App::new();
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let mut logs: Option<AbortHandle> = None;
    let mut detail: Option<AbortHandle> = None;
    loop {
        terminal
            .draw(|frame| view::draw(frame, &app))
            .map_err(|e| Failure::Local(format!("cannot draw: {e}")))?;
        let commands = tokio::select! {
            key = keys.next() => match key {
                Some(Ok(Event::Key(k))) if k.kind == KeyEventKind::Press => app.on_key(k),
                Some(Ok(_)) => vec![],
                Some(Err(e)) => return Err(Failure::Local(format!("terminal: {e}"))),
                None => return Ok(()),
            },
            Some(update) = updates.recv() => app.apply(update),
            Ok(()) = generation.changed() => {
                // The library changed (the lists are fetched by `reload_on_change`): the
                // open show and the detail too.
                if let Some((show, _, _)) = &app.open_show {
                    rpc.exec(Command::OpenShow(show.id));
                }
                app.selection().map(Command::Detail).into_iter().collect()
            }
            _ = tick.tick() => {
                let torrent_shown = app.detail.as_ref().is_some_and(|(_, d)| d.torrent.is_some());
                if app.current_tab() == Tab::Torrents {
                    rpc.spawn(Rpc::load_torrents);
                }
                match app.selection() {
                    Some(s) if torrent_shown => vec![Command::Detail(s)],
                    _ => vec![],
                }
            }
        };
        for command in commands {
            match command {
                Command::Quit => return Ok(()),
                Command::Copy(path) => {
                    copy_to_clipboard(&path);
                    app.message = Some(format!("copied {path}"));
                }
                Command::FollowLogs(id) => {
                    if let Some(previous) = logs.take() {
                        previous.abort();
                    }
                    logs = Some(rpc.follow_logs(id));
                }
                // The latest selection wins: scrolling fast leaves one call running.
                Command::Detail(selected) => {
                    if let Some(previous) = detail.take() {
                        previous.abort();
                    }
                    let rpc = rpc.clone();
                    detail = Some(
                        tokio::spawn(async move {
                            let tx = rpc.tx.clone();
                            if let Ok(update) = rpc.detail(selected).await {
                                let _ = tx.send(update).await;
                            }
                        })
                        .abort_handle(),
                    );
                }
                Command::Reload => {
                    rpc.spawn(Rpc::load_jobs);
                    rpc.spawn(Rpc::load_torrents);
                }
                other => rpc.exec(other),
            }
        }
    }
}

/// OSC 52: the terminal puts the text on the clipboard (also over SSH).
fn copy_to_clipboard(text: &str) {
    let mut out = std::io::stdout();
    let _ = write!(out, "\x1b]52;c;{}\x07", base64(text.as_bytes()));
    let _ = out.flush();
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

type Svc = tonic::service::interceptor::InterceptedService<Channel, Auth>;

/// Calls to momod; each runs in a task of its own and sends its result as an `Update`.
#[derive(Clone)]
struct Rpc {
    channel: Channel,
    auth: Auth,
    tx: mpsc::Sender<Update>,
}

impl Rpc {
    fn library(&self) -> LibraryServiceClient<Svc> {
        LibraryServiceClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }
    fn torrents(&self) -> TorrentServiceClient<Svc> {
        TorrentServiceClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }
    fn jobs(&self) -> JobServiceClient<Svc> {
        JobServiceClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }
    fn assignments(&self) -> AssignmentServiceClient<Svc> {
        AssignmentServiceClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// Runs `call` in a task; a failure becomes a message.
    fn spawn<F, Fut>(&self, call: F)
    where
        F: FnOnce(Rpc) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Update, Status>> + Send + 'static,
    {
        let rpc = self.clone();
        tokio::spawn(async move {
            let tx = rpc.tx.clone();
            let update = call(rpc)
                .await
                .unwrap_or_else(|s| Update::Failed(s.message().to_string()));
            let _ = tx.send(update).await;
        });
    }

    /// Fetches the lists once, then again after each library change, one fetch at a time
    /// (changes during a fetch are coalesced into the next one).
    async fn reload_on_change(self, mut generation: watch::Receiver<u64>) {
        loop {
            generation.borrow_and_update();
            match self.clone().load_library().await {
                Ok(update) => {
                    if self.tx.send(update).await.is_err() {
                        return;
                    }
                }
                Err(s) => {
                    let _ = self.tx.send(Update::Failed(s.message().to_string())).await;
                }
            }
            if generation.changed().await.is_err() {
                return;
            }
        }
    }

    async fn load_library(self) -> Result<Update, Status> {
        let client = self.library();
        let movies = all_movies(&client, 1000).await?;
        let shows = all_shows(&client, 1000).await?;
        let _ = self.tx.send(Update::Shows(shows)).await;
        Ok(Update::Movies(movies))
    }

    async fn load_jobs(self) -> Result<Update, Status> {
        let jobs = self
            .jobs()
            .list(pb::ListJobsRequest {
                all: false,
                page_size: 1000,
                page_token: String::new(),
            })
            .await?
            .into_inner()
            .jobs;
        Ok(Update::Jobs(jobs))
    }

    async fn load_torrents(self) -> Result<Update, Status> {
        let list = self
            .torrents()
            .list(pb::ListTorrentsRequest {})
            .await?
            .into_inner();
        Ok(Update::Torrents(list.torrents))
    }

    fn exec(&self, command: Command) {
        match command {
            Command::OpenShow(id) => self.spawn(move |rpc| async move {
                let show = rpc.library().get_show(pb::GetShowRequest { id }).await?;
                Ok(Update::Show(show.into_inner()))
            }),
            Command::RefreshShow(id) => self.spawn(move |rpc| async move {
                let op = pb::start_job_request::Op::RefreshShow(pb::RefreshShowRequest { id });
                let job = rpc
                    .jobs()
                    .start(pb::StartJobRequest { op: Some(op) })
                    .await?
                    .into_inner();
                Ok(Update::Done(format!(
                    "job {} started: {}",
                    job.id, job.summary
                )))
            }),
            Command::Pause(hash) | Command::Resume(hash) if hash.is_empty() => {}
            Command::Pause(hash) => self.spawn(move |rpc| async move {
                let t = rpc
                    .torrents()
                    .pause(pb::TorrentRequest { info_hash: hash })
                    .await?;
                rpc.spawn(Rpc::load_torrents);
                Ok(Update::Done(format!("paused {}", t.into_inner().name)))
            }),
            Command::Resume(hash) => self.spawn(move |rpc| async move {
                let t = rpc
                    .torrents()
                    .resume(pb::TorrentRequest { info_hash: hash })
                    .await?;
                rpc.spawn(Rpc::load_torrents);
                Ok(Update::Done(format!("resumed {}", t.into_inner().name)))
            }),
            Command::Unassign(kind, id) => self.spawn(move |rpc| async move {
                let item = Some(pb::ItemRef {
                    kind: kind as i32,
                    id,
                });
                let r = rpc
                    .assignments()
                    .unassign(pb::UnassignRequest { item })
                    .await?;
                Ok(Update::Done(match r.into_inner().removed {
                    Some(a) => format!("detached {}", a.file_path),
                    None => "it had no source".into(),
                }))
            }),
            Command::CancelJob(id) => self.spawn(move |rpc| async move {
                let j = rpc.jobs().cancel(pb::JobRequest { id }).await?.into_inner();
                Ok(Update::Done(format!(
                    "job {} {}",
                    j.id,
                    crate::json::job_state(j.state)
                )))
            }),
            Command::Detail(_)
            | Command::FollowLogs(_)
            | Command::Copy(_)
            | Command::Reload
            | Command::Quit => {}
        }
    }

    async fn detail(self, selected: Selected) -> Result<Update, Status> {
        let item = match selected {
            Selected::Movie(id) => pb::ItemRef {
                kind: pb::ItemKind::Movie as i32,
                id,
            },
            Selected::Episode(id) => pb::ItemRef {
                kind: pb::ItemKind::Episode as i32,
                id,
            },
            _ => return Ok(Update::Detail(selected, Detail::default())),
        };
        let source = self
            .assignments()
            .source(pb::SourceRequest { item: Some(item) })
            .await?
            .into_inner()
            .active;
        let torrent = match source.as_ref().and_then(|a| a.info_hash.clone()) {
            Some(info_hash) => self
                .torrents()
                .get(pb::TorrentRequest { info_hash })
                .await
                .ok()
                .map(|t| t.into_inner()),
            None => None,
        };
        Ok(Update::Detail(selected, Detail { source, torrent }))
    }

    /// Follows one job's log (stored lines, then new ones) until aborted or the job ends.
    fn follow_logs(&self, id: i64) -> AbortHandle {
        let rpc = self.clone();
        tokio::spawn(async move {
            let Ok(stream) = rpc
                .jobs()
                .logs(pb::JobLogsRequest { id, follow: true })
                .await
            else {
                return;
            };
            let mut stream = stream.into_inner();
            while let Ok(Some(line)) = stream.message().await {
                if rpc.tx.send(Update::LogLine(line)).await.is_err() {
                    return;
                }
            }
        })
        .abort_handle()
    }

    /// The live stream: library generations into `generation`, job changes as updates.
    /// Reconnects every 2 s while momod is away.
    async fn watch(self, generation: watch::Sender<u64>) {
        loop {
            let mut client =
                SystemServiceClient::with_interceptor(self.channel.clone(), self.auth.clone());
            match client.watch(pb::WatchRequest {}).await {
                Ok(stream) => {
                    let mut stream = stream.into_inner();
                    let _ = self.tx.send(Update::Connected).await;
                    let mut first = true;
                    loop {
                        match stream.message().await {
                            Ok(Some(pb::WatchEvent { event: Some(e) })) => match e {
                                pb::watch_event::Event::LibraryGeneration(g) => {
                                    // After a reconnect everything may have changed.
                                    if first {
                                        generation.send_modify(|v| *v = v.wrapping_add(1));
                                    } else {
                                        generation.send_replace(g);
                                    }
                                    first = false;
                                }
                                pb::watch_event::Event::Job(j) => {
                                    if self.tx.send(Update::Job(j)).await.is_err() {
                                        return;
                                    }
                                }
                            },
                            Ok(Some(_)) => {}
                            Ok(None) => break,
                            Err(s) => {
                                let _ = self
                                    .tx
                                    .send(Update::Disconnected(format!("momod: {}", s.message())))
                                    .await;
                                break;
                            }
                        }
                    }
                }
                Err(s) => {
                    let _ = self
                        .tx
                        .send(Update::Disconnected(format!(
                            "momod unreachable: {} — retrying",
                            s.message()
                        )))
                        .await;
                }
            }
            if self.tx.is_closed() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            let _ = self
                .tx
                .send(Update::Disconnected("momod unreachable — retrying".into()))
                .await;
        }
    }
}

#[cfg(test)]
mod tests;
