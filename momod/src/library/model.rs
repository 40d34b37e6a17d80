//! The library's domain types: what the rest of the daemon talks about. The store reads and
//! writes them; the gRPC layer translates them to and from protobuf; the share is built from
//! them. Kinds that are stored as text have exactly one mapping, here (`as_str` / `parse`).
use std::collections::BTreeSet;
use std::fmt;

use crate::error::{Error, Result};
use crate::torrent::{InfoHash, TorrentFile, TorrentStatus};

/// A library item that can carry a source: the key of assignments (and, later, of subtitles,
/// markers and jobs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Item {
    Movie(i64),
    Episode(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    Movie,
    Episode,
}

impl Item {
    pub fn kind(self) -> ItemKind {
        match self {
            Item::Movie(_) => ItemKind::Movie,
            Item::Episode(_) => ItemKind::Episode,
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Item::Movie(id) | Item::Episode(id) => id,
        }
    }

    /// NotFound, with where to look up the right id.
    pub fn not_found(self) -> Error {
        Error::NotFound(match self {
            Item::Movie(id) => {
                format!("no movie with id {id} in the library (see `momoctl movie ls`)")
            }
            Item::Episode(id) => {
                format!("no episode with id {id} in the library (see `momoctl show get SHOW_ID`)")
            }
        })
    }
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Movie => "movie",
            ItemKind::Episode => "episode",
        }
    }
}

/// "movie 3", "episode 12": how messages name an item.
impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind().as_str(), self.id())
    }
}

/// Where a source's bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// One file of a torrent.
    Torrent,
    /// A file under one of `library.local_roots`.
    Local,
    /// A file on a web server that answers range requests.
    Http,
}

impl SourceKind {
    /// The stored (and displayed) name.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Torrent => "torrent",
            SourceKind::Local => "local",
            SourceKind::Http => "http",
        }
    }

    pub fn parse(s: &str) -> Option<SourceKind> {
        match s {
            "torrent" => Some(SourceKind::Torrent),
            "local" => Some(SourceKind::Local),
            "http" => Some(SourceKind::Http),
            _ => None,
        }
    }
}

/// Movie or show, for lookups that treat both alike (search, the TMDB duplicate check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Movie,
    Show,
}

impl MediaKind {
    pub fn noun(self) -> &'static str {
        match self {
            MediaKind::Movie => "movie",
            MediaKind::Show => "show",
        }
    }
}

// ---------------------------------------------------------------------- movies and shows

#[derive(Debug, Clone, PartialEq)]
pub struct Movie {
    pub id: i64,
    pub tmdb_id: Option<i64>,
    pub title: String,
    pub year: Option<i32>,
    /// Whether it has an active source.
    pub assigned: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ShowSummary {
    pub id: i64,
    pub tmdb_id: Option<i64>,
    pub title: String,
    pub year: Option<i32>,
    pub season_count: i64,
    pub episode_count: i64,
    pub assigned_count: i64,
}

#[derive(Debug, Clone)]
pub struct ShowDetail {
    pub summary: ShowSummary,
    pub seasons: Vec<SeasonDetail>,
}

#[derive(Debug, Clone)]
pub struct SeasonDetail {
    pub id: i64,
    pub season_number: i32,
    pub episodes: Vec<EpisodeDetail>,
}

#[derive(Debug, Clone)]
pub struct EpisodeDetail {
    pub id: i64,
    pub episode_number: i32,
    pub name: Option<String>,
    pub air_date: Option<String>,
    pub assigned: bool,
}

/// The seasons a show keeps: those `show add --seasons` named (else every regular season),
/// plus season 0 when specials were asked for. Stored with the show so `refresh` keeps to it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeasonFilter {
    /// None: every regular season.
    pub only: Option<BTreeSet<i32>>,
    pub specials: bool,
}

impl SeasonFilter {
    pub fn wants(&self, season: i32) -> bool {
        match &self.only {
            Some(only) => only.contains(&season) || (season == 0 && self.specials),
            None => season > 0 || self.specials,
        }
    }

