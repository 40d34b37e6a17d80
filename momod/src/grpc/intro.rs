//! `IntroService`: translation only; the work is in `library::intro`.
use momo_proto::v1 as pb;
use momo_proto::v1::intro_service_server::IntroService;
use tonic::{Request, Response, Status};

use super::convert;
use crate::library::Library;

pub struct IntroApi {
    pub library: Library,
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl IntroService for IntroApi {
    async fn set(&self, req: Request<pb::SetMarkersRequest>) -> Reply<pb::Markers> {
        let r = req.into_inner();
        let item = convert::item(r.item)?;
        let intro = match (r.intro_start_s, r.intro_end_s) {
            (Some(s), Some(e)) => Some((s, e)),
            (None, None) => None,
            _ => {
                return Err(Status::invalid_argument(
                    "give the intro's start and its end",
                ));
            }
        };
        let credits = match (r.credits_start_s, r.credits_end_s) {
            (Some(s), e) => Some((s, e)),
            (None, None) => None,
            (None, Some(_)) => {
                return Err(Status::invalid_argument(
                    "the credits' end needs their start",
                ));
            }
        };
        let m = self.library.set_markers(item, intro, credits).await?;
        Ok(Response::new(convert::markers(m)))
    }

    async fn remove(&self, req: Request<pb::RemoveMarkersRequest>) -> Reply<pb::Markers> {
        let item = convert::item(req.into_inner().item)?;
        Ok(Response::new(convert::markers(
            self.library.remove_markers(item).await?,
        )))
    }

    async fn list(&self, req: Request<pb::ListMarkersRequest>) -> Reply<pb::ListMarkersResponse> {
        let r = req.into_inner();
        let markers = self
            .library
            .show_markers(r.show_id, r.season_number)
            .await?;
        Ok(Response::new(pb::ListMarkersResponse {
            markers: markers.into_iter().map(convert::markers).collect(),
        }))
    }
}
