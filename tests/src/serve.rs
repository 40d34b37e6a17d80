//! The fake web services of the tests (TMDB, OpenSubtitles, Radarr) run the same way: an
//! axum router on a free loopback port, in a thread of its own, until stopped or dropped.
use std::thread::JoinHandle;

pub struct Serving {
    /// `http://127.0.0.1:PORT`.
    pub root: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Serving {
    pub fn start(what: &str, app: axum::Router) -> Serving {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("bind fake {what}: {e}"));
        listener.set_nonblocking(true).unwrap();
        let root = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime drops the listener and every open connection.
            rt.shutdown_background();
        });
        Serving {
            root,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops answering: the listening socket is closed, so connections are refused.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.stop();
    }
}
