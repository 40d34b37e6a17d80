//! OpenSubtitles client (REST API v1, api.opensubtitles.com).
//!
//! Every call carries the application's `Api-Key` and a `User-Agent` naming momoshtrem.
//! With an account configured, `POST /login` gives a token (kept 20 h, renewed once on a
//! 401) that raises the daily download quota. `GET /subtitles` searches by moviehash and by
//! TMDB ids; `POST /download` turns a file id into a one-time link. A spent quota (406, or
//! `remaining` 0) and rate limits (429) are `ResourceExhausted` with when they reset. The key
//! and the password never reach a log line or an error message.
use std::time::{Duration, Instant};

use reqwest::{StatusCode, Url};
use serde::Deserialize;
use tokio::sync::Mutex;
use tracing::debug;

use crate::config::SubtitlesConfig;
use crate::error::{Error, Result};
use crate::web::{read_body, retry_wait, unreachable, wait_out_rate_limit};

const SERVICE: &str = "OpenSubtitles";
/// A search answer is a page of at most 60 entries: well under this.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;
/// How long a login token is used (the server keeps it about 24 h).
const TOKEN_LIFE: Duration = Duration::from_secs(20 * 3600);
/// Attempts for a request answered 429 or 5xx, and the longest wait between them.
const ATTEMPTS: u32 = 3;
const MAX_WAIT: Duration = Duration::from_secs(10);
/// Offers shown from one search at most.
pub const MAX_OFFERS: usize = 60;

/// What to search for: the file's moviehash when known, and what the item is on TMDB.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub moviehash: Option<String>,
    pub tmdb_id: Option<i64>,
    /// An episode: its show's TMDB id, season and episode.
    pub episode: Option<(i64, i32, i32)>,
    pub languages: Vec<String>,
}

/// A subtitle OpenSubtitles offers.
#[derive(Debug, Clone)]
pub struct Offer {
    pub file_id: i64,
    pub file_name: String,
    pub language: String,
    pub release: String,
    pub download_count: u64,
    pub sdh: bool,
    pub forced: bool,
    /// Made for this very file (the moviehash matched).
    pub hash_match: bool,
    /// Machine or AI translated: offered last.
    pub machine: bool,
}

