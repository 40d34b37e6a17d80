//! Connecting to momod and turning failures into the exit codes scripts rely on.
use std::fmt;

use momo_proto::v1 as pb;
use momo_proto::v1::library_service_client::LibraryServiceClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

/// Why a command failed; each kind has its own exit code.
#[derive(Debug)]
pub enum Failure {
    /// The daemon answered with an error (exit 1).
    Daemon(Status),
    /// Bad usage found after argument parsing (exit 2; clap itself also exits 2).
    Usage(String),
    /// The daemon could not be reached (exit 3).
    Unreachable { addr: String, cause: String },
    /// Ctrl-C while following a job (exit 130, as for a shell's interrupted command).
    Interrupted(String),
    /// Something failed on this side (the terminal), exit 1.
    Local(String),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Daemon(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Unreachable { .. } => 3,
            Failure::Interrupted(_) => 130,
            Failure::Local(_) => 1,
        }
    }
}

impl From<Status> for Failure {
    fn from(status: Status) -> Self {
        Failure::Daemon(status)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Daemon(s) => write!(f, "{} (code: {})", s.message(), code_name(s.code())),
            Failure::Usage(m) | Failure::Interrupted(m) | Failure::Local(m) => f.write_str(m),
            Failure::Unreachable { addr, cause } => write!(
                f,
                "cannot reach momod at {addr}: {cause}\n\
                 hint: start the daemon with `momod` (or `momod --data-dir DIR` with the same \
                 MOMO_DATA_DIR), or point --addr / MOMOCTL_ADDR at a running momod"
            ),
        }
    }
}

pub use momo_proto::code_name;

/// Every page of a paged list: `fetch(token)` returns one page's items and the next token
/// (empty on the last page). Replies stay under gRPC's message limit however long the list;
/// a token that does not move ends the loop instead of spinning.
pub async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, Status>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, String), Status>>,
{
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let (items, next) = fetch(token.clone()).await?;
        all.extend(items);
        if next.is_empty() || next == token {
            return Ok(all);
        }
        token = next;
    }
}

/// The library service as momoctl talks to it.
pub type LibraryClient = LibraryServiceClient<InterceptedService<Channel, Auth>>;

/// Every movie, in pages of `page_size` (0: the daemon's default).
pub async fn all_movies(client: &LibraryClient, page_size: u32) -> Result<Vec<pb::Movie>, Status> {
    all_pages(|page_token| {
        let mut client = client.clone();
        async move {
            let page = client
                .list_movies(pb::ListMoviesRequest {
                    page_size,
                    page_token,
                })
                .await?
                .into_inner();
            Ok((page.movies, page.next_page_token))
        }
    })
    .await
}

/// Every show, in pages of `page_size` (0: the daemon's default).
pub async fn all_shows(client: &LibraryClient, page_size: u32) -> Result<Vec<pb::Show>, Status> {
    all_pages(|page_token| {
        let mut client = client.clone();
        async move {
            let page = client
                .list_shows(pb::ListShowsRequest {
                    page_size,
                    page_token,
                })
                .await?
                .into_inner();
            Ok((page.shows, page.next_page_token))
        }
    })
    .await
}

/// Adds `authorization: Bearer <token>` to every call when a token is given.
#[derive(Clone)]
pub struct Auth(Option<MetadataValue<Ascii>>);

impl Interceptor for Auth {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            req.metadata_mut()
                .insert(momo_proto::AUTH_HEADER, value.clone());
        }
        Ok(req)
    }
}

/// The address used when neither --addr nor MOMOCTL_ADDR is given: momod's default socket.
pub fn default_addr() -> String {
    let socket = momo_proto::default_data_dir().join(momo_proto::SOCKET_NAME);
    format!("unix://{}", socket.display())
}

/// Connects eagerly, so an absent daemon is reported before any command runs.
pub async fn connect(addr: &str, token: Option<&str>) -> Result<(Channel, Auth), Failure> {
    let endpoint = if let Some(path) = addr.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(Failure::Usage(format!(
                "--addr {addr}: a unix socket path must be absolute (unix:///path/momod.sock)"
            )));
        }
        if !std::path::Path::new(path).exists() {
            return Err(Failure::Unreachable {
                addr: addr.to_string(),
                cause: "no socket there (is momod running?)".into(),
            });
        }
        Endpoint::from_shared(format!("unix://{path}"))
    } else if addr.starts_with("http://") || addr.starts_with("https://") {
        Endpoint::from_shared(addr.to_string())
    } else {
        return Err(Failure::Usage(format!(
            "--addr {addr}: expected unix:///path/momod.sock or http://host:port"
        )));
    }
    .map_err(|e| Failure::Usage(format!("--addr {addr}: {e}")))?;

    let auth = match token {
        Some(t) => Some(
            format!("Bearer {t}")
                .parse()
                .map_err(|_| Failure::Usage("--token must be printable ASCII".into()))?,
        ),
        None => None,
    };
    let channel = endpoint
        .connect_timeout(std::time::Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| Failure::Unreachable {
            addr: addr.to_string(),
            cause: error_chain(&e),
        })?;
    Ok((channel, Auth(auth)))
}

/// "transport error: connection refused" rather than just "transport error".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
