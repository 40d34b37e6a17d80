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
                    let (status, text) = match (uri.path(), key) {
                        (_, k) if k != Some(API_KEY) => (401, "Unauthorized".to_string()),
                        ("/api/v3/movie", _) => (200, body),
                        _ => (404, "Not Found".to_string()),
                    };
                    axum::response::Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(axum::body::Body::from(text))
                        .unwrap()
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
