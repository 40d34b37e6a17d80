//! Every `-o json` shape, in one place: the stable contract scripts rely on. Each is built
//! from the daemon's protobuf reply (`From<pb::…>`), and the tests below hold each one to the
//! field list the README documents (its "JSON shapes" block), so the two cannot drift apart.
use momo_proto::v1 as pb;
use serde::Serialize;

/// "movie" or "episode"; "unknown" for a kind this momoctl does not know (a newer daemon).
pub fn item_kind(kind: i32) -> &'static str {
    match pb::ItemKind::try_from(kind) {
        Ok(pb::ItemKind::Movie) => "movie",
        Ok(pb::ItemKind::Episode) => "episode",
        _ => "unknown",
    }
}

#[derive(Serialize)]
pub struct Status {
    pub version: String,
    pub uptime_seconds: u64,
    pub data_dir: String,
    pub grpc_listen: Vec<String>,
    pub webdav_listen: String,
    pub movies: u64,
    pub shows: u64,
    pub seasons: u64,
    pub episodes: u64,
    pub assigned: u64,
    pub torrents: u64,
    pub active_jobs: u64,
    /// Bytes the torrents take on disk, and the budget (0 = unbounded).
    pub cache_used_bytes: u64,
    pub cache_max_bytes: u64,
    pub streams_opened: u64,
    pub streams_reused: u64,
    pub evicted_torrents: u64,
    pub evicted_bytes: u64,
}

impl From<pb::StatusResponse> for Status {
    fn from(s: pb::StatusResponse) -> Status {
        let counts = s.library.unwrap_or_default();
        let playback = s.playback.unwrap_or_default();
        Status {
            version: s.version,
            uptime_seconds: s.uptime_seconds,
            data_dir: s.data_dir,
            grpc_listen: s.grpc_listen,
            webdav_listen: s.webdav_listen,
            movies: counts.movies,
            shows: counts.shows,
            seasons: counts.seasons,
            episodes: counts.episodes,
            assigned: counts.assigned,
            torrents: counts.torrents,
            active_jobs: counts.active_jobs,
            cache_used_bytes: playback.cache_used_bytes,
            cache_max_bytes: playback.cache_max_bytes,
            streams_opened: playback.streams_opened,
            streams_reused: playback.streams_reused,
            evicted_torrents: playback.evicted_torrents,
            evicted_bytes: playback.evicted_bytes,
        }
    }
}

#[derive(Serialize)]
pub struct Movie {
    pub id: i64,
    pub tmdb_id: Option<i64>,
    pub title: String,
    pub year: Option<i32>,
    pub assigned: bool,
}

impl From<pb::Movie> for Movie {
    fn from(m: pb::Movie) -> Movie {
        Movie {
            id: m.id,
            tmdb_id: m.tmdb_id,
            title: m.title,
            year: m.year,
            assigned: m.assigned,
        }
    }
}

#[derive(Serialize)]
pub struct ShowSummary {
    pub id: i64,
    pub tmdb_id: Option<i64>,
    pub title: String,
    pub year: Option<i32>,
    pub season_count: u32,
    pub episode_count: u32,
    pub assigned_count: u32,
}

impl From<pb::Show> for ShowSummary {
    fn from(s: pb::Show) -> ShowSummary {
        ShowSummary {
            id: s.id,
            tmdb_id: s.tmdb_id,
            title: s.title,
            year: s.year,
            season_count: s.season_count,
            episode_count: s.episode_count,
            assigned_count: s.assigned_count,
        }
    }
}

#[derive(Serialize)]
pub struct Show {
    pub id: i64,
    pub tmdb_id: Option<i64>,
    pub title: String,
    pub year: Option<i32>,
    pub seasons: Vec<Season>,
}

#[derive(Serialize)]
pub struct Season {
    pub season_number: i32,
    pub episodes: Vec<Episode>,
}

#[derive(Serialize)]
pub struct Episode {
    pub id: i64,
    pub episode_number: i32,
    pub name: Option<String>,
    pub air_date: Option<String>,
    pub assigned: bool,
}

impl From<pb::Show> for Show {
    fn from(s: pb::Show) -> Show {
        Show {
            id: s.id,
            tmdb_id: s.tmdb_id,
            title: s.title,
            year: s.year,
            seasons: s.seasons.into_iter().map(Season::from).collect(),
        }
    }
}

impl From<pb::Season> for Season {
    fn from(s: pb::Season) -> Season {
        Season {
            season_number: s.season_number,
            episodes: s.episodes.into_iter().map(Episode::from).collect(),
        }
    }
}

