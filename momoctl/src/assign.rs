//! `momoctl assign|unassign`: attaching sources to movies and episodes.
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use momo_proto::v1 as pb;
use momo_proto::v1::assignment_service_client::AssignmentServiceClient;
use tonic::transport::Channel;

use crate::client::{Auth, Failure};
use crate::jobs;
use crate::json;
use crate::output::{self, Format, human_size, opt, shown};
use pb::job_result::Value as JobValue;
use pb::start_job_request::Op;

#[derive(Subcommand, Debug)]
pub enum AssignCmd {
    /// Attach a source to a movie (replaces its current one).
    Movie(AssignArgs),
    /// Attach a source to an episode (ids from `momoctl show get`).
    Episode(AssignArgs),
    /// Map a season pack's files to the season's episodes by name and attach them.
    Season {
        /// Library id of the show.
        show_id: i64,
        /// Season number (0 = specials).
        season: i32,
        /// Magnet, .torrent file or http(s) URL of a .torrent.
        #[arg(value_name = "TORRENT")]
        magnet: String,
        /// Print the mapping, store nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        labels: LabelArgs,
        /// Start the job and print it at once, without waiting (`momoctl job wait ID`).
        #[arg(long)]
        detach: bool,
    },
    /// Map a complete-series pack's files to the show's episodes by name and attach them.
    Show {
        /// Library id of the show.
        show_id: i64,
        /// Magnet, .torrent file or http(s) URL of a .torrent.
        #[arg(value_name = "TORRENT")]
        magnet: String,
        /// Print the mapping, store nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        labels: LabelArgs,
        /// Start the job and print it at once, without waiting (`momoctl job wait ID`).
        #[arg(long)]
        detach: bool,
    },
}

#[derive(Args, Debug)]
pub struct AssignArgs {
    /// Library id of the movie or episode.
    id: i64,
    /// The torrent holding the file: a magnet, a .torrent file (read by momoctl) or the
    /// http(s) URL of a .torrent (fetched by momod).
    #[arg(
        required_unless_present_any = ["local", "url"],
        conflicts_with_all = ["local", "url"],
        value_name = "TORRENT"
    )]
    magnet: Option<String>,
    /// A local file under one of library.local_roots, instead of a torrent.
    #[arg(long, value_name = "PATH", conflicts_with = "url")]
    local: Option<PathBuf>,
    /// The http(s) URL of a video file, instead of a torrent: its server must answer range
    /// requests. Stored as given; only its host and file name are ever shown.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// The file inside the torrent (default: its only video file).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["index", "local", "url"])]
    file: Option<String>,
    /// The file inside the torrent by index (see `momoctl torrent files`).
    #[arg(long, value_name = "N", conflicts_with_all = ["local", "url"])]
    index: Option<i32>,
    #[command(flatten)]
    labels: LabelArgs,
    /// Start the job and print it at once, without waiting for the metadata
    /// (`momoctl job wait ID`).
    #[arg(long, conflicts_with_all = ["local", "url"])]
    detach: bool,
}

#[derive(Args, Debug)]
pub struct LabelArgs {
    /// Resolution label, e.g. 1080p.
    #[arg(long)]
    resolution: Option<String>,
    /// Source label, e.g. BluRay.
    #[arg(long)]
    source: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ItemKind {
    Movie,
    Episode,
}

impl ItemKind {
    /// "movie" or "episode", as messages name it.
    fn as_str(self) -> &'static str {
        match self {
            ItemKind::Movie => "movie",
            ItemKind::Episode => "episode",
        }
    }
}

pub fn item_ref(kind: ItemKind, id: i64) -> pb::ItemRef {
    let kind = match kind {
        ItemKind::Movie => pb::ItemKind::Movie,
        ItemKind::Episode => pb::ItemKind::Episode,
    };
    pb::ItemRef {
        kind: kind as i32,
        id,
    }
}

