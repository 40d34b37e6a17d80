//! A local stand-in for the OpenSubtitles REST API v1: `POST /login`, `GET /subtitles`
//! (by moviehash, TMDB id, or parent TMDB id + season + episode, in languages), `POST
//! /download` (a one-time link, the daily quota, 406 when it is spent), the link itself,
//! 429s on request, and the `Api-Key` check on every call.
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::serve::Serving;

/// The application key the fake accepts.
pub const API_KEY: &str = "momotestkey0123456789abcdef";
pub const USERNAME: &str = "tyler";
pub const PASSWORD: &str = "paper-street";
/// Login tokens are this with a number: `expire_token` makes the one out there stale.
const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.eyJ1c2VyIjoidHlsZXIifQ.c2ln";

/// A subtitle the fake offers.
#[derive(Clone, Debug)]
pub struct Entry {
    pub file_id: i64,
    pub language: String,
    pub tmdb_id: Option<i64>,
    /// An episode: (show's TMDB id, season, episode).
    pub episode: Option<(i64, i32, i32)>,
    pub moviehash: Option<String>,
    pub download_count: u64,
    pub hearing_impaired: bool,
    pub release: String,
    pub content: Vec<u8>,
}

#[derive(Default)]
struct State {
    entries: Vec<Entry>,
    /// Downloads left today.
    remaining: i64,
    /// 429 answers still to give (to any call).
    rate_limited: u32,
    /// "METHOD path?query auth=…", one per request.
    log: Vec<String>,
    /// Which login token is valid now (downloads with another one get 401).
    token_generation: u32,
    /// Where the server answers (for the download links it hands out).
    root: String,
}

/// One request, as the fake reads it.
struct Request<'a> {
    method: &'a str,
    uri: &'a axum::http::Uri,
    key: Option<String>,
    auth: Option<String>,
    agent: Option<String>,
    body: &'a [u8],
}

pub struct FakeOpenSubtitles {
    /// What `subtitles.opensubtitles_base_url` is set to.
    pub url: String,
    state: Arc<Mutex<State>>,
    _server: Serving,
}

impl FakeOpenSubtitles {
    pub fn start(entries: Vec<Entry>) -> FakeOpenSubtitles {
        let state = Arc::new(Mutex::new(State {
            entries,
            remaining: 20,
            ..State::default()
        }));
        let app_state = state.clone();
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method,
                  uri: axum::http::Uri,
                  headers: axum::http::HeaderMap,
                  body: axum::body::Bytes| {
                let state = app_state.clone();
                async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    };
                    let request = Request {
                        method: method.as_str(),
                        uri: &uri,
                        key: header("api-key"),
                        auth: header("authorization"),
                        agent: header("user-agent"),
                        body: &body,
                    };
                    let (status, body, extra) = answer(&state, request);
                    let mut resp = axum::response::Response::builder().status(status);
                    for (k, v) in extra {
                        resp = resp.header(k, v);
                    }
                    resp.body(axum::body::Body::from(body)).unwrap()
                }
            },
        );
        let server = Serving::start("OpenSubtitles", app);
        // Download links point back here.
        state.lock().unwrap().root = server.root.clone();
        FakeOpenSubtitles {
            url: format!("{}/api/v1", server.root),
            state,
            _server: server,
        }
    }

    pub fn set_remaining(&self, n: i64) {
        self.state.lock().unwrap().remaining = n;
    }

    pub fn remaining(&self) -> i64 {
        self.state.lock().unwrap().remaining
    }

    /// The next `n` requests get 429 with `ratelimit-reset: 1`.
    pub fn rate_limit(&self, n: u32) {
        self.state.lock().unwrap().rate_limited = n;
    }

    /// The token handed out so far stops working (as after a day): downloads with it get 401.
    pub fn expire_token(&self) {
        self.state.lock().unwrap().token_generation += 1;
    }

    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }
}

type Answer = (u16, Vec<u8>, Vec<(String, String)>);

fn json_answer(status: u16, v: Value) -> Answer {
    (
        status,
        v.to_string().into_bytes(),
        vec![("content-type".into(), "application/json".into())],
    )
}

fn query(uri: &axum::http::Uri) -> Vec<(String, String)> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%2C", ",")))
        .collect()
}

