//! The read model the share's tree is built from: every item with an active source, with
//! the names its path is made of. One query per kind; nothing here touches a source.
use diesel::prelude::*;

use super::Store;
use super::assignments::{SourceRow, source_file};
use super::schema::{assignments, episodes, movies, seasons, shows};
use super::subtitles::all_subtitles;
use crate::error::Result;
use crate::library::model::{Markers, SourceFile, Subtitle};

/// An active source as the share needs it.
#[derive(Debug, Clone)]
pub struct ShareSource {
    pub assignment_id: i64,
    pub file: SourceFile,
    pub size: u64,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct ShareMovie {
    pub id: i64,
    pub tmdb_id: Option<i64>,
    pub title: String,
    pub year: Option<i32>,
    pub source: ShareSource,
}

#[derive(Debug, Clone)]
pub struct ShareEpisode {
    pub show_id: i64,
    pub show_tmdb_id: Option<i64>,
    pub show_title: String,
    pub show_year: Option<i32>,
    pub season_number: i32,
    pub episode_id: i64,
    pub episode_number: i32,
    pub name: Option<String>,
    pub source: ShareSource,
}

#[derive(Debug, Default)]
pub struct ShareRows {
    pub movies: Vec<ShareMovie>,
    pub episodes: Vec<ShareEpisode>,
    /// Every subtitle, oldest first (those of items without a source are not shown).
    pub subtitles: Vec<Subtitle>,
    /// Every item's skip markers (served as EDL sidecars beside the videos).
    pub markers: Vec<Markers>,
}

type SourceCols = (i64, SourceRow, i64);

fn share_source((assignment_id, row, created_at): SourceCols) -> Result<ShareSource> {
    let (file, size) = source_file(row)?;
    Ok(ShareSource {
        assignment_id,
        file,
        size,
        created_at,
    })
}

/// One malformed row (written by hand, or by a newer momod) hides its item, not the share.
fn usable(source: Result<ShareSource>) -> Option<ShareSource> {
    source
        .inspect_err(|e| tracing::warn!("left out of the share: {e}"))
        .ok()
}

impl Store {
    /// Every movie and episode with an active source.
    pub async fn share_rows(&self) -> Result<ShareRows> {
        self.run(|conn| {
            let cols = (
                assignments::id,
                SourceRow::as_select(),
                assignments::created_at,
            );
            // (id, TMDB id, title, year, source)
            type MovieRow = (i64, Option<i64>, String, Option<i32>, SourceCols);
            let movie_rows: Vec<MovieRow> = movies::table
                .inner_join(assignments::table.on(assignments::movie_id.eq(movies::id.nullable())))
                .filter(assignments::is_active)
                .select((
                    movies::id,
                    movies::tmdb_id,
                    movies::title,
                    movies::year,
                    cols,
                ))
                .load(conn)?;
            type EpisodeRow = (
                (i64, Option<i64>, String, Option<i32>),
                i32,
                i64,
                i32,
                Option<String>,
                SourceCols,
            );
            let episode_rows: Vec<EpisodeRow> = episodes::table
                .inner_join(seasons::table.inner_join(shows::table))
                .inner_join(
                    assignments::table.on(assignments::episode_id.eq(episodes::id.nullable())),
                )
                .filter(assignments::is_active)
                .select((
                    (shows::id, shows::tmdb_id, shows::title, shows::year),
                    seasons::season_number,
                    episodes::id,
                    episodes::episode_number,
                    episodes::name,
                    cols,
                ))
                .load(conn)?;
            let mut rows = ShareRows {
                subtitles: all_subtitles(conn)?,
                markers: super::markers::all_markers(conn)?,
                ..ShareRows::default()
            };
            for (id, tmdb_id, title, year, source) in movie_rows {
                let Some(source) = usable(share_source(source)) else {
                    continue;
                };
                rows.movies.push(ShareMovie {
                    id,
                    tmdb_id,
                    title,
                    year,
                    source,
                });
            }
            for (show, season_number, episode_id, episode_number, name, source) in episode_rows {
                let Some(source) = usable(share_source(source)) else {
                    continue;
                };
                rows.episodes.push(ShareEpisode {
                    show_id: show.0,
                    show_tmdb_id: show.1,
                    show_title: show.2,
                    show_year: show.3,
                    season_number,
                    episode_id,
                    episode_number,
                    name,
                    source,
                });
            }
            Ok(rows)
        })
        .await
    }
}
