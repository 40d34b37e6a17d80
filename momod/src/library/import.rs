//! Importing a Radarr library: every movie by its TMDB id, and its file as a local source
//! when it lies under `library.local_roots` (after a path map: Radarr often runs in a
//! container and sees other paths). Everything is fetched and checked first; the writes come
//! after the job's point of no return, and a second run changes nothing.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use serde::Deserialize;

use super::Library;
use super::assign::check_local;
use super::limits::{self, Origin};
use super::model::{Item, Labels, MediaKind};
use crate::error::{Error, Result};
use crate::jobs::JobCtx;

/// Radarr describes a movie in 5–10 KiB: 100k movies are under 1 GiB. Only the fields read
/// here are kept while decoding.
const MAX_ANSWER_BYTES: usize = 1024 * 1024 * 1024;
/// More movies than this in one import is not a library we can take at once.
const MAX_MOVIES: usize = 100_000;
const TIMEOUT: Duration = Duration::from_secs(60);
const MAX_PATH_MAPS: usize = 16;

/// What an import did (or would do) with one Radarr movie.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub title: String,
    pub year: Option<i32>,
    pub tmdb_id: Option<i64>,
    pub movie_id: Option<i64>,
    pub outcome: Outcome,
    pub file_path: Option<String>,
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Added to the library (with its file, when it has one we can use).
    Added,
    /// Already in the library without a source: its file attached.
    Assigned,
    /// In the library already, nothing to change.
    Unchanged,
    /// Left out; the note says why.
    Skipped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Added => "added",
            Outcome::Assigned => "assigned",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportReport {
    pub dry_run: bool,
    pub rows: Vec<ImportRow>,
}

/// A MovieResource, leniently: a field of an unexpected type reads as absent, so one odd
/// entry is a skipped row, not a failed import; the fields not named here are not kept.
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

fn lenient<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// API keys of imports waiting to run, by the token their job carries instead: a key never
/// reaches the database (a job's request is stored there until it is purged).
static HELD_KEYS: LazyLock<Mutex<HashMap<String, String>>> = LazyLock::new(Default::default);
static HELD: AtomicU64 = AtomicU64::new(0);
const HELD_PREFIX: &str = "held-key:";

/// Keeps `key` in memory; what to store in its place.
pub fn hold_key(key: &str) -> String {
    let token = format!("{HELD_PREFIX}{}", HELD.fetch_add(1, Ordering::Relaxed));
    HELD_KEYS
        .lock()
        .expect("held keys")
        .insert(token.clone(), key.to_string());
    token
}

/// The key behind a token (the key itself when it is not one).
fn held_key(token: &str) -> Result<String> {
    if !token.starts_with(HELD_PREFIX) {
        return Ok(token.to_string());
    }
    HELD_KEYS
        .lock()
        .expect("held keys")
        .get(token)
        .cloned()
        .ok_or_else(|| {
            Error::FailedPrecondition(
                "momod restarted after this import was asked for, and API keys are never stored: run it again".into(),
            )
        })
}

fn release_key(token: &str) {
    HELD_KEYS.lock().expect("held keys").remove(token);
}

/// `FROM=TO` pairs, both absolute.
fn path_maps(maps: &[String]) -> Result<Vec<(PathBuf, PathBuf)>> {
    if maps.len() > MAX_PATH_MAPS {
        return Err(Error::InvalidArgument(format!(
            "at most {MAX_PATH_MAPS} path maps"
        )));
    }
    maps.iter()
        .map(|m| {
            let (from, to) = m
                .split_once('=')
                .ok_or_else(|| Error::InvalidArgument(format!("path map `{m}` is not FROM=TO")))?;
            let (from, to) = (PathBuf::from(from), PathBuf::from(to));
            if !from.is_absolute() || !to.is_absolute() {
                return Err(Error::InvalidArgument(format!(
                    "path map `{m}`: both sides must be absolute paths"
                )));
            }
            Ok((from, to))
        })
        .collect()
}

/// Radarr's path as momod sees it: the first map whose FROM is a prefix of it.
fn mapped(path: &Path, maps: &[(PathBuf, PathBuf)]) -> PathBuf {
    maps.iter()
        .find_map(|(from, to)| path.strip_prefix(from).ok().map(|rest| to.join(rest)))
        .unwrap_or_else(|| path.to_path_buf())
}

