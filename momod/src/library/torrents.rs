//! Torrents as users see them: what the engine holds, joined with the library items that
//! play from each torrent. A torrent only the library knows (the engine lost it) is listed
//! as `missing`; the next read adds it again.
use std::collections::BTreeMap;

use super::Library;
use super::model::{Item, TorrentState, TorrentUser, TorrentView};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::torrent::magnet::MAX_MAGNET_BYTES;
use crate::torrent::{
    Engine, EngineState, InfoHash, Inspected, MAX_TORRENT_FILE_BYTES, Magnet, TorrentStatus,
};

/// Fetches a `.torrent` file: bounded in time and size; the URL's credentials never shown.
async fn fetch_torrent(url: &reqwest::Url) -> Result<Vec<u8>> {
    crate::web::fetch_file(
        url,
        "the .torrent at",
        TORRENT_URL_TIMEOUT,
        MAX_TORRENT_FILE_BYTES,
    )
    .await
}

/// How a user names a torrent: a magnet or the http(s) URL of a `.torrent` file, or a
/// `.torrent` file's bytes.
#[derive(Debug, Clone, Copy)]
pub enum TorrentInput<'a> {
    Text(&'a str),
    File(&'a [u8]),
}

/// How long fetching a `.torrent` URL may take.
const TORRENT_URL_TIMEOUT: Duration = Duration::from_secs(30);

fn torrent_url(text: &str) -> Option<reqwest::Url> {
    let url = reqwest::Url::parse(text).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

impl TorrentInput<'_> {
    /// What can be checked at once: a magnet parses, a URL is one, a file decodes.
    pub fn check(self) -> Result<()> {
        match self {
            TorrentInput::File(bytes) => Engine::inspect_file(bytes).map(drop),
            TorrentInput::Text(t) if t.len() > MAX_MAGNET_BYTES => {
                Err(Error::InvalidArgument(format!(
                    "the magnet or URL is {} bytes long; at most {MAX_MAGNET_BYTES} are accepted",
                    t.len()
                )))
            }
            TorrentInput::Text(t) if torrent_url(t).is_some() => Ok(()),
            TorrentInput::Text(t) => Magnet::parse(t)
                .map(drop)
                .map_err(|e| Error::InvalidArgument(e.to_string())),
        }
    }
}

impl Library {
    /// The torrent's magnet, and what it holds: from the `.torrent` (given, or fetched from
    /// its URL) without the swarm, or from the swarm's metadata for a magnet.
    pub(super) async fn inspect_input(
        &self,
        input: TorrentInput<'_>,
    ) -> Result<(Magnet, Inspected)> {
        input.check()?;
        match input {
            TorrentInput::File(bytes) => Engine::inspect_file(bytes),
            TorrentInput::Text(t) => match torrent_url(t) {
                Some(url) => Engine::inspect_file(&fetch_torrent(&url).await?),
                None => {
                    let magnet =
                        Magnet::parse(t).map_err(|e| Error::InvalidArgument(e.to_string()))?;
                    let inspected = self.engine.inspect(&magnet).await?;
                    Ok((magnet, inspected))
                }
            },
        }
    }

    /// Turns a `.torrent` URL into the file it names, in place (`text` emptied, `file`
    /// filled), so what is kept of a request (a job's payload) holds no URL credentials.
    /// Anything else is left as it is.
    pub async fn fetch_torrent_url(&self, text: &mut String, file: &mut Vec<u8>) -> Result<()> {
        if !file.is_empty() {
            return Ok(());
        }
        if let Some(url) = torrent_url(text) {
            *file = fetch_torrent(&url).await?;
            text.clear();
        }
        Ok(())
    }

    /// The files of a torrent (nothing is added).
    pub async fn torrent_files(&self, input: TorrentInput<'_>) -> Result<Inspected> {
        Ok(self.inspect_input(input).await?.1)
    }

    /// Every torrent the engine holds or the library uses, the engine's first (by name).
    pub async fn list_torrents(&self) -> Result<Vec<TorrentView>> {
        let mut users = self.torrent_users().await?;
        let mut out = Vec::new();
        for status in self.engine.list() {
            let used_by = users.remove(&status.info_hash).unwrap_or_default();
            out.push(view(status.info_hash.clone(), Some(status), false, used_by));
        }
        for (hash, used_by) in users {
            let evicted = self.engine.is_evicted(&hash);
            out.push(view(hash, None, evicted, used_by));
        }
        Ok(out)
    }

    pub async fn get_torrent(&self, hash: &InfoHash) -> Result<TorrentView> {
        let used_by = self.torrent_users().await?.remove(hash).unwrap_or_default();
        let status = self.engine.status(hash);
        if status.is_none() && used_by.is_empty() {
            return Err(no_torrent(hash));
        }
        let evicted = status.is_none() && self.engine.is_evicted(hash);
        Ok(view(hash.clone(), status, evicted, used_by))
    }

    pub async fn pause_torrent(&self, hash: &InfoHash) -> Result<TorrentView> {
        self.engine.pause(hash).await?;
        self.get_torrent(hash).await
    }

    pub async fn resume_torrent(&self, hash: &InfoHash) -> Result<TorrentView> {
        self.engine.resume(hash).await?;
        self.get_torrent(hash).await
    }

    /// Removes a torrent from the engine (with its downloaded data). Refused while library
    /// items play from it, unless `force`, which unassigns them first. Returns the items
    /// that were unassigned.
    pub async fn remove_torrent(&self, hash: &InfoHash, force: bool) -> Result<Vec<Item>> {
        let users = self.torrent_users().await?.remove(hash).unwrap_or_default();
        if !users.is_empty() && !force {
            let list = users
                .iter()
                .take(10)
                .map(|u| u.item.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::FailedPrecondition(format!(
                "torrent {hash} is the source of {} library item(s) ({list}); \
                 unassign them or use --force to unassign and remove",
                users.len()
            )));
        }
        let removed_from_engine = self.engine.remove(hash).await?;
        if !removed_from_engine && users.is_empty() {
            return Err(no_torrent(hash));
        }
        self.store.detach_torrent(hash).await?;
        Ok(users.into_iter().map(|u| u.item).collect())
    }

    /// How many torrents the engine holds.
    pub fn torrent_count(&self) -> usize {
        self.engine.count()
    }

    /// The disk cache and the streams behind the share, for `status`.
    pub async fn playback(&self) -> crate::stream::PlaybackStats {
        self.streamer.stats().await
    }

    /// Active torrent sources by torrent, each with where the item appears in the share.
    async fn torrent_users(&self) -> Result<BTreeMap<InfoHash, Vec<TorrentUser>>> {
        let sources = self.store.torrent_sources().await?;
        let tree = self.vfs.tree().await?;
        let mut out: BTreeMap<InfoHash, Vec<TorrentUser>> = BTreeMap::new();
        for (hash, item, file_path) in sources {
            out.entry(hash).or_default().push(TorrentUser {
                item,
                file_path,
                share_path: tree.path_of(item).unwrap_or_default().to_string(),
            });
        }
        Ok(out)
    }
}

fn view(
    info_hash: InfoHash,
    engine: Option<TorrentStatus>,
    evicted: bool,
    used_by: Vec<TorrentUser>,
) -> TorrentView {
    let state = match engine.as_ref().map(|s| s.state) {
        Some(EngineState::Initializing) => TorrentState::Initializing,
        Some(EngineState::Live) => TorrentState::Live,
        Some(EngineState::Paused) => TorrentState::Paused,
        Some(EngineState::Error) => TorrentState::Error,
        None if evicted => TorrentState::Evicted,
        None => TorrentState::Missing,
    };
    TorrentView {
        info_hash,
        state,
        engine,
        used_by,
    }
}

fn no_torrent(hash: &InfoHash) -> Error {
    Error::NotFound(format!("no torrent {hash} (see `momoctl torrent ls`)"))
}
