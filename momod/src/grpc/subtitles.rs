//! `SubtitleService`: translation only; the work is in `library::subtitles`.
use momo_proto::v1 as pb;
use momo_proto::v1::subtitle_service_server::SubtitleService;
use tonic::{Request, Response, Status};

use super::convert;
use super::jobs::run_op;
use crate::jobs::Jobs;
use crate::library::Library;
use pb::job_result::Value as JobValue;
use pb::start_job_request::Op;

pub struct SubtitleApi {
    pub library: Library,
    pub jobs: Jobs,
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl SubtitleService for SubtitleApi {
    async fn list(
        &self,
        req: Request<pb::ListSubtitlesRequest>,
    ) -> Reply<pb::ListSubtitlesResponse> {
        let item = convert::item(req.into_inner().item)?;
        let subtitles = self.library.subtitles(item).await?;
        Ok(Response::new(pb::ListSubtitlesResponse {
            subtitles: subtitles.into_iter().map(convert::subtitle).collect(),
        }))
    }

    async fn add(&self, req: Request<pb::AddSubtitleRequest>) -> Reply<pb::Subtitle> {
        let req = req.into_inner();
        let item = convert::item(req.item)?;
        let s = self
            .library
            .add_subtitle(
                item,
                &req.file_name,
                &req.content,
                &req.language,
                req.forced,
                req.sdh,
            )
            .await?;
        Ok(Response::new(convert::subtitle(s)))
    }

    async fn remove(&self, req: Request<pb::RemoveSubtitleRequest>) -> Reply<pb::Subtitle> {
        let s = self.library.remove_subtitle(req.into_inner().id).await?;
        Ok(Response::new(convert::subtitle(s)))
    }

    async fn search(
        &self,
        req: Request<pb::SearchSubtitlesRequest>,
    ) -> Reply<pb::SearchSubtitlesResponse> {
        let req = req.into_inner();
        let item = convert::item(req.item)?;
        let found = self.library.search_subtitles(item, &req.languages).await?;
        Ok(Response::new(convert::offers(found)))
    }

    async fn fetch(
        &self,
        req: Request<pb::FetchSubtitlesRequest>,
    ) -> Reply<pb::ListSubtitlesResponse> {
        let op = Op::FetchSubtitles(req.into_inner());
        let subs = run_op(&self.jobs, &self.library, op, |v| match v {
            JobValue::Subtitles(s) => Some(s),
            _ => None,
        });
        Ok(Response::new(subs.await?))
    }
}
