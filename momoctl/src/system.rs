//! `momoctl status`.
use momo_proto::v1::StatusRequest;
use momo_proto::v1::system_service_client::SystemServiceClient;
use tonic::transport::Channel;

use crate::client::{Auth, Failure};
use crate::json;
use crate::output::{self, Format};

pub async fn status(channel: Channel, auth: Auth, format: Format) -> Result<(), Failure> {
    let mut client = SystemServiceClient::with_interceptor(channel, auth);
    let s = json::Status::from(client.status(StatusRequest {}).await?.into_inner());
    output::emit(format, &s, |s| {
        output::fields(&[
            ("version", s.version.clone()),
            ("uptime", format!("{}s", s.uptime_seconds)),
            ("data dir", s.data_dir.clone()),
            ("grpc", s.grpc_listen.join(", ")),
            ("webdav", format!("http://{}/", s.webdav_listen)),
            ("movies", s.movies.to_string()),
            (
                "shows",
                format!(
                    "{} ({} seasons, {} episodes)",
                    s.shows, s.seasons, s.episodes
                ),
            ),
            ("assigned", s.assigned.to_string()),
            ("torrents", s.torrents.to_string()),
            ("jobs", format!("{} queued or running", s.active_jobs)),
            (
                "cache",
                cache(s.cache_used_bytes, s.cache_max_bytes, s.evicted_bytes),
            ),
            (
                "streams",
                format!(
                    "{} opened, {} reads reused one",
                    s.streams_opened, s.streams_reused
                ),
            ),
        ])
    });
    Ok(())
}

/// "1.2 GiB of 4.0 GiB (3.1 GiB evicted since start)" or "1.2 GiB on disk, unbounded".
fn cache(used: u64, max: u64, evicted: u64) -> String {
    let used = output::human_size(used);
    if max == 0 {
        format!("{used} on disk, unbounded (torrent.cache_max_mb = 0)")
    } else {
        format!(
            "{used} of {} ({} evicted since start)",
            output::human_size(max),
            output::human_size(evicted)
        )
    }
}
