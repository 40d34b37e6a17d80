//! The library: the rules of momoshtrem and its use-cases, over the store (rows), the TMDB
//! client (metadata), the torrent engine (files and streams) and the share's tree (paths).
//!
//! - `model`: the domain types everyone else speaks.
//! - `media`: movies and shows (add, list, get, remove, refresh, search).
//! - `assign`: attaching sources to movies and episodes (local files, torrent files,
//!   season packs) and detaching them.
//! - `limits`: bounds on titles, names, years, seasons and episodes, from users and TMDB.
//! - `pack`: reading release file names (which files are videos, which episodes a file holds)
//!   and mapping a pack's files to a show's episodes.
//! - `torrents`: the engine's torrents with the items that play from them.
//! - `pins`: sources pinned to disk (downloaded whole, never evicted).
//! - `intro`: skip markers (intro, credits), served as EDL sidecars.
//! - `trakt`: signing in to Trakt, and its lists brought into the library.
//! - `import`: Radarr and Sonarr libraries and M3U playlists, added in bulk.
//! - `subtitles`: attaching subtitles to items (by hand, from the item's torrent), listing
//!   and removing them.
//!
//! All fetching (TMDB, torrent metadata) happens before a write starts, and each use-case
//! writes in one transaction, so a failure anywhere leaves the library as it was.
mod assign;
mod import;
mod intro;
pub mod limits;
mod media;
pub mod model;
pub(crate) mod pack;
mod pins;
mod subtitles;
mod torrents;
mod trakt;

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::Result;
use crate::intro::Detector;
use crate::store::Store;
use crate::stream::Streamer;
use crate::subtitles::Files;
use crate::subtitles::opensubtitles::OpenSubtitles;
use crate::tmdb::Tmdb;
use crate::torrent::Engine;
use crate::trakt::Trakt;
use crate::vfs::Vfs;

pub use import::{
    ImportReport, ImportRow, M3uFilter, check_arr, check_m3u, check_playlist_url, hold_key,
    trakt_list,
};
pub use intro::{EpisodeIntro, IntroOutcome};
pub use media::{NewMovie, NewShow, RefreshReport, SearchResult};
pub use subtitles::OfferList;
pub use torrents::TorrentInput;
pub use trakt::History;

/// The services the library asks (OpenSubtitles is in `Subtitles`): web services, and
/// ffmpeg for skip-intro detection.
pub struct Clients {
    pub tmdb: Arc<Tmdb>,
    pub trakt: Arc<Trakt>,
    pub intros: Arc<Detector>,
}

/// What the library needs for subtitles.
#[derive(Clone)]
pub struct Subtitles {
    /// Where subtitles' bytes are kept.
    pub files: Files,
    pub opensubtitles: Arc<OpenSubtitles>,
    /// Languages searched and fetched when a request names none.
    pub languages: Vec<String>,
    /// Fetch what an item lacks after each assignment (`subtitles.auto`).
    pub auto: bool,
    /// Held while subtitle files and rows change together (`subtitles`).
    pub writes: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Clone)]
pub struct Library {
    store: Store,
    tmdb: Arc<Tmdb>,
    vfs: Arc<Vfs>,
    engine: Arc<Engine>,
    streamer: Arc<Streamer>,
    subs: Subtitles,
    /// Folders whose files may be assigned as local sources.
    local_roots: Vec<PathBuf>,
    trakt: Arc<Trakt>,
    intros: Arc<Detector>,
}

impl Library {
    pub fn new(
        store: Store,
        clients: Clients,
        vfs: Arc<Vfs>,
        engine: Arc<Engine>,
        streamer: Arc<Streamer>,
        subs: Subtitles,
        local_roots: Vec<PathBuf>,
    ) -> Library {
        let Clients {
            tmdb,
            trakt,
            intros,
        } = clients;
        Library {
            store,
            tmdb,
            vfs,
            engine,
            streamer,
            subs,
            local_roots,
            trakt,
            intros,
        }
    }

    /// Wakes on every committed library write.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.store.subscribe()
    }

    /// Where an item appears in the share, if it has a source.
    async fn share_path_of(&self, item: model::Item) -> Result<Option<String>> {
        Ok(self.vfs.tree().await?.path_of(item).map(str::to_string))
    }
}
