//! The library: movies and shows (with seasons and episodes) keyed by TMDB id.
//!
//! All TMDB fetching happens before a write starts, and each add or refresh is one
//! transaction, so a failure anywhere leaves the database as it was. Sources attached to
//! movies and episodes are in `sources`.
mod pack;
mod sources;
mod torrents;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

use crate::db::{Db, now};
use crate::error::{Error, Result};
use crate::schema::{assignments, episodes, movies, seasons, shows};
use crate::tmdb::{SearchHit, SeasonInfo, ShowInfo, Tmdb};
use crate::torrent::Engine;
use crate::vfs::Vfs;

pub use sources::Assignment;
pub use torrents::{FileChoice, Labels, PackEpisode, PackMatch, TorrentUser};

#[derive(Debug, Clone, PartialEq)]
pub struct Movie {
    pub id: i64,
    pub tmdb_id: Option<i64>,
    pub title: String,
    pub year: Option<i32>,
    pub assigned: bool,
}

#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct ShowSummary {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub tmdb_id: Option<i64>,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Nullable<Integer>)]
    pub year: Option<i32>,
    #[diesel(sql_type = BigInt)]
    pub season_count: i64,
    #[diesel(sql_type = BigInt)]
    pub episode_count: i64,
    #[diesel(sql_type = BigInt)]
    pub assigned_count: i64,
}

#[derive(Debug, Clone)]
pub struct ShowDetail {
    pub summary: ShowSummary,
    pub seasons: Vec<SeasonDetail>,
}

#[derive(Debug, Clone)]
pub struct SeasonDetail {
    pub id: i64,
    pub season_number: i32,
    pub episodes: Vec<EpisodeDetail>,
}

#[derive(Debug, Clone)]
pub struct EpisodeDetail {
    pub id: i64,
    pub episode_number: i32,
    pub name: Option<String>,
    pub air_date: Option<String>,
    pub assigned: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub movies: u64,
    pub shows: u64,
    pub seasons: u64,
    pub episodes: u64,
    pub assigned: u64,
}

#[derive(Debug, Clone)]
pub struct RefreshReport {
    pub show: ShowDetail,
    pub added_seasons: u32,
    pub added_episodes: u32,
    pub updated_episodes: u32,
}

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

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Movie,
    Show,
}

impl MediaKind {
    fn noun(self) -> &'static str {
        match self {
            MediaKind::Movie => "movie",
            MediaKind::Show => "show",
        }
    }
}

pub struct SearchResult {
    pub hit: SearchHit,
    pub in_library: bool,
}

#[derive(Clone)]
pub struct Library {
    db: Db,
    tmdb: Arc<Tmdb>,
    vfs: Arc<Vfs>,
    engine: Arc<Engine>,
    /// Folders whose files may be assigned as local sources.
    local_roots: Vec<PathBuf>,
}

#[derive(Insertable)]
#[diesel(table_name = movies)]
struct NewMovieRow<'a> {
    tmdb_id: Option<i64>,
    title: &'a str,
    year: Option<i32>,
    created_at: i64,
}

#[derive(Insertable)]
#[diesel(table_name = shows)]
struct NewShowRow<'a> {
    tmdb_id: Option<i64>,
    title: &'a str,
    year: Option<i32>,
    season_filter: Option<String>,
    specials: bool,
    created_at: i64,
}

#[derive(Insertable)]
#[diesel(table_name = episodes)]
struct NewEpisodeRow {
    season_id: i64,
    episode_number: i32,
    name: Option<String>,
    air_date: Option<String>,
}

