//! `momoctl subs`: subtitles of movies and episodes.
use std::io::Read;
use std::path::PathBuf;

use clap::Subcommand;
use momo_proto::v1 as pb;
use momo_proto::v1::subtitle_service_client::SubtitleServiceClient;
use tonic::transport::Channel;

use crate::assign::{ItemKind, item_ref};
use crate::client::{Auth, Failure};
use crate::jobs;
use crate::json;
use crate::output::{self, Format, human_size, shown};
use pb::job_result::Value as JobValue;
use pb::start_job_request::Op;

/// The largest subtitle momod accepts (it checks too; this spares sending a larger one).
const MAX_SUBTITLE_BYTES: u64 = momo_proto::MAX_SUBTITLE_BYTES as u64;

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
    /// What OpenSubtitles offers for a movie or an episode (matches of its file first).
    Search {
        #[arg(value_enum)]
        kind: ItemKind,
        id: i64,
        /// Languages (repeat or comma-separate); default: subtitles.languages.
        #[arg(long, value_delimiter = ',')]
        lang: Vec<String>,
    },
    /// Download from OpenSubtitles and attach the best subtitle in each language, or the
    /// one picked (a FILE_ID from `subs search`). Counts against the daily quota.
    Fetch {
        #[arg(value_enum)]
        kind: ItemKind,
        id: i64,
        #[arg(long, value_delimiter = ',')]
        lang: Vec<String>,
        #[arg(long, value_name = "FILE_ID")]
        pick: Option<i64>,
        /// Start the job and print it at once (`momoctl job wait ID`).
        #[arg(long)]
        detach: bool,
    },
}

fn read_file(path: &PathBuf) -> Result<Vec<u8>, Failure> {
    let local = |e: std::io::Error| Failure::Local(format!("{}: {e}", path.display()));
    // Before opening: opening a FIFO would wait for a writer.
    if !std::fs::metadata(path).map_err(local)?.is_file() {
        return Err(Failure::Local(format!("{}: not a file", path.display())));
    }
    let file = std::fs::File::open(path).map_err(local)?;
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
    let mut client = SubtitleServiceClient::with_interceptor(channel.clone(), auth.clone())
        .max_encoding_message_size(momo_proto::MAX_SUBTITLE_REQUEST_BYTES);
    match cmd {
        SubsCmd::Ls { kind, id } => {
            let list = client
                .list(pb::ListSubtitlesRequest {
                    item: Some(item_ref(kind, id)),
                })
                .await?
                .into_inner()
                .subtitles;
            print_list(format, list);
        }
        SubsCmd::Search { kind, id, lang } => {
            let found = client
                .search(pb::SearchSubtitlesRequest {
                    item: Some(item_ref(kind, id)),
                    languages: lang,
                })
                .await?
                .into_inner();
            output::emit(format, &json::SubtitleSearch::from(found), |found| {
                println!(
                    "moviehash: {}",
                    found.moviehash.as_deref().unwrap_or("- (no file to hash)")
                );
                let rows = found.offers.iter().map(|o| {
                    vec![
                        o.file_id.to_string(),
                        o.language.clone(),
                        if o.hash_match { "yes" } else { "" }.into(),
                        flags_of(o.forced, o.sdh),
                        o.download_count.to_string(),
                        shown(&o.release),
                    ]
                });
                let header = [
                    "FILE_ID",
                    "LANG",
                    "HASH MATCH",
                    "FLAGS",
                    "DOWNLOADS",
                    "RELEASE",
                ];
                println!("{}", output::table(&header, rows));
            });
        }
        SubsCmd::Fetch {
            kind,
            id,
            lang,
            pick,
            detach,
        } => {
            let op = Op::FetchSubtitles(pb::FetchSubtitlesRequest {
                item: Some(item_ref(kind, id)),
                languages: lang,
                file_id: pick,
                missing_only: false,
            });
            match jobs::start(channel, auth, format, op, detach).await? {
                Some(JobValue::Subtitles(r)) => print_list(format, r.subtitles),
                Some(other) => return Err(jobs::unexpected(other)),
                None => {}
            }
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

pub fn print_list(format: Format, list: Vec<pb::Subtitle>) {
    let list: Vec<json::Subtitle> = list.into_iter().map(json::Subtitle::from).collect();
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

fn flags(s: &json::Subtitle) -> String {
    flags_of(s.forced, s.sdh)
}

fn flags_of(forced: bool, sdh: bool) -> String {
    match (forced, sdh) {
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
