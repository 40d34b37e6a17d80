//! Movies and shows: adding them from TMDB (or by title), listing, removing, refreshing.
use std::collections::{BTreeMap, BTreeSet};

use super::Library;
use super::limits::{self, Origin};
use super::model::{Counts, MediaKind, Movie, SeasonFilter, ShowDetail, ShowSummary};
use crate::error::{Error, Result};
use crate::jobs::JobCtx;
use crate::store::NewShowRecord;
use crate::tmdb::{Cache, EpisodeInfo, SearchHit, SeasonInfo, ShowInfo};

pub enum NewMovie {
    Tmdb(i64),
    Manual { title: String, year: Option<i32> },
}

pub enum NewShow {
    /// From TMDB: only `seasons` when not empty (else every regular season), plus season 0
    /// when `specials`.
    Tmdb {
        tmdb_id: i64,
        seasons: Vec<i32>,
        specials: bool,
    },
    /// Without TMDB: seasons of placeholder episodes, as (season number, episode count).
    Manual {
        title: String,
        year: Option<i32>,
        seasons: Vec<(i32, i32)>,
    },
}

#[derive(Debug, Clone)]
pub struct RefreshReport {
    pub show: ShowDetail,
    pub added_seasons: u32,
    pub added_episodes: u32,
    pub updated_episodes: u32,
}

pub struct SearchResult {
    pub hit: SearchHit,
    pub in_library: bool,
}

impl Library {
    // ------------------------------------------------------------------ movies

    pub async fn add_movie(&self, new: NewMovie) -> Result<Movie> {
        let (tmdb_id, title, year) = match new {
            NewMovie::Tmdb(id) => {
                check_tmdb_id(id)?;
                self.refuse_existing(MediaKind::Movie, id).await?;
                let info = self.tmdb.movie(id).await?;
                let origin = Origin::Tmdb(&format!("movie {id}"));
                (
                    Some(id),
                    limits::title(&info.title, origin)?,
                    limits::year(info.year, origin)?,
                )
            }
            NewMovie::Manual { title, year } => (
                None,
                limits::title(&title, Origin::User)?,
                limits::year(year, Origin::User)?,
            ),
        };
        self.store.insert_movie(tmdb_id, title, year).await
    }

    /// AlreadyExists when a movie or show with this TMDB id is in the library, checked
    /// before asking TMDB anything.
    async fn refuse_existing(&self, kind: MediaKind, tmdb_id: i64) -> Result<()> {
        match self.store.id_by_tmdb(kind, tmdb_id).await? {
            Some(id) => Err(Error::AlreadyExists(format!(
                "{} with TMDB id {tmdb_id} is already in the library (id {id})",
                kind.noun()
            ))),
            None => Ok(()),
        }
    }

    pub async fn list_movies(&self) -> Result<Vec<Movie>> {
        self.store.movies(None).await
    }

    pub async fn get_movie(&self, id: i64) -> Result<Movie> {
        self.store
            .movies(Some(id))
            .await?
            .pop()
            .ok_or_else(|| movie_not_found(id))
    }

    /// Removes the movie and its sources.
    pub async fn remove_movie(&self, id: i64) -> Result<Movie> {
        self.store
            .delete_movie(id)
            .await?
            .ok_or_else(|| movie_not_found(id))
    }

    // ------------------------------------------------------------------ shows

    pub async fn add_show(&self, new: NewShow, ctx: &JobCtx) -> Result<ShowDetail> {
        let (record, seasons) = match new {
            NewShow::Tmdb {
                tmdb_id,
                seasons,
                specials,
            } => {
                check_tmdb_id(tmdb_id)?;
                let filter = SeasonFilter {
                    only: check_season_list(&seasons)?,
                    specials,
                };
                self.refuse_existing(MediaKind::Show, tmdb_id).await?;
                self.tmdb_show(tmdb_id, filter, ctx).await??
            }
            NewShow::Manual {
                title,
                year,
                seasons,
            } => {
                let record = NewShowRecord {
                    tmdb_id: None,
                    title: limits::title(&title, Origin::User)?,
                    year: limits::year(year, Origin::User)?,
                    filter: SeasonFilter::default(),
                };
                let seasons = limits::seasons(placeholder_seasons(&seasons)?, Origin::User)?;
                let filter = SeasonFilter {
                    specials: seasons.iter().any(|s| s.season_number == 0),
                    ..record.filter
                };
                (NewShowRecord { filter, ..record }, seasons)
            }
        };
        ctx.commit()?;
        ctx.step(format!("storing {} seasons", seasons.len()));
        let id = self.store.insert_show(record, seasons).await?;
        self.get_show(id).await
    }