impl From<pb::Episode> for Episode {
    fn from(e: pb::Episode) -> Episode {
        Episode {
            id: e.id,
            episode_number: e.episode_number,
            name: e.name,
            air_date: e.air_date,
            assigned: e.assigned,
        }
    }
}

#[derive(Serialize)]
pub struct Refresh {
    pub show: Show,
    pub added_seasons: u32,
    pub added_episodes: u32,
    pub updated_episodes: u32,
}

impl From<pb::RefreshShowResponse> for Refresh {
    fn from(r: pb::RefreshShowResponse) -> Refresh {
        Refresh {
            show: r.show.unwrap_or_default().into(),
            added_seasons: r.added_seasons,
            added_episodes: r.added_episodes,
            updated_episodes: r.updated_episodes,
        }
    }
}

#[derive(Serialize)]
pub struct SearchResult {
    pub tmdb_id: i64,
    pub title: String,
    pub year: Option<i32>,
    pub original_title: String,
    pub in_library: bool,
}

impl From<pb::SearchResult> for SearchResult {
    fn from(r: pb::SearchResult) -> SearchResult {
        SearchResult {
            tmdb_id: r.tmdb_id,
            title: r.title,
            year: r.year,
            original_title: r.original_title,
            in_library: r.in_library,
        }
    }
}

#[derive(Serialize)]
pub struct Assignment {
    pub id: i64,
    pub item_kind: &'static str,
    pub item_id: i64,
    pub source_kind: String,
    pub file_path: String,
    pub file_size: u64,
    pub info_hash: Option<String>,
    pub file_index: Option<i32>,
    pub resolution: Option<String>,
    pub source: Option<String>,
    pub created_at: i64,
    pub share_path: String,
    pub replaced_id: Option<i64>,
    /// Subtitles attached with it (those the torrent held for the item).
    pub subtitles: Vec<Subtitle>,
}

impl From<pb::Assignment> for Assignment {
    fn from(a: pb::Assignment) -> Assignment {
        let item = a.item.unwrap_or_default();
        Assignment {
            id: a.id,
            item_kind: item_kind(item.kind),
            item_id: item.id,
            source_kind: a.source_kind,
            file_path: a.file_path,
            file_size: a.file_size,
            info_hash: a.info_hash,
            file_index: a.file_index,
            resolution: a.resolution,
            source: a.source,
            created_at: a.created_at,
            share_path: a.share_path,
            replaced_id: a.replaced_id,
            subtitles: a.subtitles.into_iter().map(Subtitle::from).collect(),
        }
    }
}

#[derive(Serialize)]
pub struct Subtitle {
    pub id: i64,
    pub item_kind: &'static str,
    pub item_id: i64,
    pub language: String,
    pub forced: bool,
    pub sdh: bool,
    pub format: String,
    pub origin: String,
    pub size: u64,
    pub source_name: String,
    pub share_path: String,
    pub created_at: i64,
}

impl From<pb::Subtitle> for Subtitle {
    fn from(s: pb::Subtitle) -> Subtitle {
        let item = s.item.unwrap_or_default();
        Subtitle {
            id: s.id,
            item_kind: item_kind(item.kind),
            item_id: item.id,
            language: s.language,
            forced: s.forced,
            sdh: s.sdh,
            format: s.format,
            origin: s.origin,
            size: s.size,
            source_name: s.source_name,
            share_path: s.share_path,
            created_at: s.created_at,
        }
    }
}

#[derive(Serialize)]
pub struct ImportReport {
    pub dry_run: bool,
    pub rows: Vec<ImportRow>,
}

#[derive(Serialize)]
pub struct ImportRow {
    pub outcome: String,
    /// movie, show or episode.
    pub kind: String,
    pub movie_id: Option<i64>,
    pub show_id: Option<i64>,
    pub episode_id: Option<i64>,
    pub season_number: Option<i32>,
    pub episode_number: Option<i32>,
    pub tmdb_id: Option<i64>,
    pub title: String,
    pub year: Option<i32>,
    pub file_path: Option<String>,
    pub files: u32,
    pub note: String,
}

