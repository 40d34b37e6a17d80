//! The torrent engine: the only module that speaks librqbit (pinned to 9.1.0; its API
//! changes every major version). `docs/librqbit.md` explains the traps handled here:
//!
//! - every open `FileStream` holds a permit of librqbit's blocking semaphore; with the default
//!   8 permits the 9th stream deadlocks the download. We raise it to `WORKER_PERMITS` and cap
//!   our own open streams well below (`MAX_STREAMS`).
//! - a streamed file that is not selected (`only_files`) stalls 5–30 s after seeks: a file is
//!   selected before its first stream opens.
//! - a peer with nothing to request sleeps up to 5 s, and a new stream does not wake it: a
//!   file stays selected a while after its last reader, and while nothing reads the
//!   session's download rate is held low (`Busy`) so that linger costs little.
//! - `x.pe` peer hints are ignored by librqbit's magnet parser: we pass them as initial peers.
//! - reads never time out: every read is wrapped in `read_timeout`.
//! - torrents persist in `<data_dir>/torrent-session` with fastresume (no re-hash on restart).
//!   librqbit's persistence does not keep initial peers, so after a restart peers come from
//!   trackers, DHT and local discovery; `x.pe` hints only help on the first add.
//! - librqbit fetches, before anything else, the 32 MiB after every open stream's position
//!   (hard-coded), whether or not anyone reads it. A stream parked at the end of its file
//!   has an empty window: that is how an idle stream stops costing bandwidth (`Reader::park`).
//! - librqbit cannot forget pieces of a torrent it holds. The disk cache evicts whole
//!   torrents nobody reads (`evict`; their `.torrent` is kept in `<data_dir>/torrent-meta`
//!   so the next read adds them back without waiting for metadata), and single pieces under
//!   a storage of our own (`cache.rs`): a read of an evicted piece fails, and `heal` makes
//!   librqbit check the files again so it fetches what is gone.
pub mod cache;
pub mod magnet;

/// Largest `.torrent` file accepted. Piece hashes take 20 bytes per piece: a 100 GiB pack in
/// 4 MiB pieces needs 500 KiB.
pub const MAX_TORRENT_FILE_BYTES: usize = 4 * 1024 * 1024;

use std::collections::{HashMap, HashSet};
use std::io::SeekFrom;
use std::net::{Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::{Bytes, BytesMut};
use librqbit::api::TorrentIdOrHash;
use librqbit::dht::DhtPersistenceConfig;
use librqbit::{
    AddTorrent, AddTorrentOptions, AddTorrentResponse, DhtSessionConfig, ListenerMode,
    ListenerOptions, ManagedTorrent, PeerConnectionOptions, Session, SessionOptions,
    SessionPersistenceConfig, TorrentStatsState,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tracing::{debug, info, warn};

use crate::config::TorrentConfig;
use crate::error::{Error, Result};

pub use magnet::{InfoHash, Magnet};

/// librqbit's blocking-section permits; each open stream holds one for its whole life.
const WORKER_PERMITS: usize = 128;
/// Streams we keep open at once, well below `WORKER_PERMITS` so downloading never starves.
const MAX_STREAMS: usize = 64;

/// One file of a torrent, as listed to users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorrentFile {
    pub index: usize,
    /// Path inside the torrent, `/`-separated, the torrent's name folder excluded.
    pub path: String,
    pub size: u64,
}

/// What a torrent holds, read from its metadata.
#[derive(Debug, Clone)]
pub struct Inspected {
    pub info_hash: InfoHash,
    pub name: String,
    pub files: Vec<TorrentFile>,
    /// The .torrent, so adding afterwards needs no second metadata fetch.
    torrent_bytes: Bytes,
}

/// What the engine is doing with a torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineState {
    /// Checking files or fetching metadata.
    Initializing,
    Live,
    Paused,
    Error,
}

/// A torrent's state for `torrent ls|get`.
#[derive(Debug, Clone)]
pub struct TorrentStatus {
    pub info_hash: InfoHash,
    pub name: String,
    pub state: EngineState,
    pub error: Option<String>,
    pub progress_bytes: u64,
    pub total_bytes: u64,
    pub peers: u32,
    pub download_bps: u64,
    pub upload_bps: u64,
    pub open_streams: usize,
    /// What its files take on disk (allocated blocks: the files are sparse).
    pub disk_bytes: u64,
}

/// librqbit's `FileStream` is not exported; we hold it by its traits. `Sync` because
/// dav-server's `DavFile` requires it; the stream is only ever used through `&mut`.
pub type Stream = Box<dyn StreamRead>;
pub trait StreamRead: AsyncRead + AsyncSeek + Send + Sync + Unpin {}
impl<T: AsyncRead + AsyncSeek + Send + Sync + Unpin> StreamRead for T {}

#[derive(Default)]
struct Activity {
    last_read: Option<Instant>,
    /// Every open stream: a torrent with one is never idle or evicted.
    open_streams: usize,
    /// Those serving players (reading or kept for their next range), as users see them;
    /// prefetch and read-ahead streams are the rest.
    player_streams: usize,
    /// Open streams (and opens in progress) per file: a file with one is never deselected.
    per_file: HashMap<usize, usize>,
}

pub struct Engine {
    session: Arc<Session>,
    metadata_timeout: Duration,
    read_timeout: Duration,
    idle_timeout: Duration,
    start_paused: bool,
    streams: Arc<Semaphore>,
    /// Serialises resuming and file selection (`prepare`).
    selecting: tokio::sync::Mutex<()>,
    activity: ActivityMap,
    /// Files selected because someone read them (not the ones selected at add), so they
    /// can be deselected when the reading stops.
    read_selected: Mutex<HashSet<(String, usize)>>,
    /// Where the `.torrent` of an evicted torrent waits for its next read.
    meta_dir: PathBuf,
    /// `<data_dir>/torrents`: each torrent writes into a folder of its own, named by its
    /// hash (two torrents with a file of the same name must not share it).
    output: PathBuf,
    pieces: Arc<cache::Registry>,
    /// Serialises heals (a torrent removed and added back).
    healing: tokio::sync::Mutex<()>,
    /// Moves whenever a torrent leaves the session under open streams (heal, eviction,
    /// removal); `generations` says which, so those streams stop waiting on it.
    heals: watch::Sender<u64>,
    generations: Generations,
    /// Each torrent's magnet as the library stored it: peers and trackers for adding it
    /// back after a heal.
    magnets: Mutex<HashMap<String, String>>,
    /// librqbit's persistence folder, where its `.bitv` files live.
    state_dir: PathBuf,
    /// Near the disk budget, files are not selected: only what streams ask for is fetched.
    frugal: AtomicBool,
    busy: Arc<Busy>,
    /// Torrents resumed by hand: they download at full speed until paused again.
    resumed: Mutex<HashSet<String>>,
    /// Files pinned to disk (`pin`), and whether each is complete. A pinned file stays
    /// selected, its pieces are never evicted, and while it downloads its torrent is not
    /// paused for idleness and holds the idle rate off.
    pinned: Mutex<HashMap<(String, usize), bool>>,
    api: librqbit::Api,
    started: Instant,
}