impl Library {
    pub fn new(
        db: Db,
        tmdb: Arc<Tmdb>,
        vfs: Arc<Vfs>,
        engine: Arc<Engine>,
        local_roots: Vec<PathBuf>,
    ) -> Library {
        Library {
            db,
            tmdb,
            vfs,
            engine,
            local_roots,
        }
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Where an item appears in the share, if it has a source.
    pub async fn share_path_of(&self, item: crate::vfs::Item) -> Result<Option<String>> {
        Ok(self.vfs.tree().await?.path_of(item).map(str::to_string))
    }

    // ------------------------------------------------------------------ movies

    pub async fn add_movie(&self, new: NewMovie) -> Result<Movie> {
        let (tmdb_id, title, year) = match new {
            NewMovie::Tmdb(id) => {
                check_tmdb_id(id)?;
                self.refuse_existing(MediaKind::Movie, id).await?;
                let info = self.tmdb.movie(id).await?;
                (Some(id), info.title, info.year)
            }
            NewMovie::Manual { title, year } => (None, check_title(&title)?, check_year(year)?),
        };
        self.db
            .write(move |conn| {
                let id = diesel::insert_into(movies::table)
                    .values(NewMovieRow {
                        tmdb_id,
                        title: &title,
                        year,
                        created_at: now(),
                    })
                    .returning(movies::id)
                    .get_result::<i64>(conn)
                    .map_err(|e| already_exists(e, "movie", tmdb_id))?;
                Ok(Movie {
                    id,
                    tmdb_id,
                    title,
                    year,
                    assigned: false,
                })
            })
            .await
    }

    /// AlreadyExists when a movie or show with this TMDB id is in the library, checked
    /// before asking TMDB anything.
    async fn refuse_existing(&self, kind: MediaKind, tmdb_id: i64) -> Result<()> {
        let existing = self
            .db
            .run(move |conn| {
                Ok(match kind {
                    MediaKind::Movie => movies::table
                        .filter(movies::tmdb_id.eq(tmdb_id))
                        .select(movies::id)
                        .first::<i64>(conn)
                        .optional()?,
                    MediaKind::Show => shows::table
                        .filter(shows::tmdb_id.eq(tmdb_id))
                        .select(shows::id)
                        .first::<i64>(conn)
                        .optional()?,
                })
            })
            .await?;
        match existing {
            Some(id) => Err(Error::AlreadyExists(format!(
                "{} with TMDB id {tmdb_id} is already in the library (id {id})",
                kind.noun()
            ))),
            None => Ok(()),
        }
    }

    pub async fn list_movies(&self) -> Result<Vec<Movie>> {
        self.db.run(|conn| load_movies(conn, None)).await
    }

    pub async fn get_movie(&self, id: i64) -> Result<Movie> {
        self.db
            .run(move |conn| {
                load_movies(conn, Some(id))?
                    .pop()
                    .ok_or_else(|| movie_not_found(id))
            })
            .await
    }

    /// Removes the movie and its sources.
    pub async fn remove_movie(&self, id: i64) -> Result<Movie> {
        self.db
            .write(move |conn| {
                let movie = load_movies(conn, Some(id))?
                    .pop()
                    .ok_or_else(|| movie_not_found(id))?;
                diesel::delete(movies::table.find(id)).execute(conn)?;
                Ok(movie)
            })
            .await
    }

    // ------------------------------------------------------------------ shows

    pub async fn add_show(&self, new: NewShow) -> Result<ShowDetail> {
        match new {
            NewShow::Tmdb {
                tmdb_id,
                seasons,
                specials,
            } => {
                check_tmdb_id(tmdb_id)?;
                let filter = check_season_filter(&seasons)?;
                self.refuse_existing(MediaKind::Show, tmdb_id).await?;
                let info = self.tmdb.show(tmdb_id).await?;
                let wanted = wanted_seasons(&info, filter.as_ref(), specials)?;
                let fetched = self.fetch_seasons(tmdb_id, &wanted).await?;
                let season_filter =
                    filter.map(|f| f.iter().map(i32::to_string).collect::<Vec<_>>().join(","));
                let id = self
                    .db
                    .write(move |conn| {
                        let show_id = insert_show(
                            conn,
                            Some(tmdb_id),
                            &info.title,
                            info.year,
                            season_filter,
                            specials,
                        )?;
                        for season in &fetched {
                            upsert_season(conn, show_id, season)?;
                        }
                        Ok(show_id)
                    })
                    .await?;
                self.get_show(id).await
            }
            NewShow::Manual {
                title,
                year,
                seasons,
            } => {
                let title = check_title(&title)?;
                let year = check_year(year)?;
                let mut numbers = BTreeMap::new();
                for (season, count) in seasons {
                    if !(0..=1000).contains(&season) || !(1..=5000).contains(&count) {
                        return Err(Error::InvalidArgument(format!(
                            "season {season} with {count} episodes: season numbers go from 0, episode counts from 1"
                        )));
                    }
                    if numbers.insert(season, count).is_some() {
                        return Err(Error::InvalidArgument(format!(
                            "season {season} given twice"
                        )));
                    }
                }
                let id = self
                    .db
                    .write(move |conn| {
                        let show_id =
                            insert_show(conn, None, &title, year, None, numbers.contains_key(&0))?;
                        for (season_number, count) in numbers {
                            let season = SeasonInfo {
                                season_number,
                                episodes: (1..=count)
                                    .map(|n| crate::tmdb::EpisodeInfo {
                                        episode_number: n,
                                        name: None,
                                        air_date: None,
                                    })
                                    .collect(),
                            };
                            upsert_season(conn, show_id, &season)?;
                        }
                        Ok(show_id)
                    })
                    .await?;
                self.get_show(id).await
            }
        }
    }

    /// Fetches the seasons one after another (the rate limiter paces them anyway); any
    /// failure fails the whole operation before anything is written.
    async fn fetch_seasons(&self, tmdb_id: i64, wanted: &[i32]) -> Result<Vec<SeasonInfo>> {
        let mut out = Vec::with_capacity(wanted.len());
        for &n in wanted {
            out.push(self.tmdb.season(tmdb_id, n).await?);
        }
        Ok(out)
    }

    pub async fn list_shows(&self) -> Result<Vec<ShowSummary>> {
        self.db.run(|conn| show_summaries(conn, None)).await
    }

    pub async fn get_show(&self, id: i64) -> Result<ShowDetail> {
        self.db.run(move |conn| load_show(conn, id)).await
    }

    /// Removes the show with its seasons, episodes and their sources.
    pub async fn remove_show(&self, id: i64) -> Result<ShowDetail> {
        self.db
            .write(move |conn| {
                let show = load_show(conn, id)?;
                diesel::delete(shows::table.find(id)).execute(conn)?;
                Ok(show)
            })
            .await
    }

    /// Adds seasons and episodes TMDB has gained, updates names and air dates that changed;
    /// never removes a season or an episode (and so never drops a source).
    pub async fn refresh_show(&self, id: i64) -> Result<RefreshReport> {
        let (tmdb_id, filter, specials) = self
            .db
            .run(move |conn| {
                shows::table
                    .find(id)
                    .select((shows::tmdb_id, shows::season_filter, shows::specials))
                    .first::<(Option<i64>, Option<String>, bool)>(conn)
                    .optional()?
                    .ok_or_else(|| show_not_found(id))
            })
            .await?;
        let Some(tmdb_id) = tmdb_id else {
            return Err(Error::FailedPrecondition(format!(
                "show {id} was added by title, without TMDB: there is nothing to refresh it from"
            )));
        };
        let filter: Option<BTreeSet<i32>> =
            filter.map(|f| f.split(',').filter_map(|n| n.trim().parse().ok()).collect());
        let info = self.tmdb.show(tmdb_id).await?;
        // Seasons the user asked for that TMDB no longer lists are skipped, not an error.
        let wanted: Vec<i32> = info
            .seasons
            .iter()
            .copied()
            .filter(|n| match &filter {
                Some(f) => f.contains(n) || (*n == 0 && specials),
                None => *n > 0 || specials,
            })
            .collect();
        let fetched = self.fetch_seasons(tmdb_id, &wanted).await?;
        let (added_seasons, added_episodes, updated_episodes) = self
            .db
            .write(move |conn| {
                diesel::update(shows::table.find(id))
                    .set((shows::title.eq(&info.title), shows::year.eq(info.year)))
                    .execute(conn)?;
                let mut totals = (0, 0, 0);
                for season in &fetched {
                    let (new_season, added, updated) = upsert_season(conn, id, season)?;
                    totals.0 += u32::from(new_season);
                    totals.1 += added;
                    totals.2 += updated;
                }
                Ok(totals)
            })
            .await?;
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
        let query = query.trim();
        if query.is_empty() {
            return Err(Error::InvalidArgument("search text is empty".into()));
        }
        let year = check_year(year)?;
        let hits = self
            .tmdb
            .search(
                if kind == MediaKind::Movie {
                    "movie"
                } else {
                    "tv"
                },
                query,
                year,
            )
            .await?;
        let ids: Vec<i64> = hits.iter().map(|h| h.tmdb_id).collect();
        let known: HashSet<i64> = self
            .db
            .run(move |conn| {
                let found: Vec<Option<i64>> = match kind {
                    MediaKind::Movie => movies::table
                        .filter(movies::tmdb_id.eq_any(&ids))
                        .select(movies::tmdb_id)
                        .load(conn)?,
                    MediaKind::Show => shows::table
                        .filter(shows::tmdb_id.eq_any(&ids))
                        .select(shows::tmdb_id)
                        .load(conn)?,
                };
                Ok(found.into_iter().flatten().collect())
            })
            .await?;
        Ok(hits
            .into_iter()
            .map(|hit| SearchResult {
                in_library: known.contains(&hit.tmdb_id),
                hit,
            })
            .collect())
    }

    pub async fn counts(&self) -> Result<Counts> {
        self.db
            .run(|conn| {
                use diesel::dsl::count_star;
                let n = |v: i64| v.max(0) as u64;
                Ok(Counts {
                    movies: n(movies::table.select(count_star()).first(conn)?),
                    shows: n(shows::table.select(count_star()).first(conn)?),
                    seasons: n(seasons::table.select(count_star()).first(conn)?),
                    episodes: n(episodes::table.select(count_star()).first(conn)?),
                    assigned: n(assignments::table
                        .filter(assignments::is_active)
                        .select(count_star())
                        .first(conn)?),
                })
            })
            .await
    }
}

// ---------------------------------------------------------------------- checks

fn check_tmdb_id(id: i64) -> Result<()> {
    if id <= 0 {
        return Err(Error::InvalidArgument(format!(
            "TMDB id must be a positive number, not {id}"
        )));
    }
    Ok(())
}

fn check_title(title: &str) -> Result<String> {
    let title = title.trim();
    if title.is_empty() {
        return Err(Error::InvalidArgument("title is empty".into()));
    }
    Ok(title.to_string())
}

fn check_year(year: Option<i32>) -> Result<Option<i32>> {
    match year {
        Some(y) if !(1800..=2300).contains(&y) => Err(Error::InvalidArgument(format!(
            "year {y} is not plausible (1800–2300)"
        ))),
        y => Ok(y),
    }
}

fn check_season_filter(seasons: &[i32]) -> Result<Option<BTreeSet<i32>>> {
    if let Some(bad) = seasons.iter().find(|n| **n < 0) {
        return Err(Error::InvalidArgument(format!(
            "season numbers start at 0, not {bad}"
        )));
    }
    Ok((!seasons.is_empty()).then(|| seasons.iter().copied().collect()))
}

/// The seasons to store: the filter (each must exist on TMDB) or every regular season, and
/// season 0 only when specials are asked for (or it is named in the filter).
fn wanted_seasons(
    info: &ShowInfo,
    filter: Option<&BTreeSet<i32>>,
    specials: bool,
) -> Result<Vec<i32>> {
    let has: BTreeSet<i32> = info.seasons.iter().copied().collect();
    if let Some(filter) = filter
        && let Some(missing) = filter.iter().find(|n| !has.contains(n))
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
    Ok(has
        .into_iter()
        .filter(|n| match filter {
            Some(f) => f.contains(n) || (*n == 0 && specials),
            None => *n > 0 || specials,
        })
        .collect())
}

fn movie_not_found(id: i64) -> Error {
    Error::NotFound(format!(
        "no movie with id {id} in the library (see `momoctl movie ls`)"
    ))
}

fn show_not_found(id: i64) -> Error {
    Error::NotFound(format!(
        "no show with id {id} in the library (see `momoctl show ls`)"
    ))
}

/// A unique violation on insert means the TMDB id raced in meanwhile.
fn already_exists(e: diesel::result::Error, what: &str, tmdb_id: Option<i64>) -> Error {
    match Error::from(e) {
        Error::AlreadyExists(_) => Error::AlreadyExists(format!(
            "{what} with TMDB id {} is already in the library",
            tmdb_id.map(|i| i.to_string()).unwrap_or_default()
        )),
        other => other,
    }
}

// ---------------------------------------------------------------------- queries

/// A movie joined with its active assignment, if any.
#[derive(Queryable)]
struct MovieRow {
    id: i64,
    tmdb_id: Option<i64>,
    title: String,
    year: Option<i32>,
    active_assignment: Option<i64>,
}

/// An episode joined with its active assignment, if any.
#[derive(Queryable)]
struct EpisodeRow {
    id: i64,
    season_id: i64,
    episode_number: i32,
    name: Option<String>,
    air_date: Option<String>,
    active_assignment: Option<i64>,
}

fn load_movies(conn: &mut SqliteConnection, only: Option<i64>) -> Result<Vec<Movie>> {
    let mut query = movies::table
        .left_join(
            assignments::table.on(assignments::movie_id
                .eq(movies::id.nullable())
                .and(assignments::is_active)),
        )
        .select((
            movies::id,
            movies::tmdb_id,
            movies::title,
            movies::year,
            assignments::id.nullable(),
        ))
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(movies::id.eq(id));
    }
    let rows: Vec<MovieRow> = query.load(conn)?;
    let mut out: Vec<Movie> = rows
        .into_iter()
        .map(|r| Movie {
            id: r.id,
            tmdb_id: r.tmdb_id,
            title: r.title,
            year: r.year,
            assigned: r.active_assignment.is_some(),
        })
        .collect();
    out.sort_by(|a, b| {
        (a.title.to_lowercase(), a.year, a.id).cmp(&(b.title.to_lowercase(), b.year, b.id))
    });
    Ok(out)
}

