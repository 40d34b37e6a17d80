//! momod: the momoshtrem daemon.
//!
//! Start-up order: config (every key checked) → data dir and its lock (one daemon per data
//! dir) → store (migrations applied) → torrent engine → jobs (what the last run left is
//! requeued or marked failed) → WebDAV and gRPC listeners.
//!
//! Shutdown order, on SIGINT/SIGTERM: both listeners stop accepting; open WebDAV responses
//! and gRPC calls get `shutdown_grace_s` to finish, then are cut (a cut call is answered
//! `Unavailable`); jobs are stopped (one writing its result finishes it); the control
//! socket is removed as gRPC stops; then the torrent engine stops
//! (no stream is left reading from it), the database log is merged into `library.db`, and
//! the lock is released at exit. See ARCHITECTURE.md.
mod auth;
mod config;
mod error;
mod grpc;
mod intro;
mod jobs;
mod library;
mod listen;
#[cfg(test)]
mod proptests;
mod scrobble;
mod store;
mod stream;
mod subtitles;
mod tmdb;
mod torrent;
mod trakt;
mod vfs;
mod web;
mod webdav;

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use tracing::{info, warn};

use crate::config::Config;

#[derive(Parser, Debug)]
#[command(
    name = "momod",
    version,
    about = "momoshtrem daemon: your library as a streaming WebDAV share"
)]
struct Args {
    /// TOML config file; every key can also come from the environment (MOMO_SECTION_KEY).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where the database, the control socket and the torrent cache live
    /// [default: $MOMO_DATA_DIR, else ~/.local/share/momoshtrem].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        use tracing_subscriber::{EnvFilter, Layer, filter::LevelFilter};
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    // Colour only for a person at a terminal: a log file or journal gets plain text.
                    .with_ansi(colour_logs())
                    .with_filter(filter),
            )
            // A job's own lines (its span), kept with the job whatever RUST_LOG says.
            .with(jobs::log::JobLogLayer.with_filter(LevelFilter::INFO))
            .init();
    }

    let mut config = match Config::load(args.config.as_deref(), std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("momod: {e:#}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = args.data_dir {
        config.data_dir = Some(dir);
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("momod: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("momod: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let data_dir = prepare_data_dir(&config.data_dir())?;
    // Held until the process exits: the OS drops the lock even after kill -9.
    let _lock = lock_data_dir(&data_dir)?;
    info!(data_dir = %data_dir.display(), version = env!("CARGO_PKG_VERSION"), "momod starting");
    let descriptors = listen::raise_descriptor_limit();

    let store = store::Store::open(&data_dir)?;
    let tmdb = tmdb::Tmdb::new(&config.tmdb).context("TMDB client")?;
    if config.tmdb.api_key.as_deref().is_none_or(str::is_empty) {
        info!("no TMDB API key: adding by TMDB id is off; `movie add --title` still works");
    }
    let subtitle_files = subtitles::Files::new(&data_dir)
        .with_context(|| format!("cannot create {}/subtitles", data_dir.display()))?;
    // Files of subtitles deleted with their item (or by a run that crashed mid-removal).
    let orphans = subtitle_files.sweep(&store.subtitle_files().await?);
    if orphans > 0 {
        info!(orphans, "removed subtitle files no longer attached");
    }
    let vfs = Arc::new(vfs::Vfs::new(store.clone(), subtitle_files.clone()));
    let engine = torrent::Engine::start(&config.torrent, &data_dir).await?;
    let streamer = stream::Streamer::new(
        engine.clone(),
        stream::Settings::from_config(&config.stream, config.torrent.cache_max_mb),
        data_dir.join("pins"),
    )?;
    let trakt = Arc::new(trakt::Trakt::new(&config.trakt, &data_dir).context("Trakt client")?);
    // Bound before the library exists: intro detection reads through the share.
    let webdav_listener = tokio::net::TcpListener::bind(config.webdav.listen)
        .await
        .with_context(|| format!("cannot listen on {} (webdav.listen)", config.webdav.listen))?;
    let webdav_addr = webdav_listener.local_addr()?;
    let grants = webdav::Grants::default();
    let intros = Arc::new(intro::Detector::new(
        intro::Settings::from_config(&config.intro),
        intro::Share {
            base: format!("http://{}", loopback(webdav_addr)),
            grants: grants.clone(),
        },
    ));
    let library = library::Library::new(
        store.clone(),
        library::Clients {
            tmdb: Arc::new(tmdb),
            trakt: trakt.clone(),
            intros,
        },
        vfs.clone(),
        engine.clone(),
        streamer.clone(),
        library::Subtitles {
            files: subtitle_files,
            opensubtitles: Arc::new(
                subtitles::opensubtitles::OpenSubtitles::new(&config.subtitles)
                    .context("OpenSubtitles client")?,
            ),
            languages: config
                .subtitles
                .languages
                .iter()
                .filter_map(|l| subtitles::language(l))
                .collect(),
            writes: Arc::default(),
            auto: config.subtitles.auto,
        },
        config.library.local_roots.clone(),
    );

    // Jobs that start others (an assignment starts its subtitle fetch) reach the runner
    // through this once it exists.
    let follow_ups = Arc::new(std::sync::OnceLock::new());
    let jobs = jobs::Jobs::start(
        store.clone(),
        grpc::job_executor(library.clone(), follow_ups.clone()),
        jobs::Settings {
            concurrency: config.jobs.concurrency,
            retention: Duration::from_secs(config.jobs.retention_days * 86_400),
        },
    )
    .await
    .context("jobs")?;
    let _ = follow_ups.set(jobs.clone());

    let grace = Duration::from_secs(config.shutdown_grace_s);
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let shutdown_tx = Arc::new(shutdown_tx);
    let on_signal = shutdown_tx.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        let _ = on_signal.send(true);
    });

    let credentials = match (&config.webdav.username, &config.webdav.password) {
        (Some(username), Some(password)) => Some(webdav::Credentials {
            username: username.clone(),
            password: password.clone(),
        }),
        _ => None,
    };
    // A third of the descriptors at most for the share: a GET of a local file holds two
    // (the socket and the file), and torrent peers and pieces need theirs.
    let max_connections = config
        .webdav
        .max_connections
        .min((descriptors / 3).max(32) as usize);
    if max_connections < config.webdav.max_connections {
        warn!(
            max_connections,
            descriptors, "webdav.max_connections lowered to fit the open-file limit"
        );
    }
    info!(listen = %webdav_addr, auth = credentials.is_some(), max_connections, "WebDAV listening");
    let plays = scrobble::start(
        config.trakt.scrobble,
        scrobble::Settings {
            start_after: Duration::from_secs(config.trakt.scrobble_start_s),
            pause_after: Duration::from_secs(config.trakt.scrobble_pause_s),
            stop_after: Duration::from_secs(config.trakt.scrobble_stop_s),
            min_runtime: Duration::from_secs(config.trakt.scrobble_min_runtime_s),
        },
        store.clone(),
        trakt.clone(),
        shutdown_rx.clone(),
    );
    let webdav = tokio::spawn(webdav::serve(
        webdav_listener,
        vfs,
        streamer.clone(),
        plays,
        webdav::Access {
            people: credentials,
            grants,
        },
        shutdown_rx.clone(),
        webdav::Limits {
            max_connections,
            idle_timeout: Duration::from_secs(config.webdav.idle_timeout_s),
            send_timeout: Duration::from_secs(config.webdav.send_timeout_s),
            grace,
        },
    ));
    let idle = tokio::spawn(engine.clone().idle_loop(shutdown_rx.clone()));
    let maintain = tokio::spawn(streamer.clone().maintain(shutdown_rx.clone()));
    tokio::spawn(return_free_memory(shutdown_rx.clone()));
    {
        let library = library.clone();
        let shutdown = shutdown_rx.clone();
        tokio::spawn(async move {
            if let Err(e) = library.restore_pins().await {
                warn!("pins not restored: {e}");
            }
            library.keep_pins(shutdown).await;
        });
    }
    // Jobs stop with the listeners, so calls waiting on them are answered within the grace.
    let stop_jobs = {
        let jobs = jobs.clone();
        let mut shutdown = shutdown_rx.clone();
        tokio::spawn(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
            jobs.stop(grace).await;
        })
    };

    let served = grpc::serve(
        &config,
        &data_dir,
        webdav_addr,
        library,
        jobs,
        shutdown_rx,
        grace,
    )
    .await;
    // gRPC may also end by failing to start: everything else stops then too.
    let _ = shutdown_tx.send(true);
    let _ = webdav.await;
    let _ = idle.await;
    let _ = maintain.await;
    let _ = stop_jobs.await;
    // Only now, with no stream left reading from it.
    engine.stop().await;
    store.checkpoint().await;
    served?;
    info!("momod stopped");
    Ok(())
}