    /// A show as TMDB has it, with the seasons `filter` keeps, checked and ready to store.
    /// The outer error is TMDB's (unreachable, unknown id); the inner one says this show
    /// cannot be taken (past the limits, no such season), so an import can skip it alone.
    pub(super) async fn tmdb_show(
        &self,
        tmdb_id: i64,
        filter: SeasonFilter,
        ctx: &JobCtx,
    ) -> Result<Result<(NewShowRecord, Vec<SeasonInfo>)>> {
        ctx.step(format!("fetching show {tmdb_id} from TMDB"));
        let info = self.tmdb.show(tmdb_id, Cache::Use).await?;
        let origin = Origin::Tmdb(&format!("show {tmdb_id}"));
        let checked = (|| {
            let title = limits::title(&info.title, origin)?;
            let year = limits::year(info.year, origin)?;
            limits::season_list(&info.seasons, origin)?;
            Ok((title, year, wanted_seasons(&info, &filter)?))
        })();
        let (title, year, wanted) = match checked {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let fetched = self
            .fetch_seasons(tmdb_id, &wanted, Cache::Use, ctx)
            .await?;
        Ok(limits::seasons(fetched, origin).map(|seasons| {
            let record = NewShowRecord {
                tmdb_id: Some(tmdb_id),
                title,
                year,
                filter,
            };
            (record, seasons)
        }))
    }

    /// Checks what `add_show` can check without TMDB, so a bad request is refused before a
    /// job is created for it.
    pub async fn check_add_show(&self, new: &NewShow) -> Result<()> {
        match new {
            NewShow::Tmdb {
                tmdb_id, seasons, ..
            } => {
                check_tmdb_id(*tmdb_id)?;
                check_season_list(seasons)?;
                self.refuse_existing(MediaKind::Show, *tmdb_id).await
            }
            NewShow::Manual {
                title,
                year,
                seasons,
            } => {
                limits::title(title, Origin::User)?;
                limits::year(*year, Origin::User)?;
                limits::seasons(placeholder_seasons(seasons)?, Origin::User).map(drop)
            }
        }
    }

    /// The same for `refresh_show`: the show exists and came from TMDB.
    pub async fn check_refresh_show(&self, id: i64) -> Result<()> {
        let (tmdb_id, _) = self
            .store
            .show_origin(id)
            .await?
            .ok_or_else(|| show_not_found(id))?;
        if tmdb_id.is_none() {
            return Err(no_tmdb_origin(id));
        }
        Ok(())
    }

    /// Fetches the seasons one after another (the rate limiter paces them anyway); any
    /// failure fails the whole operation before anything is written.
    async fn fetch_seasons(
        &self,
        tmdb_id: i64,
        wanted: &[i32],
        cache: Cache,
        ctx: &JobCtx,
    ) -> Result<Vec<SeasonInfo>> {
        let total = wanted.len() as u64;
        let mut out = Vec::with_capacity(wanted.len());
        ctx.progress(0, Some(total), "seasons");
        for (i, &n) in wanted.iter().enumerate() {
            ctx.step(format!("fetching season {n} ({} of {total})", i + 1));
            out.push(self.tmdb.season(tmdb_id, n, cache).await?);
            ctx.progress(i as u64 + 1, Some(total), "seasons");
        }
        Ok(out)
    }

    pub async fn list_shows(&self) -> Result<Vec<ShowSummary>> {
        self.store.show_summaries().await
    }

    pub async fn get_show(&self, id: i64) -> Result<ShowDetail> {
        self.store.show(id).await?.ok_or_else(|| show_not_found(id))
    }

    /// Removes the show with its seasons, episodes and their sources.
    pub async fn remove_show(&self, id: i64) -> Result<ShowDetail> {
        self.store
            .delete_show(id)
            .await?
            .ok_or_else(|| show_not_found(id))
    }

    /// Adds seasons and episodes TMDB has gained, updates names and air dates that changed;
    /// never removes a season or an episode (and so never drops a source).
    pub async fn refresh_show(&self, id: i64, ctx: &JobCtx) -> Result<RefreshReport> {
        let (tmdb_id, filter) = self
            .store
            .show_origin(id)
            .await?
            .ok_or_else(|| show_not_found(id))?;
        let Some(tmdb_id) = tmdb_id else {
            return Err(no_tmdb_origin(id));
        };
        ctx.step(format!("fetching show {tmdb_id} from TMDB"));
        let info = self.tmdb.show(tmdb_id, Cache::Bypass).await?;
        let origin = Origin::Tmdb(&format!("show {tmdb_id}"));
        let title = limits::title(&info.title, origin)?;
        let year = limits::year(info.year, origin)?;
        limits::season_list(&info.seasons, origin)?;
        // Seasons the user asked for that TMDB no longer lists are skipped, not an error.
        let wanted: Vec<i32> = info
            .seasons
            .iter()
            .copied()
            .filter(|n| filter.wants(*n))
            .collect();
        let fetched = self
            .fetch_seasons(tmdb_id, &wanted, Cache::Bypass, ctx)
            .await?;
        let fetched = limits::seasons(fetched, origin)?;
        // The limits hold for the show as it will be: refresh keeps every episode it has, so
        // what TMDB renumbered adds up with what is stored.
        let current = self.get_show(id).await?;
        limits::merged(&current, &fetched, origin)?;
        ctx.commit()?;
        ctx.step("storing what changed");
        let (added_seasons, added_episodes, updated_episodes) =
            self.store.refresh_show(id, title, year, fetched).await?;
        Ok(RefreshReport {
            show: self.get_show(id).await?,
            added_seasons,
            added_episodes,
            updated_episodes,
        })
    }

    // ------------------------------------------------------------------ search, counts

    pub async fn search(
        &self,
        kind: MediaKind,
        query: &str,
        year: Option<i32>,
    ) -> Result<Vec<SearchResult>> {
        let query = limits::query(query)?;
        let year = limits::year(year, Origin::User)?;
        let endpoint = match kind {
            MediaKind::Movie => "movie",
            MediaKind::Show => "tv",
        };
        let hits = self.tmdb.search(endpoint, &query, year).await?;
        let ids: Vec<i64> = hits.iter().map(|h| h.tmdb_id).collect();
        let known = self.store.known_tmdb_ids(kind, ids).await?;
        Ok(hits
            .into_iter()
            .map(|hit| SearchResult {
                in_library: known.contains(&hit.tmdb_id),
                hit,
            })
            .collect())
    }

    pub async fn counts(&self) -> Result<Counts> {
        self.store.counts().await
    }
}

// ---------------------------------------------------------------------- rules

fn check_tmdb_id(id: i64) -> Result<()> {
    if id <= 0 {
        return Err(Error::InvalidArgument(format!(
            "TMDB id must be a positive number, not {id}"
        )));
    }
    Ok(())
}

/// `--seasons 1,3`: None when empty (every season).
fn check_season_list(seasons: &[i32]) -> Result<Option<BTreeSet<i32>>> {
    if seasons.len() > limits::MAX_SEASONS {
        return Err(Error::InvalidArgument(format!(
            "{} seasons asked for; at most {} are allowed",
            seasons.len(),
            limits::MAX_SEASONS
        )));
    }
    for &n in seasons {
        limits::season_number(n, Origin::User)?;
    }
    Ok((!seasons.is_empty()).then(|| seasons.iter().copied().collect()))
}

/// The seasons to store: those the filter wants, each of which must exist on TMDB when the
/// filter names it.
fn wanted_seasons(info: &ShowInfo, filter: &SeasonFilter) -> Result<Vec<i32>> {
    let has: BTreeSet<i32> = info.seasons.iter().copied().collect();
    if let Some(only) = &filter.only
        && let Some(missing) = only.iter().find(|n| !has.contains(n))
    {
        let list = has
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::NotFound(format!(
            "TMDB show {} ({}) has no season {missing}; it has seasons {list}",
            info.tmdb_id, info.title
        )));
    }
    Ok(has.into_iter().filter(|n| filter.wants(*n)).collect())
}