fn radarr_url(url: &str) -> Result<reqwest::Url> {
    let mut base = reqwest::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            Error::InvalidArgument("the Radarr URL must be http(s)://host:port".into())
        })?;
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join("api/v3/movie")
        .map_err(|e| Error::InvalidArgument(format!("the Radarr URL: {e}")))
}

/// Checks an import request before a job is made for it.
pub fn check_import(url: &str, api_key: &str, maps: &[String]) -> Result<()> {
    radarr_url(url)?;
    if api_key.trim().is_empty() || api_key.len() > 256 {
        return Err(Error::InvalidArgument(
            "give Radarr's API key (Settings → General)".into(),
        ));
    }
    path_maps(maps).map(drop)
}

async fn fetch_movies(url: &str, api_key: &str) -> Result<Vec<RadarrMovie>> {
    let endpoint = radarr_url(url)?;
    let http = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        // The key travels in a header: never to another host.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("momoshtrem/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Internal(format!("HTTP client: {e}")))?;
    let resp = http
        .get(endpoint)
        .header("X-Api-Key", api_key)
        .send()
        .await
        .map_err(|e| crate::web::unreachable("Radarr", "its movie list", e))?;
    let status = resp.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(Error::FailedPrecondition(
            "Radarr refused the API key (Settings → General → API Key)".into(),
        ));
    }
    if !status.is_success() {
        return Err(Error::Unavailable(format!(
            "Radarr answered HTTP {status} for its movie list"
        )));
    }
    let body = crate::web::read_body(resp, "Radarr", "its movie list", MAX_ANSWER_BYTES).await?;
    let movies: Vec<RadarrMovie> = serde_json::from_slice(&body).map_err(|e| {
        Error::Unavailable(format!("Radarr's movie list is not a list of movies: {e}"))
    })?;
    if movies.len() > MAX_MOVIES {
        return Err(Error::ResourceExhausted(format!(
            "Radarr lists {} movies; at most {MAX_MOVIES} are imported at once",
            movies.len()
        )));
    }
    Ok(movies)
}

