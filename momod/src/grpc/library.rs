//! `LibraryService`: translation only; the work is in `library::media`. Adding and
//! refreshing shows run as jobs (`grpc::jobs`).
use momo_proto::v1 as pb;
use momo_proto::v1::library_service_server::LibraryService;
use tonic::{Request, Response, Status};

use super::convert::{self, movie, show_detail, show_summary};
use super::jobs::run_op;
use crate::jobs::Jobs;
use crate::library::Library;
use crate::library::NewMovie;
use crate::library::model::Page;
use pb::job_result::Value as JobValue;
use pb::start_job_request::Op;

pub struct LibraryApi {
    pub library: Library,
    pub jobs: Jobs,
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl LibraryService for LibraryApi {
    async fn add_movie(&self, req: Request<pb::AddMovieRequest>) -> Reply<pb::Movie> {
        let new = match req.into_inner().by {
            Some(pb::add_movie_request::By::TmdbId(id)) => NewMovie::Tmdb(id),
            Some(pb::add_movie_request::By::Manual(m)) => NewMovie::Manual {
                title: m.title,
                year: m.year,
            },
            None => return Err(Status::invalid_argument("give a TMDB id or a title")),
        };
        Ok(Response::new(movie(self.library.add_movie(new).await?)))
    }

    async fn list_movies(
        &self,
        req: Request<pb::ListMoviesRequest>,
    ) -> Reply<pb::ListMoviesResponse> {
        let req = req.into_inner();
        let page = Page::parse(req.page_size, &req.page_token)?;
        let (movies, next_page_token) = page.of(self.library.list_movies().await?);
        Ok(Response::new(pb::ListMoviesResponse {
            movies: movies.into_iter().map(movie).collect(),
            next_page_token,
        }))
    }

    async fn get_movie(&self, req: Request<pb::GetMovieRequest>) -> Reply<pb::Movie> {
        Ok(Response::new(movie(
            self.library.get_movie(req.into_inner().id).await?,
        )))
    }

    async fn remove_movie(
        &self,
        req: Request<pb::RemoveMovieRequest>,
    ) -> Reply<pb::RemoveMovieResponse> {
        let removed = self.library.remove_movie(req.into_inner().id).await?;
        Ok(Response::new(pb::RemoveMovieResponse {
            removed: Some(movie(removed)),
        }))
    }

    async fn add_show(&self, req: Request<pb::AddShowRequest>) -> Reply<pb::Show> {
        let op = Op::AddShow(req.into_inner());
        let show = run_op(&self.jobs, &self.library, op, |v| match v {
            JobValue::Show(s) => Some(s),
            _ => None,
        });
        Ok(Response::new(show.await?))
    }

    async fn list_shows(&self, req: Request<pb::ListShowsRequest>) -> Reply<pb::ListShowsResponse> {
        let req = req.into_inner();
        let page = Page::parse(req.page_size, &req.page_token)?;
        let (shows, next_page_token) = page.of(self.library.list_shows().await?);
        Ok(Response::new(pb::ListShowsResponse {
            shows: shows.into_iter().map(show_summary).collect(),
            next_page_token,
        }))
    }

    async fn get_show(&self, req: Request<pb::GetShowRequest>) -> Reply<pb::Show> {
        Ok(Response::new(show_detail(
            self.library.get_show(req.into_inner().id).await?,
        )))
    }

    async fn remove_show(
        &self,
        req: Request<pb::RemoveShowRequest>,
    ) -> Reply<pb::RemoveShowResponse> {
        let removed = self.library.remove_show(req.into_inner().id).await?;
        Ok(Response::new(pb::RemoveShowResponse {
            removed: Some(show_detail(removed)),
        }))
    }

    async fn refresh_show(
        &self,
        req: Request<pb::RefreshShowRequest>,
    ) -> Reply<pb::RefreshShowResponse> {
        let op = Op::RefreshShow(req.into_inner());
        let refresh = run_op(&self.jobs, &self.library, op, |v| match v {
            JobValue::Refresh(r) => Some(r),
            _ => None,
        });
        Ok(Response::new(refresh.await?))
    }

    async fn search(&self, req: Request<pb::SearchRequest>) -> Reply<pb::SearchResponse> {
        let req = req.into_inner();
        let kind = convert::media_kind(req.kind)?;
        let results = self
            .library
            .search(kind, &req.query, req.year)
            .await?
            .into_iter()
            .map(convert::search_result)
            .collect();
        Ok(Response::new(pb::SearchResponse { results }))
    }
}
