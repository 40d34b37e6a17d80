//! `TorrentService`: the engine's torrents, with the library items that play from them.
use momo_proto::v1 as pb;
use momo_proto::v1::torrent_service_server::TorrentService;
use tonic::{Request, Response, Status};

use super::assignment::{item_ref, torrent_file};
use crate::library::Library;
use crate::torrent::TorrentStatus;

pub struct TorrentApi {
    pub library: Library,
}

type Reply<T> = Result<Response<T>, Status>;

impl TorrentApi {
    /// The torrent as the engine sees it, with its users; "missing" when only the library
    /// knows it (it comes back on the next read).
    async fn describe(&self, hash: &str) -> Result<pb::Torrent, Status> {
        let hash = hash.trim().to_ascii_lowercase();
        let mut users = self.library.torrent_users().await?;
        let status = self.library.engine().status(&hash);
        let used = users.remove(&hash).unwrap_or_default();
        if status.is_none() && used.is_empty() {
            return Err(Status::not_found(format!(
                "no torrent {hash} (see `momoctl torrent ls`)"
            )));
        }
        self.torrent(&hash, status, used).await
    }

    async fn torrent(
        &self,
        hash: &str,
        status: Option<TorrentStatus>,
        used: Vec<crate::library::TorrentUser>,
    ) -> Result<pb::Torrent, Status> {
        let mut used_by = Vec::with_capacity(used.len());
        for u in used {
            used_by.push(pb::UsedBy {
                item: Some(item_ref(u.item)),
                share_path: self
                    .library
                    .share_path_of(u.item)
                    .await?
                    .unwrap_or_default(),
                file_path: u.file_path,
            });
        }
        Ok(match status {
            Some(s) => pb::Torrent {
                info_hash: s.info_hash,
                name: s.name,
                state: s.state,
                error: s.error,
                progress_bytes: s.progress_bytes,
                total_bytes: s.total_bytes,
                peers: s.peers,
                download_bps: s.download_bps,
                upload_bps: s.upload_bps,
                open_streams: s.open_streams as u32,
                used_by,
            },
            None => pb::Torrent {
                info_hash: hash.to_string(),
                name: hash.to_string(),
                state: "missing".into(),
                used_by,
                ..Default::default()
            },
        })
    }
}

#[tonic::async_trait]
impl TorrentService for TorrentApi {
    async fn files(
        &self,
        req: Request<pb::TorrentFilesRequest>,
    ) -> Reply<pb::TorrentFilesResponse> {
        let i = self.library.torrent_files(&req.into_inner().magnet).await?;
        Ok(Response::new(pb::TorrentFilesResponse {
            info_hash: i.info_hash,
            name: i.name,
            files: i.files.into_iter().map(torrent_file).collect(),
        }))
    }

    async fn list(&self, _: Request<pb::ListTorrentsRequest>) -> Reply<pb::ListTorrentsResponse> {
        let mut users = self.library.torrent_users().await?;
        let mut torrents = Vec::new();
        for s in self.library.engine().list() {
            let used = users.remove(&s.info_hash).unwrap_or_default();
            let hash = s.info_hash.clone();
            torrents.push(self.torrent(&hash, Some(s), used).await?);
        }
        for (hash, used) in users {
            torrents.push(self.torrent(&hash, None, used).await?);
        }
        Ok(Response::new(pb::ListTorrentsResponse { torrents }))
    }

    async fn get(&self, req: Request<pb::TorrentRequest>) -> Reply<pb::Torrent> {
        Ok(Response::new(
            self.describe(&req.into_inner().info_hash).await?,
        ))
    }

    async fn remove(
        &self,
        req: Request<pb::RemoveTorrentRequest>,
    ) -> Reply<pb::RemoveTorrentResponse> {
        let req = req.into_inner();
        let unassigned = self
            .library
            .remove_torrent(&req.info_hash, req.force)
            .await?;
        Ok(Response::new(pb::RemoveTorrentResponse {
            unassigned: unassigned.into_iter().map(item_ref).collect(),
        }))
    }

    async fn pause(&self, req: Request<pb::TorrentRequest>) -> Reply<pb::Torrent> {
        let hash = req.into_inner().info_hash.trim().to_ascii_lowercase();
        self.library.engine().pause(&hash).await?;
        Ok(Response::new(self.describe(&hash).await?))
    }

    async fn resume(&self, req: Request<pb::TorrentRequest>) -> Reply<pb::Torrent> {
        let hash = req.into_inner().info_hash.trim().to_ascii_lowercase();
        self.library.engine().resume(&hash).await?;
        Ok(Response::new(self.describe(&hash).await?))
    }
}