pub struct OpenSubtitles {
    http: reqwest::Client,
    base: Url,
    key: Option<String>,
    login: Option<(String, String)>,
    token: Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct SearchJson {
    /// Read one by one: an entry with an odd field is left out, not the whole answer.
    #[serde(default)]
    data: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct EntryJson {
    attributes: AttributesJson,
}

#[derive(Deserialize)]
struct AttributesJson {
    language: Option<String>,
    // Options throughout: the API sends null for what it does not know.
    download_count: Option<u64>,
    hearing_impaired: Option<bool>,
    foreign_parts_only: Option<bool>,
    machine_translated: Option<bool>,
    ai_translated: Option<bool>,
    moviehash_match: Option<bool>,
    release: Option<String>,
    #[serde(default)]
    files: Vec<FileJson>,
}

#[derive(Deserialize)]
struct FileJson {
    file_id: i64,
    file_name: Option<String>,
}

#[derive(Deserialize)]
struct LoginJson {
    token: String,
}

#[derive(Deserialize)]
struct DownloadJson {
    link: Option<String>,
    file_name: Option<String>,
    remaining: Option<i64>,
    message: Option<String>,
    reset_time: Option<String>,
    reset_time_utc: Option<String>,
}

/// "it resets in 9 hours and 57 minutes (2026-12-01T23:59:59Z)", from a download answer.
fn resets(d: &DownloadJson) -> String {
    match (&d.reset_time, &d.reset_time_utc) {
        (Some(t), Some(utc)) => format!("; it resets in {t} ({utc})"),
        (Some(t), None) => format!("; it resets in {t}"),
        (None, Some(utc)) => format!("; it resets at {utc}"),
        (None, None) => String::new(),
    }
}

impl OpenSubtitles {
    pub fn new(config: &SubtitlesConfig) -> anyhow::Result<OpenSubtitles> {
        let mut base = Url::parse(&config.opensubtitles_base_url)?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_s.max(1)))
            .connect_timeout(Duration::from_secs(config.timeout_s.clamp(1, 10)))
            .user_agent(concat!("momoshtrem v", env!("CARGO_PKG_VERSION")))
            // A redirect would carry the Api-Key header (and a login's password) along.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let key = config
            .opensubtitles_api_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string);
        let login = config
            .opensubtitles_username
            .clone()
            .zip(config.opensubtitles_password.clone());
        Ok(OpenSubtitles {
            http,
            base,
            key,
            login,
            token: Mutex::new(None),
        })
    }

    /// FailedPrecondition, naming the key, when no key is configured.
    pub fn check(&self) -> Result<()> {
        self.key().map(drop)
    }

    fn key(&self) -> Result<&str> {
        self.key.as_deref().ok_or_else(|| {
            Error::FailedPrecondition(
                "no OpenSubtitles API key configured: set subtitles.opensubtitles_api_key \
                 (MOMO_SUBTITLES_OPENSUBTITLES_API_KEY)"
                    .into(),
            )
        })
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(path)
            .map_err(|e| Error::Internal(format!("OpenSubtitles URL {path}: {e}")))
    }

    /// Sends a request (built anew for each attempt), waiting out 429s and retrying 5xx.
    async fn send(
        &self,
        what: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            debug!(what, attempt, "OpenSubtitles request");
            let resp = build()
                .send()
                .await
                .map_err(|e| unreachable(SERVICE, what, e))?;
            let status = resp.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_wait(&resp, &["ratelimit-reset", "retry-after"]);
                wait_out_rate_limit(SERVICE, what, (attempt, ATTEMPTS), wait, MAX_WAIT).await?;
                continue;
            }
            if status.is_server_error() && attempt < ATTEMPTS {
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                continue;
            }
            return Ok(resp);
        }
    }

    /// The answer's JSON, or the error its status means.
    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        resp: reqwest::Response,
        what: &str,
    ) -> Result<T> {
        let status = resp.status();
        let body = read_body(resp, SERVICE, what, MAX_ANSWER_BYTES).await?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| {
                Error::Unavailable(format!(
                    "OpenSubtitles sent an unreadable answer for {what}: {e}"
                ))
            });
        }
        let message: String = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.get("message")
                    .or_else(|| v.get("errors").and_then(|e| e.get(0)))
                    .and_then(|m| m.as_str().map(str::to_string))
            })
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Error::FailedPrecondition(format!(
                "OpenSubtitles refused {what} ({message}): check subtitles.opensubtitles_api_key and the account"
            )),
            StatusCode::NOT_ACCEPTABLE => {
                let d: Option<DownloadJson> = serde_json::from_slice(&body).ok();
                Error::ResourceExhausted(format!(
                    "the OpenSubtitles daily download quota is spent{}",
                    d.as_ref().map(resets).unwrap_or_default()
                ))
            }
            s if s.is_server_error() => Error::Unavailable(format!(
                "OpenSubtitles failed for {what}: HTTP {s} {message}"
            )),
            s => Error::Internal(format!(
                "OpenSubtitles answered HTTP {s} for {what}: {message}"
            )),
        })
    }

    /// The login token, when an account is configured (fetched once, kept `TOKEN_LIFE`).
    async fn token(&self, renew: bool) -> Result<Option<String>> {
        let Some((user, password)) = &self.login else {
            return Ok(None);
        };
        let mut token = self.token.lock().await;
        if !renew
            && let Some((t, at)) = token.as_ref()
            && at.elapsed() < TOKEN_LIFE
        {
            return Ok(Some(t.clone()));
        }
        let key = self.key()?;
        let url = self.url("login")?;
        let body = serde_json::json!({ "username": user, "password": password });
        let resp = self
            .send("login", || {
                self.http
                    .post(url.clone())
                    .header("Api-Key", key)
                    .json(&body)
            })
            .await?;
        let login: LoginJson = self.json(resp, "login").await?;
        *token = Some((login.token.clone(), Instant::now()));
        Ok(Some(login.token))
    }

    /// Subtitles on offer, hash matches first, then the most downloaded.
    pub async fn search(&self, q: &Query) -> Result<Vec<Offer>> {
        let key = self.key()?;
        // Parameters sorted by name, values in lower case: the API redirects other forms.
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some((show, season, episode)) = q.episode {
            params.push(("episode_number", episode.to_string()));
            params.push(("parent_tmdb_id", show.to_string()));
            params.push(("season_number", season.to_string()));
        }
        let mut languages = q.languages.clone();
        languages.sort();
        if !languages.is_empty() {
            params.push(("languages", languages.join(",")));
        }
        if let Some(h) = &q.moviehash {
            params.push(("moviehash", h.to_lowercase()));
        }
        if let Some(id) = q.tmdb_id {
            params.push(("tmdb_id", id.to_string()));
        }
        params.sort_by_key(|(k, _)| *k);
        if !params
            .iter()
            .any(|(k, _)| matches!(*k, "moviehash" | "tmdb_id" | "parent_tmdb_id"))
        {
            return Err(Error::FailedPrecondition(
                "nothing to search OpenSubtitles by: the item has no TMDB id and its file no moviehash"
                    .into(),
            ));
        }
        let mut url = self.url("subtitles")?;
        url.query_pairs_mut()
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        let resp = self
            .send("a search", || {
                self.http.get(url.clone()).header("Api-Key", key)
            })
            .await?;
        let found: SearchJson = self.json(resp, "a search").await?;
        let mut offers: Vec<Offer> = found
            .data
            .into_iter()
            .filter_map(|e| {
                let a = serde_json::from_value::<EntryJson>(e).ok()?.attributes;
                let file = a.files.into_iter().next()?;
                let language = crate::subtitles::language(a.language.as_deref()?)?;
                Some(Offer {
                    file_id: file.file_id,
                    file_name: file
                        .file_name
                        .unwrap_or_default()
                        .chars()
                        .take(255)
                        .collect(),
                    language,
                    release: a.release.unwrap_or_default().chars().take(255).collect(),
                    download_count: a.download_count.unwrap_or(0),
                    sdh: a.hearing_impaired.unwrap_or(false),
                    forced: a.foreign_parts_only.unwrap_or(false),
                    hash_match: a.moviehash_match.unwrap_or(false),
                    machine: a.machine_translated.unwrap_or(false)
                        || a.ai_translated.unwrap_or(false),
                })
            })
            .collect();
        // A match of this very file first, then people's translations before machines', full
        // subtitles before forced ones (signs and songs only), then the most downloaded.
        offers.sort_by(|a, b| {
            b.hash_match
                .cmp(&a.hash_match)
                .then(a.machine.cmp(&b.machine))
                .then(a.forced.cmp(&b.forced))
                .then(b.download_count.cmp(&a.download_count))
        });
        offers.truncate(MAX_OFFERS);
        Ok(offers)
    }

    /// Downloads one offered file: (its name, its bytes). Counts against the daily quota.
    pub async fn download(&self, file_id: i64) -> Result<(String, Vec<u8>)> {
        let key = self.key()?;
        let url = self.url("download")?;
        let body = serde_json::json!({ "file_id": file_id, "sub_format": "srt" });
        let mut renewed = false;
        let answer: DownloadJson = loop {
            let token = self.token(renewed).await?;
            let resp = self
                .send("a download", || {
                    let r = self
                        .http
                        .post(url.clone())
                        .header("Api-Key", key)
                        .json(&body);
                    match &token {
                        Some(t) => r.bearer_auth(t),
                        None => r,
                    }
                })
                .await?;
            // An expired token: log in again, once.
            if resp.status() == StatusCode::UNAUTHORIZED && token.is_some() && !renewed {
                renewed = true;
                continue;
            }
            break self.json(resp, "a download").await?;
        };
        let Some(link) = answer.link.clone() else {
            return Err(if answer.remaining.is_some_and(|r| r <= 0) {
                Error::ResourceExhausted(format!(
                    "the OpenSubtitles daily download quota is spent{}",
                    resets(&answer)
                ))
            } else {
                Error::Unavailable(format!(
                    "OpenSubtitles gave no download link ({})",
                    answer
                        .message
                        .unwrap_or_default()
                        .chars()
                        .take(200)
                        .collect::<String>()
                ))
            });
        };
        let link = Url::parse(&link)
            .ok()
            // https, unless the API itself is spoken over plain http (a local test server).
            .filter(|l| l.scheme() == "https" || l.scheme() == self.base.scheme())
            .ok_or_else(|| {
                Error::Unavailable("OpenSubtitles gave a malformed download link".into())
            })?;
        let resp = self
            .send("the subtitle file", || self.http.get(link.clone()))
            .await?;
        if !resp.status().is_success() {
            return Err(Error::Unavailable(format!(
                "the subtitle file's link answered HTTP {}",
                resp.status()
            )));
        }
        let bytes = read_body(resp, SERVICE, "the subtitle file", super::MAX_BYTES).await?;
        let name = answer
            .file_name
            .unwrap_or_else(|| format!("{file_id}.srt"))
            .chars()
            .take(255)
            .collect();
        Ok((name, bytes))
    }
}