/// `show add --title … --episodes 1:7,2:13`: seasons of unnamed episodes.
fn placeholder_seasons(sizes: &[(i32, i32)]) -> Result<Vec<SeasonInfo>> {
    let mut numbers = BTreeMap::new();
    if sizes.len() > limits::MAX_SEASONS {
        return Err(Error::InvalidArgument(format!(
            "{} seasons given; at most {} are allowed",
            sizes.len(),
            limits::MAX_SEASONS
        )));
    }
    let mut total = 0usize;
    for &(season, count) in sizes {
        limits::season_number(season, Origin::User)?;
        // Counted before the placeholders are made: 5,000 seasons of 5,000 would be
        // 25 million rows in memory first.
        total = total.saturating_add(count.max(0) as usize);
        if !(1..=limits::MAX_EPISODES_PER_SEASON as i32).contains(&count)
            || total > limits::MAX_EPISODES_PER_SHOW
        {
            return Err(Error::InvalidArgument(format!(
                "season {season} with {count} episodes: a season has 1–{} episodes, a show at most {}",
                limits::MAX_EPISODES_PER_SEASON,
                limits::MAX_EPISODES_PER_SHOW
            )));
        }
        if numbers.insert(season, count).is_some() {
            return Err(Error::InvalidArgument(format!(
                "season {season} given twice"
            )));
        }
    }
    Ok(numbers
        .into_iter()
        .map(|(season_number, count)| SeasonInfo {
            season_number,
            episodes: (1..=count)
                .map(|n| EpisodeInfo {
                    episode_number: n,
                    name: None,
                    air_date: None,
                })
                .collect(),
        })
        .collect())
}