fn answer(state: &Arc<Mutex<State>>, r: Request<'_>) -> Answer {
    let Request {
        method,
        uri,
        key,
        auth,
        agent,
        body,
    } = r;
    let mut s = state.lock().unwrap();
    let root = s.root.clone();
    s.log.push(format!(
        "{method} {uri} auth={} agent={}",
        auth.as_deref().unwrap_or("-"),
        agent.as_deref().unwrap_or("-")
    ));
    if s.rate_limited > 0 {
        s.rate_limited -= 1;
        let mut a = json_answer(
            429,
            json!({"message": "Throttle limit reached. Retry later."}),
        );
        a.2.push(("ratelimit-reset".into(), "1".into()));
        return a;
    }
    let path = uri.path();
    // The one-time links are plain files, no key needed.
    if let Some(id) = path.strip_prefix("/file/") {
        return match s.entries.iter().find(|e| e.file_id.to_string() == id) {
            Some(e) => (200, e.content.clone(), vec![]),
            None => (404, b"gone".to_vec(), vec![]),
        };
    }
    if key.as_deref() != Some(API_KEY) {
        return json_answer(403, json!({"message": "You cannot consume this service"}));
    }
    match (method, path) {
        ("POST", "/api/v1/login") => {
            let b: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            if b["username"] == USERNAME && b["password"] == PASSWORD {
                let token = format!("{TOKEN}{}", s.token_generation);
                json_answer(
                    200,
                    json!({"user": {"allowed_downloads": 20, "level": "Sub leecher", "vip": false},
                           "base_url": "api.opensubtitles.com", "token": token, "status": 200}),
                )
            } else {
                json_answer(
                    401,
                    json!({"message": "Error, invalid username/password", "status": 401}),
                )
            }
        }
        ("GET", "/api/v1/subtitles") => {
            let q = query(uri);
            let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let languages: Vec<String> = get("languages")
                .map(|l| l.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            let hash = get("moviehash");
            let tmdb = get("tmdb_id").and_then(|v| v.parse::<i64>().ok());
            let episode = match (
                get("parent_tmdb_id"),
                get("season_number"),
                get("episode_number"),
            ) {
                (Some(p), Some(s), Some(e)) => Some((
                    p.parse::<i64>().unwrap_or(-1),
                    s.parse::<i32>().unwrap_or(-1),
                    e.parse::<i32>().unwrap_or(-1),
                )),
                _ => None,
            };
            let data: Vec<Value> = s
                .entries
                .iter()
                .filter(|e| languages.is_empty() || languages.contains(&e.language))
                .filter_map(|e| {
                    let hash_match = hash.is_some() && e.moviehash == hash;
                    let by_id = (tmdb.is_some() && e.tmdb_id == tmdb)
                        || (episode.is_some() && e.episode == episode);
                    (hash_match || by_id).then(|| {
                        json!({
                            "id": e.file_id.to_string(),
                            "type": "subtitle",
                            "attributes": {
                                "subtitle_id": e.file_id.to_string(),
                                "language": e.language,
                                "download_count": e.download_count,
                                "hearing_impaired": e.hearing_impaired,
                                "foreign_parts_only": false,
                                "ai_translated": false,
                                "machine_translated": false,
                                "moviehash_match": hash_match,
                                "release": e.release,
                                "files": [{"file_id": e.file_id, "cd_number": 1,
                                           "file_name": format!("{}.srt", e.release)}],
                                "feature_details": {"tmdb_id": e.tmdb_id},
                            }
                        })
                    })
                })
                .collect();
            json_answer(
                200,
                json!({"total_pages": 1, "total_count": data.len(), "per_page": 60, "page": 1, "data": data}),
            )
        }
        ("POST", "/api/v1/download") => {
            // No token is allowed (anonymous quota); a stale one is not.
            let valid = format!("Bearer {TOKEN}{}", s.token_generation);
            if auth.as_deref().is_some_and(|a| a != valid) {
                return json_answer(401, json!({"message": "invalid token", "status": 401}));
            }
            let b: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let Some(entry) = s
                .entries
                .iter()
                .find(|e| Some(e.file_id) == b["file_id"].as_i64())
                .cloned()
            else {
                return json_answer(404, json!({"message": "file not found"}));
            };
            if s.remaining <= 0 {
                return json_answer(
                    406,
                    json!({"requests": 21, "remaining": 0,
                           "message": "You have downloaded your allowed 20 subtitles for 24h.",
                           "reset_time": "9 hours and 57 minutes",
                           "reset_time_utc": "2026-12-01T23:59:59.000Z"}),
                );
            }
            s.remaining -= 1;
            json_answer(
                200,
                json!({"link": format!("{root}/file/{}", entry.file_id),
                       "file_name": format!("{}.srt", entry.release),
                       "requests": 20 - s.remaining, "remaining": s.remaining,
                       "message": "Your quota will be renewed in 23 hours",
                       "reset_time": "23 hours and 59 minutes",
                       "reset_time_utc": "2026-12-01T23:59:59.000Z"}),
            )
        }
        _ => json_answer(404, json!({"message": "no such endpoint"})),
    }
}
