//! `LibraryService`: request validation and conversion only; the work is in `library`.
use momo_proto::v1 as pb;
use momo_proto::v1::library_service_server::LibraryService;
use tonic::{Request, Response, Status};

use crate::library::{
    EpisodeDetail, Library, MediaKind, Movie, NewMovie, NewShow, ShowDetail, ShowSummary,
};

pub struct LibraryApi {
    pub library: Library,
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
        _: Request<pb::ListMoviesRequest>,
    ) -> Reply<pb::ListMoviesResponse> {
        let movies = self
            .library
            .list_movies()
            .await?
            .into_iter()
            .map(movie)
            .collect();
        Ok(Response::new(pb::ListMoviesResponse { movies }))
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
        let req = req.into_inner();
        let new = match req.by {
            Some(pb::add_show_request::By::TmdbId(tmdb_id)) => NewShow::Tmdb {
                tmdb_id,
                seasons: req.seasons,
                specials: req.specials,
            },
            Some(pb::add_show_request::By::Manual(m)) => NewShow::Manual {
                title: m.title,
                year: m.year,
                seasons: m
                    .seasons
                    .iter()
                    .map(|s| (s.season_number, s.episode_count))
                    .collect(),
            },
            None => return Err(Status::invalid_argument("give a TMDB id or a title")),
        };
        Ok(Response::new(show_detail(
            self.library.add_show(new).await?,
        )))
    }

    async fn list_shows(&self, _: Request<pb::ListShowsRequest>) -> Reply<pb::ListShowsResponse> {
        let shows = self
            .library
            .list_shows()
            .await?
            .into_iter()
            .map(show_summary)
            .collect();
        Ok(Response::new(pb::ListShowsResponse { shows }))
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
        let r = self.library.refresh_show(req.into_inner().id).await?;
        Ok(Response::new(pb::RefreshShowResponse {
            show: Some(show_detail(r.show)),
            added_seasons: r.added_seasons,
            added_episodes: r.added_episodes,
            updated_episodes: r.updated_episodes,
        }))
    }

    async fn search(&self, req: Request<pb::SearchRequest>) -> Reply<pb::SearchResponse> {
        let req = req.into_inner();
        let kind = match pb::MediaKind::try_from(req.kind) {
            Ok(pb::MediaKind::Movie) => MediaKind::Movie,
            Ok(pb::MediaKind::Show) => MediaKind::Show,
            _ => {
                return Err(Status::invalid_argument(
                    "search kind must be movie or show",
                ));
            }
        };
        let results = self
            .library
            .search(kind, &req.query, req.year)
            .await?
            .into_iter()
            .map(|r| pb::SearchResult {
                tmdb_id: r.hit.tmdb_id,
                title: r.hit.title,
                year: r.hit.year,
                original_title: r.hit.original_title,
                in_library: r.in_library,
            })
            .collect();
        Ok(Response::new(pb::SearchResponse { results }))
    }
}

fn movie(m: Movie) -> pb::Movie {
    pb::Movie {
        id: m.id,
        tmdb_id: m.tmdb_id,
        title: m.title,
        year: m.year,
        assigned: m.assigned,
    }
}

fn show_summary(s: ShowSummary) -> pb::Show {
    pb::Show {
        id: s.id,
        tmdb_id: s.tmdb_id,
        title: s.title,
        year: s.year,
        seasons: Vec::new(),
        season_count: s.season_count as u32,
        episode_count: s.episode_count as u32,
        assigned_count: s.assigned_count as u32,
    }
}

fn show_detail(d: ShowDetail) -> pb::Show {
    pb::Show {
        seasons: d
            .seasons
            .into_iter()
            .map(|s| pb::Season {
                id: s.id,
                season_number: s.season_number,
                episodes: s.episodes.into_iter().map(episode).collect(),
            })
            .collect(),
        ..show_summary(d.summary)
    }
}

fn episode(e: EpisodeDetail) -> pb::Episode {
    pb::Episode {
        id: e.id,
        episode_number: e.episode_number,
        name: e.name,
        air_date: e.air_date,
        assigned: e.assigned,
    }
}
