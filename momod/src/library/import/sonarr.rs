//! Importing a Sonarr library: every series by its TMDB id (Sonarr keys series by TVDB id;
//! Sonarr v4 also knows the TMDB id, else TMDB's `/find` maps it), with all its seasons
//! from TMDB, and each episode file under `library.local_roots` (after the path maps)
//! attached to its episode. One report row per series.
use std::collections::HashMap;

use serde::Deserialize;

use super::arr::{self, Arr, lenient};
use super::{ImportReport, ImportRow, NewShowW, Outcome, Pending, RowKind, Writes, stops_import};
use crate::error::Result;
use crate::jobs::JobCtx;
use crate::library::Library;
use crate::library::model::{Item, MediaKind, SeasonFilter};

/// Sonarr describes a series in a few KiB, an episode in one.
const MAX_SERIES_BYTES: usize = 256 * 1024 * 1024;
const MAX_EPISODES_BYTES: usize = 64 * 1024 * 1024;
const MAX_SERIES: usize = 20_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SonarrSeries {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    title: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    year: Option<i32>,
    #[serde(default, deserialize_with = "lenient")]
    tvdb_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    tmdb_id: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SonarrEpisode {
    #[serde(default, deserialize_with = "lenient")]
    season_number: Option<i32>,
    #[serde(default, deserialize_with = "lenient")]
    episode_number: Option<i32>,
    #[serde(default, deserialize_with = "lenient")]
    episode_file_id: Option<i64>,
}

#[derive(Deserialize)]
struct SonarrFile {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    path: Option<String>,
}

impl Library {
    pub async fn import_sonarr(
        &self,
        url: &str,
        api_key: &str,
        dry_run: bool,
        maps: &[String],
        ctx: &JobCtx,
    ) -> Result<ImportReport> {
        let (sonarr, maps) = Arr::connect("Sonarr", url, api_key, maps)?;
        ctx.step("reading Sonarr's series list");
        let series: Vec<SonarrSeries> = sonarr
            .list("series", "series", MAX_SERIES_BYTES, MAX_SERIES)
            .await?;
        let total = series.len() as u64;
        let mut rows = Vec::with_capacity(series.len());
        let mut writes = Writes::default();
        for (n, s) in series.into_iter().enumerate() {
            ctx.progress(n as u64, Some(total), "series");
            let title = s.title.clone().unwrap_or_default();
            let mut row = ImportRow::new(RowKind::Show, &title, s.year);
            let (Some(sonarr_id), Some(tmdb_id)) = (s.id, self.sonarr_tmdb_id(&s, &mut row).await?)
            else {
                rows.push(row);
                continue;
            };
            row.tmdb_id = Some(tmdb_id);
            if writes.show(tmdb_id).is_some() {
                row.note = "the same TMDB show as an earlier series: the first is imported".into();
                rows.push(row);
                continue;
            }
            ctx.step(format!("Sonarr: episodes of {title}"));
            let files = self.sonarr_files(&sonarr, sonarr_id, &maps).await?;
            let mut left_out: Vec<String> = Vec::new();
            let mut usable = Vec::new();
            for ((season, episode), file) in files {
                match file {
                    Ok(path) => usable.push(((season, episode), path)),
                    Err(e) => left_out.push(format!("S{season:02}E{episode:02}: {e}")),
                }
            }
            let row_index = rows.len();
            match self.store.id_by_tmdb(MediaKind::Show, tmdb_id).await? {
                Some(id) => {
                    row.show_id = Some(id);
                    let show = self.get_show(id).await?;
                    let episodes: HashMap<(i32, i32), (i64, bool)> = show
                        .seasons
                        .iter()
                        .flat_map(|season| {
                            season.episodes.iter().map(|e| {
                                ((season.season_number, e.episode_number), (e.id, e.assigned))
                            })
                        })
                        .collect();
                    for (key, path) in usable {
                        match episodes.get(&key) {
                            Some((id, false)) => {
                                writes.sources.push((
                                    Item::Episode(*id),
                                    Pending::Local(path),
                                    row_index,
                                ));
                                row.files += 1;
                            }
                            Some((_, true)) => {}
                            None => left_out.push(format!(
                                "S{:02}E{:02}: not an episode of the show in the library",
                                key.0, key.1
                            )),
                        }
                    }
                    row.outcome = if row.files > 0 {
                        Outcome::Assigned
                    } else {
                        Outcome::Unchanged
                    };
                }
                None => {
                    // Specials come along when Sonarr has files for them.
                    let filter = SeasonFilter {
                        only: None,
                        specials: usable.iter().any(|((season, _), _)| *season == 0),
                    };
                    match self.tmdb_show(tmdb_id, filter, ctx).await {
                        Ok(Ok((record, seasons))) => {
                            let mut sources = Vec::new();
                            for (key, path) in usable {
                                let known = seasons.iter().any(|s| {
                                    s.season_number == key.0
                                        && s.episodes.iter().any(|e| e.episode_number == key.1)
                                });
                                if known {
                                    sources.push((key, Pending::Local(path), row_index));
                                    row.files += 1;
                                } else {
                                    left_out.push(format!(
                                        "S{:02}E{:02}: TMDB has no such episode",
                                        key.0, key.1
                                    ));
                                }
                            }
                            writes.shows.push(NewShowW {
                                rows: vec![row_index],
                                record,
                                seasons,
                                sources,
                            });
                            row.outcome = Outcome::Added;
                        }
                        Err(e) if stops_import(&e) => return Err(e),
                        Err(e) | Ok(Err(e)) => {
                            row.note = e.to_string();
                            rows.push(row);
                            continue;
                        }
                    }
                }
            }
            row.note = files_note(row.files, &left_out);
            rows.push(row);
        }
        ctx.progress(total, Some(total), "series");
        self.finish_import(writes, rows, dry_run, ctx).await
    }

    /// The series' TMDB id: Sonarr's own (v4), else TMDB's match for its TVDB id. None
    /// (with the row's note saying why) when neither is there.
    async fn sonarr_tmdb_id(&self, s: &SonarrSeries, row: &mut ImportRow) -> Result<Option<i64>> {
        if let Some(id) = s.tmdb_id.filter(|id| *id > 0) {
            return Ok(Some(id));
        }
        let Some(tvdb) = s.tvdb_id.filter(|id| *id > 0) else {
            row.note = "Sonarr has no TVDB or TMDB id for it".into();
            return Ok(None);
        };
        match self.tmdb.show_by_tvdb(tvdb).await {
            Ok(Some(id)) => Ok(Some(id)),
            Ok(None) => {
                row.outcome = Outcome::Unmatched;
                row.note = format!("TMDB links no show to TVDB id {tvdb}");
                Ok(None)
            }
            Err(e) if stops_import(&e) => Err(e),
            Err(e) => {
                row.note = e.to_string();
                Ok(None)
            }
        }
    }

    /// The series' episode files, by (season, episode): a canonical path under the roots,
    /// or why the file cannot be used. A file holding two episodes is listed for both.
    async fn sonarr_files(
        &self,
        sonarr: &Arr,
        series: i64,
        maps: &[(std::path::PathBuf, std::path::PathBuf)],
    ) -> Result<Vec<((i32, i32), std::result::Result<String, String>)>> {
        let query = [("seriesId", series.to_string())];
        let episodes: Vec<SonarrEpisode> = sonarr
            .get("episode", &query, "a series' episodes", MAX_EPISODES_BYTES)
            .await?;
        let files: Vec<SonarrFile> = sonarr
            .get("episodefile", &query, "a series' files", MAX_EPISODES_BYTES)
            .await?;
        let mut checked: HashMap<i64, std::result::Result<String, String>> = HashMap::new();
        for f in files {
            if let (Some(id), Some(path)) = (f.id, f.path) {
                let (_, usable) = arr::local_file(&path, maps, &self.local_roots).await?;
                checked.insert(id, usable);
            }
        }
        let mut out: Vec<_> = episodes
            .into_iter()
            .filter_map(|e| {
                let file = e.episode_file_id.filter(|id| *id > 0)?;
                let key = (e.season_number?, e.episode_number?);
                let usable = checked
                    .get(&file)
                    .cloned()
                    .unwrap_or_else(|| Err("Sonarr lists no such file".into()));
                Some((key, usable))
            })
            .collect();
        out.sort_by_key(|(key, _)| *key);
        out.dedup_by_key(|(key, _)| *key);
        Ok(out)
    }
}

/// "3 episode files; 2 left out: S01E04: not under library.local_roots; …" (the first few).
fn files_note(files: u32, left_out: &[String]) -> String {
    let mut note = format!("{files} episode files");
    if !left_out.is_empty() {
        note.push_str(&format!("; {} left out: ", left_out.len()));
        note.push_str(
            &left_out
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
        );
        if left_out.len() > 3 {
            note.push_str("; …");
        }
    }
    note
}