fn movie_not_found(id: i64) -> Error {
    super::model::Item::Movie(id).not_found()
}

fn show_not_found(id: i64) -> Error {
    Error::NotFound(format!(
        "no show with id {id} in the library (see `momoctl show ls`)"
    ))
}
fn no_tmdb_origin(id: i64) -> Error {
    Error::FailedPrecondition(format!(
        "show {id} was added by title, without TMDB: there is nothing to refresh it from"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(seasons: &[i32]) -> ShowInfo {
        ShowInfo {
            tmdb_id: 1,
            title: "T".into(),
            year: None,
            seasons: seasons.to_vec(),
        }
    }

    fn filter(only: Option<&[i32]>, specials: bool) -> SeasonFilter {
        SeasonFilter {
            only: only.map(|o| o.iter().copied().collect()),
            specials,
        }
    }

    #[test]
    fn season_selection() {
        let i = info(&[0, 1, 2, 3]);
        assert_eq!(
            wanted_seasons(&i, &filter(None, false)).unwrap(),
            vec![1, 2, 3]
        );
        assert_eq!(
            wanted_seasons(&i, &filter(None, true)).unwrap(),
            vec![0, 1, 2, 3]
        );
        assert_eq!(
            wanted_seasons(&i, &filter(Some(&[1, 3]), false)).unwrap(),
            vec![1, 3]
        );
        assert_eq!(
            wanted_seasons(&i, &filter(Some(&[1, 3]), true)).unwrap(),
            vec![0, 1, 3]
        );
        let err = wanted_seasons(&i, &filter(Some(&[9]), false))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no season 9"), "{err}");
    }

    #[test]
    fn placeholder_seasons_are_checked() {
        let s = placeholder_seasons(&[(2, 3), (0, 1)]).unwrap();
        assert_eq!(
            s.iter()
                .map(|s| (s.season_number, s.episodes.len()))
                .collect::<Vec<_>>(),
            vec![(0, 1), (2, 3)]
        );
        assert!(placeholder_seasons(&[(1, 2), (1, 3)]).is_err());
        assert!(placeholder_seasons(&[(-1, 2)]).is_err());
        assert!(placeholder_seasons(&[(1, 0)]).is_err());
        assert!(check_season_list(&[1, -2]).is_err());
        assert_eq!(check_season_list(&[]).unwrap(), None);
    }
}
