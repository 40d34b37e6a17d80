//! Piece-level eviction under librqbit's file storage.
//!
//! librqbit cannot forget a piece it holds: its have-bitfield is private, and every read of
//! a "have" piece goes straight to the file. So evicting a piece takes three steps:
//!
//! 1. mark it evicted here (persisted in `<data_dir>/torrent-meta/<hash>.evicted`, so a
//!    restart, whose fastresume data still claims the piece, knows too);
//! 2. punch a hole in the file where it was (`fallocate(PUNCH_HOLE)`), freeing the disk;
//! 3. when anything reads it again, the read fails (never zeros) and the engine *heals*
//!    the torrent: removes it from the session (keeping its files) and adds it back, so
//!    librqbit checks the files, finds the holes, and fetches those pieces again.
//!
//! The storage used during librqbit's initial check is lenient (holes read as zeros, so the
//! hash check simply fails for them); the one librqbit keeps afterwards (`take`) is strict.
//! Writes record when each piece was fetched; players' reads (through `Reader`, not the
//! storage: librqbit reads every piece back to check its hash) record when it was played.
use std::any::TypeId;
use std::collections::HashMap;
use std::io::IoSlice;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use librqbit::storage::filesystem::FilesystemStorageFactory;
use librqbit::storage::{BoxStorageFactory, StorageFactory, StorageFactoryExt, TorrentStorage};
use librqbit::{ManagedTorrentShared, TorrentMetadata};

/// The pieces of one torrent: where files sit, when each piece was last used, which are
/// evicted.
pub struct Pieces {
    piece_len: u64,
    /// Offset of each file in the torrent.
    file_offsets: Vec<u64>,
    /// Seconds since the registry started, +1 (0 = never). Read and write kept apart:
    /// data a player has read is what goes first.
    last_read: Vec<AtomicU32>,
    last_write: Vec<AtomicU32>,
    evicted: Vec<AtomicBool>,
    /// The registry's clock.
    started: Instant,
    /// Reads hold it shared, eviction exclusively: a piece is never punched under a read
    /// that has already passed its check.
    gate: RwLock<()>,
}

impl Pieces {
    pub fn piece_len(&self) -> u64 {
        self.piece_len
    }

    fn range(&self, file_id: usize, offset: u64, len: usize) -> std::ops::Range<usize> {
        let Some(start) = self.file_offsets.get(file_id).map(|o| o + offset) else {
            return 0..0;
        };
        let first = (start / self.piece_len) as usize;
        let last = ((start + len.max(1) as u64 - 1) / self.piece_len) as usize;
        first..(last + 1).min(self.evicted.len())
    }

    fn now(&self) -> u32 {
        (self.started.elapsed().as_secs() as u32).saturating_add(1)
    }

    fn touch(&self, clock: &[AtomicU32], file_id: usize, offset: u64, len: usize) {
        let now = self.now();
        for p in self.range(file_id, offset, len) {
            clock[p].store(now, Ordering::Relaxed);
        }
    }

    /// librqbit writes only pieces it lacks: a piece being written is being fetched again,
    /// and is no longer evicted (after a restart whose check found the hole, say).
    fn refetched(&self, file_id: usize, offset: u64, len: usize) {
        for p in self.range(file_id, offset, len) {
            self.evicted[p].store(false, Ordering::Relaxed);
        }
    }

    /// A player read `len` bytes at `offset` of file `file_id`.
    pub fn played(&self, file_id: usize, offset: u64, len: usize) {
        self.touch(&self.last_read, file_id, offset, len);
    }

    pub fn is_evicted(&self, piece: usize) -> bool {
        self.evicted
            .get(piece)
            .is_some_and(|e| e.load(Ordering::Relaxed))
    }

    pub fn any_evicted(&self) -> bool {
        self.evicted.iter().any(|e| e.load(Ordering::Relaxed))
    }

