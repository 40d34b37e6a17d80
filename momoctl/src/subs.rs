//! `momoctl subs`: subtitles of movies and episodes.
use std::io::Read;
use std::path::PathBuf;

use clap::Subcommand;
use momo_proto::v1 as pb;
use momo_proto::v1::subtitle_service_client::SubtitleServiceClient;
use tonic::transport::Channel;

use crate::assign::{ItemKind, item_ref};
use crate::client::{Auth, Failure};
use crate::json;
use crate::output::{self, Format, human_size, shown};

/// The largest subtitle momod accepts (it checks too; this spares sending a larger one).
const MAX_SUBTITLE_BYTES: u64 = 5 * 1024 * 1024;

#[derive(Subcommand, Debug)]
pub enum SubsCmd {
    /// List the subtitles of a movie or an episode, with where each appears in the share.
    Ls {
        #[arg(value_enum)]
        kind: ItemKind,
        id: i64,
    },
    /// Attach a subtitle file (SubRip, ASS/SSA or WebVTT, at most 5 MiB). momoctl reads
    /// the file and sends it; momod keeps its own copy.
    Add {
        #[arg(value_enum)]
        kind: ItemKind,
        id: i64,
        file: PathBuf,
        /// Its language: ISO 639-1 ("en"), 639-2 ("ger") or a name ("German").
        #[arg(long)]
        lang: String,
        /// Only the parts in a foreign language (signs, songs).
        #[arg(long)]
        forced: bool,
        /// For the deaf and hard of hearing.
        #[arg(long)]
        sdh: bool,
    },
    /// Detach a subtitle (ids from `subs ls`).
    Rm { id: i64 },
}

fn read_file(path: &PathBuf) -> Result<Vec<u8>, Failure> {
    let local = |e: std::io::Error| Failure::Local(format!("{}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(local)?;
    if !file.metadata().map_err(local)?.is_file() {
        return Err(Failure::Local(format!("{}: not a file", path.display())));
    }
    let mut bytes = Vec::new();
    file.take(MAX_SUBTITLE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(local)?;
    if bytes.len() as u64 > MAX_SUBTITLE_BYTES {
        return Err(Failure::Local(format!(
            "{}: larger than 5 MiB, too large for a subtitle",
            path.display()
        )));
    }
    Ok(bytes)
}

pub async fn run(
    channel: Channel,
    auth: Auth,
    format: Format,
    cmd: SubsCmd,
) -> Result<(), Failure> {
    let mut client = SubtitleServiceClient::with_interceptor(channel, auth)
        .max_encoding_message_size(MAX_SUBTITLE_BYTES as usize + 64 * 1024);
    match cmd {
        SubsCmd::Ls { kind, id } => {
            let list: Vec<json::Subtitle> = client
                .list(pb::ListSubtitlesRequest {
                    item: Some(item_ref(kind, id)),
                })
                .await?
                .into_inner()
                .subtitles
                .into_iter()
                .map(json::Subtitle::from)
                .collect();
            output::emit(format, &list, |list| {
                if list.is_empty() {
                    println!("no subtitles");
                    return;
                }
                let rows = list.iter().map(|s| {
                    vec![
                        s.id.to_string(),
                        s.language.clone(),
                        flags(s),
                        s.format.clone(),
                        s.origin.clone(),
                        human_size(s.size),
                        shown(&s.share_path),
                    ]
                });
                let header = [
                    "ID",
                    "LANG",
                    "FLAGS",
                    "FORMAT",
                    "ORIGIN",
                    "SIZE",
                    "SHARE PATH",
                ];
                println!("{}", output::table(&header, rows));
            });
        }
        SubsCmd::Add {
            kind,
            id,
            file,
            lang,
            forced,
            sdh,
        } => {
            let content = read_file(&file)?;
            let file_name = file
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let s = client
                .add(pb::AddSubtitleRequest {
                    item: Some(item_ref(kind, id)),
                    file_name,
                    content,
                    language: lang,
                    forced,
                    sdh,
                })
                .await?
                .into_inner();
            print_one(format, s, "attached");
        }
        SubsCmd::Rm { id } => {
            let s = client
                .remove(pb::RemoveSubtitleRequest { id })
                .await?
                .into_inner();
            print_one(format, s, "removed");
        }
    }
    Ok(())
}

fn flags(s: &json::Subtitle) -> String {
    match (s.forced, s.sdh) {
        (true, true) => "forced, sdh".into(),
        (true, false) => "forced".into(),
        (false, true) => "sdh".into(),
        (false, false) => "-".into(),
    }
}

fn print_one(format: Format, s: pb::Subtitle, what: &str) {
    output::emit(format, &json::Subtitle::from(s), |s| {
        let place = if s.share_path.is_empty() {
            " (not in the share: the item has no source)".to_string()
        } else {
            format!(": {}", shown(&s.share_path))
        };
        println!(
            "{what} subtitle {} ({} {}, {}){place}",
            s.id,
            s.language,
            s.format,
            flags(s)
        );
    });
}