/// Creates the data dir (private to the user when we create it) and returns its absolute path.
fn prepare_data_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create data dir {}", dir.display()))?;
    }
    if !dir.is_dir() {
        bail!("data dir {} exists but is not a directory", dir.display());
    }
    dir.canonicalize()
        .with_context(|| format!("cannot resolve data dir {}", dir.display()))
}

/// Takes an exclusive lock on `<data_dir>/momod.lock` so two daemons never share a data dir,
/// and records our pid in it for the message the second one prints.
fn lock_data_dir(data_dir: &Path) -> anyhow::Result<File> {
    let path = data_dir.join("momod.lock");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open lock file {}", path.display()))?;
    let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            let who = if pid.is_empty() {
                String::new()
            } else {
                format!(" (pid {pid})")
            };
            bail!(
                "another momod{who} is already running with data dir {}; stop it first or use --data-dir",
                data_dir.display()
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "{}", std::process::id())?;
    Ok(file)
}

/// Hands memory freed after a burst of load back to the system once a minute. glibc's
/// allocator keeps freed memory in per-thread arenas: after 500 clients had come and gone,
/// momod kept some 100 MB it no longer used.
async fn return_free_memory(mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only releases free memory of the allocator's own heaps.
        let _ = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
    }
}

/// Colours when stderr is a terminal and `NO_COLOR` (no-color.org) is unset or empty.
fn colour_logs() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("install SIGINT handler");
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    info!(signal = name, "shutting down");
}

/// Where momod itself reaches a listener: loopback when it listens on every address.
fn loopback(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}
