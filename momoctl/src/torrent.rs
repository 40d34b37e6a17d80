//! `momoctl torrent`: the engine's torrents.
use clap::Subcommand;
use momo_proto::v1 as pb;
use momo_proto::v1::torrent_service_client::TorrentServiceClient;
use tonic::transport::Channel;

use crate::client::{Auth, Failure};
use crate::json;
use crate::output::{self, Format, human_size, shown, waiting};

#[derive(Subcommand, Debug)]
pub enum TorrentCmd {
    /// List the files of a torrent (index, path, size) without adding it: a magnet, a
    /// .torrent file or the http(s) URL of one.
    Files {
        #[arg(value_name = "TORRENT")]
        magnet: String,
    },
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

fn percent(t: &json::Torrent) -> String {
    if t.total_bytes == 0 {
        "-".into()
    } else {
        format!(
            "{:.1}%",
            t.progress_bytes as f64 * 100.0 / t.total_bytes as f64
        )
    }
}

fn print_one(t: pb::Torrent, format: Format) {
    output::emit(format, &json::Torrent::from(t), |t| {
        output::fields(&[
            ("name", t.name.clone()),
            ("hash", t.info_hash.clone()),
            ("state", t.state.clone()),
            (
                "progress",
                format!(
                    "{} ({} of {})",
                    percent(t),
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
            ("on disk", human_size(t.disk_bytes)),
        ]);
        if let Some(e) = &t.error {
            println!("error     {}", shown(e));
        }
        for u in &t.used_by {
            println!(
                "used by   {} {}: {}",
                u.item_kind,
                u.item_id,
                shown(&u.share_path)
            );
        }
    });
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
            let (magnet, torrent_file) = crate::assign::torrent_arg(&magnet)?;
            let r = client
                .files(pb::TorrentFilesRequest {
                    magnet,
                    torrent_file,
                })
                .await?
                .into_inner();
            output::emit(format, &json::TorrentFiles::from(r), |r| {
                println!("{} ({})", shown(&r.name), r.info_hash);
                let rows = r
                    .files
                    .iter()
                    .map(|f| vec![f.index.to_string(), f.path.clone(), human_size(f.size)]);
                println!("{}", output::table(&["INDEX", "PATH", "SIZE"], rows));
            });
        }
        TorrentCmd::Ls => {
            let list: Vec<json::Torrent> = client
                .list(pb::ListTorrentsRequest {})
                .await?
                .into_inner()
                .torrents
                .into_iter()
                .map(json::Torrent::from)
                .collect();
            output::emit(format, &list, |list| {
                let rows = list.iter().map(|t| {
                    vec![
                        t.info_hash.clone(),
                        t.name.clone(),
                        t.state.clone(),
                        percent(t),
                        t.peers.to_string(),
                        format!("{}/s", human_size(t.download_bps)),
                        human_size(t.disk_bytes),
                        t.used_by.len().to_string(),
                    ]
                });
                let header = [
                    "HASH", "NAME", "STATE", "PROGRESS", "PEERS", "DOWN", "ON DISK", "ITEMS",
                ];
                println!("{}", output::table(&header, rows));
            });
        }
        TorrentCmd::Get { hash } => {
            let t = client.get(pb::TorrentRequest { info_hash: hash }).await?;
            print_one(t.into_inner(), format)
        }
        TorrentCmd::Pause { hash } => {
            let t = client.pause(pb::TorrentRequest { info_hash: hash }).await?;
            print_one(t.into_inner(), format)
        }
        TorrentCmd::Resume { hash } => {
            let t = client
                .resume(pb::TorrentRequest { info_hash: hash })
                .await?;
            print_one(t.into_inner(), format)
        }
        TorrentCmd::Rm { hash, force } => {
            let r = client
                .remove(pb::RemoveTorrentRequest {
                    info_hash: hash.clone(),
                    force,
                })
                .await?
                .into_inner();
            let removed = json::TorrentRemoved {
                removed: hash,
                unassigned: r.unassigned.into_iter().map(json::ItemRef::from).collect(),
            };
            output::emit(format, &removed, |r| {
                println!("removed torrent {}", shown(&r.removed));
                for i in &r.unassigned {
                    println!("  unassigned {} {}", i.item_kind, i.item_id);
                }
            });
        }
    }
    Ok(())
}
