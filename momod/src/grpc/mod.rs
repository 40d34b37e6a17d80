//! The gRPC API: listeners, authentication, and thin handlers that call the library.
//!
//! The control socket (mode 0600) needs no token: file permissions decide who may connect.
//! A TCP listener is only started with `grpc.token` set, and every call on it must carry
//! `authorization: Bearer <token>`.
mod assignment;
mod convert;
mod import;
mod intro;
mod jobs;
mod library;
mod pins;
mod subtitles;
mod system;
mod torrent;
mod trakt;

use std::future::Future;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use momo_proto::v1::assignment_service_server::AssignmentServiceServer;
use momo_proto::v1::import_service_server::ImportServiceServer;
use momo_proto::v1::intro_service_server::IntroServiceServer;
use momo_proto::v1::job_service_server::JobServiceServer;
use momo_proto::v1::library_service_server::LibraryServiceServer;
use momo_proto::v1::pin_service_server::PinServiceServer;
use momo_proto::v1::subtitle_service_server::SubtitleServiceServer;
use momo_proto::v1::system_service_server::SystemServiceServer;
use momo_proto::v1::torrent_service_server::TorrentServiceServer;
use momo_proto::v1::trakt_service_server::TraktServiceServer;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::{Request, Status};
use tracing::{info, warn};

use crate::config::{Config, GrpcListen};
use crate::jobs::Jobs;
use crate::library::Library;

use assignment::AssignmentApi;
use import::ImportApi;
use intro::IntroApi;
use jobs::JobApi;
pub use jobs::executor as job_executor;
use library::LibraryApi;
use pins::PinApi;
use subtitles::SubtitleApi;
use system::SystemApi;
use torrent::TorrentApi;
use trakt::TraktApi;

/// Largest request accepted: the longest fields (a magnet, a path) are a few KiB.
const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// Requests that may carry a `.torrent` file (assignments, jobs, torrent files).
const MAX_TORRENT_REQUEST_BYTES: usize = crate::torrent::MAX_TORRENT_FILE_BYTES + 64 * 1024;
/// Jobs' requests carry a `.torrent` file or an M3U playlist.
const MAX_JOB_REQUEST_BYTES: usize =
    if MAX_TORRENT_REQUEST_BYTES > momo_proto::MAX_PLAYLIST_REQUEST_BYTES {
        MAX_TORRENT_REQUEST_BYTES
    } else {
        momo_proto::MAX_PLAYLIST_REQUEST_BYTES
    };