pub async fn assign(
    channel: Channel,
    auth: Auth,
    format: Format,
    cmd: AssignCmd,
) -> Result<(), Failure> {
    let mut client = AssignmentServiceClient::with_interceptor(channel.clone(), auth.clone());
    let (kind, args) = match cmd {
        AssignCmd::Movie(a) => (ItemKind::Movie, a),
        AssignCmd::Episode(a) => (ItemKind::Episode, a),
        AssignCmd::Season {
            show_id,
            season,
            magnet,
            dry_run,
            labels,
            detach,
        } => {
            let req = pack_request(show_id, Some(season), &magnet, dry_run, labels)?;
            return pack(channel, auth, format, req, detach).await;
        }
        AssignCmd::Show {
            show_id,
            magnet,
            dry_run,
            labels,
            detach,
        } => {
            let req = pack_request(show_id, None, &magnet, dry_run, labels)?;
            return pack(channel, auth, format, req, detach).await;
        }
    };
    let item = Some(item_ref(kind, args.id));
    if let Some(url) = args.url {
        let a = client
            .assign_url(pb::AssignUrlRequest {
                item,
                url,
                resolution: args.labels.resolution,
                source: args.labels.source,
            })
            .await?
            .into_inner();
        print_assignment(format, a);
        return Ok(());
    }
    let a = match (args.magnet, args.local) {
        (Some(torrent), _) => {
            let (magnet, torrent_file) = torrent_arg(&torrent)?;
            let op = Op::AssignTorrent(pb::AssignTorrentRequest {
                item,
                magnet,
                torrent_file,
                file_path: args.file,
                file_index: args.index,
                resolution: args.labels.resolution,
                source: args.labels.source,
            });
            match jobs::start(channel, auth, format, op, args.detach).await? {
                Some(JobValue::Assignment(a)) => print_assignment(format, a),
                Some(other) => return Err(jobs::unexpected(other)),
                None => {}
            }
            return Ok(());
        }
        (None, Some(local)) => {
            // Relative paths are relative to where momoctl runs, not to the daemon.
            let path = std::path::absolute(&local)
                .map_err(|e| Failure::Usage(format!("--local {}: {e}", local.display())))?;
            let path = path
                .to_str()
                .ok_or_else(|| {
                    Failure::Usage(format!("--local {}: not valid UTF-8", local.display()))
                })?
                .to_string();
            client
                .assign_local(pb::AssignLocalRequest {
                    item,
                    path,
                    resolution: args.labels.resolution,
                    source: args.labels.source,
                })
                .await?
        }
        (None, None) => unreachable!("clap requires a magnet, --local or --url"),
    }
    .into_inner();
    print_assignment(format, a);
    Ok(())
}

pub fn print_assignment(format: Format, a: pb::Assignment) {
    output::emit(format, &json::Assignment::from(a), |a| {
        let replaced = a
            .replaced_id
            .map(|r| format!(", replacing assignment {r}"))
            .unwrap_or_default();
        let from = match &a.info_hash {
            Some(h) => format!("{} [torrent {h}]", shown(&a.file_path)),
            None => shown(&a.file_path),
        };
        println!(
            "{} {} now plays {from} ({}{replaced})\n  share: {}",
            a.item_kind,
            a.item_id,
            human_size(a.file_size),
            shown(&a.share_path)
        );
        for s in &a.subtitles {
            println!(
                "  subtitle {} ({}): {}",
                s.id,
                s.language,
                shown(&s.share_path)
            );
        }
    });
}