impl From<pb::ImportReport> for ImportReport {
    fn from(r: pb::ImportReport) -> ImportReport {
        ImportReport {
            dry_run: r.dry_run,
            rows: r
                .rows
                .into_iter()
                .map(|row| ImportRow {
                    outcome: row.outcome,
                    kind: row.kind,
                    movie_id: row.movie_id,
                    show_id: row.show_id,
                    episode_id: row.episode_id,
                    season_number: row.season_number,
                    episode_number: row.episode_number,
                    files: row.files,
                    tmdb_id: row.tmdb_id,
                    title: row.title,
                    year: row.year,
                    file_path: row.file_path,
                    note: row.note,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
pub struct Markers {
    pub item_kind: &'static str,
    pub item_id: i64,
    pub intro_start_s: Option<f64>,
    pub intro_end_s: Option<f64>,
    pub credits_start_s: Option<f64>,
    pub credits_end_s: Option<f64>,
    /// manual or detected.
    pub origin: String,
    pub confidence: f64,
}

impl From<pb::Markers> for Markers {
    fn from(m: pb::Markers) -> Markers {
        let item = m.item.unwrap_or_default();
        Markers {
            item_kind: item_kind(item.kind),
            item_id: item.id,
            intro_start_s: m.intro_start_s,
            intro_end_s: m.intro_end_s,
            credits_start_s: m.credits_start_s,
            credits_end_s: m.credits_end_s,
            origin: m.origin,
            confidence: m.confidence,
        }
    }
}

#[derive(Serialize)]
pub struct IntroReport {
    pub episodes: Vec<EpisodeIntro>,
}

#[derive(Serialize)]
pub struct EpisodeIntro {
    pub episode_id: i64,
    pub season_number: i32,
    pub episode_number: i32,
    /// found, no common segment, manual markers kept, or failed.
    pub outcome: String,
    pub markers: Option<Markers>,
    pub error: Option<String>,
}

impl From<pb::IntroReport> for IntroReport {
    fn from(r: pb::IntroReport) -> IntroReport {
        IntroReport {
            episodes: r
                .episodes
                .into_iter()
                .map(|e| EpisodeIntro {
                    episode_id: e.episode_id,
                    season_number: e.season_number,
                    episode_number: e.episode_number,
                    outcome: e.outcome,
                    markers: e.markers.map(Markers::from),
                    error: e.error,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
pub struct TraktStatus {
    pub configured: bool,
    pub signed_in: bool,
    pub username: Option<String>,
    pub expires_at: Option<i64>,
    /// The last scrobble since momod started: start, pause or stop.
    pub last_action: Option<String>,
    pub last_item_kind: Option<&'static str>,
    pub last_item_id: Option<i64>,
    pub last_progress: Option<f64>,
    pub last_at: Option<i64>,
}

impl From<pb::TraktStatus> for TraktStatus {
    fn from(s: pb::TraktStatus) -> TraktStatus {
        TraktStatus {
            configured: s.configured,
            signed_in: s.signed_in,
            username: s.username,
            expires_at: s.expires_at,
            last_action: s.last_action,
            last_item_kind: s.last_item.as_ref().map(|i| item_kind(i.kind)),
            last_item_id: s.last_item.map(|i| i.id),
            last_progress: s.last_progress,
            last_at: s.last_at,
        }
    }
}

#[derive(Serialize)]
pub struct TraktHistory {
    pub watches: Vec<TraktWatch>,
    pub pushed: u32,
    pub not_found: u32,
}

#[derive(Serialize)]
pub struct TraktWatch {
    pub item_kind: &'static str,
    pub item_id: i64,
    pub watched_at: i64,
    pub progress: f64,
    pub synced: bool,
}

impl From<pb::TraktHistory> for TraktHistory {
    fn from(h: pb::TraktHistory) -> TraktHistory {
        TraktHistory {
            watches: h
                .watches
                .into_iter()
                .map(|w| {
                    let item = w.item.unwrap_or_default();
                    TraktWatch {
                        item_kind: item_kind(item.kind),
                        item_id: item.id,
                        watched_at: w.watched_at,
                        progress: w.progress,
                        synced: w.synced,
                    }
                })
                .collect(),
            pushed: h.pushed,
            not_found: h.not_found,
        }
    }
}

#[derive(Serialize)]
pub struct Pin {
    pub item_kind: &'static str,
    pub item_id: i64,
    pub assignment_id: i64,
    pub source_kind: String,
    pub file_path: String,
    pub share_path: String,
    /// downloading, done, failed.
    pub state: String,
    pub bytes_done: u64,
    pub size: u64,
    pub job_id: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

impl From<pb::Pin> for Pin {
    fn from(p: pb::Pin) -> Pin {
        let item = p.item.unwrap_or_default();
        Pin {
            item_kind: item_kind(item.kind),
            item_id: item.id,
            assignment_id: p.assignment_id,
            source_kind: p.source_kind,
            file_path: p.file_path,
            share_path: p.share_path,
            state: p.state,
            bytes_done: p.bytes_done,
            size: p.size,
            job_id: p.job_id,
            error: p.error,
            created_at: p.created_at,
            finished_at: p.finished_at,
        }
    }
}

#[derive(Serialize)]
pub struct SubtitleSearch {
    pub moviehash: Option<String>,
    pub offers: Vec<SubtitleOffer>,
}

impl From<pb::SearchSubtitlesResponse> for SubtitleSearch {
    fn from(r: pb::SearchSubtitlesResponse) -> SubtitleSearch {
        SubtitleSearch {
            moviehash: r.moviehash,
            offers: r
                .offers
                .into_iter()
                .map(|o| SubtitleOffer {
                    file_id: o.file_id,
                    file_name: o.file_name,
                    language: o.language,
                    release: o.release,
                    download_count: o.download_count,
                    sdh: o.sdh,
                    forced: o.forced,
                    hash_match: o.hash_match,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
pub struct SubtitleOffer {
    pub file_id: i64,
    pub file_name: String,
    pub language: String,
    pub release: String,
    pub download_count: u64,
    pub sdh: bool,
    pub forced: bool,
    pub hash_match: bool,
}

#[derive(Serialize)]
pub struct PackSubtitle {
    pub episode: EpisodeRef,
    pub file: File,
    pub language: String,
    pub forced: bool,
    pub sdh: bool,
    /// The subtitle attached from it; null on a dry run or when it could not be fetched.
    pub attached: Option<Subtitle>,
}

impl From<pb::PackSubtitle> for PackSubtitle {
    fn from(p: pb::PackSubtitle) -> PackSubtitle {
        PackSubtitle {
            episode: EpisodeRef::from(p.episode.unwrap_or_default()),
            file: File::from(p.file.unwrap_or_default()),
            language: p.language,
            forced: p.forced,
            sdh: p.sdh,
            attached: p.attached.map(Subtitle::from),
        }
    }
}

#[derive(Serialize)]
pub struct Unassigned {
    pub removed: Option<Assignment>,
}

impl From<pb::UnassignResponse> for Unassigned {
    fn from(r: pb::UnassignResponse) -> Unassigned {
        Unassigned {
            removed: r.removed.map(Assignment::from),
        }
    }
}

#[derive(Serialize)]
pub struct File {
    pub index: i32,
    pub path: String,
    pub size: u64,
}

impl From<pb::TorrentFile> for File {
    fn from(f: pb::TorrentFile) -> File {
        File {
            index: f.index,
            path: f.path,
            size: f.size,
        }
    }
}

#[derive(Serialize)]
pub struct PackMatch {
    pub episode_id: i64,
    pub season_number: i32,
    pub episode_number: i32,
    pub episode_name: Option<String>,
    pub file_index: i32,
    pub file_path: String,
    pub file_size: u64,
    pub share_path: String,
}

impl From<pb::PackMatch> for PackMatch {
    fn from(m: pb::PackMatch) -> PackMatch {
        let e = m.episode.unwrap_or_default();
        let f = m.file.unwrap_or_default();
        PackMatch {
            episode_id: e.id,
            season_number: e.season_number,
            episode_number: e.episode_number,
            episode_name: e.name,
            file_index: f.index,
            file_path: f.path,
            file_size: f.size,
            share_path: m.share_path,
        }
    }
}

#[derive(Serialize)]
pub struct EpisodeRef {
    pub episode_id: i64,
    pub season_number: i32,
    pub episode_number: i32,
    pub name: Option<String>,
}

impl From<pb::EpisodeRef> for EpisodeRef {
    fn from(e: pb::EpisodeRef) -> EpisodeRef {
        EpisodeRef {
            episode_id: e.id,
            season_number: e.season_number,
            episode_number: e.episode_number,
            name: e.name,
        }
    }
}

#[derive(Serialize)]
pub struct PackReport {
    pub info_hash: String,
    pub name: String,
    pub dry_run: bool,
    pub matched: Vec<PackMatch>,
    pub unmatched_files: Vec<File>,
    pub missing_episodes: Vec<EpisodeRef>,
    pub ambiguous: Vec<PackMatch>,
    pub subtitles: Vec<PackSubtitle>,
}

impl From<pb::PackReport> for PackReport {
    fn from(r: pb::PackReport) -> PackReport {
        PackReport {
            info_hash: r.info_hash,
            name: r.name,
            dry_run: r.dry_run,
            matched: r.matched.into_iter().map(PackMatch::from).collect(),
            unmatched_files: r.unmatched_files.into_iter().map(File::from).collect(),
            missing_episodes: r
                .missing_episodes
                .into_iter()
                .map(EpisodeRef::from)
                .collect(),
            ambiguous: r.ambiguous.into_iter().map(PackMatch::from).collect(),
            subtitles: r.subtitles.into_iter().map(PackSubtitle::from).collect(),
        }
    }
}

#[derive(Serialize)]
pub struct TorrentFiles {
    pub info_hash: String,
    pub name: String,
    pub files: Vec<File>,
}

impl From<pb::TorrentFilesResponse> for TorrentFiles {
    fn from(r: pb::TorrentFilesResponse) -> TorrentFiles {
        TorrentFiles {
            info_hash: r.info_hash,
            name: r.name,
            files: r.files.into_iter().map(File::from).collect(),
        }
    }
}

#[derive(Serialize)]
pub struct Torrent {
    pub info_hash: String,
    pub name: String,
    pub state: String,
    pub error: Option<String>,
    pub progress_bytes: u64,
    pub total_bytes: u64,
    pub peers: u32,
    pub download_bps: u64,
    pub upload_bps: u64,
    pub open_streams: u32,
    pub disk_bytes: u64,
    pub used_by: Vec<UsedBy>,
}

#[derive(Serialize)]
pub struct UsedBy {
    pub item_kind: &'static str,
    pub item_id: i64,
    pub share_path: String,
    pub file_path: String,
}

impl From<pb::Torrent> for Torrent {
    fn from(t: pb::Torrent) -> Torrent {
        Torrent {
            info_hash: t.info_hash,
            name: t.name,
            state: t.state,
            error: t.error,
            progress_bytes: t.progress_bytes,
            total_bytes: t.total_bytes,
            peers: t.peers,
            download_bps: t.download_bps,
            upload_bps: t.upload_bps,
            open_streams: t.open_streams,
            disk_bytes: t.disk_bytes,
            used_by: t.used_by.into_iter().map(UsedBy::from).collect(),
        }
    }
}

impl From<pb::UsedBy> for UsedBy {
    fn from(u: pb::UsedBy) -> UsedBy {
        let item = u.item.unwrap_or_default();
        UsedBy {
            item_kind: item_kind(item.kind),
            item_id: item.id,
            share_path: u.share_path,
            file_path: u.file_path,
        }
    }
}

#[derive(Serialize)]
pub struct ItemRef {
    pub item_kind: &'static str,
    pub item_id: i64,
}

impl From<pb::ItemRef> for ItemRef {
    fn from(i: pb::ItemRef) -> ItemRef {
        ItemRef {
            item_kind: item_kind(i.kind),
            item_id: i.id,
        }
    }
}

#[derive(Serialize)]
pub struct TorrentRemoved {
    pub removed: String,
    pub unassigned: Vec<ItemRef>,
}

#[cfg(test)]
mod tests;

/// "queued", "running", "done", "failed", "cancelled"; "unknown" from a newer daemon.
pub fn job_state(state: i32) -> &'static str {
    match pb::JobState::try_from(state) {
        Ok(pb::JobState::Queued) => "queued",
        Ok(pb::JobState::Running) => "running",
        Ok(pb::JobState::Done) => "done",
        Ok(pb::JobState::Failed) => "failed",
        Ok(pb::JobState::Cancelled) => "cancelled",
        _ => "unknown",
    }
}

#[derive(Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub summary: String,
    pub state: String,
    pub target: Option<JobTarget>,
    pub progress_done: u64,
    pub progress_total: Option<u64>,
    pub progress_unit: String,
    pub step: String,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub error_code: Option<String>,
    pub error: Option<String>,
}

#[derive(Serialize)]
pub struct JobTarget {
    pub kind: String,
    pub id: i64,
}

impl From<pb::Job> for Job {
    fn from(j: pb::Job) -> Job {
        Job {
            id: j.id,
            kind: j.kind,
            summary: j.summary,
            state: job_state(j.state).to_string(),
            target: j.target.map(|t| JobTarget {
                kind: t.kind,
                id: t.id,
            }),
            progress_done: j.progress_done,
            progress_total: j.progress_total,
            progress_unit: j.progress_unit,
            step: j.step,
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
            error_code: j.error_code,
            error: j.error,
        }
    }
}

#[derive(Serialize)]
pub struct JobLogLine {
    pub id: i64,
    pub job_id: i64,
    pub time_ms: i64,
    pub level: String,
    pub message: String,
}

impl From<pb::JobLogLine> for JobLogLine {
    fn from(l: pb::JobLogLine) -> JobLogLine {
        JobLogLine {
            id: l.id,
            job_id: l.job_id,
            time_ms: l.time_ms,
            level: l.level,
            message: l.message,
        }
    }
}
