//! `ImportService`: translation only; the work is in `library::import`. Imports run as
//! jobs (`grpc::jobs`); a playlist can be sent whole, hence this service's larger limit.
use momo_proto::v1 as pb;
use momo_proto::v1::import_service_server::ImportService;
use tonic::{Request, Response, Status};

use super::jobs::run_op;
use crate::jobs::Jobs;
use crate::library::Library;
use pb::job_result::Value as JobValue;
use pb::start_job_request::Op;

pub struct ImportApi {
    pub library: Library,
    pub jobs: Jobs,
}

type Reply<T> = Result<Response<T>, Status>;

impl ImportApi {
    /// Runs an import as a job and waits for its report.
    async fn import(&self, op: Op) -> Reply<pb::ImportReport> {
        let report = run_op(&self.jobs, &self.library, op, |v| match v {
            JobValue::Import(r) => Some(r),
            _ => None,
        });
        Ok(Response::new(report.await?))
    }
}

#[tonic::async_trait]
impl ImportService for ImportApi {
    async fn import_radarr(
        &self,
        req: Request<pb::ImportRadarrRequest>,
    ) -> Reply<pb::ImportReport> {
        self.import(Op::ImportRadarr(req.into_inner())).await
    }

    async fn import_sonarr(
        &self,
        req: Request<pb::ImportSonarrRequest>,
    ) -> Reply<pb::ImportReport> {
        self.import(Op::ImportSonarr(req.into_inner())).await
    }

    async fn import_m3u(&self, req: Request<pb::ImportM3uRequest>) -> Reply<pb::ImportReport> {
        self.import(Op::ImportM3u(req.into_inner())).await
    }

    async fn import_trakt(&self, req: Request<pb::ImportTraktRequest>) -> Reply<pb::ImportReport> {
        self.import(Op::ImportTrakt(req.into_inner())).await
    }
}
