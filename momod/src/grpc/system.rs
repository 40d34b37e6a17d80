//! `SystemService`: what the daemon is and what it holds.
use std::path::PathBuf;
use std::time::Instant;

use momo_proto::v1::system_service_server::SystemService;
use momo_proto::v1::{LibraryCounts, StatusRequest, StatusResponse};
use tonic::{Request, Response, Status};

use crate::library::Library;

pub struct SystemApi {
    pub started: Instant,
    pub data_dir: PathBuf,
    pub grpc_listen: Vec<String>,
    pub webdav_listen: String,
    pub library: Library,
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
            }),
        }))
    }
}