/// Binds every configured listener, then serves until `shutdown` turns true. Calls in
/// flight then get `grace` to finish before they are dropped.
pub async fn serve(
    config: &Config,
    data_dir: &Path,
    webdav_listen: std::net::SocketAddr,
    library: Library,
    jobs: Jobs,
    shutdown: watch::Receiver<bool>,
    grace: Duration,
) -> anyhow::Result<()> {
    let socket_path = match &config.grpc.listen {
        Some(GrpcListen::Unix(path)) => path.clone(),
        _ => data_dir.join(momo_proto::SOCKET_NAME),
    };
    let uds = bind_unix(&socket_path)?;
    let mut listen = vec![GrpcListen::Unix(socket_path.clone()).to_string()];

    let tcp = match (&config.grpc.listen, &config.grpc.token) {
        (Some(GrpcListen::Tcp(addr)), Some(token)) => {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on tcp://{addr} (grpc.listen)"))?;
            listen.push(GrpcListen::Tcp(listener.local_addr()?).to_string());
            Some((listener, token.clone()))
        }
        _ => None,
    };
    for l in &listen {
        info!(listen = %l, "gRPC listening");
    }

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<SystemServiceServer<SystemApi>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(momo_proto::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("reflection service")?;
    let system = SystemApi {
        started: Instant::now(),
        data_dir: data_dir.to_path_buf(),
        grpc_listen: listen,
        webdav_listen: webdav_listen.to_string(),
        library: library.clone(),
        jobs: jobs.clone(),
        shutdown: shutdown.clone(),
    };
    let routes = Routes::new(health_service)
        .add_service(reflection)
        .add_service(SystemServiceServer::new(system).max_decoding_message_size(MAX_REQUEST_BYTES))
        .add_service(
            LibraryServiceServer::new(LibraryApi {
                library: library.clone(),
                jobs: jobs.clone(),
            })
            .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            ImportServiceServer::new(ImportApi {
                library: library.clone(),
                jobs: jobs.clone(),
            })
            .max_decoding_message_size(momo_proto::MAX_PLAYLIST_REQUEST_BYTES),
        )
        .add_service(
            AssignmentServiceServer::new(AssignmentApi {
                library: library.clone(),
                jobs: jobs.clone(),
            })
            .max_decoding_message_size(MAX_TORRENT_REQUEST_BYTES),
        )
        .add_service(
            JobServiceServer::new(JobApi {
                jobs: jobs.clone(),
                library: library.clone(),
            })
            .max_decoding_message_size(MAX_JOB_REQUEST_BYTES),
        )
        .add_service(
            IntroServiceServer::new(IntroApi {
                library: library.clone(),
            })
            .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            TraktServiceServer::new(TraktApi {
                library: library.clone(),
                jobs: jobs.clone(),
            })
            .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            PinServiceServer::new(PinApi {
                library: library.clone(),
                jobs: jobs.clone(),
            })
            .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            SubtitleServiceServer::new(SubtitleApi {
                library: library.clone(),
                jobs,
            })
            .max_decoding_message_size(momo_proto::MAX_SUBTITLE_REQUEST_BYTES),
        )
        .add_service(
            TorrentServiceServer::new(TorrentApi { library })
                .max_decoding_message_size(MAX_TORRENT_REQUEST_BYTES),
        );

    let stop = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    // Turns true when the grace period is over: calls still running are answered then.
    let (cut_tx, cut_rx) = watch::channel(false);
    let cut = CutAtDeadline { cut: cut_rx };
    let unix_server = Server::builder()
        .layer(cut.clone())
        .add_routes(routes.clone())
        .serve_with_incoming_shutdown(
            crate::listen::incoming(uds, "gRPC (socket)"),
            stop(shutdown.clone()),
        );
    let tcp_server = async {
        let Some((listener, token)) = tcp else {
            return Ok(());
        };
        // The token is checked first (outermost); the cut wraps the calls themselves.
        Server::builder()
            .layer(tonic::service::InterceptorLayer::new(move |req| {
                check_token(&token, req)
            }))
            .layer(cut)
            .add_routes(routes)
            .serve_with_incoming_shutdown(
                crate::listen::incoming(listener, "gRPC (TCP)"),
                stop(shutdown.clone()),
            )
            .await
    };
    // A call that waits on a swarm (metadata can take a minute) must not hold up shutdown:
    // after the grace period it is answered `Unavailable`; a connection that still does not
    // close a moment later is abandoned.
    let deadline = async {
        stop(shutdown.clone()).await;
        tokio::time::sleep(grace).await;
        let _ = cut_tx.send(true);
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let result = tokio::select! {
        served = async { tokio::try_join!(unix_server, tcp_server) } => served.map(|_| ()),
        _ = deadline => {
            warn!("gRPC connections still open after the grace period: closed");
            Ok(())
        }
    };
    if let Err(e) = std::fs::remove_file(&socket_path) {
        warn!(path = %socket_path.display(), "cannot remove socket: {e}");
    }
    result.context("gRPC server")?;
    Ok(())
}

/// Binds the Unix socket with mode 0600. A socket file left by a crashed run is replaced;
/// one that still answers belongs to a live daemon and is left alone.
fn bind_unix(path: &PathBuf) -> anyhow::Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            bail!(
                "{} exists and is not a socket; refusing to replace it",
                path.display()
            );
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!("{} is in use by another running daemon", path.display());
        }
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove stale socket {}", path.display()))?;
        info!(path = %path.display(), "replaced stale socket");
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("cannot listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot set mode 0600 on {}", path.display()))?;
    Ok(listener)
}

/// Accepts a call on the TCP listener only with `authorization: Bearer <token>`.
fn check_token(token: &str, req: Request<()>) -> Result<Request<()>, Status> {
    let Some(value) = req.metadata().get(momo_proto::AUTH_HEADER) else {
        return Err(Status::unauthenticated(
            "this listener needs a token: pass --token or set MOMOCTL_TOKEN",
        ));
    };
    let given = value
        .to_str()
        .unwrap_or("")
        .strip_prefix("Bearer ")
        .unwrap_or("");
    if crate::auth::constant_time_eq(given.as_bytes(), token.as_bytes()) {
        Ok(req)
    } else {
        Err(Status::unauthenticated("wrong token"))
    }
}

/// Answers a call still running when `cut` turns true with `Unavailable`. tonic serves each
/// connection in a task of its own, so stopping the server alone would leave such a call
/// running while the engine and the database shut down under it.
#[derive(Clone)]
struct CutAtDeadline {
    cut: watch::Receiver<bool>,
}

impl<S> tower::Layer<S> for CutAtDeadline {
    type Service = Cut<S>;
    fn layer(&self, inner: S) -> Cut<S> {
        Cut {
            inner,
            cut: self.cut.clone(),
        }
    }
}

#[derive(Clone)]
struct Cut<S> {
    inner: S,
    cut: watch::Receiver<bool>,
}

type Reply = http::Response<tonic::body::Body>;

impl<S, B> tower::Service<http::Request<B>> for Cut<S>
where
    S: tower::Service<http::Request<B>, Response = Reply>,
    S::Future: Send + 'static,
{
    type Response = Reply;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Reply, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let call = self.inner.call(req);
        let mut cut = self.cut.clone();
        Box::pin(async move {
            let deadline = async move {
                // The sender lives as long as the server; if it is gone, never cut.
                if cut.wait_for(|cut| *cut).await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                reply = call => reply,
                () = deadline => {
                    warn!("gRPC call cut: still running at the end of the shutdown grace period");
                    Ok(Status::unavailable(
                        "momod is shutting down and this call did not finish in time; run it again once momod is back",
                    )
                    .into_http())
                }
            }
        })
    }
}
