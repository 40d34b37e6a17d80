//! Importing an M3U playlist of movies and episodes (an IPTV provider's VOD list): each
//! entry is read as a movie ("The Matrix (1999)") or an episode ("Breaking Bad S01 E02",
//! "Dark 1x02") by its name, matched on TMDB, added to the library when missing, and its
//! URL attached as an HTTP source. One report row per entry: matched ones say what was
//! done (added, assigned, unchanged), the others why not (unmatched, ambiguous, skipped).
use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

use super::{
    ImportReport, ImportRow, NewMovieW, NewShowW, Outcome, Pending, RowKind, Writes, stops_import,
};
use crate::error::{Error, Result};
use crate::jobs::JobCtx;
use crate::library::Library;
use crate::library::limits::{self, Origin};
use crate::library::model::{Item, Labels, MediaKind, NewSource, SeasonFilter};
use crate::library::pack;
use crate::tmdb::SearchHit;

/// A playlist momod fetches: IPTV lists with live channels run to tens of MiB.
const MAX_FETCHED_BYTES: usize = 64 * 1024 * 1024;
/// Entries read from one playlist, and entries imported (after the filters).
const MAX_ENTRIES: usize = 500_000;
const MAX_IMPORTED: usize = 50_000;
const MAX_GROUP_PATTERN: usize = 1000;
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Which entries an import takes.
#[derive(Debug, Clone, Default)]
pub struct M3uFilter {
    /// Only entries whose group (`group-title`, `#EXTGRP`) matches.
    pub group: Option<String>,
    pub only: Option<MediaKind>,
}

/// Checks what can be checked before a job is made.
pub fn check_m3u(filter: &M3uFilter) -> Result<()> {
    group_regex(filter.group.as_deref()).map(drop)
}

/// A playlist's URL, checked before a job fetches it.
pub fn check_playlist_url(url: &str) -> Result<()> {
    if url.trim().is_empty() {
        return Err(Error::InvalidArgument(
            "give the playlist's bytes or its http(s) URL".into(),
        ));
    }
    crate::library::assign::http_url(url).map(drop)
}

fn group_regex(pattern: Option<&str>) -> Result<Option<Regex>> {
    let Some(p) = pattern.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    if p.len() > MAX_GROUP_PATTERN {
        return Err(Error::InvalidArgument(format!(
            "the --group pattern is longer than {MAX_GROUP_PATTERN} bytes"
        )));
    }
    regex::RegexBuilder::new(p)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map(Some)
        .map_err(|e| Error::InvalidArgument(format!("--group is not a valid pattern: {e}")))
}

/// One entry of a playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// `tvg-name`, else the title after the comma.
    name: String,
    group: Option<String>,
    url: String,
}

/// Reads an extended M3U: `#EXTINF:<duration> key="value" …,<title>` then the URL line;
/// `#EXTGRP:` sets the group of the next entry. Other lines are ignored; a URL without an
/// `#EXTINF` is named by its file name.
fn parse(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut info: Option<(String, Option<String>)> = None;
    let mut group_line: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if out.len() >= MAX_ENTRIES {
            break;
        }
        if let Some(rest) = line.strip_prefix("#EXTINF:") {
            info = Some(extinf(rest));
        } else if let Some(g) = line.strip_prefix("#EXTGRP:") {
            group_line = Some(g.trim().to_string()).filter(|g| !g.is_empty());
        } else if line.is_empty() || line.starts_with('#') {
            continue;
        } else {
            let (name, group) = info.take().unwrap_or_else(|| {
                let file = line.split(['?', '#']).next().unwrap_or(line);
                let file = file.rsplit('/').next().unwrap_or(file);
                let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
                (percent_decoded(stem), None)
            });
            out.push(Entry {
                name,
                group: group.or_else(|| group_line.take()),
                url: line.to_string(),
            });
            group_line = None;
        }
    }
    out
}

