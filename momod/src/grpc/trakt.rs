//! `TraktService`: translation only; the work is in `library::trakt`. The wait for a
//! sign-in runs as a job (`grpc::jobs`).
use momo_proto::v1 as pb;
use momo_proto::v1::trakt_service_server::TraktService;
use tonic::{Request, Response, Status};

use super::convert;
use super::jobs::describe;
use crate::jobs::Jobs;
use crate::library::Library;
use pb::start_job_request::Op;

pub struct TraktApi {
    pub library: Library,
    pub jobs: Jobs,
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl TraktService for TraktApi {
    async fn login(&self, _req: Request<pb::TraktLoginRequest>) -> Reply<pb::TraktLogin> {
        let code = self.library.trakt_login_code().await?;
        let op = Op::TraktLogin(pb::TraktWaitLogin {
            device_code: code.device_code,
            user_code: code.user_code.clone(),
            verification_url: code.verification_url.clone(),
            expires_in: code.expires_in,
            interval: code.interval,
            issued_at: code.issued_at,
        });
        let job = self.jobs.submit(describe(&self.library, op).await?).await?;
        Ok(Response::new(pb::TraktLogin {
            user_code: code.user_code,
            verification_url: code.verification_url,
            expires_in: code.expires_in,
            job_id: job.id,
        }))
    }

    async fn status(&self, _req: Request<pb::TraktStatusRequest>) -> Reply<pb::TraktStatus> {
        let account = self.library.trakt_account().await;
        Ok(Response::new(convert::trakt_status(
            self.library.trakt_configured(),
            account,
            self.library.trakt_last_scrobble(),
        )))
    }

    async fn history(&self, req: Request<pb::TraktHistoryRequest>) -> Reply<pb::TraktHistory> {
        let history = self.library.trakt_history(req.into_inner().sync).await?;
        Ok(Response::new(convert::trakt_history(history)))
    }

    async fn logout(&self, _req: Request<pb::TraktLogoutRequest>) -> Reply<pb::TraktStatus> {
        self.library.trakt_logout().await?;
        Ok(Response::new(convert::trakt_status(
            self.library.trakt_configured(),
            None,
            self.library.trakt_last_scrobble(),
        )))
    }
}