/// The OpenSubtitles moviehash of a file of `size` bytes from its first and last 64 KiB:
/// the size plus every little-endian u64 of both, wrapping; 16 hex digits. None for files
/// under 128 KiB, which OpenSubtitles does not hash.
pub fn moviehash(size: u64, head: &[u8], tail: &[u8]) -> Option<String> {
    const CHUNK: usize = 65_536;
    if size < 2 * CHUNK as u64 || head.len() < CHUNK || tail.len() < CHUNK {
        return None;
    }
    let sum = |bytes: &[u8]| {
        bytes[..CHUNK]
            .chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
            .fold(0u64, u64::wrapping_add)
    };
    let hash = size
        .wrapping_add(sum(head))
        .wrapping_add(sum(&tail[tail.len() - CHUNK..]));
    Some(format!("{hash:016x}"))
}

/// How many bytes of a file's head and of its tail the moviehash reads.
pub const HASH_CHUNK: u64 = 65_536;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moviehash_follows_the_definition() {
        // Words 0, 1, 2, … in the head and 10 000, 10 001, … in the tail of a 1 MiB file:
        // the hash is the size plus both sums.
        let words =
            |from: u64| -> Vec<u8> { (from..from + 8192).flat_map(|w| w.to_le_bytes()).collect() };
        let (head, tail) = (words(0), words(10_000));
        let expected = (1u64 << 20) + (0..8192u64).sum::<u64>() + (10_000..18_192u64).sum::<u64>();
        assert_eq!(
            moviehash(1 << 20, &head, &tail).unwrap(),
            format!("{expected:016x}")
        );
        // Additions wrap, and the digits are zero-padded lower case.
        let ones = vec![0xFF; 65_536];
        let wrapped = (131_072u64).wrapping_add(8192u64.wrapping_mul(u64::MAX).wrapping_mul(2));
        assert_eq!(
            moviehash(131_072, &ones, &ones).unwrap(),
            format!("{wrapped:016x}")
        );
        assert_eq!(
            moviehash(131_072, &[0; 65_536], &[0; 65_536]).unwrap(),
            "0000000000020000"
        );
        // Too small to hash.
        assert_eq!(moviehash(100_000, &head, &tail), None);
    }
}
