//! TMDB client (API v3): movies, shows, seasons and search.
//!
//! The key is a v3 API key (sent as the `api_key` query parameter) or a v4 read access token
//! (sent as `Authorization: Bearer`). Responses are cached in memory for `tmdb.cache_ttl_s`;
//! requests are paced by a client-side rate limit and `429 Retry-After` is honoured. The key
//! never reaches a log line or an error message: reqwest errors are stripped of their URL.
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tracing::debug;

use crate::config::TmdbConfig;
use crate::error::{Error, Result};

/// Attempts for one request when TMDB answers 429 or 5xx.
const ATTEMPTS: u32 = 3;
/// Longest we wait on a `Retry-After` before giving up with `ResourceExhausted`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// Largest answer read from TMDB. A long season with its guest stars and crew is a few
/// MiB; more than this is not an answer we want to hold in memory.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Search results are only shown, never stored: longer titles are cut to this many bytes.
const MAX_HIT_TITLE_BYTES: usize = 200;
/// Cached responses kept at most; expired ones are dropped first.
const CACHE_ENTRIES: usize = 2048;

enum Auth {
    ApiKey(String),
    Bearer(String),
}

/// Whether an answer may come from the cache. A refresh asks for fresh data: it exists to
/// see what TMDB gained since, which a cached answer would hide for `cache_ttl_s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    Use,
    Bypass,
}

pub struct Tmdb {
    http: reqwest::Client,
    base: Url,
    language: String,
    auth: Option<Auth>,
    limiter: DefaultDirectRateLimiter,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, serde_json::Value)>>,
}

