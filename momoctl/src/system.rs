//! `momoctl status`.
use momo_proto::v1::StatusRequest;
use momo_proto::v1::system_service_client::SystemServiceClient;
use serde::Serialize;
use tonic::transport::Channel;

use crate::client::{Auth, Failure};
use crate::output::{self, Format};

/// `-o json` shape of `momoctl status`; field names are a stable interface.
#[derive(Serialize)]
struct StatusJson {
    version: String,
    uptime_seconds: u64,
    data_dir: String,
    grpc_listen: Vec<String>,
    webdav_listen: String,
    movies: u64,
    shows: u64,
    seasons: u64,
    episodes: u64,
    assigned: u64,
    torrents: u64,
}

pub async fn status(channel: Channel, auth: Auth, format: Format) -> Result<(), Failure> {
    let mut client = SystemServiceClient::with_interceptor(channel, auth);
    let s = client.status(StatusRequest {}).await?.into_inner();
    let counts = s.library.unwrap_or_default();
    let out = StatusJson {
        version: s.version,
        uptime_seconds: s.uptime_seconds,
        data_dir: s.data_dir,
        grpc_listen: s.grpc_listen,
        webdav_listen: s.webdav_listen,
        movies: counts.movies,
        shows: counts.shows,
        seasons: counts.seasons,
        episodes: counts.episodes,
        assigned: counts.assigned,
        torrents: counts.torrents,
    };
    match format {
        Format::Json => output::json(&out),
        Format::Table => output::fields(&[
            ("version", out.version),
            ("uptime", format!("{}s", out.uptime_seconds)),
            ("data dir", out.data_dir),
            ("grpc", out.grpc_listen.join(", ")),
            ("webdav", format!("http://{}/", out.webdav_listen)),
            ("movies", out.movies.to_string()),
            (
                "shows",
                format!(
                    "{} ({} seasons, {} episodes)",
                    out.shows, out.seasons, out.episodes
                ),
            ),
            ("assigned", out.assigned.to_string()),
            ("torrents", out.torrents.to_string()),
        ]),
    }
    Ok(())
}