fn show_summaries(conn: &mut SqliteConnection, only: Option<i64>) -> Result<Vec<ShowSummary>> {
    let sql = "SELECT s.id, s.tmdb_id, s.title, s.year,
          (SELECT COUNT(*) FROM seasons se WHERE se.show_id = s.id) AS season_count,
          (SELECT COUNT(*) FROM episodes e JOIN seasons se ON e.season_id = se.id
             WHERE se.show_id = s.id) AS episode_count,
          (SELECT COUNT(*) FROM assignments a JOIN episodes e ON a.episode_id = e.id
             JOIN seasons se ON e.season_id = se.id
             WHERE se.show_id = s.id AND a.is_active) AS assigned_count
        FROM shows s WHERE (?1 IS NULL OR s.id = ?1)
        ORDER BY s.title COLLATE NOCASE, s.year, s.id";
    Ok(diesel::sql_query(sql)
        .bind::<Nullable<BigInt>, _>(only)
        .load(conn)?)
}

fn load_show(conn: &mut SqliteConnection, id: i64) -> Result<ShowDetail> {
    let summary = show_summaries(conn, Some(id))?
        .pop()
        .ok_or_else(|| show_not_found(id))?;
    let season_rows: Vec<(i64, i32)> = seasons::table
        .filter(seasons::show_id.eq(id))
        .order(seasons::season_number)
        .select((seasons::id, seasons::season_number))
        .load(conn)?;
    let season_ids: Vec<i64> = season_rows.iter().map(|(sid, _)| *sid).collect();
    let episode_rows: Vec<EpisodeRow> = episodes::table
        .left_join(
            assignments::table.on(assignments::episode_id
                .eq(episodes::id.nullable())
                .and(assignments::is_active)),
        )
        .filter(episodes::season_id.eq_any(&season_ids))
        .order(episodes::episode_number)
        .select((
            episodes::id,
            episodes::season_id,
            episodes::episode_number,
            episodes::name,
            episodes::air_date,
            assignments::id.nullable(),
        ))
        .load(conn)?;
    let mut by_season: HashMap<i64, Vec<EpisodeDetail>> = HashMap::new();
    for r in episode_rows {
        by_season
            .entry(r.season_id)
            .or_default()
            .push(EpisodeDetail {
                id: r.id,
                episode_number: r.episode_number,
                name: r.name,
                air_date: r.air_date,
                assigned: r.active_assignment.is_some(),
            });
    }
    let seasons = season_rows
        .into_iter()
        .map(|(sid, number)| SeasonDetail {
            id: sid,
            season_number: number,
            episodes: by_season.remove(&sid).unwrap_or_default(),
        })
        .collect();
    Ok(ShowDetail { summary, seasons })
}