    /// The stored form of `only`: "1,3", or None for all.
    pub fn only_text(&self) -> Option<String> {
        self.only
            .as_ref()
            .map(|s| s.iter().map(i32::to_string).collect::<Vec<_>>().join(","))
    }

    /// Reads the stored form back; numbers that do not parse are ignored.
    pub fn from_stored(only: Option<&str>, specials: bool) -> SeasonFilter {
        SeasonFilter {
            only: only.map(|f| f.split(',').filter_map(|n| n.trim().parse().ok()).collect()),
            specials,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub movies: u64,
    pub shows: u64,
    pub seasons: u64,
    pub episodes: u64,
    pub assigned: u64,
}

// ---------------------------------------------------------------------- sources

/// Free-text labels of a release, shown beside a source ("1080p", "BluRay").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    pub resolution: Option<String>,
    /// Where the release came from (BluRay, WEB-DL): the `source` field of the API.
    pub release: Option<String>,
}

/// The file a source plays, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceFile {
    Local {
        /// Canonical absolute path.
        path: String,
    },
    Torrent {
        info_hash: InfoHash,
        /// Canonical magnet, so the engine can add the torrent again if it lost it.
        magnet: String,
        index: usize,
        /// Path inside the torrent.
        path: String,
    },
    Http {
        /// The URL as given, credentials and all: never shown or logged.
        url: String,
        /// What may be shown of it: scheme, host and last path segment. Its extension is
        /// the share file's.
        path: String,
    },
}

impl SourceFile {
    pub fn kind(&self) -> SourceKind {
        match self {
            SourceFile::Local { .. } => SourceKind::Local,
            SourceFile::Torrent { .. } => SourceKind::Torrent,
            SourceFile::Http { .. } => SourceKind::Http,
        }
    }

    /// The local path, the path inside the torrent, or the URL as it may be shown.
    pub fn path(&self) -> &str {
        match self {
            SourceFile::Local { path }
            | SourceFile::Torrent { path, .. }
            | SourceFile::Http { path, .. } => path,
        }
    }
}

/// Skip markers of an item's video, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Markers {
    pub item: Item,
    pub intro: Option<(f64, f64)>,
    /// Where the credits start, and end when known.
    pub credits: Option<(f64, Option<f64>)>,
    pub origin: MarkerOrigin,
    /// 0–1; 1 for manual ones.
    pub confidence: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerOrigin {
    Detected,
    Manual,
}

impl MarkerOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            MarkerOrigin::Detected => "detected",
            MarkerOrigin::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<MarkerOrigin> {
        match s {
            "detected" => Some(MarkerOrigin::Detected),
            "manual" => Some(MarkerOrigin::Manual),
            _ => None,
        }
    }
}

impl Markers {
    /// Kodi's EDL: one `start end action` line per segment, in seconds; action 3 is a
    /// commercial break, which Kodi skips (with a notification). Credits without an end
    /// are left out: an EDL segment needs one. None when there is nothing to write.
    pub fn edl(&self) -> Option<String> {
        let mut out = String::new();
        if let Some((start, end)) = self.intro {
            out.push_str(&format!("{start:.3}\t{end:.3}\t3\n"));
        }
        if let Some((start, Some(end))) = self.credits {
            out.push_str(&format!("{start:.3}\t{end:.3}\t3\n"));
        }
        (!out.is_empty()).then_some(out)
    }
}

/// Where a pin's download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinState {
    Downloading,
    Done,
    Failed,
}

