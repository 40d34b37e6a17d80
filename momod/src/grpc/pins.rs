//! `PinService`: translation only; the work is in `library::pins`, the download runs as a
//! job (`grpc::jobs`).
use momo_proto::v1 as pb;
use momo_proto::v1::pin_service_server::PinService;
use prost::Message;
use tonic::{Request, Response, Status};

use super::convert;
use super::jobs::describe;
use crate::jobs::Jobs;
use crate::library::Library;
use pb::start_job_request::Op;

pub struct PinApi {
    pub library: Library,
    pub jobs: Jobs,
}

type Reply<T> = Result<Response<T>, Status>;

/// How long an unpin waits for its download to stop.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[tonic::async_trait]
impl PinService for PinApi {
    async fn pin(&self, req: Request<pb::PinRequest>) -> Reply<pb::Pin> {
        // Describing the job makes the pin (once) and names its assignment in the request.
        let new = describe(&self.library, Op::Pin(req.into_inner())).await?;
        let assignment = match pb::StartJobRequest::decode(new.payload.as_slice())
            .ok()
            .and_then(|r| r.op)
        {
            Some(Op::Pin(r)) => r.assignment_id,
            _ => return Err(Status::internal("a pin job without its request")),
        };
        let job = self.jobs.submit(new).await?;
        // The job records itself when it starts; a queued one is named here already.
        self.library.set_pin_job(assignment, job.id).await?;
        let pin = self.library.pin_of(assignment).await?;
        Ok(Response::new(convert::pin(pin)))
    }

    async fn unpin(&self, req: Request<pb::PinRequest>) -> Reply<pb::Pin> {
        let item = convert::item(req.into_inner().item)?;
        let pin = self.library.unpin(item).await?;
        // The download stops before its data goes, or it could take it back meanwhile.
        if let Some(job) = pin.job_id
            && self.jobs.cancel(job).await.is_ok()
        {
            let _ = tokio::time::timeout(STOP_WAIT, self.jobs.wait(job)).await;
        }
        self.library.release_pin(&pin).await?;
        Ok(Response::new(convert::pin(pin)))
    }

    async fn list(&self, _req: Request<pb::ListPinsRequest>) -> Reply<pb::ListPinsResponse> {
        let pins = self.library.pins().await?;
        Ok(Response::new(pb::ListPinsResponse {
            pins: pins.into_iter().map(convert::pin).collect(),
        }))
    }
}