fn insert_show(
    conn: &mut SqliteConnection,
    tmdb_id: Option<i64>,
    title: &str,
    year: Option<i32>,
    season_filter: Option<String>,
    specials: bool,
) -> Result<i64> {
    diesel::insert_into(shows::table)
        .values(NewShowRow {
            tmdb_id,
            title,
            year,
            season_filter,
            specials,
            created_at: now(),
        })
        .returning(shows::id)
        .get_result(conn)
        .map_err(|e| already_exists(e, "show", tmdb_id))
}

/// Makes the season and its episodes exist; returns (season was new, episodes added,
/// episodes whose name or air date changed). Never deletes.
fn upsert_season(
    conn: &mut SqliteConnection,
    show_id: i64,
    season: &SeasonInfo,
) -> Result<(bool, u32, u32)> {
    let existing: Option<i64> = seasons::table
        .filter(seasons::show_id.eq(show_id))
        .filter(seasons::season_number.eq(season.season_number))
        .select(seasons::id)
        .first(conn)
        .optional()?;
    let (season_id, new_season) = match existing {
        Some(id) => (id, false),
        None => {
            let id = diesel::insert_into(seasons::table)
                .values((
                    seasons::show_id.eq(show_id),
                    seasons::season_number.eq(season.season_number),
                ))
                .returning(seasons::id)
                .get_result(conn)?;
            (id, true)
        }
    };
    let known: HashMap<i32, (i64, Option<String>, Option<String>)> = episodes::table
        .filter(episodes::season_id.eq(season_id))
        .select((
            episodes::episode_number,
            episodes::id,
            episodes::name,
            episodes::air_date,
        ))
        .load::<(i32, i64, Option<String>, Option<String>)>(conn)?
        .into_iter()
        .map(|(n, id, name, date)| (n, (id, name, date)))
        .collect();
    let mut added = Vec::new();
    let mut updated = 0;
    let mut seen = HashSet::new();
    for ep in &season.episodes {
        // TMDB occasionally lists an episode number twice; the first wins.
        if !seen.insert(ep.episode_number) {
            continue;
        }
        match known.get(&ep.episode_number) {
            None => added.push(NewEpisodeRow {
                season_id,
                episode_number: ep.episode_number,
                name: ep.name.clone(),
                air_date: ep.air_date.clone(),
            }),
            Some((id, name, date)) => {
                // Keep what we have when TMDB no longer says anything.
                let new_name = ep.name.clone().or_else(|| name.clone());
                let new_date = ep.air_date.clone().or_else(|| date.clone());
                if (&new_name, &new_date) != (name, date) {
                    diesel::update(episodes::table.find(id))
                        .set((episodes::name.eq(new_name), episodes::air_date.eq(new_date)))
                        .execute(conn)?;
                    updated += 1;
                }
            }
        }
    }
    let added_count = added.len() as u32;
    if !added.is_empty() {
        diesel::insert_into(episodes::table)
            .values(&added)
            .execute(conn)?;
    }
    Ok((new_season, added_count, updated))
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

    #[test]
    fn season_selection() {
        let i = info(&[0, 1, 2, 3]);
        assert_eq!(wanted_seasons(&i, None, false).unwrap(), vec![1, 2, 3]);
        assert_eq!(wanted_seasons(&i, None, true).unwrap(), vec![0, 1, 2, 3]);
        let f: BTreeSet<i32> = [1, 3].into();
        assert_eq!(wanted_seasons(&i, Some(&f), false).unwrap(), vec![1, 3]);
        assert_eq!(wanted_seasons(&i, Some(&f), true).unwrap(), vec![0, 1, 3]);
        let missing: BTreeSet<i32> = [9].into();
        let err = wanted_seasons(&i, Some(&missing), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no season 9"), "{err}");
    }
}