fn percent_decoded(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// `-1 tvg-name="X" group-title="Y",Title`: (name, group). The title is what follows the
/// first comma outside quotes.
fn extinf(rest: &str) -> (String, Option<String>) {
    let mut attrs = HashMap::new();
    let mut in_quotes = false;
    let mut split = rest.len();
    for (i, c) in rest.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                split = i;
                break;
            }
            _ => {}
        }
    }
    let (head, title) = (&rest[..split], rest.get(split + 1..).unwrap_or(""));
    static ATTR: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"([A-Za-z0-9_-]+)="([^"]*)""#).unwrap());
    for c in ATTR.captures_iter(head) {
        attrs.insert(c[1].to_ascii_lowercase(), c[2].trim().to_string());
    }
    let name = attrs
        .remove("tvg-name")
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| title.trim().to_string());
    (name, attrs.remove("group-title").filter(|g| !g.is_empty()))
}

/// What an entry's name says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Named {
    Movie {
        title: String,
        year: Option<i32>,
    },
    Episode {
        show: String,
        year: Option<i32>,
        season: i32,
        episodes: Vec<i32>,
    },
}

/// Language and quality tags IPTV lists put around names: "EN - ", "|EN| ", "[FR] ",
/// " 4K", " FHD", " (MULTI-SUB)".
static PREFIX_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:\|[A-Za-z]{2,4}\|\s*|\[[A-Za-z]{2,4}\]\s*|[A-Z]{2,3}\s*[-:|]\s+)").unwrap()
});
static SUFFIX_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[\s._-]+(?:4k|uhd|fhd|hd|sd|hevc|multi[ -]?sub|vostfr|\(multi[ -]?sub\))\s*$")
        .unwrap()
});
/// A year at the end, in brackets or not: "(1999)", "[1999]", " 1999".
static YEAR_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(.+?)[\s._-]*(?:\((\d{4})\)|\[(\d{4})\]|[\s._](\d{4}))\s*$").unwrap()
});
/// Where an episode marker starts ("S01E02", "S01 E02", "1x02").
static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^a-z0-9])(s\d{1,2}[ ._-]?e\d{1,3}|\d{1,2}x\d{2,3})(?:[^0-9]|$)").unwrap()
});

/// Reads a name as a movie or an episode. None for an empty name.
fn classify(name: &str) -> Option<Named> {
    let mut name = PREFIX_TAG.replace(name.trim(), "").to_string();
    while let Some(m) = SUFFIX_TAG.find(&name) {
        name.truncate(m.start());
    }
    // The pack parser reads paths: no folders here, and a name's dots are not an extension.
    let flat = name.replace('/', " ");
    if let Some(m) = MARKER.captures(&flat).and_then(|c| c.get(1))
        && let Some(found) = pack::parse_episode(&format!("{flat}.m3u"))
        && let Some(season) = found.season
    {
        let (show, year) = title_year(flat[..m.start()].trim_end_matches([' ', '-', '.', '_']));
        if show.is_empty() {
            return None;
        }
        return Some(Named::Episode {
            show,
            year,
            season,
            episodes: found.episodes,
        });
    }
    let (title, year) = title_year(&name);
    (!title.is_empty()).then_some(Named::Movie { title, year })
}

/// "The Matrix (1999)" → ("The Matrix", 1999); "1917" stays a title; a year that cannot be
/// a release year yet ("Blade Runner 2049") is part of the title.
fn title_year(s: &str) -> (String, Option<i32>) {
    let s = s.trim();
    if let Some(c) = YEAR_END.captures(s) {
        let year: Option<i32> = c
            .get(2)
            .or(c.get(3))
            .or(c.get(4))
            .and_then(|m| m.as_str().parse().ok());
        if let Some(y) = year.filter(|y| (1880..=latest_year()).contains(y)) {
            return (clean_title(&c[1]), Some(y));
        }
    }
    (clean_title(s), None)
}

/// A release year can be at most next year's (films are listed ahead of release).
fn latest_year() -> i32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    1970 + (secs / 31_556_952) as i32 + 1
}

