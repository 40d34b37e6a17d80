//! momoctl: drive momod over gRPC, for people (tables) and scripts (`-o json`, exit codes).
//!
//! Exit codes: 0 success; 1 the daemon answered with an error (or a local failure);
//! 2 usage error; 3 daemon unreachable; 130 interrupted (Ctrl-C) while following a job.
mod assign;
mod client;
mod import;
mod intro;
mod jobs;
mod json;
mod library;
mod output;
mod pins;
mod subs;
mod system;
mod torrent;
mod trakt;
mod tui;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::client::Failure;
use crate::output::Format;

#[derive(Parser, Debug)]
#[command(
    name = "momoctl",
    version,
    about = "Control momod: library, sources, torrents",
    propagate_version = true
)]
struct Cli {
    /// Daemon address: unix:///path/momod.sock or http://host:port
    /// [default: unix://$MOMO_DATA_DIR/momod.sock, else the platform data dir]
    #[arg(long, global = true, env = "MOMOCTL_ADDR", value_name = "ADDR")]
    addr: Option<String>,
    /// Token for a TCP listener (sent as `authorization: Bearer`).
    #[arg(long, global = true, env = "MOMOCTL_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Output format.
    #[arg(short, long, global = true, value_enum, default_value_t = Format::Table)]
    output: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show the daemon's version, uptime, listeners and library counts.
    Status,
    /// Movies in the library.
    #[command(subcommand)]
    Movie(library::MovieCmd),
    /// TV shows in the library, with their seasons and episodes.
    #[command(subcommand)]
    Show(library::ShowCmd),
    /// Search TMDB for the id to add: `search movie fight club`.
    Search(library::SearchArgs),
    /// Attach a source to a movie or an episode.
    #[command(subcommand)]
    Assign(assign::AssignCmd),
    /// Detach the source of a movie or an episode (it leaves the share, stays in the library).
    Unassign {
        #[arg(value_enum)]
        kind: assign::ItemKind,
        id: i64,
    },
    /// Download an item's source whole to momod's disk (resumable, never evicted), to play
    /// it with the swarm or the server gone. Returns at once; --wait follows the download.
    Pin {
        #[arg(value_enum)]
        kind: assign::ItemKind,
        id: i64,
        #[arg(long)]
        wait: bool,
    },
    /// Drop an item's pin: its data may be evicted again (an HTTP copy is deleted).
    Unpin {
        #[arg(value_enum)]
        kind: assign::ItemKind,
        id: i64,
    },
    /// Pinned items with their download progress.
    Pins,
    /// Skip markers (intro, credits), served as EDL beside the video: ls, set, rm.
    #[command(subcommand)]
    Intro(intro::IntroCmd),
    /// Trakt: login, logout, status, import watchlist|collection|list SLUG.
    #[command(subcommand)]
    Trakt(trakt::TraktCmd),
    /// Bring an existing library in: `import radarr|sonarr --url URL --api-key KEY`,
    /// `import m3u FILE|URL`.
    #[command(subcommand)]
    Import(import::ImportCmd),
    /// Subtitles of movies and episodes: ls, add, rm.
    #[command(subcommand)]
    Subs(subs::SubsCmd),
    /// Background jobs (show add/refresh, torrent assignments, packs): queued, running and
    /// the last hour's; --all for every one kept.
    Jobs {
        #[arg(long)]
        all: bool,
    },
    /// One job: get, logs [-f], cancel, wait.
    #[command(subcommand)]
    Job(jobs::JobCmd),
    /// Torrents: list their files, state, pause, resume, remove.
    #[command(subcommand)]
    Torrent(torrent::TorrentCmd),
    /// The library, torrents and jobs in a live terminal UI.
    Tui,
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    // Like other Unix tools, end by SIGPIPE when the reader of our output goes away
    // (`momoctl -o json show get 1 | head`). SIGPIPE stays ignored (Rust's default) for
    // everything else: a write to momod's socket as momod shuts down must be an error we
    // report, not a silent death. println! panics on the closed stdout; the hook turns that
    // one panic back into SIGPIPE.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            // SAFETY: restoring the default disposition and raising the signal on ourselves.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                libc::raise(libc::SIGPIPE);
            }
        }
        default_hook(info);
    }));
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        let mut cmd = Cli::command();
        clap_complete::generate(shell, &mut cmd, "momoctl", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("momoctl: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let addr = cli.addr.clone().unwrap_or_else(client::default_addr);
    let (channel, auth) = client::connect(&addr, cli.token.as_deref()).await?;
    match cli.command {
        Command::Status => system::status(channel, auth, cli.output).await,
        Command::Movie(cmd) => library::movie(channel, auth, cli.output, cmd).await,
        Command::Show(cmd) => library::show(channel, auth, cli.output, cmd).await,
        Command::Search(args) => library::search(channel, auth, cli.output, args).await,
        Command::Assign(cmd) => assign::assign(channel, auth, cli.output, cmd).await,
        Command::Unassign { kind, id } => {
            assign::unassign(channel, auth, cli.output, kind, id).await
        }
        Command::Torrent(cmd) => torrent::run(channel, auth, cli.output, cmd).await,
        Command::Subs(cmd) => subs::run(channel, auth, cli.output, cmd).await,
        Command::Import(cmd) => import::run(channel, auth, cli.output, cmd).await,
        Command::Pin { kind, id, wait } => {
            pins::pin(channel, auth, cli.output, kind, id, wait).await
        }
        Command::Unpin { kind, id } => pins::unpin(channel, auth, cli.output, kind, id).await,
        Command::Pins => pins::list(channel, auth, cli.output).await,
        Command::Intro(cmd) => intro::run(channel, auth, cli.output, cmd).await,
        Command::Trakt(cmd) => trakt::run(channel, auth, cli.output, cmd).await,
        Command::Tui => tui::run(channel, auth).await,
        Command::Jobs { all } => jobs::list(channel, auth, cli.output, all).await,
        Command::Job(cmd) => jobs::job(channel, auth, cli.output, cmd).await,
        Command::Completions { .. } => unreachable!("handled before connecting"),
    }
}
