//! Bringing libraries in, in bulk: a Radarr library's movies (`radarr`), a Sonarr library's
//! series (`sonarr`), an M3U playlist's movies and episodes (`m3u`), a Trakt list's movies
//! and shows (`trakt`).
//!
//! Every import has the same shape: everything is fetched and checked first (the other
//! service, TMDB, the files or URLs), into a report row per entry and a `Writes` plan; the
//! plan is written after the job's point of no return. An item already in the library is
//! never added twice and an active source is never replaced, so a second run changes
//! nothing.
mod arr;
mod m3u;
mod radarr;
mod sonarr;
mod trakt;

use std::collections::HashMap;

use super::Library;
use super::model::{Item, Labels, NewSource};
use crate::error::{Error, Result};
use crate::jobs::JobCtx;
use crate::store::NewShowRecord;
use crate::tmdb::SeasonInfo;

pub use arr::{check_arr, hold_key};
pub use m3u::{M3uFilter, check_m3u, check_playlist_url};
pub use trakt::trakt_list;

/// What an import did (or would do) with one entry: a movie (Radarr, M3U), a series
/// (Sonarr) or an episode (M3U).
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub kind: RowKind,
    pub title: String,
    pub year: Option<i32>,
    pub tmdb_id: Option<i64>,
    /// The library's movie, show and episode, once they are (or would be) there.
    pub movie_id: Option<i64>,
    pub show_id: Option<i64>,
    pub episode_id: Option<i64>,
    /// An episode's numbers (M3U rows).
    pub episode: Option<(i32, i32)>,
    pub outcome: Outcome,
    /// The file or URL as it may be shown.
    pub file_path: Option<String>,
    /// Sonarr rows: episode files attached (or that would be).
    pub files: u32,
    pub note: String,
}

impl ImportRow {
    /// A file planned for the row was not attached after all.
    fn file_left_out(&mut self, note: String) {
        self.files = self.files.saturating_sub(1);
        if self.outcome == Outcome::Assigned && self.files == 0 {
            self.outcome = Outcome::Unchanged;
        }
        self.note = note;
    }

