//! A local stand-in for Radarr's API v3: `GET /api/v3/movie` (the whole list, files
//! embedded) behind the `X-Api-Key` header, as Radarr answers it.
use serde_json::Value;

use crate::serve::Serving;

pub const API_KEY: &str = "0123456789abcdef0123456789abcdef";

pub struct FakeRadarr {
    pub url: String,
    _server: Serving,
}

impl FakeRadarr {
    /// Serves `movies` (MovieResource objects) until dropped.
    pub fn start(movies: Vec<Value>) -> FakeRadarr {
        let body = Value::Array(movies).to_string();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap| {
                let body = body.clone();
                async move {
                    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
                    json(match (uri.path(), key) {
                        (_, k) if k != Some(API_KEY) => (401, "Unauthorized".to_string()),
                        ("/api/v3/movie", _) => (200, body),
                        _ => (404, "Not Found".to_string()),
                    })
                }
            },
        );
        let server = Serving::start("Radarr", app);
        FakeRadarr {
            url: server.root.clone(),
            _server: server,
        }
    }
}

/// A local stand-in for Sonarr's API v3: `GET /api/v3/series`, and per series
/// `GET /api/v3/episode?seriesId=N` and `GET /api/v3/episodefile?seriesId=N`.
pub struct FakeSonarr {
    pub url: String,
    _server: Serving,
}

impl FakeSonarr {
    /// Serves `series` (SeriesResource objects), and for each series id its episodes
    /// (EpisodeResource) and episode files (EpisodeFileResource), until dropped.
    pub fn start(series: Vec<Value>, per_series: Vec<(i64, Vec<Value>, Vec<Value>)>) -> FakeSonarr {
        let list = Value::Array(series).to_string();
        let per: std::collections::HashMap<i64, (String, String)> = per_series
            .into_iter()
            .map(|(id, eps, files)| {
                (
                    id,
                    (
                        Value::Array(eps).to_string(),
                        Value::Array(files).to_string(),
                    ),
                )
            })
            .collect();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap| {
                let list = list.clone();
                let per = per.clone();
                async move {
                    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
                    let series_id: Option<i64> = uri.query().and_then(|q| {
                        q.split('&')
                            .find_map(|kv| kv.strip_prefix("seriesId="))
                            .and_then(|v| v.parse().ok())
                    });
                    let of = |pick: fn(&(String, String)) -> &String| {
                        series_id
                            .and_then(|id| per.get(&id))
                            .map(|p| pick(p).clone())
                            .unwrap_or_else(|| "[]".to_string())
                    };
                    json(match (uri.path(), key) {
                        (_, k) if k != Some(API_KEY) => (401, "Unauthorized".to_string()),
                        ("/api/v3/series", _) => (200, list),
                        ("/api/v3/episode", _) => (200, of(|p| &p.0)),
                        ("/api/v3/episodefile", _) => (200, of(|p| &p.1)),
                        _ => (404, "Not Found".to_string()),
                    })
                }
            },
        );
        let server = Serving::start("Sonarr", app);
        FakeSonarr {
            url: server.root.clone(),
            _server: server,
        }
    }
}

/// An answer as the *arr APIs send them: JSON (or a plain error text) with its status.
fn json((status, text): (u16, String)) -> axum::response::Response {
    axum::response::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(text))
        .unwrap()
}
