//! `momoctl torrent`: the engine's torrents.
use clap::Subcommand;
use momo_proto::v1 as pb;
use momo_proto::v1::torrent_service_client::TorrentServiceClient;
use serde::Serialize;
use tonic::transport::Channel;

use crate::assign::{FileJson, file_json, human_size, waiting};
use crate::client::{Auth, Failure};
use crate::output::{self, Format};

#[derive(Subcommand, Debug)]
pub enum TorrentCmd {
    /// List the files of a torrent (index, path, size) without adding it.
    Files { magnet: String },
    /// List the torrents: state, progress, peers, speeds, which items use them.
    Ls,
    /// Show one torrent.
    Get { hash: String },
    /// Remove a torrent and its downloaded data (refused while items use it, unless --force).
    Rm {
        hash: String,
        /// Also unassign the library items that play from it.
        #[arg(long)]
        force: bool,
    },
    /// Stop downloading (reads resume it).
    Pause { hash: String },
    /// Start downloading again.
    Resume { hash: String },
}

#[derive(Serialize)]
struct UsedByJson {
    item_kind: &'static str,
    item_id: i64,
    share_path: String,
    file_path: String,
}

#[derive(Serialize)]
struct TorrentJson {
    info_hash: String,
    name: String,
    state: String,
    error: Option<String>,
    progress_bytes: u64,
    total_bytes: u64,
    peers: u32,
    download_bps: u64,
    upload_bps: u64,
    open_streams: u32,
    used_by: Vec<UsedByJson>,
}

fn kind_name(r: &pb::ItemRef) -> &'static str {
    if r.kind == pb::ItemKind::Episode as i32 {
        "episode"
    } else {
        "movie"
    }
}

fn torrent_json(t: pb::Torrent) -> TorrentJson {
    TorrentJson {
        info_hash: t.info_hash,
        name: t.name,
        state: t.state,
        error: t.error,
        progress_bytes: t.progress_bytes,
        total_bytes: t.total_bytes,
        peers: t.peers,
        download_bps: t.download_bps,
        upload_bps: t.upload_bps,
        open_streams: t.open_streams,
        used_by: t
            .used_by
            .into_iter()
            .map(|u| {
                let item = u.item.unwrap_or_default();
                UsedByJson {
                    item_kind: kind_name(&item),
                    item_id: item.id,
                    share_path: u.share_path,
                    file_path: u.file_path,
                }
            })
            .collect(),
    }
}

fn percent(t: &TorrentJson) -> String {
    if t.total_bytes == 0 {
        "-".into()
    } else {
        format!(
            "{:.1}%",
            t.progress_bytes as f64 * 100.0 / t.total_bytes as f64
        )
    }
}

fn print_one(t: TorrentJson, format: Format) {
    match format {
        Format::Json => output::json(&t),
        Format::Table => {
            output::fields(&[
                ("name", t.name.clone()),
                ("hash", t.info_hash.clone()),
                ("state", t.state.clone()),
                (
                    "progress",
                    format!(
                        "{} ({} of {})",
                        percent(&t),
                        human_size(t.progress_bytes),
                        human_size(t.total_bytes)
                    ),
                ),
                ("peers", t.peers.to_string()),
                (
                    "speed",
                    format!(
                        "down {}/s, up {}/s",
                        human_size(t.download_bps),
                        human_size(t.upload_bps)
                    ),
                ),
                ("streams", t.open_streams.to_string()),
            ]);
            if let Some(e) = &t.error {
                println!("error     {e}");
            }
            for u in &t.used_by {
                println!("used by   {} {}: {}", u.item_kind, u.item_id, u.share_path);
            }
        }
    }
}

pub async fn run(
    channel: Channel,
    auth: Auth,
    format: Format,
    cmd: TorrentCmd,
) -> Result<(), Failure> {
    let mut client = TorrentServiceClient::with_interceptor(channel, auth);
    match cmd {
        TorrentCmd::Files { magnet } => {
            waiting(format, "fetching the torrent's metadata");
            let r = client
                .files(pb::TorrentFilesRequest { magnet })
                .await?
                .into_inner();
            match format {
                Format::Json => {
                    #[derive(Serialize)]
                    struct FilesJson {
                        info_hash: String,
                        name: String,
                        files: Vec<FileJson>,
                    }
                    output::json(&FilesJson {
                        info_hash: r.info_hash,
                        name: r.name,
                        files: r.files.into_iter().map(file_json).collect(),
                    })
                }
                Format::Table => {
                    println!("{} ({})", r.name, r.info_hash);
                    let rows = r
                        .files
                        .into_iter()
                        .map(|f| vec![f.index.to_string(), f.path, human_size(f.size)]);
                    println!("{}", output::table(&["INDEX", "PATH", "SIZE"], rows));
                }
            }
        }
        TorrentCmd::Ls => {
            let list: Vec<TorrentJson> = client
                .list(pb::ListTorrentsRequest {})
                .await?
                .into_inner()
                .torrents
                .into_iter()
                .map(torrent_json)
                .collect();
            match format {
                Format::Json => output::json(&list),
                Format::Table => {
                    let rows = list.iter().map(|t| {
                        vec![
                            t.info_hash.clone(),
                            t.name.clone(),
                            t.state.clone(),
                            percent(t),
                            t.peers.to_string(),
                            format!("{}/s", human_size(t.download_bps)),
                            t.used_by.len().to_string(),
                        ]
                    });
                    println!(
                        "{}",
                        output::table(
                            &[
                                "HASH", "NAME", "STATE", "PROGRESS", "PEERS", "DOWN", "ITEMS"
                            ],
                            rows
                        )
                    );
                }
            }
        }
        TorrentCmd::Get { hash } => print_one(
            torrent_json(
                client
                    .get(pb::TorrentRequest { info_hash: hash })
                    .await?
                    .into_inner(),
            ),
            format,
        ),
        TorrentCmd::Pause { hash } => print_one(
            torrent_json(
                client
                    .pause(pb::TorrentRequest { info_hash: hash })
                    .await?
                    .into_inner(),
            ),
            format,
        ),
        TorrentCmd::Resume { hash } => print_one(
            torrent_json(
                client
                    .resume(pb::TorrentRequest { info_hash: hash })
                    .await?
                    .into_inner(),
            ),
            format,
        ),
        TorrentCmd::Rm { hash, force } => {
            let r = client
                .remove(pb::RemoveTorrentRequest {
                    info_hash: hash.clone(),
                    force,
                })
                .await?
                .into_inner();
            let unassigned: Vec<serde_json::Value> = r
                .unassigned
                .iter()
                .map(|i| serde_json::json!({"item_kind": kind_name(i), "item_id": i.id}))
                .collect();
            match format {
                Format::Json => {
                    output::json(&serde_json::json!({"removed": hash, "unassigned": unassigned}))
                }
                Format::Table => {
                    println!("removed torrent {hash}");
                    for i in &r.unassigned {
                        println!("  unassigned {} {}", kind_name(i), i.id);
                    }
                }
            }
        }
    }
    Ok(())
}