fn clean_title(s: &str) -> String {
    s.trim_matches(|c: char| c.is_whitespace() || "-_.:|".contains(c))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A title for comparing: lowercase, without accents or punctuation, "&" as "and".
fn normalized(s: &str) -> String {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    let mut out = String::with_capacity(s.len());
    for c in s.replace('&', " and ").nfd() {
        if c.general_category() == GeneralCategory::NonspacingMark {
            continue;
        }
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.trim().to_string()
}

/// How a name matched TMDB's hits.
enum Pick<'a> {
    One(&'a SearchHit),
    None,
    Many(Vec<&'a SearchHit>),
}

/// The hit whose title (or original title) is the name's, of the name's year (a year off
/// by one passes: release dates differ by country) when it has one.
fn pick<'a>(hits: &'a [SearchHit], title: &str, year: Option<i32>) -> Pick<'a> {
    let want = normalized(title);
    let same: Vec<&SearchHit> = hits
        .iter()
        .filter(|h| normalized(&h.title) == want || normalized(&h.original_title) == want)
        .collect();
    let chosen: Vec<&SearchHit> = match year {
        Some(y) => {
            let exact: Vec<_> = same.iter().copied().filter(|h| h.year == Some(y)).collect();
            if exact.is_empty() {
                same.into_iter()
                    .filter(|h| h.year.is_some_and(|hy| (hy - y).abs() <= 1))
                    .collect()
            } else {
                exact
            }
        }
        None => same,
    };
    match chosen.as_slice() {
        [] => Pick::None,
        [one] => Pick::One(one),
        _ => Pick::Many(chosen),
    }
}

fn hit_list(hits: &[&SearchHit]) -> String {
    hits.iter()
        .take(5)
        .map(|h| match h.year {
            Some(y) => format!("{} ({y}) tmdb {}", h.title, h.tmdb_id),
            None => format!("{} tmdb {}", h.title, h.tmdb_id),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A show matched for this import: in the library (its episodes by number, with whether
/// each has a source) or to be added (the episodes TMDB has).
enum ShowState {
    Library {
        id: i64,
        episodes: HashMap<(i32, i32), (i64, bool)>,
    },
    New,
    /// Could not be had from TMDB: the reason, for each entry of it.
    Failed(String),
}

impl Library {
    /// Reads the playlist (given, or fetched from `url`) and imports its entries.
    pub async fn import_m3u(
        &self,
        playlist: &[u8],
        url: &str,
        filter: &M3uFilter,
        dry_run: bool,
        ctx: &JobCtx,
    ) -> Result<ImportReport> {
        let group = group_regex(filter.group.as_deref())?;
        let fetched;
        let bytes = if playlist.is_empty() {
            ctx.step("fetching the playlist");
            fetched = crate::web::fetch_file(
                &crate::library::assign::http_url(url)?,
                "the playlist",
                FETCH_TIMEOUT,
                MAX_FETCHED_BYTES,
            )
            .await?;
            &fetched[..]
        } else {
            playlist
        };
        if bytes.len() > MAX_FETCHED_BYTES {
            return Err(Error::InvalidArgument(format!(
                "the playlist is {} bytes; at most {MAX_FETCHED_BYTES} are read",
                bytes.len()
            )));
        }
        let text = String::from_utf8_lossy(bytes);
        if !text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with("#EXTM3U")
        {
            return Err(Error::InvalidArgument(
                "this is not an M3U playlist (it does not start with #EXTM3U)".into(),
            ));
        }
        let entries: Vec<(Entry, Option<Named>)> = parse(&text)
            .into_iter()
            .filter(|e| match (&group, &e.group) {
                (Some(re), Some(g)) => re.is_match(g),
                (Some(_), None) => false,
                (None, _) => true,
            })
            .map(|e| {
                let named = classify(&e.name);
                (e, named)
            })
            .filter(|(_, named)| {
                !matches!(
                    (filter.only, named),
                    (Some(MediaKind::Movie), Some(Named::Episode { .. }))
                        | (Some(MediaKind::Show), Some(Named::Movie { .. }))
                )
            })
            .collect();
        if entries.len() > MAX_IMPORTED {
            return Err(Error::ResourceExhausted(format!(
                "{} entries to import; at most {MAX_IMPORTED} at once (narrow them with --group or --only)",
                entries.len()
            )));
        }
        let total = entries.len() as u64;
        let mut rows = Vec::with_capacity(entries.len());
        let mut writes = Writes::default();
        let mut shows: HashMap<i64, ShowState> = HashMap::new();
        // Items given a source by an earlier entry, and the row that did.
        let mut claimed: HashMap<(MediaKind, i64, i32, i32), usize> = HashMap::new();
        for (n, (entry, named)) in entries.into_iter().enumerate() {
            ctx.progress(n as u64, Some(total), "entries");
            let row = match named {
                None => {
                    let mut row = ImportRow::new(RowKind::Movie, &entry.name, None);
                    row.note = "the entry has no name".into();
                    row
                }
                Some(Named::Movie { title, year }) => {
                    self.m3u_movie(&entry, &title, year, rows.len(), &mut writes, &mut claimed)
                        .await?
                }
                Some(Named::Episode {
                    show,
                    year,
                    season,
                    episodes,
                }) => {
                    let (name, numbers) = (&entry.name, (season, episodes));
                    let mut row = ImportRow::new(RowKind::Episode, name, year);
                    self.m3u_episode(
                        &entry,
                        &show,
                        numbers,
                        &mut row,
                        rows.len(),
                        &mut writes,
                        &mut shows,
                        &mut claimed,
                        ctx,
                    )
                    .await?;
                    row
                }
            };
            rows.push(row);
        }
        ctx.progress(total, Some(total), "entries");
        self.finish_import(writes, rows, dry_run, ctx).await
    }

    /// The URL as a source, or the row's note says why not.
    async fn m3u_source(&self, entry: &Entry, row: &mut ImportRow) -> Option<NewSource> {
        let url = match crate::library::assign::http_url(&entry.url) {
            Ok(u) => u,
            Err(e) => {
                row.note = e.to_string();
                return None;
            }
        };
        row.file_path = Some(crate::web::shown_url(&url));
        match self.http_source(&url, Labels::default()).await {
            Ok(source) => Some(source),
            Err(e) => {
                row.note = e.to_string();
                None
            }
        }
    }

    async fn m3u_movie(
        &self,
        entry: &Entry,
        title: &str,
        year: Option<i32>,
        row_index: usize,
        writes: &mut Writes,
        claimed: &mut HashMap<(MediaKind, i64, i32, i32), usize>,
    ) -> Result<ImportRow> {
        let mut row = ImportRow::new(RowKind::Movie, &entry.name, year);
        let hits = match self.m3u_search("movie", title, year).await {
            Ok(h) => h,
            Err(e) if stops_import(&e) => return Err(e),
            Err(e) => {
                row.note = e.to_string();
                return Ok(row);
            }
        };
        let hit = match pick(&hits, title, year) {
            Pick::One(h) => h.clone(),
            Pick::None => {
                row.outcome = Outcome::Unmatched;
                row.note = unmatched_note("movie", title, year, &hits);
                return Ok(row);
            }
            Pick::Many(many) => {
                row.outcome = Outcome::Ambiguous;
                row.note = format!("TMDB has several: {}", hit_list(&many));
                return Ok(row);
            }
        };
        row.tmdb_id = Some(hit.tmdb_id);
        if let Some(first) = claimed.get(&(MediaKind::Movie, hit.tmdb_id, 0, 0)) {
            row.outcome = Outcome::Unchanged;
            row.note = format!("the same movie as entry {}: that one is used", first + 1);
            return Ok(row);
        }
        claimed.insert((MediaKind::Movie, hit.tmdb_id, 0, 0), row_index);
        match self.store.id_by_tmdb(MediaKind::Movie, hit.tmdb_id).await? {
            Some(id) => {
                row.movie_id = Some(id);
                if self.store.active_source(Item::Movie(id)).await?.is_some() {
                    row.outcome = Outcome::Unchanged;
                    row.note = "the movie has a source already".into();
                } else if let Some(source) = self.m3u_source(entry, &mut row).await {
                    let p = Pending::Http(source);
                    writes.sources.push((Item::Movie(id), p, row_index));
                    row.files = 1;
                    row.outcome = Outcome::Assigned;
                }
            }
            None => {
                let origin = format!("movie {}", hit.tmdb_id);
                let origin = Origin::Tmdb(&origin);
                let checked = limits::title(&hit.title, origin)
                    .and_then(|t| Ok((t, limits::year(hit.year, origin)?)));
                let (title, year) = match checked {
                    Ok(c) => c,
                    Err(e) => {
                        row.note = e.to_string();
                        return Ok(row);
                    }
                };
                let Some(source) = self.m3u_source(entry, &mut row).await else {
                    return Ok(row);
                };
                writes.movies.push(NewMovieW {
                    row: row_index,
                    tmdb_id: hit.tmdb_id,
                    title,
                    year,
                    source: Some(Pending::Http(source)),
                });
                row.files = 1;
                row.outcome = Outcome::Added;
            }
        }
        Ok(row)
    }

    #[allow(clippy::too_many_arguments)]
    async fn m3u_episode(
        &self,
        entry: &Entry,
        show: &str,
        (season, episodes): (i32, Vec<i32>),
        row: &mut ImportRow,
        row_index: usize,
        writes: &mut Writes,
        shows: &mut HashMap<i64, ShowState>,
        claimed: &mut HashMap<(MediaKind, i64, i32, i32), usize>,
        ctx: &JobCtx,
    ) -> Result<()> {
        row.episode = episodes.first().map(|e| (season, *e));
        let hits = match self.m3u_search("tv", show, row.year).await {
            Ok(h) => h,
            Err(e) if stops_import(&e) => return Err(e),
            Err(e) => {
                row.note = e.to_string();
                return Ok(());
            }
        };
        let hit = match pick(&hits, show, row.year) {
            Pick::One(h) => h.clone(),
            Pick::None => {
                row.outcome = Outcome::Unmatched;
                row.note = unmatched_note("show", show, row.year, &hits);
                return Ok(());
            }
            Pick::Many(many) => {
                row.outcome = Outcome::Ambiguous;
                row.note = format!("TMDB has several shows: {}", hit_list(&many));
                return Ok(());
            }
        };
        row.tmdb_id = Some(hit.tmdb_id);
        if let std::collections::hash_map::Entry::Vacant(slot) = shows.entry(hit.tmdb_id) {
            slot.insert(self.m3u_show_state(hit.tmdb_id, writes, ctx).await?);
        }
        let keys: Vec<(i32, i32)> = episodes.iter().map(|e| (season, *e)).collect();
        let label = |(s, e): (i32, i32)| format!("S{s:02}E{e:02}");
        if let Some(first) = keys
            .iter()
            .find_map(|&(s, e)| claimed.get(&(MediaKind::Show, hit.tmdb_id, s, e)))
        {
            row.outcome = Outcome::Unchanged;
            row.note = format!("the same episode as entry {}: that one is used", first + 1);
            return Ok(());
        }
        match shows.get(&hit.tmdb_id).expect("inserted above") {
            ShowState::Failed(why) => row.note = why.clone(),
            ShowState::Library { id, episodes } => {
                row.show_id = Some(*id);
                let found: Vec<(i64, bool)> = keys
                    .iter()
                    .filter_map(|k| episodes.get(k).copied())
                    .collect();
                if found.len() < keys.len() {
                    row.outcome = Outcome::Unmatched;
                    row.note = format!(
                        "{} is not an episode of the show in the library",
                        label(keys[0])
                    );
                    return Ok(());
                }
                row.episode_id = found.first().map(|(id, _)| *id);
                if found.iter().all(|(_, assigned)| *assigned) {
                    row.outcome = Outcome::Unchanged;
                    row.note = "the episode has a source already".into();
                    return Ok(());
                }
                let Some(source) = self.m3u_source(entry, row).await else {
                    return Ok(());
                };
                for (id, _) in found.iter().filter(|(_, assigned)| !assigned) {
                    let p = Pending::Http(source.clone());
                    writes.sources.push((Item::Episode(*id), p, row_index));
                }
                row.files = 1;
                row.outcome = Outcome::Assigned;
            }
            ShowState::New => {
                let planned = writes.show(hit.tmdb_id).expect("planned with the state");
                let known = keys.iter().all(|(s, e)| {
                    planned.seasons.iter().any(|season| {
                        season.season_number == *s
                            && season.episodes.iter().any(|ep| ep.episode_number == *e)
                    })
                });
                if !known {
                    row.outcome = Outcome::Unmatched;
                    row.note = format!("TMDB's show has no {}", label(keys[0]));
                    return Ok(());
                }
                let Some(source) = self.m3u_source(entry, row).await else {
                    return Ok(());
                };
                let planned = writes.show(hit.tmdb_id).expect("planned with the state");
                planned.rows.push(row_index);
                for key in &keys {
                    planned
                        .sources
                        .push((*key, Pending::Http(source.clone()), row_index));
                }
                row.files = 1;
                row.outcome = Outcome::Added;
            }
        }
        for &(s, e) in &keys {
            claimed.insert((MediaKind::Show, hit.tmdb_id, s, e), row_index);
        }
        Ok(())
    }

    /// The library's show with this TMDB id, or the plan to add it (every season, and the
    /// specials: a playlist may hold them).
    async fn m3u_show_state(
        &self,
        tmdb_id: i64,
        writes: &mut Writes,
        ctx: &JobCtx,
    ) -> Result<ShowState> {
        if let Some(id) = self.store.id_by_tmdb(MediaKind::Show, tmdb_id).await? {
            let show = self.get_show(id).await?;
            let episodes = show
                .seasons
                .iter()
                .flat_map(|s| {
                    s.episodes
                        .iter()
                        .map(|e| ((s.season_number, e.episode_number), (e.id, e.assigned)))
                })
                .collect();
            return Ok(ShowState::Library { id, episodes });
        }
        let filter = SeasonFilter {
            only: None,
            specials: true,
        };
        match self.tmdb_show(tmdb_id, filter, ctx).await {
            Ok(Ok((record, seasons))) => {
                writes.shows.push(NewShowW {
                    rows: Vec::new(),
                    record,
                    seasons,
                    sources: Vec::new(),
                });
                Ok(ShowState::New)
            }
            Err(e) if stops_import(&e) => Err(e),
            Err(e) | Ok(Err(e)) => Ok(ShowState::Failed(e.to_string())),
        }
    }

    /// TMDB's hits for a name: with the year first, then without (a playlist's year may
    /// be a country's release, a year off).
    async fn m3u_search(
        &self,
        kind: &str,
        title: &str,
        year: Option<i32>,
    ) -> Result<Vec<SearchHit>> {
        let query = limits::query(title)?;
        let mut hits = self.tmdb.search(kind, &query, year).await?;
        if year.is_some() && pick(&hits, title, year).is_none() {
            hits = self.tmdb.search(kind, &query, None).await?;
        }
        Ok(hits)
    }
}

impl Pick<'_> {
    fn is_none(&self) -> bool {
        matches!(self, Pick::None)
    }
}

fn unmatched_note(kind: &str, title: &str, year: Option<i32>, hits: &[SearchHit]) -> String {
    let asked = match year {
        Some(y) => format!("{title} ({y})"),
        None => title.to_string(),
    };
    if hits.is_empty() {
        format!("TMDB knows no {kind} called {asked}")
    } else {
        let near: Vec<&SearchHit> = hits.iter().collect();
        format!(
            "no {kind} on TMDB is called {asked}; nearest: {}",
            hit_list(&near)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn movie(title: &str, year: Option<i32>) -> Option<Named> {
        Some(Named::Movie {
            title: title.into(),
            year,
        })
    }

    fn episode(show: &str, year: Option<i32>, season: i32, episodes: &[i32]) -> Option<Named> {
        Some(Named::Episode {
            show: show.into(),
            year,
            season,
            episodes: episodes.to_vec(),
        })
    }

    #[test]
    fn names_read_as_movies_with_their_years() {
        assert_eq!(
            classify("The Matrix (1999)"),
            movie("The Matrix", Some(1999))
        );
        assert_eq!(classify("The Matrix 1999"), movie("The Matrix", Some(1999)));
        assert_eq!(
            classify("Fight Club [1999]"),
            movie("Fight Club", Some(1999))
        );
        // Years in titles.
        assert_eq!(
            classify("Blade Runner 2049 (2017)"),
            movie("Blade Runner 2049", Some(2017))
        );
        assert_eq!(
            classify("Blade Runner 2049"),
            movie("Blade Runner 2049", None)
        );
        assert_eq!(
            classify("2001: A Space Odyssey (1968)"),
            movie("2001: A Space Odyssey", Some(1968))
        );
        assert_eq!(classify("1917"), movie("1917", None));
        assert_eq!(classify("1917 (2019)"), movie("1917", Some(2019)));
        // Tags around the name.
        assert_eq!(
            classify("EN - The Matrix (1999)"),
            movie("The Matrix", Some(1999))
        );
        assert_eq!(
            classify("|FR| Amélie (2001) FHD"),
            movie("Amélie", Some(2001))
        );
        assert_eq!(
            classify("Mr. Nobody (2009)"),
            movie("Mr. Nobody", Some(2009))
        );
        assert_eq!(classify("  "), None);
    }

    #[test]
    fn names_read_as_episodes() {
        assert_eq!(
            classify("Breaking Bad S01E02"),
            episode("Breaking Bad", None, 1, &[2])
        );
        assert_eq!(
            classify("Breaking Bad S01 E02"),
            episode("Breaking Bad", None, 1, &[2])
        );
        assert_eq!(
            classify("Breaking Bad - S01E03 - ...And the Bag's in the River"),
            episode("Breaking Bad", None, 1, &[3])
        );
        assert_eq!(classify("Dark 1x02"), episode("Dark", None, 1, &[2]));
        assert_eq!(
            classify("Doctor Who (2005) S01E01"),
            episode("Doctor Who", Some(2005), 1, &[1])
        );
        assert_eq!(
            classify("Mr. Robot S01E01E02"),
            episode("Mr. Robot", None, 1, &[1, 2])
        );
        assert_eq!(
            classify("EN - Good Cop / Bad Cop S00E01"),
            episode("Good Cop Bad Cop", None, 0, &[1])
        );
        // A marker and nothing before it names no show.
        assert_eq!(classify("S01E01"), None);
    }

    #[test]
    fn playlists_are_parsed_with_their_attributes() {
        let text = "#EXTM3U\n\
            #EXTINF:-1 tvg-id=\"\" tvg-name=\"The Matrix (1999)\" tvg-logo=\"http://x/a,b.png\" group-title=\"VOD | Movies\",The Matrix\n\
            http://h/movie/u/p/1.mkv\n\
            \n\
            #EXTINF:0,Dark 1x02\n\
            #EXTGRP:Series\n\
            http://h/series/u/p/2.mp4\n\
            # a comment\n\
            http://h/plain/Some%20Film%20(2010).mkv?token=1\n";
        let entries = parse(text);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].name, "The Matrix (1999)");
        assert_eq!(entries[0].group.as_deref(), Some("VOD | Movies"));
        assert_eq!(entries[0].url, "http://h/movie/u/p/1.mkv");
        assert_eq!(entries[1].name, "Dark 1x02");
        assert_eq!(entries[1].group.as_deref(), Some("Series"));
        assert_eq!(entries[2].name, "Some Film (2010)");
        assert_eq!(entries[2].group, None);
    }

    #[test]
    fn titles_compare_without_case_accents_or_punctuation() {
        assert_eq!(normalized("Amélie"), normalized("AMELIE"));
        assert_eq!(
            normalized("Marvel's: The Avengers!"),
            "marvel s the avengers"
        );
        assert_eq!(normalized("Fast & Furious"), normalized("Fast and Furious"));
        let hit = |id, title: &str, year| SearchHit {
            tmdb_id: id,
            title: title.into(),
            original_title: title.into(),
            year: Some(year),
        };
        let hits = [
            hit(1, "Fargo", 1996),
            hit(2, "Fargo", 2014),
            hit(3, "Fargo Rock", 1996),
        ];
        assert!(matches!(pick(&hits, "Fargo", Some(1996)), Pick::One(h) if h.tmdb_id == 1));
        assert!(matches!(pick(&hits, "Fargo", Some(1997)), Pick::One(h) if h.tmdb_id == 1));
        assert!(matches!(pick(&hits, "Fargo", None), Pick::Many(m) if m.len() == 2));
        assert!(matches!(pick(&hits, "Fargo", Some(1980)), Pick::None));
    }
}