    /// (seconds since the last read, since the last write), `None` for never.
    pub fn ages(&self, piece: usize) -> (Option<u32>, Option<u32>) {
        let now = self.now();
        let age = |c: &AtomicU32| match c.load(Ordering::Relaxed) {
            0 => None,
            t => Some(now.saturating_sub(t)),
        };
        (age(&self.last_read[piece]), age(&self.last_write[piece]))
    }

    /// Marks pieces evicted and runs `punch` while no read can be inside them.
    pub fn evict(&self, pieces: &[usize], punch: impl FnOnce()) {
        let _exclusive = self.gate.write().expect("piece gate");
        for &p in pieces {
            if let Some(e) = self.evicted.get(p) {
                e.store(true, Ordering::Relaxed);
            }
        }
        punch();
    }

    fn evicted_bytes(&self) -> Vec<u8> {
        self.evicted
            .iter()
            .map(|e| u8::from(e.load(Ordering::Relaxed)))
            .collect()
    }
}

/// Every torrent's `Pieces`, shared by the storages librqbit creates and the engine.
pub struct Registry {
    meta_dir: PathBuf,
    started: Instant,
    torrents: Mutex<HashMap<String, Arc<Pieces>>>,
}

impl Registry {
    pub fn new(meta_dir: PathBuf) -> Arc<Registry> {
        Arc::new(Registry {
            meta_dir,
            started: Instant::now(),
            torrents: Mutex::new(HashMap::new()),
        })
    }

    pub fn get(&self, hash: &str) -> Option<Arc<Pieces>> {
        self.torrents.lock().expect("registry").get(hash).cloned()
    }

    fn evicted_file(&self, hash: &str) -> PathBuf {
        self.meta_dir.join(format!("{hash}.evicted"))
    }

    /// Persists which pieces of `hash` are evicted, atomically and durably: it must be on
    /// disk before the holes are.
    pub fn save(&self, hash: &str) -> std::io::Result<()> {
        use std::io::Write;
        let Some(p) = self.get(hash) else {
            return Ok(());
        };
        let path = self.evicted_file(hash);
        let tmp = path.with_extension("evicted.tmp");
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&p.evicted_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    }

    /// Forgets a torrent's pieces (it is being added back, or removed).
    pub fn forget(&self, hash: &str) {
        self.torrents.lock().expect("registry").remove(hash);
        let _ = std::fs::remove_file(self.evicted_file(hash));
    }

    fn create(&self, hash: String, metadata: &TorrentMetadata) -> Arc<Pieces> {
        let lengths = metadata.lengths();
        let count = lengths.total_pieces() as usize;
        let saved = std::fs::read(self.evicted_file(&hash)).unwrap_or_default();
        let pieces = Arc::new(Pieces {
            piece_len: u64::from(lengths.default_piece_length()).max(1),
            file_offsets: metadata
                .file_infos
                .iter()
                .map(|f| f.offset_in_torrent)
                .collect(),
            last_read: (0..count).map(|_| AtomicU32::new(0)).collect(),
            last_write: (0..count).map(|_| AtomicU32::new(0)).collect(),
            evicted: (0..count)
                .map(|i| AtomicBool::new(saved.get(i) == Some(&1)))
                .collect(),
            started: self.started,
            gate: RwLock::new(()),
        });
        self.torrents
            .lock()
            .expect("registry")
            .insert(hash, pieces.clone());
        pieces
    }
}

/// librqbit's file storage, with eviction on top.
#[derive(Clone)]
pub struct CacheStorageFactory {
    registry: Arc<Registry>,
}

impl CacheStorageFactory {
    pub fn new(registry: Arc<Registry>) -> CacheStorageFactory {
        CacheStorageFactory { registry }
    }
}

impl StorageFactory for CacheStorageFactory {
    type Storage = CacheStorage;

