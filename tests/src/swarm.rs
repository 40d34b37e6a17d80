//! A real BitTorrent swarm on loopback: a librqbit session that seeds generated files.
//! DHT, trackers and local discovery are off; magnets carry `x.pe` hints to the seeder.
use std::net::{Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use librqbit::{
    AddTorrent, AddTorrentOptions, CreateTorrentOptions, ListenerMode, ListenerOptions, Session,
    SessionOptions, create_torrent, limits::LimitsConfig,
};

pub struct Seeder {
    rt: tokio::runtime::Runtime,
    session: Option<Arc<Session>>,
    pub addr: SocketAddr,
}

/// One seeded torrent.
#[derive(Clone, Debug)]
pub struct Seeded {
    pub info_hash: String,
    /// Magnet with the hex hash, a name and an `x.pe` hint to the seeder.
    pub magnet: String,
    /// The .torrent file's bytes.
    pub torrent: Vec<u8>,
}

impl Seeder {
    /// A seeder on a free port; `upload_bps` limits it (to make streams slow on purpose).
    pub fn start(upload_bps: Option<u32>) -> Seeder {
        Seeder::start_on(0, upload_bps)
    }

    /// A seeder on `port` (0 = any), e.g. to come back where it was.
    pub fn start_on(port: u16, upload_bps: Option<u32>) -> Seeder {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let output =
            std::env::temp_dir().join(format!("momo-seeder-{}-{}", std::process::id(), port));
        let session = rt.block_on(async {
            Session::new_with_opts(
                output,
                SessionOptions {
                    dht: None,
                    persistence: None,
                    disable_trackers: true,
                    disable_local_service_discovery: true,
                    ipv4_only: true,
                    listen: Some(ListenerOptions {
                        mode: ListenerMode::TcpOnly,
                        listen_addr: (Ipv4Addr::LOCALHOST, port).into(),
                        enable_upnp_port_forwarding: false,
                        ipv4_only: true,
                        ..Default::default()
                    }),
                    ratelimits: LimitsConfig {
                        upload_bps: upload_bps.and_then(NonZeroU32::new),
                        download_bps: None,
                    },
                    runtime_worker_threads: Some(64),
                    ..Default::default()
                },
            )
            .await
            .expect("seeder session")
        });
        let addr = session.listen_addr().expect("seeder listens");
        Seeder {
            rt,
            session: Some(session),
            addr,
        }
    }

    /// Seeds `path` (a file, or a folder for a multi-file torrent) from where it is.
    pub fn seed(&self, path: &Path) -> Seeded {
        let session = self.session.clone().expect("running");
        let path = path.to_path_buf();
        let addr = self.addr;
        self.rt.block_on(async move {
            let spawner = librqbit::spawn_utils::BlockingSpawner::new(2);
            let created = create_torrent(
                &path,
                CreateTorrentOptions {
                    name: None,
                    trackers: vec![],
                    piece_length: Some(256 * 1024),
                },
                &spawner,
            )
            .await
            .expect("create torrent");
            let bytes = created.as_bytes().expect("torrent bytes").to_vec();
            // With an explicit output folder librqbit puts a multi-file torrent's files right
            // in it (no name subfolder): a folder seeds from itself, a file from its parent.
            let folder: PathBuf = if path.is_dir() {
                path.clone()
            } else {
                path.parent().expect("parent").to_path_buf()
            };
            let handle = session
                .add_torrent(
                    AddTorrent::from_bytes(bytes.clone()),
                    Some(AddTorrentOptions {
                        overwrite: true,
                        output_folder: Some(folder.to_str().unwrap().to_string()),
                        ..Default::default()
                    }),
                )
                .await
                .expect("seed")
                .into_handle()
                .expect("handle");
            tokio::time::timeout(
                std::time::Duration::from_secs(60),
                handle.wait_until_completed(),
            )
            .await
            .expect("the seeder finds all its data on disk")
            .expect("seeder has all data");
            let info_hash = created.info_hash().as_string();
            let name = path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .replace(' ', "+");
            Seeded {
                magnet: format!("magnet:?xt=urn:btih:{info_hash}&dn={name}&x.pe={addr}"),
                info_hash,
                torrent: bytes,
            }
        })
    }

    /// Stops seeding and closes the port.
    pub fn stop(&mut self) {
        if let Some(session) = self.session.take() {
            self.rt.block_on(async move {
                session.cancellation_token().cancel();
                session.stop().await;
            });
        }
    }
}

impl Drop for Seeder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `len` bytes that differ per `seed` (so files in one test are told apart).
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Makes a .torrent for `path` announcing to `trackers`: (hex info hash, .torrent bytes).
pub fn make_torrent(path: &Path, trackers: &[String]) -> (String, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let spawner = librqbit::spawn_utils::BlockingSpawner::new(2);
        let created = create_torrent(
            path,
            CreateTorrentOptions {
                name: None,
                trackers: trackers.to_vec(),
                piece_length: Some(256 * 1024),
            },
            &spawner,
        )
        .await
        .expect("create torrent");
        (
            created.info_hash().as_string(),
            created.as_bytes().expect("torrent bytes").to_vec(),
        )
    })
}

