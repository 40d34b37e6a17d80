//! `momoctl assign|unassign`: attaching sources to movies and episodes.
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use momo_proto::v1 as pb;
use momo_proto::v1::assignment_service_client::AssignmentServiceClient;
use serde::Serialize;
use tonic::transport::Channel;

use crate::client::{Auth, Failure};
use crate::output::{self, Format, opt};

#[derive(Subcommand, Debug)]
pub enum AssignCmd {
    /// Attach a source to a movie (replaces its current one).
    Movie(AssignArgs),
    /// Attach a source to an episode (ids from `momoctl show get`).
    Episode(AssignArgs),
}

#[derive(Args, Debug)]
pub struct AssignArgs {
    /// Library id of the movie or episode.
    id: i64,
    /// A local file under one of library.local_roots.
    #[arg(long, value_name = "PATH", required = true)]
    local: Option<PathBuf>,
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

/// `-o json` shape of an assignment; field names are a stable interface.
#[derive(Serialize)]
struct AssignmentJson {
    id: i64,
    item_kind: &'static str,
    item_id: i64,
    source_kind: String,
    file_path: String,
    file_size: u64,
    info_hash: Option<String>,
    file_index: Option<i32>,
    resolution: Option<String>,
    source: Option<String>,
    created_at: i64,
    share_path: String,
    replaced_id: Option<i64>,
}

fn item_ref(kind: ItemKind, id: i64) -> pb::ItemRef {
    let kind = match kind {
        ItemKind::Movie => pb::ItemKind::Movie,
        ItemKind::Episode => pb::ItemKind::Episode,
    };
    pb::ItemRef {
        kind: kind as i32,
        id,
    }
}

fn assignment_json(a: pb::Assignment) -> AssignmentJson {
    let item = a.item.unwrap_or_default();
    AssignmentJson {
        id: a.id,
        item_kind: if item.kind == pb::ItemKind::Episode as i32 {
            "episode"
        } else {
            "movie"
        },
        item_id: item.id,
        source_kind: a.source_kind,
        file_path: a.file_path,
        file_size: a.file_size,
        info_hash: a.info_hash,
        file_index: a.file_index,
        resolution: a.resolution,
        source: a.source,
        created_at: a.created_at,
        share_path: a.share_path,
        replaced_id: a.replaced_id,
    }
}

/// 1536 → "1.5 KiB".
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

pub async fn assign(
    channel: Channel,
    auth: Auth,
    format: Format,
    cmd: AssignCmd,
) -> Result<(), Failure> {
    let (kind, args) = match cmd {
        AssignCmd::Movie(a) => (ItemKind::Movie, a),
        AssignCmd::Episode(a) => (ItemKind::Episode, a),
    };
    let mut client = AssignmentServiceClient::with_interceptor(channel, auth);
    let local = args.local.expect("clap requires --local");
    // Relative paths are relative to where momoctl runs, not to the daemon.
    let path = std::path::absolute(&local)
        .map_err(|e| Failure::Usage(format!("--local {}: {e}", local.display())))?;
    let path = path
        .to_str()
        .ok_or_else(|| Failure::Usage(format!("--local {}: not valid UTF-8", local.display())))?
        .to_string();
    let a = client
        .assign_local(pb::AssignLocalRequest {
            item: Some(item_ref(kind, args.id)),
            path,
            resolution: args.resolution,
            source: args.source,
        })
        .await?
        .into_inner();
    match format {
        Format::Json => output::json(&assignment_json(a)),
        Format::Table => {
            let replaced = a
                .replaced_id
                .map(|r| format!(", replacing assignment {r}"))
                .unwrap_or_default();
            println!(
                "{kind:?} {} now plays {} ({}{replaced})\n  share: {}",
                args.id,
                a.file_path,
                human_size(a.file_size),
                a.share_path
            );
        }
    }
    Ok(())
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
        .into_inner()
        .removed;
    match format {
        Format::Json => {
            output::json(&serde_json::json!({ "removed": removed.map(assignment_json) }))
        }
        Format::Table => match removed {
            Some(a) => println!(
                "{kind:?} {id}: detached {} (was {})",
                a.file_path,
                opt(Some(a.share_path))
            ),
            None => println!("{kind:?} {id} had no source"),
        },
    }
    Ok(())
}