impl Engine {
    /// Starts the session: torrents from the last run come back (paused ones stay paused).
    pub async fn start(config: &TorrentConfig, data_dir: &Path) -> anyhow::Result<Arc<Engine>> {
        let output = data_dir.join("torrents");
        let state = data_dir.join("torrent-session");
        let meta_dir = data_dir.join("torrent-meta");
        for dir in [&output, &state, &meta_dir] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let pieces = cache::Registry::new(meta_dir.clone());
        let options = SessionOptions {
            dht: config.dht.then(|| DhtSessionConfig {
                persistence: Some(DhtPersistenceConfig {
                    config_filename: Some(data_dir.join("dht.json")),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            persistence: Some(SessionPersistenceConfig::Json {
                folder: Some(state.clone()),
            }),
            fastresume: true,
            listen: Some(ListenerOptions {
                mode: ListenerMode::TcpAndUtp,
                listen_addr: SocketAddr::from((Ipv6Addr::UNSPECIFIED, config.listen_port)),
                enable_upnp_port_forwarding: false,
                ..Default::default()
            }),
            connect: Some(librqbit::ConnectionOptions {
                peer_opts: Some(PeerConnectionOptions {
                    connect_timeout: Some(Duration::from_secs(5)),
                    read_write_timeout: Some(Duration::from_secs(15)),
                    max_request_window: Some(config.request_window as usize),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            disable_trackers: !config.trackers,
            disable_local_service_discovery: !config.local_discovery,
            runtime_worker_threads: Some(WORKER_PERMITS),
            default_storage_factory: Some(librqbit::storage::StorageFactoryExt::boxed(
                cache::CacheStorageFactory::new(pieces.clone()),
            )),
            client_name_and_version: Some(format!("momoshtrem {}", env!("CARGO_PKG_VERSION"))),
            ..Default::default()
        };
        let session = Session::new_with_opts(output.clone(), options)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "torrent engine (torrent.listen_port = {}): {e:#}",
                    config.listen_port
                )
            })?;
        let busy = Busy::new(
            session.clone(),
            // Torrents that download in the background (not start_paused) run at full speed.
            NonZeroU32::new(config.idle_download_kib_s.saturating_mul(1024) as u32)
                .filter(|_| config.start_paused),
        );
        let engine = Arc::new(Engine {
            api: librqbit::Api::new(session.clone(), None),
            session,
            metadata_timeout: Duration::from_secs(config.metadata_timeout_s.max(1)),
            read_timeout: Duration::from_secs(config.read_timeout_s.max(1)),
            idle_timeout: Duration::from_secs(config.idle_timeout_s.max(1)),
            start_paused: config.start_paused,
            streams: Arc::new(Semaphore::new(MAX_STREAMS)),
            selecting: tokio::sync::Mutex::new(()),
            activity: Arc::new(Mutex::new(HashMap::new())),
            read_selected: Mutex::new(HashSet::new()),
            meta_dir,
            output: output.clone(),
            pieces,
            healing: tokio::sync::Mutex::new(()),
            heals: watch::Sender::new(0),
            generations: Arc::new(Mutex::new(HashMap::new())),
            magnets: Mutex::new(HashMap::new()),
            state_dir: state.clone(),
            frugal: AtomicBool::new(false),
            busy,
            resumed: Mutex::new(HashSet::new()),
            pinned: Mutex::new(HashMap::new()),
            started: Instant::now(),
        });
        info!(
            listen = ?engine.session.listen_addr(),
            torrents = engine.session.with_torrents(|t| t.count()),
            "torrent engine started"
        );
        Ok(engine)
    }

    pub async fn stop(&self) {
        self.session.stop().await;
    }

    /// The files of the torrent behind `magnet`, fetching its metadata if it is not managed
    /// yet (nothing is added). `DeadlineExceeded` when no peer sends it in time.
    pub async fn inspect(&self, magnet: &Magnet) -> Result<Inspected> {
        if let Some(handle) = self.handle(&magnet.info_hash) {
            return inspected(&handle);
        }
        let options = AddTorrentOptions {
            list_only: true,
            initial_peers: (!magnet.peers.is_empty()).then(|| magnet.peers.clone()),
            ..Default::default()
        };
        let response = self
            .add_with_timeout(AddTorrent::from_url(magnet.to_uri()), options)
            .await?;
        match response {
            AddTorrentResponse::ListOnly(list) => {
                let files = list_files(list.info.iter_file_details().map(|d| {
                    let attrs = d.attrs();
                    (d.filename.to_vec().join("/"), d.len, attrs.padding)
                }));
                Ok(Inspected {
                    info_hash: list.info_hash.into(),
                    name: list
                        .info
                        .name()
                        .map(|n| n.into_owned())
                        .unwrap_or_else(|| magnet.info_hash.to_string()),
                    files,
                    torrent_bytes: list.torrent_bytes,
                })
            }
            AddTorrentResponse::AlreadyManaged(_, handle)
            | AddTorrentResponse::Added(_, handle) => inspected(&handle),
        }
        .and_then(usable)
    }

    fn folder_for(&self, info_hash: &InfoHash) -> String {
        self.output
            .join(info_hash.as_str())
            .to_string_lossy()
            .to_string()
    }

    /// A `.torrent` file's magnet (its info hash, name and trackers) and what it holds: no
    /// swarm needed. InvalidArgument when the bytes are not a torrent.
    pub fn inspect_file(bytes: &[u8]) -> Result<(Magnet, Inspected)> {
        if bytes.len() > MAX_TORRENT_FILE_BYTES {
            return Err(Error::InvalidArgument(format!(
                "the .torrent file is {} bytes; at most {MAX_TORRENT_FILE_BYTES} are accepted",
                bytes.len()
            )));
        }
        let bad =
            |why: String| Error::InvalidArgument(format!("the .torrent file is not usable: {why}"));
        // librqbit's decoder overflows (a panic in debug builds) on integers past u32.
        let decoded = std::panic::catch_unwind(|| librqbit::torrent_from_bytes(bytes))
            .map_err(|_| bad("a number in it is out of range".into()))?;
        let t = decoded.map_err(|e| {
            Error::InvalidArgument(format!("not a .torrent file (it does not decode: {e})"))
        })?;
        // What librqbit's own checks divide, multiply or index by, checked first.
        let info = &t.info.data;
        let piece = u64::from(info.piece_length);
        if !(16 * 1024..=256 * 1024 * 1024).contains(&piece) {
            return Err(bad(format!("piece length {piece} (16 KiB to 256 MiB)")));
        }
        let total = match (&info.length, &info.files) {
            (Some(len), None) => Some(*len),
            (None, Some(files)) => files
                .iter()
                .try_fold(0u64, |sum, f| sum.checked_add(f.length)),
            _ => None,
        }
        .filter(|t| (1..=1u64 << 50).contains(t))
        .ok_or_else(|| bad("its length is missing, zero or out of range".into()))?;
        let hashes = info.pieces.as_ref().len();
        let pieces = total.div_ceil(piece);
        // librqbit's own torrent maker (rqbit) writes one hash too many when the length is
        // a whole number of pieces; that one is never read. Fewer hashes than pieces would
        // be indexed past their end.
        let extra = (hashes / 20) as u64 == pieces + 1 && total % piece == 0;
        if hashes % 20 != 0 || ((hashes / 20) as u64 != pieces && !extra) {
            return Err(bad(format!(
                "{} bytes of piece hashes for {} pieces",
                hashes,
                total.div_ceil(piece)
            )));
        }
        let hash = t.info_hash.as_string();
        let trackers: Vec<String> = t
            .iter_announce()
            .filter_map(|a| std::str::from_utf8(a.as_ref()).ok())
            .filter(|a| {
                a.starts_with("http://") || a.starts_with("https://") || a.starts_with("udp://")
            })
            // What a magnet could not hold is left out, not the torrent.
            .filter(|a| a.len() <= 1024)
            .take(magnet::MAX_TRACKERS / 2)
            .map(str::to_string)
            .collect();
        // The checks librqbit makes before it adds one: files, no path traversal.
        let info =
            t.info.data.validate().map_err(|e| {
                Error::InvalidArgument(format!("the .torrent file is not usable: {e}"))
            })?;
        let name = info.name().map(|n| n.into_owned());
        let files = list_files(info.iter_file_details().map(|d| {
            let attrs = d.attrs();
            (d.filename.to_vec().join("/"), d.len, attrs.padding)
        }));
        // Through the magnet parser, so its bounds (trackers, name length) hold here too.
        let mut uri = format!("magnet:?xt=urn:btih:{hash}");
        if let Some(n) = &name {
            uri.push_str(&format!(
                "&dn={}",
                percent_encoding::utf8_percent_encode(n, percent_encoding::NON_ALPHANUMERIC)
            ));
        }
        for tr in &trackers {
            uri.push_str(&format!(
                "&tr={}",
                percent_encoding::utf8_percent_encode(tr, percent_encoding::NON_ALPHANUMERIC)
            ));
        }
        let magnet = Magnet::parse(&uri)
            .map_err(|e| Error::InvalidArgument(format!("the .torrent file's {e}")))?;
        let inspected = Inspected {
            info_hash: magnet.info_hash.clone(),
            name: name.unwrap_or_else(|| hash.clone()),
            files,
            torrent_bytes: Bytes::copy_from_slice(bytes),
        };
        Ok((magnet, usable(inspected)?))
    }

    /// Adds the torrent (from the inspected metadata) unless it is managed already. With
    /// `start_paused` it waits paused for its first read; otherwise `files` start
    /// downloading at once.
    pub async fn add(&self, magnet: &Magnet, inspected: &Inspected, files: &[usize]) -> Result<()> {
        self.remember(&magnet.info_hash, &magnet.to_uri());
        if self.handle(&magnet.info_hash).is_some() {
            return Ok(());
        }
        let selected = if self.start_paused {
            vec![]
        } else {
            files.to_vec()
        };
        let options = AddTorrentOptions {
            paused: self.start_paused,
            output_folder: Some(self.folder_for(&magnet.info_hash)),
            ..add_options(magnet, Some(selected))
        };
        self.add_with_timeout(
            AddTorrent::from_bytes(inspected.torrent_bytes.clone()),
            options,
        )
        .await?;
        info!(hash = %magnet.info_hash, name = %inspected.name, paused = self.start_paused, "torrent added");
        Ok(())
    }

    async fn add_with_timeout(
        &self,
        add: AddTorrent<'_>,
        options: AddTorrentOptions,
    ) -> Result<AddTorrentResponse> {
        match tokio::time::timeout(
            self.metadata_timeout,
            self.session.add_torrent(add, Some(options)),
        )
        .await
        {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(engine_error(e)),
            Err(_) => Err(Error::DeadlineExceeded(format!(
                "no peer sent the torrent's metadata within {} s (torrent.metadata_timeout_s); \
                 check the magnet's trackers or x.pe peers",
                self.metadata_timeout.as_secs()
            ))),
        }
    }

    fn handle(&self, info_hash: &InfoHash) -> Option<Arc<ManagedTorrent>> {
        let id = TorrentIdOrHash::try_from(info_hash.as_str()).ok()?;
        self.session.get(id)
    }

    /// Opens a stream on file `index` at `offset`, adding the torrent back if the engine
    /// lost it or evicted it, selecting the file so the peers keep serving it, and resuming
    /// the torrent if idle. `deselect` undoes the selection when the reading is over.
    pub async fn open(
        &self,
        info_hash: &InfoHash,
        magnet: &str,
        index: usize,
        offset: u64,
    ) -> Result<Reader> {
        let activity = ActivityGuard::new(&self.activity, &self.busy, info_hash.as_str(), index);
        self.remember(info_hash, magnet);
        let handle = match self.handle(info_hash) {
            Some(h) => h,
            None => self.add_back(info_hash, magnet).await?,
        };
        let generation = self.generation(info_hash);
        let deadline = self.read_timeout;
        let within = |what: &'static str| {
            move |_| {
                Error::DeadlineExceeded(format!(
                    "torrent {what} took longer than {} s",
                    deadline.as_secs()
                ))
            }
        };
        self.prepare(&handle, info_hash, index, deadline).await?;
        let permit = tokio::time::timeout(deadline, self.streams.clone().acquire_owned())
            .await
            .map_err(within("stream slot"))?
            .map_err(|_| Error::Unavailable("torrent engine is stopping".into()))?;
        // stream() waits for one of librqbit's own permits: bounded like everything else.
        let stream = tokio::time::timeout(deadline, handle.clone().stream(index))
            .await
            .map_err(within("stream"))?
            .map_err(engine_error)?;
        let len = stream.len();
        let mut stream: Stream = Box::new(stream);
        stream
            .seek(SeekFrom::Start(offset))
            .await
            .map_err(|e| Error::Internal(format!("seek in torrent stream: {e}")))?;
        Ok(Reader {
            played: self.pieces.get(info_hash.as_str()),
            index,
            generation,
            heals: self.heals.subscribe(),
            generations: self.generations.clone(),
            stream,
            pos: offset,
            parked: false,
            len,
            _permit: permit,
            activity,
            read_timeout: deadline,
        })
    }

    /// Reads `len` bytes of file `index` from `at` (a small file whole, the head and tail a
    /// hash needs), within `deadline`; the file is not kept selected afterwards, whether
    /// the read worked or not.
    pub async fn read_range(
        &self,
        info_hash: &InfoHash,
        magnet: &str,
        index: usize,
        at: u64,
        len: u64,
        deadline: Duration,
    ) -> Result<Vec<u8>> {
        let read = async {
            let mut reader = self.open(info_hash, magnet, index, at).await?.unplayed();
            let mut bytes = Vec::with_capacity(len.min(64 << 20) as usize);
            while (bytes.len() as u64) < len {
                let want = (len - bytes.len() as u64).min(256 * 1024) as usize;
                let chunk = reader
                    .read(want)
                    .await
                    .map_err(|e| Error::Unavailable(format!("reading from the swarm: {e}")))?;
                if chunk.is_empty() {
                    break;
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(bytes)
        };
        let result = tokio::time::timeout(deadline, read)
            .await
            .unwrap_or_else(|_| {
                Err(Error::DeadlineExceeded(format!(
                    "the swarm did not send it within {} s",
                    deadline.as_secs()
                )))
            });
        self.deselect(info_hash, index).await;
        result
    }

    /// Adds a torrent the library refers to but the engine does not hold: from the
    /// `.torrent` kept at eviction when there is one (no metadata wait), else the magnet.
    async fn add_back(&self, info_hash: &InfoHash, magnet: &str) -> Result<Arc<ManagedTorrent>> {
        let magnet = stored(magnet)?;
        let add = match tokio::fs::read(self.kept(info_hash)).await {
            Ok(bytes) => AddTorrent::from_bytes(bytes),
            Err(_) => AddTorrent::from_url(magnet.to_uri()),
        };
        let handle = self
            .add_with_timeout(
                add,
                AddTorrentOptions {
                    output_folder: Some(self.folder_for(info_hash)),
                    ..add_options(&magnet, Some(vec![]))
                },
            )
            .await?
            .into_handle()
            .ok_or_else(|| Error::Internal("torrent was not added".into()))?;
        info!(hash = %info_hash, "torrent added back for a read");
        Ok(handle)
    }

    /// Whether bytes `range` of file `index` are all on disk (false when not held).
    pub fn has_range(
        &self,
        info_hash: &InfoHash,
        index: usize,
        range: std::ops::Range<u64>,
    ) -> bool {
        let Some(t) = self.handle(info_hash) else {
            return false;
        };
        let Ok(Some(pieces)) = t.with_metadata(|m| {
            let file = m.file_infos.get(index)?;
            let piece = u64::from(m.lengths().default_piece_length());
            let end = range.end.min(file.len);
            if range.start >= end {
                return Some(0..0);
            }
            let first = (file.offset_in_torrent + range.start) / piece;
            let last = (file.offset_in_torrent + end - 1) / piece;
            Some(first as usize..last as usize + 1)
        }) else {
            return false;
        };
        let evicted = self.pieces.get(info_hash.as_str());
        match self.api.api_dump_haves(TorrentIdOrHash::Id(t.id())) {
            Ok((have, _)) => pieces.into_iter().all(|p| {
                have.get(p).is_some_and(|b| *b)
                    && !evicted.as_ref().is_some_and(|e| e.is_evicted(p))
            }),
            Err(_) => false,
        }
    }

    /// Which life of the torrent is current (see `Reader::generation`).
    pub fn generation(&self, info_hash: &InfoHash) -> u64 {
        generation_of(&self.generations, info_hash.as_str())
    }

    /// Takes a torrent out of the session (with its data when `files`); streams still open
    /// on it stop waiting.
    async fn delete(&self, t: &ManagedTorrent, info_hash: &InfoHash, files: bool) -> Result<()> {
        self.session
            .delete(TorrentIdOrHash::Id(t.id()), files)
            .await
            .map_err(engine_error)?;
        self.next_generation(info_hash);
        Ok(())
    }

    /// A torrent leaves the session under its streams: they stop waiting on it.
    fn next_generation(&self, info_hash: &InfoHash) {
        *self
            .generations
            .lock()
            .expect("generations lock")
            .entry(info_hash.as_str().to_string())
            .or_default() += 1;
        self.heals.send_modify(|n| *n += 1);
    }

    fn remember(&self, info_hash: &InfoHash, magnet: &str) {
        let mut magnets = self.magnets.lock().expect("magnets lock");
        if !magnets.contains_key(info_hash.as_str()) {
            magnets.insert(info_hash.as_str().to_string(), magnet.to_string());
        }
    }

    /// Near the disk budget: stop selecting files (and deselect those selected for reads),
    /// so nothing is fetched beyond the streams' windows. Off again below it.
    pub async fn set_frugal(&self, on: bool) {
        if self.frugal.swap(on, Ordering::Relaxed) == on || !on {
            return;
        }
        info!("disk cache near its budget: fetching only what streams ask for");
        let selected: Vec<(String, usize)> = self
            .read_selected
            .lock()
            .expect("selection lock")
            .iter()
            .cloned()
            .collect();
        for (hash, index) in selected {
            if let Ok(hash) = InfoHash::parse(&hash) {
                self.deselect(&hash, index).await;
            }
        }
    }

    /// Pins file `index` to disk: adds the torrent back if needed, selects the file for
    /// good (not as a read's selection, which lapses), resumes the torrent, and returns the
    /// file's bytes on disk and its size. Called again and again while it downloads: each
    /// call puts back what a heal or a restart undid.
    pub async fn pin(
        &self,
        info_hash: &InfoHash,
        magnet: &str,
        index: usize,
    ) -> Result<(u64, u64)> {
        self.remember(info_hash, magnet);
        let key = (info_hash.as_str().to_string(), index);
        // Counted as reading (for the idle rate) from its first pin until complete: once
        // per file, however often it is pinned again.
        let added = {
            let mut pinned = self.pinned.lock().expect("pin lock");
            let added = !pinned.contains_key(&key);
            if added {
                pinned.insert(key.clone(), false);
                self.busy.reading(true);
            }
            added
        };
        let progress = self.pin_step(info_hash, magnet, index, &key).await;
        let mut pinned = self.pinned.lock().expect("pin lock");
        match &progress {
            Ok((done, size)) if done >= size => {
                if pinned.insert(key, true) == Some(false) {
                    self.busy.reading(false);
                }
            }
            Ok(_) => {}
            // A pin that never started leaves nothing behind.
            Err(_) if added => {
                if pinned.remove(&key) == Some(false) {
                    self.busy.reading(false);
                }
            }
            Err(_) => {}
        }
        progress
    }

    /// `pin`'s work: the torrent there and initialized, the file selected for good and the
    /// torrent running while the file is incomplete.
    async fn pin_step(
        &self,
        info_hash: &InfoHash,
        magnet: &str,
        index: usize,
        key: &(String, usize),
    ) -> Result<(u64, u64)> {
        let handle = match self.handle(info_hash) {
            Some(h) => h,
            None => self.add_back(info_hash, magnet).await?,
        };
        // Its download counts as activity, so the idle loop leaves it running.
        self.touch(info_hash.as_str());
        tokio::time::timeout(self.metadata_timeout, handle.wait_until_initialized())
            .await
            .map_err(|_| {
                Error::DeadlineExceeded(format!(
                    "torrent start took longer than {} s",
                    self.metadata_timeout.as_secs()
                ))
            })?
            .map_err(engine_error)?;
        let (done, size) = self
            .file_progress(info_hash, index)
            .ok_or_else(|| Error::NotFound(format!("torrent {info_hash} has no file {index}")))?;
        let _one_at_a_time = self.selecting.lock().await;
        // A read's selection would lapse when the reading stops: this one stays.
        self.read_selected
            .lock()
            .expect("selection lock")
            .remove(key);
        if done >= size {
            return Ok((done, size));
        }
        if let Some(current) = handle.only_files() {
            let mut selected: HashSet<usize> = current.into_iter().collect();
            if selected.insert(index) {
                self.session
                    .update_only_files(&handle, &selected)
                    .await
                    .map_err(engine_error)?;
            }
        }
        if handle.is_paused() {
            info!(hash = %info_hash, index, "resuming torrent to download a pinned file");
            self.session.unpause(&handle).await.map_err(engine_error)?;
        }
        Ok((done, size))
    }

    /// The files pinned now.
    pub fn pinned_files(&self) -> Vec<(InfoHash, usize)> {
        self.pinned
            .lock()
            .expect("pin lock")
            .keys()
            .filter_map(|(h, i)| Some((InfoHash::parse(h).ok()?, *i)))
            .collect()
    }

    /// Lets a pinned file go: it is deselected unless someone reads it, and its pieces may
    /// be evicted again.
    pub async fn unpin(&self, info_hash: &InfoHash, index: usize) {
        let key = (info_hash.as_str().to_string(), index);
        let was = self.pinned.lock().expect("pin lock").remove(&key);
        if was == Some(false) {
            self.busy.reading(false);
        }
        if was.is_some() {
            // As if a read had selected it: `deselect` drops it once no stream is on it.
            self.read_selected
                .lock()
                .expect("selection lock")
                .insert(key);
            self.deselect(info_hash, index).await;
        }
    }

    /// Bytes of file `index` on disk (whole pieces, not evicted), and its size.
    pub fn file_progress(&self, info_hash: &InfoHash, index: usize) -> Option<(u64, u64)> {
        let t = self.handle(info_hash)?;
        let (piece, offset, len) = t
            .with_metadata(|m| {
                let file = m.file_infos.get(index)?;
                Some((
                    u64::from(m.lengths().default_piece_length()).max(1),
                    file.offset_in_torrent,
                    file.len,
                ))
            })
            .ok()
            .flatten()?;
        let (have, _) = self.api.api_dump_haves(TorrentIdOrHash::Id(t.id())).ok()?;
        let evicted = self.pieces.get(info_hash.as_str());
        if len == 0 {
            return Some((0, 0));
        }
        let done = (offset / piece..=(offset + len - 1) / piece)
            .filter(|p| {
                let p = *p as usize;
                have.get(p).is_some_and(|b| *b)
                    && !evicted.as_ref().is_some_and(|e| e.is_evicted(p))
            })
            .map(|p| {
                let (start, end) = (p * piece, (p + 1) * piece);
                end.min(offset + len) - start.max(offset)
            })
            .sum();
        Some((done, len))
    }

    /// Whether a file of the torrent is pinned (`complete`: only one still downloading).
    fn has_pin(&self, hash: &str, downloading_only: bool) -> bool {
        self.pinned
            .lock()
            .expect("pin lock")
            .iter()
            .any(|((h, _), complete)| h == hash && !(downloading_only && *complete))
    }

    /// Bytes pinned files take on disk: outside the disk budget.
    pub fn pinned_bytes(&self) -> u64 {
        let keys: Vec<(String, usize)> = self
            .pinned
            .lock()
            .expect("pin lock")
            .keys()
            .cloned()
            .collect();
        keys.iter()
            .filter_map(|(h, i)| {
                let hash = InfoHash::parse(h).ok()?;
                self.file_progress(&hash, *i).map(|(done, _)| done)
            })
            .sum()
    }

    /// The pieces of pinned files of a torrent, which the budget never evicts.
    fn pinned_pieces(&self, t: &ManagedTorrent, hash: &str) -> HashSet<usize> {
        let files: Vec<usize> = self
            .pinned
            .lock()
            .expect("pin lock")
            .keys()
            .filter(|(h, _)| h == hash)
            .map(|(_, i)| *i)
            .collect();
        if files.is_empty() {
            return HashSet::new();
        }
        t.with_metadata(|m| {
            let piece = u64::from(m.lengths().default_piece_length()).max(1);
            files
                .iter()
                .filter_map(|i| m.file_infos.get(*i))
                .filter(|f| f.len > 0)
                .flat_map(|f| {
                    let first = f.offset_in_torrent / piece;
                    let last = (f.offset_in_torrent + f.len - 1) / piece;
                    (first as usize)..=(last as usize)
                })
                .collect()
        })
        .unwrap_or_default()
    }

    /// Pieces on disk that could be evicted, with how long ago they were read and written.
    pub fn piece_candidates(&self) -> Vec<PieceCandidate> {
        let all: Vec<Arc<ManagedTorrent>> = self
            .session
            .with_torrents(|all| all.map(|(_, t)| t.clone()).collect());
        let mut out = Vec::new();
        for t in all {
            let hash = InfoHash::from(t.info_hash());
            let Some(pieces) = self.pieces.get(hash.as_str()) else {
                continue;
            };
            let Ok((have, _)) = self.api.api_dump_haves(TorrentIdOrHash::Id(t.id())) else {
                continue;
            };
            let pinned = self.pinned_pieces(&t, hash.as_str());
            for piece in have
                .iter_ones()
                .filter(|p| !pieces.is_evicted(*p) && !pinned.contains(p))
            {
                let (read_age, write_age) = pieces.ages(piece);
                out.push(PieceCandidate {
                    info_hash: hash.clone(),
                    piece,
                    bytes: pieces.piece_len(),
                    read_age,
                    write_age,
                });
            }
        }
        out
    }

    /// Frees the disk under `pieces` of a torrent; the next read of one heals the torrent.
    pub fn evict_pieces(&self, info_hash: &InfoHash, pieces: &[usize]) -> Result<()> {
        let t = self
            .handle(info_hash)
            .ok_or_else(|| not_managed(info_hash))?;
        let state = self
            .pieces
            .get(info_hash.as_str())
            .ok_or_else(|| not_managed(info_hash))?;
        let folder = t.output_folder().to_path_buf();
        let files: Vec<(PathBuf, u64, u64)> = t
            .with_metadata(|m| {
                m.file_infos
                    .iter()
                    .filter(|f| !f.attrs.padding)
                    .map(|f| {
                        (
                            folder.join(&f.relative_filename),
                            f.offset_in_torrent,
                            f.len,
                        )
                    })
                    .collect()
            })
            .map_err(engine_error)?;
        let piece_len = state.piece_len();
        let mut failed = None;
        state.evict(pieces, || {
            // Recorded before the holes exist: after a crash in between, the pieces are
            // known to be gone (and healed), never read as zeros.
            if let Err(e) = self.pieces.save(info_hash.as_str()) {
                failed = Some(format!("cannot record evicted pieces: {e}"));
                return;
            }
            for &p in pieces {
                let (start, end) = (p as u64 * piece_len, (p as u64 + 1) * piece_len);
                for (path, offset, len) in &files {
                    let (from, to) = (start.max(*offset), end.min(offset + len));
                    if from < to
                        && let Err(e) = cache::punch(path, from - offset, to - offset)
                    {
                        failed = Some(format!("{}: {e}", path.display()));
                    }
                }
            }
        });
        match failed {
            Some(e) => Err(Error::Internal(format!("cannot free disk space: {e}"))),
            None => Ok(()),
        }
    }

    /// Makes librqbit fetch evicted pieces again: removes the torrent from the session
    /// (keeping its files) and adds it back from its `.torrent`, so it checks the files,
    /// finds the holes and wants those pieces. Streams open on it end; readers reopen.
    pub async fn heal(&self, info_hash: &InfoHash) -> Result<()> {
        let _one_at_a_time = self.healing.lock().await;
        let Some(t) = self.handle(info_hash) else {
            return Ok(());
        };
        if !self
            .pieces
            .get(info_hash.as_str())
            .is_some_and(|p| p.any_evicted())
        {
            return Ok(());
        }
        let started = Instant::now();
        let magnet = self
            .magnets
            .lock()
            .expect("magnets lock")
            .get(info_hash.as_str())
            .map(|m| stored(m))
            .transpose()?;
        let bytes = t
            .with_metadata(|m| m.torrent_bytes.clone())
            .map_err(engine_error)?;
        // Kept first: if adding back fails, the next read adds it from this.
        tokio::fs::write(self.kept(info_hash), &bytes)
            .await
            .map_err(|e| Error::Internal(format!("cannot keep the .torrent: {e}")))?;
        let selected = t.only_files();
        // Where its files are (torrents added before folders per torrent sit at the top).
        let folder = t.output_folder().to_string_lossy().to_string();
        self.delete(&t, info_hash, false).await?;
        // librqbit's persistence skips this when it fails to flush; its claim that the
        // evicted pieces are there must not survive, or the re-add would trust it.
        let _ = std::fs::remove_file(self.state_dir.join(format!("{}.bitv", info_hash.as_str())));
        self.pieces.forget(info_hash.as_str());
        let options = match &magnet {
            Some(m) => AddTorrentOptions {
                output_folder: Some(folder),
                ..add_options(m, selected)
            },
            None => AddTorrentOptions {
                only_files: selected,
                overwrite: true,
                output_folder: Some(folder),
                ..Default::default()
            },
        };
        self.add_with_timeout(AddTorrent::from_bytes(bytes), options)
            .await?;
        info!(hash = %info_hash, took = ?started.elapsed(), "torrent checked again to fetch evicted pieces");
        Ok(())
    }

    /// Torrents with evicted pieces nobody has open: peers asking for those pieces would
    /// be turned away (and disconnected), so they are healed in the background.
    pub fn unhealed(&self) -> Vec<InfoHash> {
        let all: Vec<Arc<ManagedTorrent>> = self
            .session
            .with_torrents(|all| all.map(|(_, t)| t.clone()).collect());
        all.iter()
            .map(|t| InfoHash::from(t.info_hash()))
            .filter(|h| self.open_streams(h.as_str()) == 0)
            .filter(|h| self.pieces.get(h.as_str()).is_some_and(|p| p.any_evicted()))
            .collect()
    }

    /// The piece length and where file `index` starts in the torrent.
    pub fn piece_layout(&self, info_hash: &InfoHash, index: usize) -> Option<(u64, u64)> {
        let t = self.handle(info_hash)?;
        t.with_metadata(|m| {
            let file = m.file_infos.get(index)?;
            Some((
                u64::from(m.lengths().default_piece_length()),
                file.offset_in_torrent,
            ))
        })
        .ok()
        .flatten()
    }

    /// With `start_paused`, pauses a torrent that was only woken for a prefetch, once no
    /// stream is open on it.
    pub async fn pause_if_unread(&self, info_hash: &InfoHash) {
        let open = self.open_streams(info_hash.as_str());
        // One resumed by hand downloads until the user (or idleness) pauses it.
        let resumed = self
            .resumed
            .lock()
            .expect("resumed lock")
            .contains(info_hash.as_str());
        if !self.start_paused || open > 0 || resumed {
            return;
        }
        if let Some(t) = self.handle(info_hash)
            && matches!(t.stats().state, TorrentStatsState::Live)
            && let Err(e) = self.session.pause(&t).await
        {
            debug!(hash = %info_hash, "cannot pause after prefetch: {e:#}");
        }
    }

    /// Stops selecting file `index` if it was selected for a read: what nobody reads is not
    /// fetched. Its pieces stay on disk.
    pub async fn deselect(&self, info_hash: &InfoHash, index: usize) {
        self.drop_selection(info_hash, index, false).await;
    }

    /// Undoes `unstall` after the read returned, if the disk is still near its budget:
    /// selected, the whole file would be fetched.
    pub async fn restall(&self, info_hash: &InfoHash, index: usize) {
        if self.frugal.load(Ordering::Relaxed) {
            self.drop_selection(info_hash, index, true).await;
        }
    }

    /// Deselects a file selected for reads; unless `even_in_use`, only with no stream on it.
    async fn drop_selection(&self, info_hash: &InfoHash, index: usize, even_in_use: bool) {
        // Under the selection lock, and only with no stream on the file: an open that has
        // started counts already, so it cannot find its file deselected under it.
        let _one_at_a_time = self.selecting.lock().await;
        let in_use = !even_in_use
            && self
                .activity
                .lock()
                .expect("activity lock")
                .get(info_hash.as_str())
                .is_some_and(|a| a.per_file.contains_key(&index));
        let key = (info_hash.as_str().to_string(), index);
        if in_use
            || !self
                .read_selected
                .lock()
                .expect("selection lock")
                .remove(&key)
        {
            return;
        }
        let Some(t) = self.handle(info_hash) else {
            return;
        };
        if let Some(current) = t.only_files() {
            let selected: HashSet<usize> = current.into_iter().filter(|i| *i != index).collect();
            match self.session.update_only_files(&t, &selected).await {
                Ok(()) => debug!(hash = %info_hash, index, "file no longer read: deselected"),
                Err(e) => debug!(hash = %info_hash, index, "cannot deselect: {e:#}"),
            }
        }
    }

    /// Bytes on disk per torrent (allocated blocks) and when each was last read. Reads
    /// file metadata: call from a blocking thread.
    pub fn disk_usage(&self) -> Vec<TorrentUsage> {
        let all: Vec<Arc<ManagedTorrent>> = self
            .session
            .with_torrents(|all| all.map(|(_, t)| t.clone()).collect());
        let activity = self.activity.lock().expect("activity lock");
        all.iter()
            .map(|t| {
                let hash = InfoHash::from(t.info_hash());
                let a = activity.get(hash.as_str());
                TorrentUsage {
                    disk_bytes: disk_bytes(t),
                    open_streams: a.map(|a| a.open_streams).unwrap_or(0),
                    last_read: a.and_then(|a| a.last_read),
                    info_hash: hash,
                }
            })
            .collect()
    }

    /// Removes a torrent nobody reads and its data to free the disk; its `.torrent` is kept
    /// so the next read adds it back from the same swarm without a metadata wait. Refused
    /// (false) while a stream is open on it.
    pub async fn evict(&self, info_hash: &InfoHash) -> Result<bool> {
        let Some(t) = self.handle(info_hash) else {
            return Ok(false);
        };
        let open = self.open_streams(info_hash.as_str());
        if open > 0 || self.has_pin(info_hash.as_str(), false) {
            return Ok(false);
        }
        let bytes = t
            .with_metadata(|m| m.torrent_bytes.clone())
            .map_err(engine_error)?;
        let kept = self.kept(info_hash);
        tokio::fs::write(&kept, &bytes)
            .await
            .map_err(|e| Error::Internal(format!("cannot keep {}: {e}", kept.display())))?;
        self.delete(&t, info_hash, true).await?;
        self.read_selected
            .lock()
            .expect("selection lock")
            .retain(|(h, _)| h != info_hash.as_str());
        self.pieces.forget(info_hash.as_str());
        Ok(true)
    }

    /// Selects file `index`, then resumes the torrent if paused. Selecting first matters:
    /// a torrent resumed with nothing selected counts as finished, and librqbit drops or
    /// idles its peers for seconds before a stream brings them back. Serialised: two opens
    /// doing read-modify-write of the selection at once could drop each other's file, and
    /// two unpauses at once would fail one read.
    async fn prepare(
        &self,
        handle: &Arc<ManagedTorrent>,
        info_hash: &InfoHash,
        index: usize,
        deadline: Duration,
    ) -> Result<()> {
        // Not under the lock: a torrent checking its files must not hold up the others.
        tokio::time::timeout(deadline, handle.wait_until_initialized())
            .await
            .map_err(|_| {
                Error::DeadlineExceeded(format!(
                    "torrent start took longer than {} s",
                    deadline.as_secs()
                ))
            })?
            .map_err(engine_error)?;
        let _one_at_a_time = self.selecting.lock().await;
        if !self.frugal.load(Ordering::Relaxed) {
            self.select_for_read(handle, info_hash, index).await?;
        }
        if handle.is_paused() {
            info!(hash = %info_hash, "resuming torrent for a read");
            self.session.unpause(handle).await.map_err(engine_error)?;
        }
        Ok(())
    }

    /// Selects file `index` until its reading is over (`deselect`). Under `selecting`.
    async fn select_for_read(
        &self,
        handle: &Arc<ManagedTorrent>,
        info_hash: &InfoHash,
        index: usize,
    ) -> Result<bool> {
        // None means every file is selected already.
        let Some(current) = handle.only_files() else {
            return Ok(false);
        };
        let mut selected: HashSet<usize> = current.into_iter().collect();
        if !selected.insert(index) {
            return Ok(false);
        }
        // An unselected file idles the peers between requests (5–30 s stalls).
        self.session
            .update_only_files(handle, &selected)
            .await
            .map_err(engine_error)?;
        self.read_selected
            .lock()
            .expect("selection lock")
            .insert((info_hash.as_str().to_string(), index));
        Ok(true)
    }

    /// A read of file `index` has waited long: selects the file even near the disk budget
    /// (where opens leave it unselected). librqbit then reconnects the peers it let go
    /// and keeps requesting; an unselected file can stall a read until its timeout.
    /// Whether it selected it (then `restall` once the read returned).
    pub async fn unstall(&self, info_hash: &InfoHash, index: usize) -> bool {
        let Some(handle) = self.handle(info_hash) else {
            return false;
        };
        let _one_at_a_time = self.selecting.lock().await;
        match self.select_for_read(&handle, info_hash, index).await {
            Ok(true) => {
                info!(hash = %info_hash, index, "a read waited long on an unselected file: selected while it waits");
                true
            }
            Ok(false) => false,
            Err(e) => {
                debug!(hash = %info_hash, index, "cannot select a stalled file: {e}");
                false
            }
        }
    }

    /// Streams open on a torrent now (players', kept ones, prefetches).
    fn open_streams(&self, hash: &str) -> usize {
        self.activity
            .lock()
            .expect("activity lock")
            .get(hash)
            .map(|a| a.open_streams)
            .unwrap_or(0)
    }

    /// Records a read (and `delta` open streams) for idle detection.
    fn touch(&self, hash: &str) {
        let mut activity = self.activity.lock().expect("activity lock");
        activity.entry(hash.to_string()).or_default().last_read = Some(Instant::now());
    }

    /// Pauses torrents nobody has read for `idle_timeout`, until shutdown.
    pub async fn idle_loop(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let every =
            (self.idle_timeout / 4).clamp(Duration::from_millis(250), Duration::from_secs(15));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            let live: Vec<Arc<ManagedTorrent>> = self.session.with_torrents(|all| {
                all.map(|(_, t)| t.clone())
                    .filter(|t| !t.is_paused())
                    .collect()
            });
            for t in live {
                let hash = t.info_hash().as_string();
                // A pinned file still downloading keeps its torrent going.
                let idle = !self.has_pin(&hash, true) && {
                    let activity = self.activity.lock().expect("activity lock");
                    match activity.get(&hash) {
                        Some(a) if a.open_streams > 0 => false,
                        Some(a) => {
                            a.last_read.unwrap_or(self.started).elapsed() >= self.idle_timeout
                        }
                        None => self.started.elapsed() >= self.idle_timeout,
                    }
                };
                if idle && matches!(t.stats().state, TorrentStatsState::Live) {
                    info!(%hash, "pausing idle torrent");
                    if let Err(e) = self.session.pause(&t).await {
                        warn!(%hash, "cannot pause idle torrent: {e:#}");
                    }
                    self.forget_resumed(&hash);
                }
            }
        }
    }

    pub fn list(&self) -> Vec<TorrentStatus> {
        let all: Vec<Arc<ManagedTorrent>> = self
            .session
            .with_torrents(|all| all.map(|(_, t)| t.clone()).collect());
        let mut out: Vec<TorrentStatus> = all.iter().map(|t| self.status_of(t)).collect();
        out.sort_by_key(|t| t.name.to_lowercase());
        out
    }

    pub fn status(&self, info_hash: &InfoHash) -> Option<TorrentStatus> {
        self.handle(info_hash).map(|t| self.status_of(&t))
    }

    fn status_of(&self, t: &ManagedTorrent) -> TorrentStatus {
        let stats = t.stats();
        let hash = InfoHash::from(t.info_hash());
        let state = match stats.state {
            TorrentStatsState::Initializing { .. } => EngineState::Initializing,
            TorrentStatsState::Live => EngineState::Live,
            TorrentStatsState::Paused => EngineState::Paused,
            TorrentStatsState::Error => EngineState::Error,
        };
        let (peers, down, up) = stats
            .live
            .as_ref()
            .map(|l| {
                (
                    l.snapshot.peer_stats.live,
                    l.download_speed.as_bytes(),
                    l.upload_speed.as_bytes(),
                )
            })
            .unwrap_or_default();
        // progress counts selected files only; with nothing selected it is 0 of 0.
        let total: u64 = t
            .with_metadata(|m| m.file_infos.iter().map(|f| f.len).sum())
            .unwrap_or(stats.total_bytes);
        let have: u64 = stats.file_progress.iter().sum();
        let open_streams = self
            .activity
            .lock()
            .expect("activity lock")
            .get(hash.as_str())
            .map(|a| a.player_streams)
            .unwrap_or(0);
        TorrentStatus {
            disk_bytes: disk_bytes(t),
            name: t.name().unwrap_or_else(|| hash.to_string()),
            info_hash: hash,
            state,
            error: stats.error,
            progress_bytes: have,
            total_bytes: total,
            peers,
            download_bps: down,
            upload_bps: up,
            open_streams,
        }
    }

    pub async fn pause(&self, info_hash: &InfoHash) -> Result<()> {
        let t = self
            .handle(info_hash)
            .ok_or_else(|| not_managed(info_hash))?;
        if !t.is_paused() {
            self.session.pause(&t).await.map_err(engine_error)?;
        }
        self.forget_resumed(info_hash.as_str());
        Ok(())
    }

    /// A torrent resumed by hand no longer holds the idle rate off.
    fn forget_resumed(&self, hash: &str) {
        if self.resumed.lock().expect("resumed lock").remove(hash) {
            self.busy.reading(false);
        }
    }

    pub async fn resume(&self, info_hash: &InfoHash) -> Result<()> {
        let t = self
            .handle(info_hash)
            .ok_or_else(|| not_managed(info_hash))?;
        if t.is_paused() {
            self.session.unpause(&t).await.map_err(engine_error)?;
        }
        // A manual resume counts as activity, or the idle loop would pause it again at once.
        self.touch(info_hash.as_str());
        // And as reading, for the idle rate: the user asked for it to download.
        if self
            .resumed
            .lock()
            .expect("resumed lock")
            .insert(info_hash.as_str().to_string())
        {
            self.busy.reading(true);
        }
        Ok(())
    }

    /// Removes the torrent and the data it downloaded. Missing is not an error.
    pub async fn remove(&self, info_hash: &InfoHash) -> Result<bool> {
        // Not in the middle of a heal, which would add it back.
        let _no_heal = self.healing.lock().await;
        self.forget_kept(info_hash);
        self.pieces.forget(info_hash.as_str());
        self.forget_resumed(info_hash.as_str());
        let Some(t) = self.handle(info_hash) else {
            return Ok(false);
        };
        self.delete(&t, info_hash, true).await?;
        self.activity
            .lock()
            .expect("activity lock")
            .remove(info_hash.as_str());
        Ok(true)
    }

    /// Whether the torrent was evicted from the disk cache (and not added back since).
    pub fn is_evicted(&self, info_hash: &InfoHash) -> bool {
        self.handle(info_hash).is_none() && self.kept(info_hash).exists()
    }

    /// Where an evicted torrent's `.torrent` is kept.
    fn kept(&self, info_hash: &InfoHash) -> PathBuf {
        self.meta_dir
            .join(format!("{}.torrent", info_hash.as_str()))
    }

    /// Forgets an evicted torrent's kept `.torrent`.
    fn forget_kept(&self, info_hash: &InfoHash) {
        let _ = std::fs::remove_file(self.kept(info_hash));
    }

    /// Torrents the engine holds.
    pub fn count(&self) -> usize {
        self.session.with_torrents(|t| t.count())
    }
}

type ActivityMap = Arc<Mutex<HashMap<String, Activity>>>;
type Generations = Arc<Mutex<HashMap<String, u64>>>;

fn generation_of(generations: &Generations, hash: &str) -> u64 {
    generations
        .lock()
        .expect("generations lock")
        .get(hash)
        .copied()
        .unwrap_or(0)
}

/// A piece on disk the budget may evict.
#[derive(Debug, Clone)]
pub struct PieceCandidate {
    pub info_hash: InfoHash,
    pub piece: usize,
    pub bytes: u64,
    /// Seconds since it was last read / written; `None` for never.
    pub read_age: Option<u32>,
    pub write_age: Option<u32>,
}

/// One torrent's share of the disk cache.
#[derive(Debug, Clone)]
pub struct TorrentUsage {
    pub info_hash: InfoHash,
    pub disk_bytes: u64,
    pub open_streams: usize,
    pub last_read: Option<Instant>,
}

/// Allocated bytes of a torrent's files (sparse: only what was downloaded counts).
fn disk_bytes(t: &ManagedTorrent) -> u64 {
    let folder = t.output_folder().to_path_buf();
    t.with_metadata(|m| {
        m.file_infos
            .iter()
            .filter(|f| !f.attrs.padding)
            .filter_map(|f| std::fs::symlink_metadata(folder.join(&f.relative_filename)).ok())
            .map(|meta| meta.blocks() * 512)
            .sum()
    })
    .unwrap_or(0)
}

/// Marks the stream closed for idle detection when the reader goes away (a player that
/// disconnects drops the response body, and with it this guard).
struct ActivityGuard {
    hash: String,
    index: usize,
    activity: ActivityMap,
    player: bool,
    /// Counted in `Busy` (reading or about to): false while parked.
    reading: bool,
    busy: Arc<Busy>,
}

impl ActivityGuard {
    /// Counts a stream on file `index` from the moment its open starts, so neither an
    /// eviction nor a deselection can slip in while it opens.
    fn new(activity: &ActivityMap, busy: &Arc<Busy>, hash: &str, index: usize) -> ActivityGuard {
        busy.reading(true);
        let mut map = activity.lock().expect("activity lock");
        let a = map.entry(hash.to_string()).or_default();
        a.last_read = Some(Instant::now());
        a.open_streams += 1;
        a.player_streams += 1;
        *a.per_file.entry(index).or_default() += 1;
        ActivityGuard {
            hash: hash.to_string(),
            index,
            activity: activity.clone(),
            player: true,
            reading: true,
            busy: busy.clone(),
        }
    }

    fn reading(&mut self, on: bool) {
        if std::mem::replace(&mut self.reading, on) != on {
            self.busy.reading(on);
        }
    }
}

/// How many streams are reading (not parked), engine-wide. While none is, the session's
/// download rate is held at `torrent.idle_download_kib_s`. Why: librqbit's peers, once they
/// have nothing to request, sleep up to 5 s, and a new stream does not wake them. So a file
/// stays selected for `stream.reuse_idle_s` after its last reader, to keep the peers busy
/// for the player's next range; without a limit that linger fetches at the swarm's full
/// speed what nobody asked for (about 14 MiB in 3 s after a seek on a 5 MiB/s swarm).
/// Held back, the peers keep a request going and pick the next reader's pieces up at once.
struct Busy {
    session: Arc<Session>,
    idle_rate: Option<NonZeroU32>,
    readers: Mutex<usize>,
}

impl Busy {
    fn new(session: Arc<Session>, idle_rate: Option<NonZeroU32>) -> Arc<Busy> {
        session.ratelimits.set_download_bps(idle_rate);
        Arc::new(Busy {
            session,
            idle_rate,
            readers: Mutex::new(0),
        })
    }

    fn reading(&self, started: bool) {
        let mut n = self.readers.lock().expect("busy lock");
        let was = *n;
        *n = if started {
            was + 1
        } else {
            was.saturating_sub(1)
        };
        // Under the lock, so two readers changing places cannot leave the wrong rate set.
        if self.idle_rate.is_some() && (was == 0) != (*n == 0) {
            let rate = if *n == 0 { self.idle_rate } else { None };
            self.session.ratelimits.set_download_bps(rate);
        }
    }
}

/// A positioned stream on one file: every read has a deadline, and a short read before the
/// end is an error (never zeros).
pub struct Reader {
    /// Where a player's reads are recorded, for the disk budget's least-recently-played
    /// order; `None` for streams that only fetch (`unplayed`).
    played: Option<Arc<cache::Pieces>>,
    index: usize,
    /// Which life of its torrent it reads: a heal, an eviction or a removal starts a new
    /// one (librqbit reuses its own ids, so they cannot tell).
    generation: u64,
    heals: watch::Receiver<u64>,
    generations: Generations,
    stream: Stream,
    pos: u64,
    /// Moved to the end of the file by `park`; the next read moves it back to `pos`.
    parked: bool,
    len: u64,
    _permit: OwnedSemaphorePermit,
    activity: ActivityGuard,
    read_timeout: Duration,
}

impl Reader {
    /// Reads up to `max` bytes: at least one unless at the end of the file.
    pub async fn read(&mut self, max: usize) -> std::io::Result<Bytes> {
        if self.parked {
            self.seek(self.pos).await?;
        }
        let mut buf = BytesMut::zeroed(max);
        let deadline = self.read_timeout;
        let read = tokio::time::timeout(deadline, self.stream.read(&mut buf));
        tokio::pin!(read);
        // A heal removes the torrent under us: a read waiting for a piece of the old one
        // would never be woken.
        let n = loop {
            tokio::select! {
                r = &mut read => break r.map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!(
                            "no data from the swarm within {} s (torrent.read_timeout_s)",
                            deadline.as_secs()
                        ),
                    )
                })??,
                changed = self.heals.changed() => {
                    let now = generation_of(&self.generations, &self.activity.hash);
                    if now != self.generation || changed.is_err() {
                        return Err(std::io::Error::other("the torrent was added back; open it again"));
                    }
                }
            }
        };
        buf.truncate(n);
        if let Some(pieces) = &self.played {
            pieces.played(self.index, self.pos, n);
        }
        self.pos += n as u64;
        Ok(buf.freeze())
    }

    pub async fn seek(&mut self, pos: u64) -> std::io::Result<()> {
        self.activity.reading(true);
        self.stream.seek(SeekFrom::Start(pos)).await?;
        self.pos = pos;
        self.parked = false;
        Ok(())
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A stream that is not a player's (a prefetch, a read-ahead window): what it reads
    /// counts as not played yet, and `torrent get` does not list it among open streams.
    pub fn unplayed(mut self) -> Reader {
        self.played = None;
        if std::mem::replace(&mut self.activity.player, false) {
            let mut activity = self.activity.activity.lock().expect("activity lock");
            if let Some(a) = activity.get_mut(&self.activity.hash) {
                a.player_streams = a.player_streams.saturating_sub(1);
            }
        }
        self
    }

    /// Where the next read starts.
    pub fn position(&self) -> u64 {
        self.pos
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// Moves the stream to the end of its file, where its priority window is empty, so a
    /// stream kept for reuse fetches nothing; `seek` brings it back. librqbit's seek only
    /// sets a position (it completes at once), so this needs no await.
    /// Moves the stream to `pos` at once (see `park`), e.g. a read-ahead window following
    /// its reader.
    pub fn place(&mut self, pos: u64) {
        if std::pin::Pin::new(&mut self.stream)
            .start_seek(SeekFrom::Start(pos))
            .is_ok()
        {
            self.activity.reading(true);
            self.pos = pos;
            self.parked = false;
        }
    }

    pub fn park(&mut self) {
        if std::pin::Pin::new(&mut self.stream)
            .start_seek(SeekFrom::End(0))
            .is_ok()
        {
            self.activity.reading(false);
            self.parked = true;
        }
    }
}

impl Drop for ActivityGuard {
    fn drop(&mut self) {
        self.reading(false);
        let mut activity = self.activity.lock().expect("activity lock");
        let a = activity.entry(self.hash.clone()).or_default();
        a.last_read = Some(Instant::now());
        a.open_streams = a.open_streams.saturating_sub(1);
        if self.player {
            a.player_streams = a.player_streams.saturating_sub(1);
        }
        if let Some(n) = a.per_file.get_mut(&self.index) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                a.per_file.remove(&self.index);
            }
        }
    }
}

fn inspected(handle: &ManagedTorrent) -> Result<Inspected> {
    handle
        .with_metadata(|m| Inspected {
            info_hash: handle.info_hash().into(),
            name: handle
                .name()
                .unwrap_or_else(|| handle.info_hash().as_string()),
            files: list_files(m.file_infos.iter().map(|f| {
                (
                    f.relative_filename.to_string_lossy().replace('\\', "/"),
                    f.len,
                    f.attrs.padding,
                )
            })),
            torrent_bytes: m.torrent_bytes.clone(),
        })
        .map_err(engine_error)
}

/// Longest name of a file or folder on the file systems torrents are written to.
const MAX_NAME_BYTES: usize = 255;

/// A torrent whose name or file paths could not be files of their own (empty, `.`, `..`,
/// too long) is refused before anything is added or stored.
fn usable(i: Inspected) -> Result<Inspected> {
    let bad = |what: &str, name: &str| {
        Error::InvalidArgument(format!(
            "torrent {}: {what} `{}` cannot be a file name",
            i.info_hash,
            name.chars().take(80).collect::<String>()
        ))
    };
    // The name is not a folder on disk (each torrent writes into a folder named by its
    // hash); a single file's name is its path, checked here.
    let unusable = |c: &str| c.is_empty() || c == "." || c == ".." || c.len() > MAX_NAME_BYTES;
    for f in &i.files {
        if f.path.split('/').any(unusable) {
            return Err(bad("the path", &f.path));
        }
    }
    Ok(i)
}

/// Files in torrent order, BEP-47 padding files left out (the index stays librqbit's).
fn list_files(files: impl Iterator<Item = (String, u64, bool)>) -> Vec<TorrentFile> {
    files
        .enumerate()
        .filter(|(_, (_, _, padding))| !padding)
        .map(|(index, (path, size, _))| TorrentFile { index, path, size })
        .collect()
}

/// Adding a torrent for real: `only_files` selected, the magnet's peer hints and trackers
/// (librqbit ignores `x.pe`, and a `.torrent` added from bytes would lack the magnet's
/// trackers), existing data reused.
fn add_options(magnet: &Magnet, only_files: Option<Vec<usize>>) -> AddTorrentOptions {
    AddTorrentOptions {
        only_files,
        initial_peers: (!magnet.peers.is_empty()).then(|| magnet.peers.clone()),
        trackers: (!magnet.trackers.is_empty()).then(|| magnet.trackers.clone()),
        overwrite: true,
        ..Default::default()
    }
}

/// A magnet as the library stored it (checked when it was assigned).
fn stored(magnet: &str) -> Result<Magnet> {
    Magnet::parse_stored(magnet).map_err(|e| Error::Internal(e.to_string()))
}

fn not_managed(hash: &InfoHash) -> Error {
    Error::NotFound(format!(
        "torrent {hash} is not in the engine (see `momoctl torrent ls`)"
    ))
}

/// librqbit errors are anyhow chains; the messages that mean "no way to get metadata" are
/// the user's to fix.
fn engine_error(e: anyhow::Error) -> Error {
    let text = format!("{e:#}");
    debug!("torrent engine error: {text}");
    if text.contains("no known way to resolve peers")
        || text.contains("input address stream exhausted")
    {
        Error::DeadlineExceeded(format!(
            "cannot get the torrent's metadata: no reachable peer ({text}); check the magnet's trackers or x.pe peers"
        ))
    } else {
        Error::Unavailable(format!("torrent engine: {text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_files_are_hidden_but_indices_kept() {
        let files = list_files(
            vec![
                ("a.mkv".to_string(), 10, false),
                (".pad/1".into(), 5, true),
                ("b.srt".into(), 3, false),
            ]
            .into_iter(),
        );
        assert_eq!(
            files,
            vec![
                TorrentFile {
                    index: 0,
                    path: "a.mkv".into(),
                    size: 10
                },
                TorrentFile {
                    index: 2,
                    path: "b.srt".into(),
                    size: 3
                }
            ]
        );
    }
}