impl PinState {
    pub fn as_str(self) -> &'static str {
        match self {
            PinState::Downloading => "downloading",
            PinState::Done => "done",
            PinState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<PinState> {
        [PinState::Downloading, PinState::Done, PinState::Failed]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// A source pinned to disk: downloaded whole, never evicted.
#[derive(Debug, Clone)]
pub struct Pin {
    pub assignment_id: i64,
    pub item: Item,
    pub file: SourceFile,
    pub size: u64,
    pub state: PinState,
    /// The job downloading it (the last one, once it ended).
    pub job_id: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// Filled by the library: bytes on disk now, and where the item is in the share.
    pub done: u64,
    pub share_path: String,
}

/// A source about to be attached to an item.
#[derive(Debug, Clone)]
pub struct NewSource {
    pub file: SourceFile,
    pub size: u64,
    pub labels: Labels,
}

/// An item's source, as stored.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub id: i64,
    pub item: Item,
    pub file: SourceFile,
    pub size: u64,
    pub labels: Labels,
    pub created_at: i64,
    /// Where the item appears (or appeared) in the share.
    pub share_path: String,
    /// The assignment this one replaced, when it did.
    pub replaced_id: Option<i64>,
    /// Subtitles attached along with it (those a torrent holds for the item).
    pub subtitles: Vec<Subtitle>,
}

// ---------------------------------------------------------------------- subtitles

/// Where a subtitle came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubtitleOrigin {
    /// A file of the torrent the item plays from.
    Torrent,
    OpenSubtitles,
    /// Added by hand (`momoctl subs add`).
    Local,
}

impl SubtitleOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            SubtitleOrigin::Torrent => "torrent",
            SubtitleOrigin::OpenSubtitles => "opensubtitles",
            SubtitleOrigin::Local => "local",
        }
    }

    pub fn parse(s: &str) -> Option<SubtitleOrigin> {
        match s {
            "torrent" => Some(SubtitleOrigin::Torrent),
            "opensubtitles" => Some(SubtitleOrigin::OpenSubtitles),
            "local" => Some(SubtitleOrigin::Local),
            _ => None,
        }
    }
}

/// A subtitle to attach; its bytes are already in `subtitles::Files`.
#[derive(Debug, Clone)]
pub struct NewSubtitle {
    pub language: String,
    pub forced: bool,
    pub sdh: bool,
    pub format: crate::subtitles::Format,
    pub origin: SubtitleOrigin,
    pub sha256: String,
    pub size: u64,
    pub source_name: String,
    pub provider_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Subtitle {
    pub id: i64,
    pub item: Item,
    pub language: String,
    pub forced: bool,
    pub sdh: bool,
    pub format: crate::subtitles::Format,
    pub origin: SubtitleOrigin,
    pub sha256: String,
    pub size: u64,
    pub source_name: String,
    pub provider_id: Option<String>,
    pub created_at: i64,
    /// Where it appears in the share; empty while its item has no source.
    pub share_path: String,
}

// ---------------------------------------------------------------------- torrents

/// How to choose the file of a single-item assignment.
pub enum FileChoice {
    Path(String),
    Index(usize),
    /// The only playable video (samples, extras and trailers never count).
    Auto,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackEpisode {
    pub id: i64,
    pub season_number: i32,
    pub episode_number: i32,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackMatch {
    pub episode: PackEpisode,
    pub file: TorrentFile,
    pub share_path: String,
}

#[derive(Debug, Clone)]
pub struct PackReport {
    pub info_hash: InfoHash,
    pub name: String,
    pub dry_run: bool,
    pub matched: Vec<PackMatch>,
    pub unmatched_files: Vec<TorrentFile>,
    pub missing_episodes: Vec<PackEpisode>,
    pub ambiguous: Vec<PackMatch>,
    /// The pack's subtitle files that go with matched episodes.
    pub subtitles: Vec<PackSubtitle>,
}

/// A subtitle file of a pack, the episode it goes with, and (unless a dry run, and once
/// fetched) the subtitle attached from it.
#[derive(Debug, Clone)]
pub struct PackSubtitle {
    pub episode: PackEpisode,
    pub file: TorrentFile,
    /// What its name says: language, forced, SDH.
    pub info: crate::subtitles::NameInfo,
    pub attached: Option<Subtitle>,
}

/// A library item whose active source is a file of a given torrent.
#[derive(Debug, Clone)]
pub struct TorrentUser {
    pub item: Item,
    pub file_path: String,
    pub share_path: String,
}

/// A torrent's state as users see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TorrentState {
    Initializing,
    Live,
    Paused,
    Error,
    /// Only the library knows it (the engine lost it); the next read adds it again.
    Missing,
    /// Removed from the disk cache to stay within `torrent.cache_max_mb`; the next read
    /// adds it again from its kept `.torrent` and fetches what it needs.
    Evicted,
}

impl TorrentState {
    pub fn as_str(self) -> &'static str {
        match self {
            TorrentState::Initializing => "initializing",
            TorrentState::Live => "live",
            TorrentState::Paused => "paused",
            TorrentState::Error => "error",
            TorrentState::Missing => "missing",
            TorrentState::Evicted => "evicted",
        }
    }
}

/// A torrent with the library items that play from it.
#[derive(Debug, Clone)]
pub struct TorrentView {
    pub info_hash: InfoHash,
    pub state: TorrentState,
    /// What the engine says; None when it does not hold the torrent.
    pub engine: Option<TorrentStatus>,
    pub used_by: Vec<TorrentUser>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn season_filters_keep_what_was_asked_for() {
        let all = SeasonFilter::default();
        assert!(all.wants(1) && all.wants(7) && !all.wants(0));
        let with_specials = SeasonFilter {
            only: None,
            specials: true,
        };
        assert!(with_specials.wants(0) && with_specials.wants(3));
        let some = SeasonFilter {
            only: Some([1, 3].into()),
            specials: false,
        };
        assert!(some.wants(1) && some.wants(3) && !some.wants(2) && !some.wants(0));
        // Specials come with a list too, and survive a round trip through the database.
        let stored = SeasonFilter::from_stored(Some("1,3"), true);
        assert_eq!(stored.only, some.only);
        assert!(stored.wants(0));
        assert_eq!(some.only_text().as_deref(), Some("1,3"));
        assert_eq!(all.only_text(), None);
        assert_eq!(SeasonFilter::from_stored(None, false), all);
    }