    fn create(
        &self,
        shared: &ManagedTorrentShared,
        metadata: &TorrentMetadata,
    ) -> anyhow::Result<CacheStorage> {
        let inner = FilesystemStorageFactory::default().create(shared, metadata)?;
        let pieces = self.registry.create(shared.info_hash.as_string(), metadata);
        Ok(CacheStorage {
            inner: Box::new(inner),
            pieces,
            strict: false,
        })
    }

    /// librqbit's persistence treats file storage specially; this is file storage.
    fn is_type_id(&self, type_id: TypeId) -> bool {
        type_id == TypeId::of::<FilesystemStorageFactory>() || type_id == TypeId::of::<Self>()
    }

    fn clone_box(&self) -> BoxStorageFactory {
        self.clone().boxed()
    }
}

pub struct CacheStorage {
    inner: Box<dyn TorrentStorage>,
    pieces: Arc<Pieces>,
    /// Off during the initial check (holes must read as data that fails its hash).
    strict: bool,
}

impl TorrentStorage for CacheStorage {
    fn init(
        &mut self,
        shared: &ManagedTorrentShared,
        metadata: &TorrentMetadata,
    ) -> anyhow::Result<()> {
        self.inner.init(shared, metadata)
    }

    fn pread_exact(&self, file_id: usize, offset: u64, buf: &mut [u8]) -> anyhow::Result<()> {
        let _shared = self.pieces.gate.read().expect("piece gate");
        if self.strict
            && let Some(p) = self
                .pieces
                .range(file_id, offset, buf.len())
                .find(|p| self.pieces.is_evicted(*p))
        {
            anyhow::bail!("{EVICTED}: piece {p}");
        }
        self.inner.pread_exact(file_id, offset, buf)
    }

    fn pwrite_all(&self, file_id: usize, offset: u64, buf: &[u8]) -> anyhow::Result<()> {
        self.inner.pwrite_all(file_id, offset, buf)?;
        self.pieces.refetched(file_id, offset, buf.len());
        self.pieces
            .touch(&self.pieces.last_write, file_id, offset, buf.len());
        Ok(())
    }

    fn pwrite_all_vectored(
        &self,
        file_id: usize,
        offset: u64,
        bufs: [IoSlice<'_>; 2],
    ) -> anyhow::Result<usize> {
        let n = self.inner.pwrite_all_vectored(file_id, offset, bufs)?;
        self.pieces.refetched(file_id, offset, n);
        self.pieces
            .touch(&self.pieces.last_write, file_id, offset, n);
        Ok(n)
    }

    fn remove_file(&self, file_id: usize, filename: &Path) -> anyhow::Result<()> {
        self.inner.remove_file(file_id, filename)
    }

    fn remove_directory_if_empty(&self, path: &Path) -> anyhow::Result<()> {
        self.inner.remove_directory_if_empty(path)
    }

    fn ensure_file_length(&self, file_id: usize, length: u64) -> anyhow::Result<()> {
        self.inner.ensure_file_length(file_id, length)
    }

    /// librqbit takes the storage over after its initial check: from then on, a read of
    /// an evicted piece fails.
    fn take(&self) -> anyhow::Result<Box<dyn TorrentStorage>> {
        Ok(Box::new(CacheStorage {
            inner: self.inner.take()?,
            pieces: self.pieces.clone(),
            strict: true,
        }))
    }
}

/// In the error of a read that reached an evicted piece.
pub const EVICTED: &str = "evicted from the disk cache";

/// Frees the blocks of `[start, end)` of `path` that lie wholly inside the range (the
/// partial blocks at its edges hold neighbouring pieces' bytes).
pub fn punch(path: &Path, start: u64, end: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    const BLOCK: u64 = 4096;
    let (from, to) = (start.div_ceil(BLOCK) * BLOCK, end / BLOCK * BLOCK);
    if to <= from {
        return Ok(());
    }
    let file = std::fs::OpenOptions::new().write(true).open(path)?;
    // SAFETY: a plain syscall on a descriptor we own for the duration of the call.
    let rc = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            from as libc::off_t,
            (to - from) as libc::off_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
