//! Movies, shows, seasons and episodes.
use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

use super::schema::{assignments, episodes, movies, seasons, shows};
use super::{Store, now};
use crate::error::{Error, Result};
use crate::library::model::{
    Counts, EpisodeDetail, MediaKind, Movie, SeasonDetail, SeasonFilter, ShowDetail, ShowSummary,
};
use crate::tmdb::SeasonInfo;

/// A show about to be stored.
pub struct NewShowRecord {
    pub tmdb_id: Option<i64>,
    pub title: String,
    pub year: Option<i32>,
    pub filter: SeasonFilter,
}

/// What `refresh` found: (seasons added, episodes added, episodes whose name or date changed).
pub type RefreshCounts = (u32, u32, u32);

impl Store {
    /// The library id of the movie or show with this TMDB id, if there is one.
    pub async fn id_by_tmdb(&self, kind: MediaKind, tmdb_id: i64) -> Result<Option<i64>> {
        self.run(move |conn| {
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
        .await
    }

    /// Which of `ids` are in the library as movies (or shows).
    pub async fn known_tmdb_ids(&self, kind: MediaKind, ids: Vec<i64>) -> Result<HashSet<i64>> {
        self.run(move |conn| {
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
        .await
    }

    // ------------------------------------------------------------------ movies

    pub async fn insert_movie(
        &self,
        tmdb_id: Option<i64>,
        title: String,
        year: Option<i32>,
    ) -> Result<Movie> {
        self.write(move |conn| {
            let id = diesel::insert_into(movies::table)
                .values((
                    movies::tmdb_id.eq(tmdb_id),
                    movies::title.eq(&title),
                    movies::year.eq(year),
                    movies::created_at.eq(now()),
                ))
                .returning(movies::id)
                .get_result::<i64>(conn)
                .map_err(|e| already_exists(e, MediaKind::Movie, tmdb_id))?;
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

    /// Every movie (or the one with `only`), sorted by title, year, id.
    pub async fn movies(&self, only: Option<i64>) -> Result<Vec<Movie>> {
        self.run(move |conn| load_movies(conn, only)).await
    }

    /// Deletes the movie (its assignments go with it); returns it as it was.
    pub async fn delete_movie(&self, id: i64) -> Result<Option<Movie>> {
        self.write(move |conn| {
            let Some(movie) = load_movies(conn, Some(id))?.pop() else {
                return Ok(None);
            };
            diesel::delete(movies::table.find(id)).execute(conn)?;
            Ok(Some(movie))
        })
        .await
    }

    // ------------------------------------------------------------------ shows

    /// Stores the show with its seasons and episodes in one transaction; returns its id.
    pub async fn insert_show(&self, show: NewShowRecord, seasons: Vec<SeasonInfo>) -> Result<i64> {
        self.write(move |conn| {
            let show_id = diesel::insert_into(shows::table)
                .values((
                    shows::tmdb_id.eq(show.tmdb_id),
                    shows::title.eq(&show.title),
                    shows::year.eq(show.year),
                    shows::season_filter.eq(show.filter.only_text()),
                    shows::specials.eq(show.filter.specials),
                    shows::created_at.eq(now()),
                ))
                .returning(shows::id)
                .get_result(conn)
                .map_err(|e| already_exists(e, MediaKind::Show, show.tmdb_id))?;
            for season in &seasons {
                upsert_season(conn, show_id, season)?;
            }
            Ok(show_id)
        })
        .await
    }

    pub async fn show_summaries(&self) -> Result<Vec<ShowSummary>> {
        self.run(|conn| show_summaries(conn, None)).await
    }

    pub async fn show(&self, id: i64) -> Result<Option<ShowDetail>> {
        self.run(move |conn| load_show(conn, id)).await
    }

    /// Deletes the show with its seasons, episodes and their assignments.
    pub async fn delete_show(&self, id: i64) -> Result<Option<ShowDetail>> {
        self.write(move |conn| {
            let Some(show) = load_show(conn, id)? else {
                return Ok(None);
            };
            diesel::delete(shows::table.find(id)).execute(conn)?;
            Ok(Some(show))
        })
        .await
    }

    /// The show's TMDB id and the seasons it keeps, or None for an unknown show.
    pub async fn show_origin(&self, id: i64) -> Result<Option<(Option<i64>, SeasonFilter)>> {
        self.run(move |conn| {
            let row = shows::table
                .find(id)
                .select((shows::tmdb_id, shows::season_filter, shows::specials))
                .first::<(Option<i64>, Option<String>, bool)>(conn)
                .optional()?;
            Ok(row.map(|(tmdb, only, specials)| {
                (tmdb, SeasonFilter::from_stored(only.as_deref(), specials))
            }))
        })
        .await
    }

    /// Updates title and year and makes `seasons` exist; never removes a season or an episode
    /// (and so never drops an assignment).
    pub async fn refresh_show(
        &self,
        id: i64,
        title: String,
        year: Option<i32>,
        seasons: Vec<SeasonInfo>,
    ) -> Result<RefreshCounts> {
        self.write(move |conn| {
            diesel::update(shows::table.find(id))
                .set((shows::title.eq(&title), shows::year.eq(year)))
                .execute(conn)?;
            let mut totals = (0, 0, 0);
            for season in &seasons {
                let (new_season, added, updated) = upsert_season(conn, id, season)?;
                totals.0 += u32::from(new_season);
                totals.1 += added;
                totals.2 += updated;
            }
            Ok(totals)
        })
        .await
    }

    pub async fn counts(&self) -> Result<Counts> {
        self.run(|conn| {
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

/// A unique violation on insert means the TMDB id raced in meanwhile.
fn already_exists(e: diesel::result::Error, kind: MediaKind, tmdb_id: Option<i64>) -> Error {
    match Error::from(e) {
        Error::AlreadyExists(_) => Error::AlreadyExists(format!(
            "{} with TMDB id {} is already in the library",
            kind.noun(),
            tmdb_id.map(|i| i.to_string()).unwrap_or_default()
        )),
        other => other,
    }
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
    // (id, TMDB id, title, year, active assignment id)
    type Row = (i64, Option<i64>, String, Option<i32>, Option<i64>);
    let rows: Vec<Row> = query.load(conn)?;
    let mut out: Vec<Movie> = rows
        .into_iter()
        .map(|(id, tmdb_id, title, year, active)| Movie {
            id,
            tmdb_id,
            title,
            year,
            assigned: active.is_some(),
        })
        .collect();
    out.sort_by(|a, b| {
        (a.title.to_lowercase(), a.year, a.id).cmp(&(b.title.to_lowercase(), b.year, b.id))
    });
    Ok(out)
}

#[derive(QueryableByName)]
struct SummaryRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    tmdb_id: Option<i64>,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Nullable<Integer>)]
    year: Option<i32>,
    #[diesel(sql_type = BigInt)]
    season_count: i64,
    #[diesel(sql_type = BigInt)]
    episode_count: i64,
    #[diesel(sql_type = BigInt)]
    assigned_count: i64,
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
    let rows: Vec<SummaryRow> = diesel::sql_query(sql)
        .bind::<Nullable<BigInt>, _>(only)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| ShowSummary {
            id: r.id,
            tmdb_id: r.tmdb_id,
            title: r.title,
            year: r.year,
            season_count: r.season_count,
            episode_count: r.episode_count,
            assigned_count: r.assigned_count,
        })
        .collect())
}

fn load_show(conn: &mut SqliteConnection, id: i64) -> Result<Option<ShowDetail>> {
    let Some(summary) = show_summaries(conn, Some(id))?.pop() else {
        return Ok(None);
    };
    let season_rows: Vec<(i64, i32)> = seasons::table
        .filter(seasons::show_id.eq(id))
        .order(seasons::season_number)
        .select((seasons::id, seasons::season_number))
        .load(conn)?;
    let season_ids: Vec<i64> = season_rows.iter().map(|(sid, _)| *sid).collect();
    type EpisodeRow = (i64, i64, i32, Option<String>, Option<String>, Option<i64>);
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
    for (id, season_id, episode_number, name, air_date, active) in episode_rows {
        by_season.entry(season_id).or_default().push(EpisodeDetail {
            id,
            episode_number,
            name,
            air_date,
            assigned: active.is_some(),
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
    Ok(Some(ShowDetail { summary, seasons }))
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
            None => added.push((
                episodes::season_id.eq(season_id),
                episodes::episode_number.eq(ep.episode_number),
                episodes::name.eq(ep.name.clone()),
                episodes::air_date.eq(ep.air_date.clone()),
            )),
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
