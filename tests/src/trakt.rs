//! A local stand-in for Trakt's API v2: the device flow (code, token polled until approved
//! or denied), token refresh and revoke, the account's settings, and the watchlist,
//! collection and custom lists, answered as Trakt does. It checks the app's headers and the
//! bearer token, and logs every request.
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::serve::Serving;

pub const CLIENT_ID: &str = "c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6";
pub const CLIENT_SECRET: &str = "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e7aaaa";
pub const USER_CODE: &str = "5055CC52";

#[derive(Default)]
struct State {
    /// None: still pending; Some(true) approved, Some(false) denied.
    decision: Option<bool>,
    /// The access token now valid (changes on every refresh).
    access: String,
    refreshes: u32,
    /// Seconds the tokens it gives last.
    expires_in: i64,
    watchlist: Vec<Value>,
    lists: Vec<(String, Vec<Value>)>,
    log: Vec<String>,
    /// (action, body) of every scrobble, and the bodies of history adds.
    scrobbles: Vec<(String, Value)>,
    history: Vec<Value>,
}

pub struct FakeTrakt {
    pub url: String,
    state: Arc<Mutex<State>>,
    _server: Serving,
}

impl FakeTrakt {
    /// Tokens it gives last `expires_in` seconds (below a day, momod renews them first).
    pub fn start(expires_in: i64) -> FakeTrakt {
        let state = Arc::new(Mutex::new(State {
            expires_in,
            ..State::default()
        }));
        let st = state.clone();
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method,
                  uri: axum::http::Uri,
                  headers: axum::http::HeaderMap,
                  body: String| {
                let st = st.clone();
                async move {
                    let (status, v) = answer(&st, method.as_str(), &uri, &headers, &body);
                    axum::response::Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(axum::body::Body::from(v.to_string()))
                        .unwrap()
                }
            },
        );
        let server = Serving::start("Trakt", app);
        FakeTrakt {
            url: server.root.clone(),
            state,
            _server: server,
        }
    }

    /// The user enters the code and approves (true) or denies (false).
    pub fn decide(&self, approve: bool) {
        self.state.lock().unwrap().decision = Some(approve);
    }

    pub fn set_watchlist(&self, items: Vec<Value>) {
        self.state.lock().unwrap().watchlist = items;
    }

    pub fn add_list(&self, slug: &str, items: Vec<Value>) {
        self.state.lock().unwrap().lists.push((slug.into(), items));
    }

    pub fn scrobbles(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().scrobbles.clone()
    }

    pub fn history(&self) -> Vec<Value> {
        self.state.lock().unwrap().history.clone()
    }

    pub fn refreshes(&self) -> u32 {
        self.state.lock().unwrap().refreshes
    }

    /// "METHOD /path" of every request, with "authorized" when its token was valid.
    pub fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }
}

fn token(st: &mut State) -> Value {
    st.access = format!("access-{}", st.refreshes);
    json!({"access_token": st.access, "token_type": "bearer", "expires_in": st.expires_in,
           "refresh_token": format!("refresh-{}", st.refreshes), "scope": "public",
           "created_at": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()})
}

fn answer(
    state: &Arc<Mutex<State>>,
    method: &str,
    uri: &axum::http::Uri,
    headers: &axum::http::HeaderMap,
    body: &str,
) -> (u16, Value) {
    let mut st = state.lock().unwrap();
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    let authorized = header("authorization") == format!("Bearer {}", st.access);
    st.log.push(format!(
        "{method} {}{}",
        uri.path(),
        if authorized { " authorized" } else { "" }
    ));
    if header("trakt-api-key") != CLIENT_ID || header("trakt-api-version") != "2" {
        return (403, json!({"error": "invalid api key"}));
    }
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let secret_ok = body["client_secret"] == CLIENT_SECRET && body["client_id"] == CLIENT_ID;
    match (method, uri.path()) {
        ("POST", "/oauth/device/code") if body["client_id"] == CLIENT_ID => (
            200,
            json!({"device_code": "d3v1c3c0d3", "user_code": USER_CODE,
                   "verification_url": "https://trakt.tv/activate", "expires_in": 600, "interval": 1}),
        ),
        ("POST", "/oauth/device/token") if secret_ok && body["code"] == "d3v1c3c0d3" => {
            match st.decision {
                None => (400, Value::Null),
                Some(false) => (418, Value::Null),
                Some(true) => (200, token(&mut st)),
            }
        }
        ("POST", "/oauth/token")
            if secret_ok
                && body["grant_type"] == "refresh_token"
                && body["refresh_token"] == format!("refresh-{}", st.refreshes) =>
        {
            st.refreshes += 1;
            (200, token(&mut st))
        }
        ("POST", "/oauth/revoke") if secret_ok => {
            st.access = String::new();
            (200, json!({}))
        }
        (_, _) if !authorized => (401, json!({"error": "invalid_grant"})),
        ("POST", path) if path.starts_with("/scrobble/") => {
            let action = path.trim_start_matches("/scrobble/").to_string();
            let progress = body["progress"].as_f64().unwrap_or(0.0);
            let answered = match action.as_str() {
                "stop" if progress >= 80.0 => "scrobble",
                "stop" => "pause",
                a => a,
            }
            .to_string();
            st.scrobbles.push((action, body.clone()));
            let mut reply = json!({"id": 3373536619u64, "action": answered, "progress": progress,
                                   "sharing": {"twitter": false}});
            for k in ["movie", "show", "episode"] {
                if !body[k].is_null() {
                    reply[k] = body[k].clone();
                }
            }
            (201, reply)
        }
        ("POST", "/sync/history") => {
            let movies = body["movies"].as_array().map_or(0, Vec::len);
            let episodes = body["shows"].as_array().map_or(0, Vec::len);
            st.history.push(body.clone());
            (
                201,
                json!({"added": {"movies": movies, "episodes": episodes},
                       "not_found": {"movies": [], "shows": [], "seasons": [], "episodes": [], "people": []}}),
            )
        }
        ("GET", "/users/settings") => {
            (200, json!({"user": {"username": "sean", "private": false}}))
        }
        ("GET", "/sync/watchlist/movies") => (200, of_kind(&st.watchlist, "movie")),
        ("GET", "/sync/watchlist/shows") => (200, of_kind(&st.watchlist, "show")),
        ("GET", "/sync/collection/movies") | ("GET", "/sync/collection/shows") => (200, json!([])),
        ("GET", path) => match path
            .strip_prefix("/users/me/lists/")
            .and_then(|p| p.strip_suffix("/items/movie,show"))
            .and_then(|slug| st.lists.iter().find(|(s, _)| s == slug))
        {
            Some((_, items)) => (200, Value::Array(items.clone())),
            None => (404, json!({"error": "not found"})),
        },
        _ => (404, json!({"error": "not found"})),
    }
}

fn of_kind(items: &[Value], kind: &str) -> Value {
    Value::Array(
        items
            .iter()
            .filter(|i| i["type"] == kind)
            .cloned()
            .collect(),
    )
}

/// A list entry as Trakt sends it.
pub fn entry(kind: &str, title: &str, year: i32, tmdb: Option<i64>) -> Value {
    json!({"rank": 1, "id": 101, "listed_at": "2026-11-01T10:00:00.000Z", "notes": null,
           "type": kind, kind: {"title": title, "year": year,
           "ids": {"trakt": 727, "slug": "x", "imdb": "tt0137523", "tmdb": tmdb, "tvdb": null}}})
}
