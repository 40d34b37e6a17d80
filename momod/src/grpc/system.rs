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
        }))
    }

    type WatchStream = ReplyStream<pb::WatchEvent>;

    async fn watch(
        &self,
        _: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let mut generation = self.library.changes();
        let mut jobs = self.jobs.updates();
        let mut shutdown = self.shutdown.clone();
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            use pb::watch_event::Event;
            let mut next = Some(Event::LibraryGeneration(*generation.borrow_and_update()));
            while let Some(event) = next.take() {
                if tx
                    .send(Ok(pb::WatchEvent { event: Some(event) }))
                    .await
                    .is_err()
                {
                    return;
                }
                next = tokio::select! {
                    changed = generation.changed() => changed
                        .ok()
                        .map(|()| Event::LibraryGeneration(*generation.borrow_and_update())),
                    update = jobs.recv() => match update {
                        Ok(j) => Some(Event::Job(job(j))),
                        // A watcher that fell behind misses progress steps, not the end:
                        // the next change of each job carries its whole state.
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            Some(Event::LibraryGeneration(*generation.borrow()))
                        }
                        Err(broadcast::error::RecvError::Closed) => None,
                    },
                    () = tx.closed() => None,
                    _ = shutdown.wait_for(|stop| *stop) => None,
                };
            }
        });
        Ok(Response::new(channel_stream(rx)))
    }
}