    fn new(kind: RowKind, title: &str, year: Option<i32>) -> ImportRow {
        ImportRow {
            kind,
            title: title.chars().take(200).collect(),
            year,
            tmdb_id: None,
            movie_id: None,
            show_id: None,
            episode_id: None,
            episode: None,
            outcome: Outcome::Skipped,
            file_path: None,
            files: 0,
            note: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Movie,
    Show,
    Episode,
}

impl RowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Movie => "movie",
            RowKind::Show => "show",
            RowKind::Episode => "episode",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Added to the library (with its file, when it has one we can use).
    Added,
    /// Already in the library: its file attached.
    Assigned,
    /// In the library already, nothing to change.
    Unchanged,
    /// Left out; the note says why.
    Skipped,
    /// TMDB has nothing that matches it (M3U).
    Unmatched,
    /// TMDB has several equally good matches: left alone (M3U).
    Ambiguous,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Added => "added",
            Outcome::Assigned => "assigned",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped => "skipped",
            Outcome::Unmatched => "unmatched",
            Outcome::Ambiguous => "ambiguous",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportReport {
    pub dry_run: bool,
    pub rows: Vec<ImportRow>,
}

/// A source an import attaches once it writes.
enum Pending {
    /// A canonical path under `library.local_roots`, checked already.
    Local(String),
    /// A URL whose server answered the probe.
    Http(NewSource),
}

/// A movie an import adds.
struct NewMovieW {
    row: usize,
    tmdb_id: i64,
    title: String,
    year: Option<i32>,
    source: Option<Pending>,
}

/// A show an import adds, with the sources of its episodes (by season and episode number,
/// with the row each comes from).
struct NewShowW {
    rows: Vec<usize>,
    record: NewShowRecord,
    seasons: Vec<SeasonInfo>,
    sources: Vec<((i32, i32), Pending, usize)>,
}

/// What an import writes after the point of no return.
#[derive(Default)]
struct Writes {
    movies: Vec<NewMovieW>,
    shows: Vec<NewShowW>,
    /// Sources for items already in the library (which have none).
    sources: Vec<(Item, Pending, usize)>,
}

impl Writes {
    /// The planned new movie with this TMDB id.
    fn movie(&mut self, tmdb_id: i64) -> Option<&mut NewMovieW> {
        self.movies.iter_mut().find(|m| m.tmdb_id == tmdb_id)
    }

    /// The planned new show with this TMDB id.
    fn show(&mut self, tmdb_id: i64) -> Option<&mut NewShowW> {
        self.shows
            .iter_mut()
            .find(|s| s.record.tmdb_id == Some(tmdb_id))
    }

    fn source_count(&self) -> usize {
        self.movies.iter().filter(|m| m.source.is_some()).count()
            + self.shows.iter().map(|s| s.sources.len()).sum::<usize>()
            + self.sources.len()
    }
}

impl Library {
    /// The end of every import: a dry run returns its rows as they are; otherwise, past
    /// the job's commit point, the plan is written.
    async fn finish_import(
        &self,
        writes: Writes,
        mut rows: Vec<ImportRow>,
        dry_run: bool,
        ctx: &JobCtx,
    ) -> Result<ImportReport> {
        if dry_run {
            return Ok(ImportReport { dry_run, rows });
        }
        ctx.commit()?;
        ctx.step(format!(
            "adding {} movies and {} shows, attaching {} sources",
            writes.movies.len(),
            writes.shows.len(),
            writes.source_count()
        ));
        self.write_import(writes, &mut rows).await?;
        Ok(ImportReport { dry_run, rows })
    }

    /// Writes an import's plan, noting in `rows` the ids it gets and what failed. A movie
    /// or show added meanwhile by someone else fails its rows only.
    async fn write_import(&self, writes: Writes, rows: &mut [ImportRow]) -> Result<()> {
        let mut sources = writes.sources;
        for m in writes.movies {
            match self
                .store
                .insert_movie(Some(m.tmdb_id), m.title, m.year)
                .await
            {
                Ok(movie) => {
                    rows[m.row].movie_id = Some(movie.id);
                    if let Some(p) = m.source {
                        sources.push((Item::Movie(movie.id), p, m.row));
                    }
                }
                Err(e) => {
                    rows[m.row].outcome = Outcome::Skipped;
                    rows[m.row].note = e.to_string();
                }
            }
        }
        for s in writes.shows {
            let inserted = self.store.insert_show(s.record, s.seasons).await;
            let detail = match inserted {
                Ok(id) => self.get_show(id).await,
                Err(e) => Err(e),
            };
            let detail = match detail {
                Ok(d) => d,
                Err(e) => {
                    for &r in &s.rows {
                        rows[r].outcome = Outcome::Skipped;
                        rows[r].note = e.to_string();
                    }
                    continue;
                }
            };
            for &r in &s.rows {
                rows[r].show_id = Some(detail.summary.id);
            }
            let episodes: HashMap<(i32, i32), i64> = detail
                .seasons
                .iter()
                .flat_map(|season| {
                    season
                        .episodes
                        .iter()
                        .map(|e| ((season.season_number, e.episode_number), e.id))
                })
                .collect();
            for (key, p, row) in s.sources {
                // Planned from the same seasons TMDB gave: every key is there.
                if let Some(&id) = episodes.get(&key) {
                    rows[row].episode_id.get_or_insert(id);
                    sources.push((Item::Episode(id), p, row));
                }
            }
        }
        for (item, pending, row) in sources {
            // One that got a source while the import was checking keeps it.
            if matches!(self.store.active_source(item).await, Ok(Some(_))) {
                rows[row].file_left_out(format!("{item} got a source meanwhile: kept"));
                continue;
            }
            let attached = match pending {
                Pending::Local(path) => self
                    .assign_local(item, &path, Labels::default())
                    .await
                    .map(drop),
                Pending::Http(source) => self.attach(vec![(item, source)]).await.map(drop),
            };
            if let Err(e) = attached {
                tracing::warn!("{item}: source not attached: {e}");
                rows[row].file_left_out(format!("a file is left out: {e}"));
            }
        }
        Ok(())
    }
}

/// A failure that stops a whole import before anything is written (TMDB unreachable,
/// rate-limited, keyless), rather than one row.
fn stops_import(e: &Error) -> bool {
    matches!(
        e,
        Error::Unavailable(_) | Error::FailedPrecondition(_) | Error::ResourceExhausted(_)
    )
}
