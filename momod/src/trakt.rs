//! Trakt client (API v2, api.trakt.tv): the OAuth device flow, tokens kept in the data dir,
//! and the lists an import reads.
//!
//! - Every call carries `trakt-api-key` (the app's client id) and `trakt-api-version: 2`;
//!   calls for the user carry `Authorization: Bearer`.
//! - **Sign-in** is the device flow: `POST /oauth/device/code` gives a code for the user to
//!   enter at trakt.tv/activate, then `POST /oauth/device/token` is polled every `interval`
//!   seconds until it is approved (200), denied (418), expired (410) or the code is spent.
//! - **Tokens** live in `<data_dir>/trakt.json` (0600) with when they expire; within a day
//!   of that they are refreshed (`POST /oauth/token`) before the next call. Logging out
//!   revokes the token and deletes the file.
//! - The client secret and the tokens never reach a log line or an error message.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::config::TraktConfig;
use crate::error::{Error, Result};
use crate::web::{read_body, retry_wait, unreachable, wait_out_rate_limit};

const SERVICE: &str = "Trakt";
/// A list page is at most a few MiB; the whole of a large watchlist stays under this.
const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;
/// Entries read from one list at most.
pub const MAX_LIST_ITEMS: usize = 20_000;
const ATTEMPTS: u32 = 3;
const MAX_WAIT: Duration = Duration::from_secs(30);
/// Tokens are refreshed this long before they expire.
const REFRESH_AHEAD: i64 = 24 * 3600;
/// Trakt wants this for device-flow tokens.
const REDIRECT_URI: &str = "urn:ietf:wg:oauth:2.0:oob";

/// What the user is asked to do to sign in.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    /// Unix seconds: when Trakt gave it (`expires_in` counts from then).
    pub issued_at: i64,
    pub device_code: String,
    pub user_code: String,
    pub verification_url: String,
    pub expires_in: u64,
    pub interval: u64,
}

/// The signed-in account's tokens, as kept on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// Seconds the token was given for (0: not known, from an older file).
    #[serde(default)]
    pub lifetime: i64,
    pub username: Option<String>,
}

impl Tokens {
    /// Renewed once half its life is gone (Trakt's tokens last a day, or longer).
    fn needs_renewal(&self) -> bool {
        let ahead = if self.lifetime > 0 {
            self.lifetime / 2
        } else {
            REFRESH_AHEAD
        };
        self.expires_at - crate::store::unix_now() < ahead
    }
}

/// One entry of a Trakt list: a movie or a show, by what Trakt knows of it.
#[derive(Debug, Clone)]
pub struct ListItem {
    pub show: bool,
    pub title: String,
    pub year: Option<i32>,
    pub tmdb_id: Option<i64>,
}

/// What a scrobble or a history entry is about, by TMDB ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scrobble {
    Movie(i64),
    /// The show's TMDB id, the season and episode numbers.
    Episode(i64, i32, i32),
}

impl Scrobble {
    fn body(&self) -> Value {
        match self {
            Scrobble::Movie(id) => json!({"movie": {"ids": {"tmdb": id}}}),
            Scrobble::Episode(show, season, number) => json!({
                "show": {"ids": {"tmdb": show}},
                "episode": {"season": season, "number": number},
            }),
        }
    }
}

/// Which list an import reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum List {
    Watchlist,
    Collection,
    /// One of the user's own lists, by its slug.
    Custom(String),
}

/// The last scrobble told (or tried), for `trakt status`.
#[derive(Debug, Clone)]
pub struct LastScrobble {
    pub item: crate::library::model::Item,
    pub action: &'static str,
    pub progress: f64,
    /// Unix seconds.
    pub at: i64,
}

