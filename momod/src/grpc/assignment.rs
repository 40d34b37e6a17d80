//! `AssignmentService`: translation only; the work is in `library::assign`.
use momo_proto::v1 as pb;
use momo_proto::v1::assignment_service_server::AssignmentService;
use tonic::{Request, Response, Status};

use super::convert;
use crate::library::Library;

pub struct AssignmentApi {
    pub library: Library,
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl AssignmentService for AssignmentApi {
    async fn assign_local(&self, req: Request<pb::AssignLocalRequest>) -> Reply<pb::Assignment> {
        let req = req.into_inner();
        let item = convert::item(req.item)?;
        let labels = convert::labels(req.resolution, req.source);
        let a = self.library.assign_local(item, &req.path, labels).await?;
        Ok(Response::new(convert::assignment(a)))
    }

    async fn assign_torrent(
        &self,
        req: Request<pb::AssignTorrentRequest>,
    ) -> Reply<pb::Assignment> {
        let req = req.into_inner();
        let item = convert::item(req.item)?;
        let choice = convert::file_choice(req.file_path, req.file_index)?;
        let labels = convert::labels(req.resolution, req.source);
        let a = self
            .library
            .assign_torrent(item, &req.magnet, choice, labels)
            .await?;
        Ok(Response::new(convert::assignment(a)))
    }

    async fn assign_pack(&self, req: Request<pb::AssignPackRequest>) -> Reply<pb::PackReport> {
        let req = req.into_inner();
        let labels = convert::labels(req.resolution, req.source);
        let r = self
            .library
            .assign_pack(
                req.show_id,
                req.season_number,
                &req.magnet,
                req.dry_run,
                labels,
            )
            .await?;
        Ok(Response::new(convert::pack_report(r)))
    }

    async fn unassign(&self, req: Request<pb::UnassignRequest>) -> Reply<pb::UnassignResponse> {
        let item = convert::item(req.into_inner().item)?;
        let removed = self.library.unassign(item).await?;
        Ok(Response::new(pb::UnassignResponse {
            removed: removed.map(convert::assignment),
        }))
    }
}
