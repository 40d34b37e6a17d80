//! `AssignmentService`: translation only; the work is in `library::assign`. Torrent and
//! pack assignments wait on a swarm, so they run as jobs (`grpc::jobs`).
use momo_proto::v1 as pb;
use momo_proto::v1::assignment_service_server::AssignmentService;
use tonic::{Request, Response, Status};

use super::convert;
use super::jobs::run_op;
use crate::jobs::Jobs;
use crate::library::Library;
use pb::job_result::Value as JobValue;
use pb::start_job_request::Op;

pub struct AssignmentApi {
    pub library: Library,
    pub jobs: Jobs,
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl AssignmentService for AssignmentApi {
    async fn assign_local(&self, req: Request<pb::AssignLocalRequest>) -> Reply<pb::Assignment> {
        let req = req.into_inner();
        let item = convert::item(req.item)?;
        let labels = convert::labels(req.resolution, req.source);
        let a = self.library.assign_local(item, &req.path, labels).await?;
        super::jobs::after_assignment(&self.jobs, &self.library, vec![item]).await;
        Ok(Response::new(convert::assignment(a)))
    }

    async fn assign_url(&self, req: Request<pb::AssignUrlRequest>) -> Reply<pb::Assignment> {
        let req = req.into_inner();
        let item = convert::item(req.item)?;
        let labels = convert::labels(req.resolution, req.source);
        let a = self.library.assign_http(item, &req.url, labels).await?;
        super::jobs::after_assignment(&self.jobs, &self.library, vec![item]).await;
        Ok(Response::new(convert::assignment(a)))
    }

    async fn assign_torrent(
        &self,
        req: Request<pb::AssignTorrentRequest>,
    ) -> Reply<pb::Assignment> {
        let op = Op::AssignTorrent(req.into_inner());
        let assignment = run_op(&self.jobs, &self.library, op, |v| match v {
            JobValue::Assignment(a) => Some(a),
            _ => None,
        });
        Ok(Response::new(assignment.await?))
    }

    async fn assign_pack(&self, req: Request<pb::AssignPackRequest>) -> Reply<pb::PackReport> {
        let op = Op::AssignPack(req.into_inner());
        let report = run_op(&self.jobs, &self.library, op, |v| match v {
            JobValue::Pack(r) => Some(r),
            _ => None,
        });
        Ok(Response::new(report.await?))
    }

    async fn source(&self, req: Request<pb::SourceRequest>) -> Reply<pb::SourceResponse> {
        let item = convert::item(req.into_inner().item)?;
        let active = self.library.source(item).await?;
        Ok(Response::new(pb::SourceResponse {
            active: active.map(convert::assignment),
        }))
    }

    async fn unassign(&self, req: Request<pb::UnassignRequest>) -> Reply<pb::UnassignResponse> {
        let item = convert::item(req.into_inner().item)?;
        let removed = self.library.unassign(item).await?;
        Ok(Response::new(pb::UnassignResponse {
            removed: removed.map(convert::assignment),
        }))
    }
}