pub struct Trakt {
    last: std::sync::Mutex<Option<LastScrobble>>,
    http: reqwest::Client,
    base: Url,
    client_id: Option<String>,
    client_secret: Option<String>,
    token_file: PathBuf,
    tokens: Mutex<Option<Tokens>>,
    /// One renewal at a time: Trakt takes each refresh token once, so a second renewal
    /// with the same one would fail (and sign the user out).
    renewing: Mutex<()>,
}

#[derive(Deserialize)]
struct TokenJson {
    access_token: String,
    refresh_token: String,
    expires_in: i64,
    created_at: Option<i64>,
}

impl Trakt {
    pub fn new(config: &TraktConfig, data_dir: &std::path::Path) -> anyhow::Result<Trakt> {
        let mut base = Url::parse(&config.base_url)?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_s.max(1)))
            .connect_timeout(Duration::from_secs(config.timeout_s.clamp(1, 10)))
            .user_agent(concat!("momoshtrem/", env!("CARGO_PKG_VERSION")))
            // A redirect would carry the token along.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let token_file = data_dir.join("trakt.json");
        let tokens = match std::fs::read(&token_file) {
            Ok(bytes) => match serde_json::from_slice::<Tokens>(&bytes) {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::warn!(
                        "{} is unreadable ({e}): sign in to Trakt again",
                        token_file.display()
                    );
                    None
                }
            },
            Err(_) => None,
        };
        let nonblank = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Ok(Trakt {
            last: std::sync::Mutex::new(None),
            http,
            base,
            client_id: nonblank(&config.client_id),
            client_secret: nonblank(&config.client_secret),
            token_file,
            tokens: Mutex::new(tokens),
            renewing: Mutex::new(()),
        })
    }

    /// The app's credentials, or why Trakt is off.
    fn app(&self) -> Result<(&str, &str)> {
        match (&self.client_id, &self.client_secret) {
            (Some(id), Some(secret)) => Ok((id, secret)),
            _ => Err(Error::FailedPrecondition(
                "Trakt is not set up: set trakt.client_id and trakt.client_secret (a Trakt API app, \
                 trakt.tv/oauth/applications) in the config or MOMO_TRAKT_CLIENT_ID / MOMO_TRAKT_CLIENT_SECRET"
                    .into(),
            )),
        }
    }

    pub fn note_scrobble(&self, last: LastScrobble) {
        *self.last.lock().expect("trakt lock") = Some(last);
    }

    pub fn last_scrobble(&self) -> Option<LastScrobble> {
        self.last.lock().expect("trakt lock").clone()
    }

    /// Whether the app's id and secret are set.
    pub fn configured(&self) -> bool {
        self.app().is_ok()
    }

    /// The signed-in account, if any.
    pub async fn account(&self) -> Option<Tokens> {
        self.tokens.lock().await.clone()
    }

    /// Starts a sign-in: the code the user enters, and where.
    pub async fn device_code(&self) -> Result<DeviceCode> {
        let (id, _) = self.app()?;
        let v: Value = self
            .send(
                reqwest::Method::POST,
                "oauth/device/code",
                &json!({"client_id": id}),
                None,
                "a sign-in code",
            )
            .await?
            .1;
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let num = |k: &str| v.get(k).and_then(Value::as_u64);
        match (
            text("device_code"),
            text("user_code"),
            text("verification_url"),
        ) {
            (Some(device_code), Some(user_code), Some(verification_url))
                if device_code.len() <= 256
                    && user_code.len() <= 64
                    && verification_url.len() <= 512 =>
            {
                Ok(DeviceCode {
                    issued_at: crate::store::unix_now(),
                    device_code,
                    user_code,
                    verification_url,
                    expires_in: num("expires_in").unwrap_or(600).clamp(1, 3600),
                    interval: num("interval").unwrap_or(5).clamp(1, 60),
                })
            }
            _ => Err(Error::Unavailable(
                "Trakt's answer for a sign-in code is not what its API sends".into(),
            )),
        }
    }

    /// Polls until the user approves the code (tokens stored), denies it, or it expires.
    pub async fn wait_for_approval(&self, code: &DeviceCode) -> Result<Tokens> {
        let (id, secret) = self.app()?;
        // From when the code was given: the job may have waited for a slot.
        let left = (code.issued_at + code.expires_in as i64 - crate::store::unix_now()).max(0);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(left as u64);
        let mut interval = Duration::from_secs(code.interval);
        let body = json!({"code": code.device_code, "client_id": id, "client_secret": secret});
        loop {
            tokio::time::sleep(interval).await;
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::DeadlineExceeded(
                    "the sign-in code expired before it was entered: run `momoctl trakt login` again".into(),
                ));
            }
            let (status, v) = match self
                .send_raw(reqwest::Method::POST, "oauth/device/token", &body, None)
                .await
            {
                Ok(answer) => answer,
                // A blip: tried again at the next interval, until the code expires.
                Err(e @ Error::Unavailable(_)) => {
                    tracing::debug!("Trakt sign-in poll failed, trying again: {e}");
                    continue;
                }
                Err(e) => return Err(e),
            };
            match status {
                StatusCode::OK => {
                    let mut tokens = self.tokens_of(v)?;
                    tokens.username = self.username(&tokens.access_token).await.ok();
                    self.keep(Some(tokens.clone())).await?;
                    return Ok(tokens);
                }
                // Pending: the user has not entered it yet.
                StatusCode::BAD_REQUEST => {}
                StatusCode::TOO_MANY_REQUESTS => interval += Duration::from_secs(1),
                StatusCode::NOT_FOUND | StatusCode::CONFLICT => {
                    return Err(Error::FailedPrecondition(
                        "Trakt no longer knows this sign-in code (used already?): run `momoctl trakt login` again".into(),
                    ));
                }
                StatusCode::GONE => {
                    return Err(Error::DeadlineExceeded(
                        "the sign-in code expired before it was entered: run `momoctl trakt login` again".into(),
                    ));
                }
                s if s.as_u16() == 418 => {
                    return Err(Error::FailedPrecondition(
                        "the sign-in was denied on Trakt".into(),
                    ));
                }
                s => {
                    return Err(Error::Unavailable(format!(
                        "Trakt answered HTTP {s} while waiting for the sign-in"
                    )));
                }
            }
        }
    }

    /// Revokes the token (best effort) and forgets the account.
    pub async fn logout(&self) -> Result<Option<Tokens>> {
        let Some(tokens) = self.account().await else {
            return Ok(None);
        };
        if let Ok((id, secret)) = self.app() {
            let body =
                json!({"token": tokens.access_token, "client_id": id, "client_secret": secret});
            if let Err(e) = self
                .send_raw(reqwest::Method::POST, "oauth/revoke", &body, None)
                .await
            {
                tracing::warn!("Trakt token not revoked (forgotten here anyway): {e}");
            }
        }
        self.keep(None).await?;
        Ok(Some(tokens))
    }

    /// The entries of a list of the signed-in user: movies and shows with their TMDB ids.
    pub async fn list(self: &Arc<Self>, list: &List) -> Result<Vec<ListItem>> {
        let token = self.access_token().await?;
        let paths: Vec<String> = match list {
            List::Watchlist => vec![
                "sync/watchlist/movies".into(),
                "sync/watchlist/shows".into(),
            ],
            List::Collection => {
                vec![
                    "sync/collection/movies".into(),
                    "sync/collection/shows".into(),
                ]
            }
            List::Custom(slug) => vec![format!("users/me/lists/{slug}/items/movie,show")],
        };
        let mut out = Vec::new();
        for path in paths {
            let (_, v) = self
                .send(
                    reqwest::Method::GET,
                    &path,
                    &Value::Null,
                    Some(&token),
                    "a list",
                )
                .await?;
            let entries = v.as_array().cloned().unwrap_or_default();
            out.extend(entries.iter().filter_map(list_item));
            if out.len() > MAX_LIST_ITEMS {
                return Err(Error::ResourceExhausted(format!(
                    "the Trakt list has more than {MAX_LIST_ITEMS} entries"
                )));
            }
        }
        Ok(out)
    }

    /// `POST /scrobble/start|pause|stop`; Trakt's action ("start", "pause", "scrobble").
    /// A 409 (the same item scrobbled moments ago) counts as done.
    pub async fn scrobble(
        self: &Arc<Self>,
        action: &str,
        what: &Scrobble,
        progress: f64,
    ) -> Result<String> {
        let token = self.access_token().await?;
        let mut body = what.body();
        body["progress"] = json!(progress);
        let (status, v) = self
            .send_raw(
                reqwest::Method::POST,
                &format!("scrobble/{action}"),
                &body,
                Some(&token),
            )
            .await?;
        if status == StatusCode::CONFLICT {
            return Ok("scrobble".into());
        }
        if status.is_client_error() {
            return Err(Error::FailedPrecondition(format!(
                "Trakt refused the scrobble (HTTP {status})"
            )));
        }
        if !status.is_success() {
            return Err(Error::Unavailable(format!(
                "Trakt answered HTTP {status} for a scrobble"
            )));
        }
        Ok(v.get("action")
            .and_then(Value::as_str)
            .unwrap_or(action)
            .to_string())
    }

    /// Adds watches to the account's history (`POST /sync/history`): (what, when in Unix
    /// seconds). Returns which of them Trakt did not find (by index).
    pub async fn add_history(self: &Arc<Self>, watches: &[(Scrobble, i64)]) -> Result<Vec<usize>> {
        let token = self.access_token().await?;
        let at = trakt_time;
        let mut movies = Vec::new();
        let mut shows: Vec<Value> = Vec::new();
        for (what, when) in watches {
            match what {
                Scrobble::Movie(id) => movies.push(json!({"ids": {"tmdb": id}, "watched_at": at(*when)})),
                Scrobble::Episode(show, season, number) => shows.push(json!({
                    "ids": {"tmdb": show},
                    "seasons": [{"number": season, "episodes": [{"number": number, "watched_at": at(*when)}]}],
                })),
            }
        }
        let body = json!({"movies": movies, "shows": shows});
        let (_, v) = self
            .send(
                reqwest::Method::POST,
                "sync/history",
                &body,
                Some(&token),
                "the history",
            )
            .await?;
        let ids_of = |k: &str| -> Vec<i64> {
            v.pointer(&format!("/not_found/{k}"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.pointer("/ids/tmdb").and_then(Value::as_i64))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (movies, shows) = (ids_of("movies"), ids_of("shows"));
        Ok(watches
            .iter()
            .enumerate()
            .filter(|(_, (what, _))| match what {
                Scrobble::Movie(id) => movies.contains(id),
                Scrobble::Episode(show, _, _) => shows.contains(show),
            })
            .map(|(i, _)| i)
            .collect())
    }

    /// A valid access token: renewed first when half its life is gone.
    async fn access_token(self: &Arc<Self>) -> Result<String> {
        let current = self.account().await.ok_or_else(not_signed_in)?;
        if !current.needs_renewal() {
            return Ok(current.access_token);
        }
        // In a task of its own: a caller that goes away (a cancelled job, a client that
        // hung up) must not lose the new refresh token, as the old one is spent.
        let this = self.clone();
        tokio::spawn(async move { this.renew().await })
            .await
            .map_err(|e| Error::Internal(format!("Trakt renewal: {e}")))?
    }

    async fn renew(&self) -> Result<String> {
        let _one_at_a_time = self.renewing.lock().await;
        // Renewed by another call while this one waited?
        let current = self.account().await.ok_or_else(not_signed_in)?;
        if !current.needs_renewal() {
            return Ok(current.access_token);
        }
        let (id, secret) = self.app()?;
        let body = json!({
            "refresh_token": current.refresh_token,
            "client_id": id,
            "client_secret": secret,
            "redirect_uri": REDIRECT_URI,
            "grant_type": "refresh_token",
        });
        let (status, v) = self
            .send_raw(reqwest::Method::POST, "oauth/token", &body, None)
            .await?;
        if status.is_client_error() {
            // Only a refresh token Trakt no longer takes ends the sign-in; a wrong app
            // secret (invalid_client) is the config's to fix.
            if v.get("error").and_then(Value::as_str) == Some("invalid_grant") {
                self.keep(None).await?;
                return Err(Error::FailedPrecondition(
                    "Trakt no longer accepts the sign-in (revoked?): run `momoctl trakt login`"
                        .into(),
                ));
            }
            return Err(Error::FailedPrecondition(format!(
                "Trakt refused to renew the sign-in (HTTP {status}): check trakt.client_id and trakt.client_secret"
            )));
        }
        if !status.is_success() {
            return Err(Error::Unavailable(format!(
                "Trakt answered HTTP {status} when renewing the sign-in"
            )));
        }
        let mut tokens = self.tokens_of(v)?;
        tokens.username = current.username;
        self.keep(Some(tokens.clone())).await?;
        tracing::info!("Trakt sign-in renewed");
        Ok(tokens.access_token)
    }

    async fn username(&self, token: &str) -> Result<String> {
        let (_, v) = self
            .send(
                reqwest::Method::GET,
                "users/settings",
                &Value::Null,
                Some(token),
                "the account",
            )
            .await?;
        v.pointer("/user/username")
            .and_then(Value::as_str)
            .map(|u| u.chars().take(100).collect())
            .ok_or_else(|| Error::Unavailable("Trakt did not say the account's name".into()))
    }

    fn tokens_of(&self, v: Value) -> Result<Tokens> {
        let t: TokenJson = serde_json::from_value(v).map_err(|_| {
            Error::Unavailable("Trakt's token answer is not what its API sends".into())
        })?;
        let created = t.created_at.unwrap_or_else(crate::store::unix_now);
        let lifetime = t.expires_in.clamp(0, 10 * 365 * 86_400);
        Ok(Tokens {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_at: created.saturating_add(lifetime),
            lifetime,
            username: None,
        })
    }

    /// Stores (or, with None, deletes) the tokens: the file is written private, then
    /// renamed over the old one.
    async fn keep(&self, tokens: Option<Tokens>) -> Result<()> {
        let mut current = self.tokens.lock().await;
        // Memory first: a file that cannot be written (a full disk) must not leave a
        // spent refresh token in use.
        *current = tokens.clone();
        let file = self.token_file.clone();
        let saved = tokens;
        let saved = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            match saved {
                None => match std::fs::remove_file(&file) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                },
                Some(t) => {
                    use std::io::Write;
                    use std::os::unix::fs::OpenOptionsExt;
                    let tmp = file.with_extension("json.tmp");
                    let mut f = std::fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .mode(0o600)
                        .open(&tmp)?;
                    f.write_all(&serde_json::to_vec(&t).expect("tokens serialize"))?;
                    f.sync_all()?;
                    std::fs::rename(&tmp, &file)
                }
            }
        })
        .await
        .map_err(|e| Error::Internal(format!("token file: {e}")))?;
        if let Err(e) = saved {
            tracing::warn!(
                "cannot keep the Trakt sign-in in {} (it holds until momod stops): {e}",
                self.token_file.display()
            );
        }
        Ok(())
    }

    /// A call that must succeed: its JSON answer, with 429 and 5xx tried again.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        token: Option<&str>,
        what: &str,
    ) -> Result<(StatusCode, Value)> {
        let (status, v) = self.send_raw(method, path, body, token).await?;
        if status == StatusCode::UNAUTHORIZED {
            return Err(Error::FailedPrecondition(
                "Trakt refused the sign-in: run `momoctl trakt login`".into(),
            ));
        }
        if !status.is_success() {
            return Err(Error::Unavailable(format!(
                "Trakt answered HTTP {status} for {what}"
            )));
        }
        Ok((status, v))
    }

    /// One call, with 429 and 5xx answers tried again (after `Retry-After`); the status and
    /// the JSON body (Null when it is not JSON).
    async fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> Result<(StatusCode, Value)> {
        let (id, _) = self.app()?;
        let url = self
            .base
            .join(path)
            .map_err(|e| Error::Internal(format!("Trakt URL: {e}")))?;
        let what = path.split('/').take(2).collect::<Vec<_>>().join("/");
        for attempt in 1..=ATTEMPTS {
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header("trakt-api-key", id)
                .header("trakt-api-version", "2")
                .header("content-type", "application/json");
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if !body.is_null() {
                req = req.body(body.to_string());
            }
            let resp = req
                .send()
                .await
                .map_err(|e| unreachable(SERVICE, &what, e))?;
            let status = resp.status();
            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                let wait = retry_wait(&resp, &["retry-after"]);
                if status.is_server_error() && attempt >= ATTEMPTS {
                    return Err(Error::Unavailable(format!(
                        "Trakt answered HTTP {status} for {what}"
                    )));
                }
                // The device-token poll answers 429 for "slow down": its caller handles it.
                if status == StatusCode::TOO_MANY_REQUESTS && path == "oauth/device/token" {
                    return Ok((status, Value::Null));
                }
                wait_out_rate_limit(SERVICE, &what, (attempt, ATTEMPTS), wait, MAX_WAIT).await?;
                continue;
            }
            let bytes = read_body(resp, SERVICE, &what, MAX_ANSWER_BYTES).await?;
            return Ok((
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            ));
        }
        Err(Error::Unavailable(format!("Trakt did not answer {what}")))
    }
}