/// Largest .torrent file momod accepts (it checks too).
const MAX_TORRENT_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A TORRENT argument as the request carries it: a magnet or URL as text, or a .torrent
/// file's bytes (read here, so it works against a momod on another machine).
pub fn torrent_arg(arg: &str) -> Result<(String, Vec<u8>), Failure> {
    let is_text =
        arg.starts_with("magnet:") || arg.starts_with("http://") || arg.starts_with("https://");
    let path = std::path::Path::new(arg);
    if is_text || !path.exists() {
        return Ok((arg.to_string(), Vec::new()));
    }
    let local = |e: std::io::Error| Failure::Local(format!("{arg}: {e}"));
    // Before opening: opening a FIFO would wait for a writer.
    if !std::fs::metadata(path).map_err(local)?.is_file() {
        return Err(Failure::Local(format!("{arg}: not a file")));
    }
    let file = std::fs::File::open(path).map_err(local)?;
    let mut bytes = Vec::new();
    use std::io::Read;
    file.take(MAX_TORRENT_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(local)?;
    if bytes.len() as u64 > MAX_TORRENT_FILE_BYTES {
        return Err(Failure::Local(format!(
            "{arg}: larger than 4 MiB, too large for a .torrent file"
        )));
    }
    Ok((String::new(), bytes))
}

fn pack_request(
    show_id: i64,
    season_number: Option<i32>,
    torrent: &str,
    dry_run: bool,
    labels: LabelArgs,
) -> Result<pb::AssignPackRequest, Failure> {
    let (magnet, torrent_file) = torrent_arg(torrent)?;
    Ok(pb::AssignPackRequest {
        show_id,
        season_number,
        magnet,
        torrent_file,
        dry_run,
        resolution: labels.resolution,
        source: labels.source,
    })
}

async fn pack(
    channel: Channel,
    auth: Auth,
    format: Format,
    req: pb::AssignPackRequest,
    detach: bool,
) -> Result<(), Failure> {
    match jobs::start(channel, auth, format, Op::AssignPack(req), detach).await? {
        Some(JobValue::Pack(r)) => print_pack_report(format, r),
        Some(other) => return Err(jobs::unexpected(other)),
        None => {}
    }
    Ok(())
}

pub fn print_pack_report(format: Format, r: pb::PackReport) {
    output::emit(format, &json::PackReport::from(r), print_pack);
}

fn print_pack(report: &json::PackReport) {
    let code = |s: i32, e: i32| format!("S{s:02}E{e:02}");
    let note = if report.dry_run {
        ": dry run, nothing stored"
    } else {
        ""
    };
    println!("{} ({}){note}", shown(&report.name), report.info_hash);
    println!("matched ({}):", report.matched.len());
    for m in &report.matched {
        let name = opt(m.episode_name.clone());
        println!(
            "  {}  {name}  <-  [{}] {}",
            code(m.season_number, m.episode_number),
            m.file_index,
            shown(&m.file_path)
        );
    }
    if !report.ambiguous.is_empty() {
        println!("ambiguous, left alone ({}):", report.ambiguous.len());
        for m in &report.ambiguous {
            println!(
                "  {}  <-  [{}] {}",
                code(m.season_number, m.episode_number),
                m.file_index,
                shown(&m.file_path)
            );
        }
    }
    if !report.unmatched_files.is_empty() {
        println!(
            "files matching no episode ({}):",
            report.unmatched_files.len()
        );
        for f in &report.unmatched_files {
            println!(
                "  [{}] {} ({})",
                f.index,
                shown(&f.path),
                human_size(f.size)
            );
        }
    }
    if !report.subtitles.is_empty() {
        println!("subtitles ({}):", report.subtitles.len());
        for s in &report.subtitles {
            let mut what = s.language.clone();
            if s.forced {
                what.push_str(", forced");
            }
            if s.sdh {
                what.push_str(", sdh");
            }
            let result = match (&s.attached, report.dry_run) {
                (Some(a), _) => format!("  ->  subtitle {}", a.id),
                (None, true) => String::new(),
                (None, false) => "  (not attached: already there, or see the job's log)".into(),
            };
            println!(
                "  {}  {what}  <-  [{}] {}{result}",
                code(s.episode.season_number, s.episode.episode_number),
                s.file.index,
                shown(&s.file.path)
            );
        }
    }
    if !report.missing_episodes.is_empty() {
        println!(
            "episodes without a file ({}):",
            report.missing_episodes.len()
        );
        for e in &report.missing_episodes {
            println!(
                "  {}  {}",
                code(e.season_number, e.episode_number),
                opt(e.name.clone())
            );
        }
    }
}

pub async fn unassign(
    channel: Channel,
    auth: Auth,
    format: Format,
    kind: ItemKind,
    id: i64,
) -> Result<(), Failure> {
    let mut client = AssignmentServiceClient::with_interceptor(channel, auth);
    let removed = client
        .unassign(pb::UnassignRequest {
            item: Some(item_ref(kind, id)),
        })
        .await?
        .into_inner();
    output::emit(format, &json::Unassigned::from(removed), |r| {
        match &r.removed {
            Some(a) => println!(
                "{} {id}: detached {} (was {})",
                kind.as_str(),
                shown(&a.file_path),
                opt(Some(&a.share_path))
            ),
            None => println!("{} {id} had no source", kind.as_str()),
        }
    });
    Ok(())
}
