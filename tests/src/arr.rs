//! A local stand-in for Radarr's API v3: `GET /api/v3/movie` (the whole list, files
//! embedded) behind the `X-Api-Key` header, as Radarr answers it.
use std::thread::JoinHandle;

use serde_json::Value;

pub const API_KEY: &str = "0123456789abcdef0123456789abcdef";

pub struct FakeRadarr {
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeRadarr {
    /// Serves `movies` (MovieResource objects) until dropped.
    pub fn start(movies: Vec<Value>) -> FakeRadarr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fake Radarr");
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let body = Value::Array(movies).to_string();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
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
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stopped => {}
                }
            });
        });
        FakeRadarr {
            url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for FakeRadarr {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