fn not_signed_in() -> Error {
    Error::FailedPrecondition("not signed in to Trakt: run `momoctl trakt login`".into())
}

/// Unix seconds as Trakt writes times: `2026-12-01T10:00:00.000Z` (UTC).
fn trakt_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// A list entry (`{"type": "movie", "movie": {...}}`, or `{"movie": {...}}` in a
/// collection), leniently: an odd one is left out.
fn list_item(v: &Value) -> Option<ListItem> {
    let (show, m) = match (v.get("movie"), v.get("show")) {
        (Some(m), _) if m.is_object() => (false, m),
        (_, Some(s)) if s.is_object() => (true, s),
        _ => return None,
    };
    Some(ListItem {
        show,
        title: m
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("")
            .chars()
            .take(200)
            .collect(),
        year: m
            .get("year")
            .and_then(Value::as_i64)
            .and_then(|y| i32::try_from(y).ok()),
        tmdb_id: m
            .pointer("/ids/tmdb")
            .and_then(Value::as_i64)
            .filter(|id| *id > 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_trakt_reads_them() {
        assert_eq!(trakt_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(trakt_time(1_764_583_200), "2025-12-01T10:00:00.000Z");
        assert_eq!(trakt_time(951_782_400), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn list_entries_are_read_leniently() {
        let movie = json!({"type": "movie", "movie": {"title": "Fight Club", "year": 1999,
            "ids": {"trakt": 727, "slug": "fight-club-1999", "imdb": "tt0137523", "tmdb": 550}}});
        let item = list_item(&movie).unwrap();
        assert_eq!(
            (item.show, item.tmdb_id, item.year),
            (false, Some(550), Some(1999))
        );
        let show = json!({"show": {"title": "Dark", "year": 2017, "ids": {"tmdb": null}}});
        let item = list_item(&show).unwrap();
        assert_eq!((item.show, item.tmdb_id), (true, None));
        assert!(list_item(&json!({"type": "episode", "episode": {}})).is_none());
        assert!(list_item(&json!(5)).is_none());
    }
}