/// A free TCP port on 127.0.0.1 (also free for UDP in practice).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A process killed (and reaped) on drop.
pub struct Process(std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's opentracker on loopback. Its build only serves whitelisted info hashes.
pub struct Tracker {
    pub announce: String,
    _process: Process,
    _dir: tempfile::TempDir,
}

impl Tracker {
    /// Serves `info_hashes` on 127.0.0.1:`port` (TCP for HTTP announces, UDP too).
    pub fn start_on(port: u16, info_hashes: &[&str]) -> Tracker {
        let dir = tempfile::tempdir().unwrap();
        let whitelist = dir.path().join("whitelist.txt");
        std::fs::write(&whitelist, info_hashes.join("\n") + "\n").unwrap();
        let port = port.to_string();
        // opentracker chroots into -d (as root) before it reads the whitelist: run it in
        // its folder with paths relative to that.
        let child = std::process::Command::new("opentracker")
            .args([
                "-i",
                "127.0.0.1",
                "-p",
                &port,
                "-P",
                &port,
                "-d",
                ".",
                "-w",
                "whitelist.txt",
            ])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("opentracker (scripts/install-deps installs it)");
        let process = Process(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "opentracker did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Tracker {
            announce: format!("http://127.0.0.1:{port}/announce"),
            _process: process,
            _dir: dir,
        }
    }
}

/// aria2c seeding `torrent` from `data_parent` (the folder holding the torrent's content).
pub fn aria2_seed(torrent: &Path, data_parent: &Path) -> Process {
    aria2_seed_at(torrent, data_parent, None)
}

/// The same, uploading at most `limit` (aria2c's units: "512K", "1M").
pub fn aria2_seed_at(torrent: &Path, data_parent: &Path, limit: Option<&str>) -> Process {
    let port = free_port().to_string();
    let limit = format!("--max-overall-upload-limit={}", limit.unwrap_or("0"));
    let child = std::process::Command::new("aria2c")
        .arg(&limit)
        .args([
            "--enable-dht=false",
            "--enable-dht6=false",
            "--bt-enable-lpd=false",
            "--enable-peer-exchange=false",
            "--seed-ratio=0.0",
            "--bt-seed-unverified=true",
            "--check-integrity=false",
            "--bt-tracker-interval=1",
            "--disable-ipv6=true",
            "--summary-interval=0",
            "--console-log-level=warn",
            &format!("--listen-port={port}"),
            "-d",
        ])
        .arg(data_parent)
        .arg(torrent)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("aria2c (scripts/install-deps installs it)");
    Process(child)
}
