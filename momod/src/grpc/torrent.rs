//! `TorrentService`: translation only; the work is in `library::torrents`.
use momo_proto::v1 as pb;
use momo_proto::v1::torrent_service_server::TorrentService;
use tonic::{Request, Response, Status};

use super::convert;
use crate::library::Library;

pub struct TorrentApi {
    pub library: Library,
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl TorrentService for TorrentApi {
    async fn files(
        &self,
        req: Request<pb::TorrentFilesRequest>,
    ) -> Reply<pb::TorrentFilesResponse> {
        let req = req.into_inner();
        let input = convert::torrent_input(&req.magnet, &req.torrent_file)?;
        let i = self.library.torrent_files(input).await?;
        Ok(Response::new(convert::torrent_files(i)))
    }

    async fn list(&self, _: Request<pb::ListTorrentsRequest>) -> Reply<pb::ListTorrentsResponse> {
        let torrents = self.library.list_torrents().await?;
        Ok(Response::new(pb::ListTorrentsResponse {
            torrents: torrents.into_iter().map(convert::torrent).collect(),
        }))
    }

    async fn get(&self, req: Request<pb::TorrentRequest>) -> Reply<pb::Torrent> {
        let hash = convert::info_hash(&req.into_inner().info_hash)?;
        let t = self.library.get_torrent(&hash).await?;
        Ok(Response::new(convert::torrent(t)))
    }

    async fn remove(
        &self,
        req: Request<pb::RemoveTorrentRequest>,
    ) -> Reply<pb::RemoveTorrentResponse> {
        let req = req.into_inner();
        let hash = convert::info_hash(&req.info_hash)?;
        let unassigned = self.library.remove_torrent(&hash, req.force).await?;
        Ok(Response::new(pb::RemoveTorrentResponse {
            unassigned: unassigned.into_iter().map(convert::item_ref).collect(),
        }))
    }

    async fn pause(&self, req: Request<pb::TorrentRequest>) -> Reply<pb::Torrent> {
        let hash = convert::info_hash(&req.into_inner().info_hash)?;
        let t = self.library.pause_torrent(&hash).await?;
        Ok(Response::new(convert::torrent(t)))
    }

    async fn resume(&self, req: Request<pb::TorrentRequest>) -> Reply<pb::Torrent> {
        let hash = convert::info_hash(&req.into_inner().info_hash)?;
        let t = self.library.resume_torrent(&hash).await?;
        Ok(Response::new(convert::torrent(t)))
    }
}