#[derive(Debug, Clone)]
pub struct MovieInfo {
    pub title: String,
    pub year: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct ShowInfo {
    pub tmdb_id: i64,
    pub title: String,
    pub year: Option<i32>,
    /// Season numbers TMDB lists for the show (0 = specials).
    pub seasons: Vec<i32>,
}

#[derive(Debug, Clone)]
pub struct SeasonInfo {
    pub season_number: i32,
    pub episodes: Vec<EpisodeInfo>,
}

#[derive(Debug, Clone)]
pub struct EpisodeInfo {
    pub episode_number: i32,
    pub name: Option<String>,
    pub air_date: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub tmdb_id: i64,
    pub title: String,
    pub original_title: String,
    pub year: Option<i32>,
}

// Wire shapes: only the fields we use. Dates may be "" or null.
#[derive(Deserialize)]
struct MovieJson {
    title: String,
    release_date: Option<String>,
}

#[derive(Deserialize)]
struct ShowJson {
    id: i64,
    name: String,
    first_air_date: Option<String>,
    #[serde(default)]
    seasons: Vec<ShowSeasonJson>,
}

#[derive(Deserialize)]
struct ShowSeasonJson {
    season_number: i32,
}

#[derive(Deserialize)]
struct SeasonJson {
    #[serde(default)]
    episodes: Vec<EpisodeJson>,
}

#[derive(Deserialize)]
struct EpisodeJson {
    episode_number: i32,
    name: Option<String>,
    air_date: Option<String>,
}

#[derive(Deserialize)]
struct SearchJson {
    results: Vec<SearchItemJson>,
}

#[derive(Deserialize)]
struct SearchItemJson {
    id: i64,
    // Movies carry title/original_title/release_date, shows name/original_name/first_air_date.
    #[serde(alias = "name")]
    title: Option<String>,
    #[serde(alias = "original_name")]
    original_title: Option<String>,
    #[serde(alias = "first_air_date")]
    release_date: Option<String>,
}

#[derive(Deserialize)]
struct FindJson {
    #[serde(default)]
    tv_results: Vec<FindItemJson>,
}

#[derive(Deserialize)]
struct FindItemJson {
    id: i64,
}

#[derive(Deserialize)]
struct ErrorJson {
    status_message: Option<String>,
}

/// The year of a TMDB date ("1999-10-15" → 1999); empty or malformed → None.
fn year_of(date: Option<&str>) -> Option<i32> {
    date.and_then(|d| d.get(..4)).and_then(|y| y.parse().ok())
}

async fn read_body(resp: reqwest::Response, what: &str) -> Result<Vec<u8>> {
    crate::web::read_body(resp, "TMDB", what, MAX_BODY_BYTES).await
}

/// At most `max` bytes of `s`, cut at a character boundary, with "…" when cut.
fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Empty strings from TMDB mean "no value".
fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl Tmdb {
    pub fn new(config: &TmdbConfig) -> anyhow::Result<Tmdb> {
        let mut base = Url::parse(&config.base_url)?;
        // Url::join replaces the last segment unless the base ends with '/'.
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let auth = config
            .api_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| {
                // v4 read access tokens are JWTs ("eyJ…", three dot-separated parts).
                if k.starts_with("eyJ") && k.matches('.').count() == 2 {
                    Auth::Bearer(k.to_string())
                } else {
                    Auth::ApiKey(k.to_string())
                }
            });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_s.max(1)))
            .connect_timeout(Duration::from_secs(config.timeout_s.clamp(1, 10)))
            .user_agent(concat!("momoshtrem/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let per_second = NonZeroU32::new(config.rate_limit_per_s).unwrap_or(NonZeroU32::MIN);
        Ok(Tmdb {
            http,
            base,
            language: config.language.clone(),
            auth,
            limiter: RateLimiter::direct(Quota::per_second(per_second)),
            ttl: Duration::from_secs(config.cache_ttl_s),
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub async fn movie(&self, id: i64) -> Result<MovieInfo> {
        let m: MovieJson = self
            .get(
                &format!("movie/{id}"),
                &[],
                &format!("movie {id}"),
                Cache::Use,
            )
            .await?;
        Ok(MovieInfo {
            title: m.title,
            year: year_of(m.release_date.as_deref()),
        })
    }

    pub async fn show(&self, id: i64, cache: Cache) -> Result<ShowInfo> {
        let s: ShowJson = self
            .get(&format!("tv/{id}"), &[], &format!("show {id}"), cache)
            .await?;
        let mut seasons: Vec<i32> = s.seasons.iter().map(|s| s.season_number).collect();
        seasons.sort_unstable();
        seasons.dedup();
        Ok(ShowInfo {
            tmdb_id: s.id,
            title: s.name,
            year: year_of(s.first_air_date.as_deref()),
            seasons,
        })
    }

    pub async fn season(&self, show_id: i64, season: i32, cache: Cache) -> Result<SeasonInfo> {
        let s: SeasonJson = self
            .get(
                &format!("tv/{show_id}/season/{season}"),
                &[],
                &format!("season {season} of show {show_id}"),
                cache,
            )
            .await?;
        Ok(SeasonInfo {
            // The season asked for, whatever the answer claims: two answers that both said
            // "season 1" would otherwise merge into one season.
            season_number: season,
            episodes: s
                .episodes
                .into_iter()
                .map(|e| EpisodeInfo {
                    episode_number: e.episode_number,
                    name: non_empty(e.name),
                    air_date: non_empty(e.air_date),
                })
                .collect(),
        })
    }

    /// The TMDB id of the show TVDB knows as `tvdb_id`; None when TMDB links none.
    pub async fn show_by_tvdb(&self, tvdb_id: i64) -> Result<Option<i64>> {
        let found: FindJson = self
            .get(
                &format!("find/{tvdb_id}"),
                &[("external_source", "tvdb_id".into())],
                &format!("TVDB id {tvdb_id}"),
                Cache::Use,
            )
            .await?;
        Ok(found.tv_results.first().map(|r| r.id))
    }

    /// `kind` is "movie" or "tv".
    pub async fn search(
        &self,
        kind: &str,
        query: &str,
        year: Option<i32>,
    ) -> Result<Vec<SearchHit>> {
        let mut params = vec![
            ("query", query.to_string()),
            ("include_adult", "false".into()),
        ];
        if let Some(y) = year {
            let key = if kind == "tv" {
                "first_air_date_year"
            } else {
                "year"
            };
            params.push((key, y.to_string()));
        }
        let r: SearchJson = self
            .get(
                &format!("search/{kind}"),
                &params,
                &format!("search \"{query}\""),
                Cache::Use,
            )
            .await?;
        Ok(r.results
            .into_iter()
            .map(|i| {
                let title = cut(&non_empty(i.title).unwrap_or_default(), MAX_HIT_TITLE_BYTES);
                SearchHit {
                    tmdb_id: i.id,
                    original_title: non_empty(i.original_title)
                        .map(|t| cut(&t, MAX_HIT_TITLE_BYTES))
                        .unwrap_or_else(|| title.clone()),
                    title,
                    year: year_of(i.release_date.as_deref()),
                }
            })
            .collect())
    }

    /// GET `path` with `params`, through the cache. `what` names the resource in errors.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, String)],
        what: &str,
        cache: Cache,
    ) -> Result<T> {
        let Some(auth) = &self.auth else {
            return Err(Error::FailedPrecondition(
                "no TMDB API key configured: set tmdb.api_key in the config file or MOMO_TMDB_API_KEY \
                 (or add by title with --title/--year)"
                    .into(),
            ));
        };
        let mut url = self
            .base
            .join(path)
            .map_err(|e| Error::Internal(format!("TMDB URL for {what}: {e}")))?;
        url.query_pairs_mut()
            .append_pair("language", &self.language)
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        // The cache key is built before the key is added, so it never holds the secret.
        let cache_key = url.to_string();
        if cache == Cache::Use
            && let Some(v) = self.cached(&cache_key)
        {
            return decode(v, what);
        }

        let mut request = self.http.get(url);
        request = match auth {
            Auth::ApiKey(k) => request.query(&[("api_key", k)]),
            Auth::Bearer(t) => request.bearer_auth(t),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.limiter.until_ready().await;
            debug!(%path, attempt, "TMDB request");
            let req = request
                .try_clone()
                .expect("GET requests have no streaming body");
            let resp = req
                .send()
                .await
                .map_err(|e| crate::web::unreachable("TMDB", what, e))?;
            let status = resp.status();
            if status.is_success() {
                let value: serde_json::Value =
                    serde_json::from_slice(&read_body(resp, what).await?).map_err(|e| {
                        Error::Unavailable(format!(
                            "TMDB sent an unreadable answer for {what}: {e}"
                        ))
                    })?;
                self.store(cache_key, value.clone());
                return decode(value, what);
            }
            let retry_after = crate::web::retry_wait(&resp, &["retry-after"]);
            let message = read_body(resp, what)
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<ErrorJson>(&b).ok())
                .and_then(|e| e.status_message)
                .map(|m| cut(&m, 200))
                .unwrap_or_default();
            match status {
                StatusCode::UNAUTHORIZED => {
                    return Err(Error::FailedPrecondition(format!(
                        "TMDB rejected the API key ({message}): check tmdb.api_key / MOMO_TMDB_API_KEY"
                    )));
                }
                StatusCode::NOT_FOUND => {
                    return Err(Error::NotFound(format!("TMDB has no {what}")));
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    let wait = retry_after;
                    crate::web::wait_out_rate_limit(
                        "TMDB",
                        what,
                        (attempt, ATTEMPTS),
                        wait,
                        MAX_RETRY_AFTER,
                    )
                    .await?;
                }
                s if s.is_server_error() && attempt < ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
                }
                s if s.is_server_error() => {
                    return Err(Error::Unavailable(format!(
                        "TMDB failed for {what}: HTTP {s} {message}"
                    )));
                }
                s => {
                    return Err(Error::Internal(format!(
                        "TMDB answered HTTP {s} for {what}: {message}"
                    )));
                }
            }
        }
    }

    fn cached(&self, key: &str) -> Option<serde_json::Value> {
        let cache = self.cache.lock().expect("cache lock");
        cache
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    fn store(&self, key: String, value: serde_json::Value) {
        if self.ttl.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.len() >= CACHE_ENTRIES {
            let ttl = self.ttl;
            cache.retain(|_, (at, _)| at.elapsed() < ttl);
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(key, (Instant::now(), value));
    }
}

fn decode<T: DeserializeOwned>(value: serde_json::Value, what: &str) -> Result<T> {
    serde_json::from_value(value).map_err(|e| {
        Error::Unavailable(format!("TMDB answer for {what} is not what we expect: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_and_empty_values() {
        assert_eq!(year_of(Some("1999-10-15")), Some(1999));
        assert_eq!(year_of(Some("")), None);
        assert_eq!(year_of(None), None);
        // Byte 4 inside a character: no panic.
        assert_eq!(year_of(Some("199€-01-01")), None);
        assert_eq!(non_empty(Some("  ".into())), None);
    }
}
