//! What the Radarr and Sonarr imports share: their API (v3, `X-Api-Key`), API keys held in
//! memory only, and path maps (they often run in a container and see other paths).
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::library::assign::check_local;

const TIMEOUT: Duration = Duration::from_secs(60);
const MAX_PATH_MAPS: usize = 16;

/// A field of an unexpected type reads as absent, so one odd entry is a skipped row, not
/// a failed import.
pub(super) fn lenient<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
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

/// Takes the key behind a token (the key itself when it is not one): it is used once.
pub(super) fn take_key(token: &str) -> Result<String> {
    if !token.starts_with(HELD_PREFIX) {
        return Ok(token.to_string());
    }
    HELD_KEYS
        .lock()
        .expect("held keys")
        .remove(token)
        .ok_or_else(|| {
            Error::FailedPrecondition(
                "momod restarted after this import was asked for, and API keys are never stored: run it again".into(),
            )
        })
}

/// `FROM=TO` pairs, both absolute.
pub(super) fn path_maps(maps: &[String]) -> Result<Vec<(PathBuf, PathBuf)>> {
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

/// The service's path as momod sees it: the first map whose FROM is a prefix of it.
pub(super) fn mapped(path: &Path, maps: &[(PathBuf, PathBuf)]) -> PathBuf {
    maps.iter()
        .find_map(|(from, to)| path.strip_prefix(from).ok().map(|rest| to.join(rest)))
        .unwrap_or_else(|| path.to_path_buf())
}

/// A file the service names, as momod sees it (shown in the report), and its canonical
/// path when it is a file under the roots, or why not. The check runs off the runtime.
pub(super) async fn local_file(
    path: &str,
    maps: &[(PathBuf, PathBuf)],
    roots: &[PathBuf],
) -> Result<(String, std::result::Result<String, String>)> {
    let local = mapped(Path::new(path), maps);
    let shown = local.to_string_lossy().to_string();
    let roots = roots.to_vec();
    let checked = tokio::task::spawn_blocking(move || check_local(&local, &roots))
        .await
        .map_err(|e| Error::Internal(format!("path check failed: {e}")))?;
    let usable = match checked {
        Ok((canonical, _)) => canonical
            .to_str()
            .map(str::to_string)
            .ok_or_else(|| "its path is not UTF-8".to_string()),
        Err(e) => Err(e.to_string()),
    };
    Ok((shown, usable))
}

/// `http(s)://host[:port][/base]` + `api/v3/<endpoint>`.
fn endpoint(service: &str, url: &str, path: &str) -> Result<reqwest::Url> {
    let mut base = reqwest::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            Error::InvalidArgument(format!("the {service} URL must be http(s)://host:port"))
        })?;
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join(&format!("api/v3/{path}"))
        .map_err(|e| Error::InvalidArgument(format!("the {service} URL: {e}")))
}

/// Checks an import request before a job is made for it.
pub fn check_arr(service: &str, url: &str, api_key: &str, maps: &[String]) -> Result<()> {
    endpoint(service, url, "")?;
    if api_key.trim().is_empty() || api_key.len() > 256 {
        return Err(Error::InvalidArgument(format!(
            "give {service}'s API key (Settings → General)"
        )));
    }
    path_maps(maps).map(drop)
}

/// A client of one Radarr or Sonarr.
pub(super) struct Arr {
    service: &'static str,
    url: String,
    key: String,
    http: reqwest::Client,
}

impl Arr {
    /// Checks the request, takes its key out of memory, and reads the path maps.
    pub fn connect(
        service: &'static str,
        url: &str,
        api_key: &str,
        maps: &[String],
    ) -> Result<(Arr, Vec<(PathBuf, PathBuf)>)> {
        check_arr(service, url, api_key, maps)?;
        let maps = path_maps(maps)?;
        Ok((Arr::new(service, url, take_key(api_key)?)?, maps))
    }

    fn new(service: &'static str, url: &str, key: String) -> Result<Arr> {
        endpoint(service, url, "")?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            // The key travels in a header: never to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("momoshtrem/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("HTTP client: {e}")))?;
        Ok(Arr {
            service,
            url: url.to_string(),
            key,
            http,
        })
    }

    /// The whole list at `api/v3/<path>` ("movie", "series"): at most `max` entries of
    /// `noun` ("movies") in `max_bytes`.
    pub async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        noun: &str,
        max_bytes: usize,
        max: usize,
    ) -> Result<Vec<T>> {
        let service = self.service;
        let list: Vec<T> = self
            .get(path, &[], &format!("its list of {noun}"), max_bytes)
            .await?;
        if list.len() > max {
            return Err(Error::ResourceExhausted(format!(
                "{service} lists {} {noun}; at most {max} are imported at once",
                list.len()
            )));
        }
        Ok(list)
    }

    /// GET `api/v3/<path>` with `query`, decoded; `what` names it in errors ("its movie
    /// list"); refused past `max` bytes.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
        max: usize,
    ) -> Result<T> {
        let service = self.service;
        let resp = self
            .http
            .get(endpoint(service, &self.url, path)?)
            .query(query)
            .header("X-Api-Key", &self.key)
            .send()
            .await
            .map_err(|e| crate::web::unreachable(service, what, e))?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(Error::FailedPrecondition(format!(
                "{service} refused the API key (Settings → General → API Key)"
            )));
        }
        if !status.is_success() {
            return Err(Error::Unavailable(format!(
                "{service} answered HTTP {status} for {what}"
            )));
        }
        let body = crate::web::read_body(resp, service, what, max).await?;
        serde_json::from_slice(&body).map_err(|e| {
            Error::Unavailable(format!(
                "{service}'s answer for {what} is not what its API v3 sends: {e}"
            ))
        })
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
        let e = |u: &str, p: &str| endpoint("Radarr", u, p).map(|u| u.to_string());
        assert_eq!(
            e("http://radarr:7878", "movie").unwrap(),
            "http://radarr:7878/api/v3/movie"
        );
        assert_eq!(
            e("https://h/sonarr/", "series").unwrap(),
            "https://h/sonarr/api/v3/series"
        );
        assert!(e("ftp://x", "movie").is_err());
        assert!(e("radarr:7878", "movie").is_err());
    }
}