/// A movie to add: its TMDB id, title and year as TMDB has them, and the file to attach.
struct ToAdd {
    row: usize,
    tmdb_id: i64,
    title: String,
    year: Option<i32>,
    file: Option<String>,
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
        check_import(url, api_key, maps)?;
        let maps = path_maps(maps)?;
        ctx.step("reading Radarr's movie list");
        let key = held_key(api_key)?;
        let movies = fetch_movies(url, &key).await;
        release_key(api_key);
        let movies = movies?;
        let mut rows = Vec::with_capacity(movies.len());
        let mut to_add = Vec::new();
        let mut to_assign = Vec::new();
        for (n, m) in movies.into_iter().enumerate() {
            ctx.progress(n as u64, None, "movies");
            let title: String = m.title.unwrap_or_default().chars().take(200).collect();
            let mut row = ImportRow {
                title,
                year: m.year,
                tmdb_id: m.tmdb_id.filter(|id| *id > 0),
                movie_id: None,
                outcome: Outcome::Skipped,
                file_path: None,
                note: String::new(),
            };
            // The file, when there is one momod may read.
            let file = match m.movie_file.and_then(|f| f.path) {
                None => {
                    row.note = "Radarr has no file for it".into();
                    None
                }
                Some(p) => {
                    let local = mapped(Path::new(&p), &maps);
                    row.file_path = Some(local.to_string_lossy().to_string());
                    let roots = self.local_roots.clone();
                    let checked = tokio::task::spawn_blocking(move || check_local(&local, &roots))
                        .await
                        .map_err(|e| Error::Internal(format!("path check failed: {e}")))?;
                    match checked {
                        Ok((canonical, _)) => match canonical.to_str() {
                            Some(c) => Some(c.to_string()),
                            None => {
                                row.note = "its file's path is not UTF-8: left out".into();
                                None
                            }
                        },
                        Err(e) => {
                            row.note = format!("its file is left out: {e}");
                            None
                        }
                    }
                }
            };
            let Some(tmdb_id) = row.tmdb_id else {
                row.note = "Radarr has no TMDB id for it".into();
                rows.push(row);
                continue;
            };
            match self.store.id_by_tmdb(MediaKind::Movie, tmdb_id).await? {
                Some(id) => {
                    row.movie_id = Some(id);
                    let has_source = self.store.active_source(Item::Movie(id)).await?.is_some();
                    row.outcome = match (&file, has_source) {
                        (Some(f), false) => {
                            to_assign.push((id, f.clone()));
                            Outcome::Assigned
                        }
                        _ => Outcome::Unchanged,
                    };
                }
                None => {
                    ctx.step(format!("TMDB: movie {tmdb_id}"));
                    let origin = format!("movie {tmdb_id}");
                    let found = self.tmdb.movie(tmdb_id).await.and_then(|info| {
                        let origin = Origin::Tmdb(&origin);
                        Ok((
                            limits::title(&info.title, origin)?,
                            limits::year(info.year, origin)?,
                        ))
                    });
                    match found {
                        Ok((title, year)) => {
                            to_add.push(ToAdd {
                                row: rows.len(),
                                tmdb_id,
                                title,
                                year,
                                file,
                            });
                            row.outcome = Outcome::Added;
                        }
                        // TMDB unreachable, rate-limited or without a key fails the import
                        // (nothing is written yet); a movie TMDB does not know, or describes
                        // in a way the library cannot take, is one skipped row.
                        Err(
                            e @ (Error::Unavailable(_)
                            | Error::FailedPrecondition(_)
                            | Error::ResourceExhausted(_)),
                        ) => return Err(e),
                        Err(e) => row.note = e.to_string(),
                    }
                }
            }
            rows.push(row);
        }
        if dry_run {
            return Ok(ImportReport { dry_run, rows });
        }
        ctx.commit()?;
        ctx.step(format!(
            "adding {} movies, attaching {} files",
            to_add.len(),
            to_add.iter().filter(|a| a.file.is_some()).count() + to_assign.len()
        ));
        for a in to_add {
            match self
                .store
                .insert_movie(Some(a.tmdb_id), a.title, a.year)
                .await
            {
                Ok(movie) => {
                    rows[a.row].movie_id = Some(movie.id);
                    if let Some(f) = a.file {
                        to_assign.push((movie.id, f));
                    }
                }
                // Added meanwhile by someone else: this row only.
                Err(e) => {
                    rows[a.row].outcome = Outcome::Skipped;
                    rows[a.row].note = e.to_string();
                }
            }
        }
        for (id, file) in to_assign {
            if let Err(e) = self
                .assign_local(Item::Movie(id), &file, Labels::default())
                .await
            {
                tracing::warn!("movie {id}: {file} not attached: {e}");
                if let Some(r) = rows.iter_mut().find(|r| r.movie_id == Some(id)) {
                    r.note = format!("its file is left out: {e}");
                }
            }
        }
        Ok(ImportReport { dry_run, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_by_prefix() {
        let maps = path_maps(&["/movies=/srv/media/movies".into(), "/data=/mnt".into()]).unwrap();
        assert_eq!(
            mapped(Path::new("/movies/Fight Club (1999)/fc.mkv"), &maps),
            PathBuf::from("/srv/media/movies/Fight Club (1999)/fc.mkv")
        );
        assert_eq!(
            mapped(Path::new("/other/x.mkv"), &maps),
            PathBuf::from("/other/x.mkv")
        );
        // A prefix is whole path components: /moviesX is not under /movies.
        assert_eq!(
            mapped(Path::new("/moviesX/x.mkv"), &maps),
            PathBuf::from("/moviesX/x.mkv")
        );
        for bad in ["nope", "relative=/x", "/x=relative"] {
            assert!(path_maps(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_url_must_be_http() {
        assert_eq!(
            radarr_url("http://radarr:7878").unwrap().as_str(),
            "http://radarr:7878/api/v3/movie"
        );
        assert_eq!(
            radarr_url("https://h/radarr/").unwrap().as_str(),
            "https://h/radarr/api/v3/movie"
        );
        assert!(radarr_url("ftp://x").is_err());
        assert!(radarr_url("radarr:7878").is_err());
    }
}
