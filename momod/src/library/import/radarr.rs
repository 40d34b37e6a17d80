//! Importing a Radarr library: every movie by its TMDB id, and its file as a local source
//! when it lies under `library.local_roots` (after the path maps).
use serde::Deserialize;

use super::arr::{self, Arr, lenient};
use super::{ImportReport, ImportRow, NewMovieW, Outcome, Pending, RowKind, Writes, stops_import};
use crate::error::Result;
use crate::jobs::JobCtx;
use crate::library::Library;
use crate::library::limits::{self, Origin};
use crate::library::model::{Item, MediaKind};

/// Radarr describes a movie in 5–10 KiB: 100k movies are under 1 GiB. Only the fields read
/// here are kept while decoding.
const MAX_ANSWER_BYTES: usize = 1024 * 1024 * 1024;
/// More movies than this in one import is not a library we can take at once.
const MAX_MOVIES: usize = 100_000;

/// A MovieResource, leniently; the fields not named here are not kept.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RadarrMovie {
    #[serde(default, deserialize_with = "lenient")]
    title: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    year: Option<i32>,
    #[serde(default, deserialize_with = "lenient")]
    tmdb_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    movie_file: Option<RadarrFile>,
}

#[derive(Deserialize)]
struct RadarrFile {
    #[serde(default, deserialize_with = "lenient")]
    path: Option<String>,
}

impl Library {
    pub async fn import_radarr(
        &self,
        url: &str,
        api_key: &str,
        dry_run: bool,
        maps: &[String],
        ctx: &JobCtx,
    ) -> Result<ImportReport> {
        let (radarr, maps) = Arr::connect("Radarr", url, api_key, maps)?;
        ctx.step("reading Radarr's movie list");
        let movies: Vec<RadarrMovie> = radarr
            .list("movie", "movies", MAX_ANSWER_BYTES, MAX_MOVIES)
            .await?;
        let mut rows = Vec::with_capacity(movies.len());
        let mut writes = Writes::default();
        for (n, m) in movies.into_iter().enumerate() {
            ctx.progress(n as u64, None, "movies");
            let mut row = ImportRow::new(RowKind::Movie, &m.title.unwrap_or_default(), m.year);
            row.tmdb_id = m.tmdb_id.filter(|id| *id > 0);
            // The file, when there is one momod may read.
            let file = match m.movie_file.and_then(|f| f.path) {
                None => {
                    row.note = "Radarr has no file for it".into();
                    None
                }
                Some(p) => {
                    let (shown, usable) = arr::local_file(&p, &maps, &self.local_roots).await?;
                    row.file_path = Some(shown);
                    usable
                        .map_err(|e| row.note = format!("its file is left out: {e}"))
                        .ok()
                }
            };
            let Some(tmdb_id) = row.tmdb_id else {
                row.note = "Radarr has no TMDB id for it".into();
                rows.push(row);
                continue;
            };
            if writes.movie(tmdb_id).is_some() {
                row.note = "listed twice by Radarr: the first entry is imported".into();
                rows.push(row);
                continue;
            }
            match self.store.id_by_tmdb(MediaKind::Movie, tmdb_id).await? {
                Some(id) => {
                    row.movie_id = Some(id);
                    let has_source = self.store.active_source(Item::Movie(id)).await?.is_some();
                    row.outcome = match (file, has_source) {
                        (Some(f), false) => {
                            writes
                                .sources
                                .push((Item::Movie(id), Pending::Local(f), rows.len()));
                            row.files = 1;
                            Outcome::Assigned
                        }
                        _ => Outcome::Unchanged,
                    };
                }
                None => {
                    ctx.step(format!("TMDB: movie {tmdb_id}"));
                    let origin = format!("movie {tmdb_id}");
                    // TMDB being down fails the import (nothing is written yet); a movie
                    // TMDB does not know, or describes past the limits, is one skipped row.
                    let found = match self.tmdb.movie(tmdb_id).await {
                        Err(e) if stops_import(&e) => return Err(e),
                        Err(e) => Err(e),
                        Ok(info) => {
                            let origin = Origin::Tmdb(&origin);
                            limits::title(&info.title, origin)
                                .and_then(|t| Ok((t, limits::year(info.year, origin)?)))
                        }
                    };
                    match found {
                        Ok((title, year)) => {
                            row.files = u32::from(file.is_some());
                            writes.movies.push(NewMovieW {
                                row: rows.len(),
                                tmdb_id,
                                title,
                                year,
                                source: file.map(Pending::Local),
                            });
                            row.outcome = Outcome::Added;
                        }
                        Err(e) => row.note = e.to_string(),
                    }
                }
            }
            rows.push(row);
        }
        self.finish_import(writes, rows, dry_run, ctx).await
    }
}
