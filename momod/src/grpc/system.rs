//! `SystemService`: what the daemon is and what it holds, and its changes as they happen.
use std::path::PathBuf;
use std::time::Instant;

use momo_proto::v1 as pb;
use momo_proto::v1::system_service_server::SystemService;
use momo_proto::v1::{LibraryCounts, StatusRequest, StatusResponse};
use tokio::sync::{broadcast, mpsc, watch};
use tonic::{Request, Response, Status};

use super::jobs::{ReplyStream, channel_stream, job};
use crate::jobs::Jobs;
use crate::jobs::model::JobFilter;
use crate::library::Library;

pub struct SystemApi {
    pub started: Instant,
    pub data_dir: PathBuf,
    pub grpc_listen: Vec<String>,
    pub webdav_listen: String,
    pub library: Library,
    pub jobs: Jobs,
    pub shutdown: watch::Receiver<bool>,
}

#[tonic::async_trait]
impl SystemService for SystemApi {
    async fn status(&self, _: Request<StatusRequest>) -> Result<Response<StatusResponse>, Status> {
        let c = self.library.counts().await?;
        let p = self.library.playback().await;
        Ok(Response::new(StatusResponse {
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_seconds: self.started.elapsed().as_secs(),
            data_dir: self.data_dir.display().to_string(),
            grpc_listen: self.grpc_listen.clone(),
            webdav_listen: self.webdav_listen.clone(),
            library: Some(LibraryCounts {
                movies: c.movies,
                shows: c.shows,
                seasons: c.seasons,
                episodes: c.episodes,
                assigned: c.assigned,
                torrents: self.library.torrent_count() as u64,
                active_jobs: self.jobs.active_count().await?,
            }),
            playback: Some(pb::Playback {
                cache_used_bytes: p.cache_used,
                cache_max_bytes: p.cache_max,
                streams_opened: p.streams_opened,
                streams_reused: p.streams_reused,
                evicted_torrents: p.evicted_torrents,
                evicted_bytes: p.evicted_bytes,
            }),
        }))
    }

    type WatchStream = ReplyStream<pb::WatchEvent>;

    async fn watch(
        &self,
        _: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let mut generation = self.library.changes();
        let jobs_handle = self.jobs.clone();
        let mut jobs = self.jobs.updates();
        let mut shutdown = self.shutdown.clone();
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            use pb::watch_event::Event;
            // Stands for "fetch every recent job" (generations only grow from 0).
            const RESYNC: Event = Event::LibraryGeneration(u64::MAX);
            let now = *generation.borrow_and_update();
            let mut next = vec![Event::LibraryGeneration(now)];
            while !next.is_empty() {
                for event in next.drain(..) {
                    if tx
                        .send(Ok(pb::WatchEvent { event: Some(event) }))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                next = tokio::select! {
                    changed = generation.changed() => match changed {
                        Ok(()) => {
                            let now = *generation.borrow_and_update();
                            vec![Event::LibraryGeneration(now)]
                        }
                        Err(_) => vec![],
                    },
                    update = jobs.recv() => match update {
                        Ok(j) => vec![Event::Job(job(j))],
                        // A watcher that fell behind may have missed a job's end: it gets
                        // every recent job as it is now.
                        Err(broadcast::error::RecvError::Lagged(_)) => vec![RESYNC],
                        Err(broadcast::error::RecvError::Closed) => vec![],
                    },
                    () = tx.closed() => vec![],
                    _ = shutdown.wait_for(|stop| *stop) => vec![],
                };
                // A watcher that fell behind may have missed a job's end: it gets every
                // recent job as it is now.
                if next == [RESYNC] {
                    let since = crate::store::unix_now() - 3600;
                    let recent = jobs_handle
                        .list(JobFilter::ActiveOrEndedSince(since), None, 1000)
                        .await;
                    next = match recent {
                        Ok(all) => all.into_iter().map(|j| Event::Job(job(j))).collect(),
                        Err(e) => {
                            let _ = tx.send(Err(e.into())).await;
                            return;
                        }
                    };
                }
            }
        });
        Ok(Response::new(channel_stream(rx)))
    }
}