    #[test]
    fn kinds_have_one_text_form() {
        for kind in [SourceKind::Torrent, SourceKind::Local, SourceKind::Http] {
            assert_eq!(SourceKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(SourceKind::parse("ftp"), None);
        assert_eq!(Item::Episode(12).to_string(), "episode 12");
        assert_eq!(Item::Movie(3).kind().as_str(), "movie");
    }
}

/// One page of a list: `size` items from `offset`. The token handed to clients is the
/// offset of the next page, as text; clients treat it as opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: usize,
    pub size: usize,
}

impl Page {
    pub const DEFAULT_SIZE: usize = 500;
    pub const MAX_SIZE: usize = 1000;

    /// From a request's `page_size` (0 = default) and `page_token` ("" = first page).
    pub fn parse(size: u32, token: &str) -> Result<Page> {
        let size = match size as usize {
            0 => Page::DEFAULT_SIZE,
            n if n <= Page::MAX_SIZE => n,
            n => {
                return Err(Error::InvalidArgument(format!(
                    "page_size {n} is more than {}",
                    Page::MAX_SIZE
                )));
            }
        };
        let offset = if token.is_empty() {
            0
        } else {
            token
                .parse()
                .ok()
                .filter(|_| token.len() <= 20)
                .ok_or_else(|| {
                    Error::InvalidArgument(
                        "page_token is not one momod gave out (pass the last reply's next_page_token)"
                            .into(),
                    )
                })?
        };
        Ok(Page { offset, size })
    }

    /// This page of `all`, and the token of the next page when there is one.
    pub fn of<T>(self, all: Vec<T>) -> (Vec<T>, String) {
        let total = all.len();
        let items: Vec<T> = all.into_iter().skip(self.offset).take(self.size).collect();
        let end = self.offset.saturating_add(items.len());
        let next = if end < total {
            end.to_string()
        } else {
            String::new()
        };
        (items, next)
    }
}
