//! Translation between protobuf messages and the library's domain types, in one place. No
//! rules here: only field mapping and the checks protobuf cannot express (a missing
//! message, an unknown enum value, a negative index).
use momo_proto::v1 as pb;
use tonic::Status;

use crate::library::model::{
    Assignment, EpisodeDetail, FileChoice, Item, ItemKind, Labels, Markers, MediaKind, Movie,
    PackEpisode, PackMatch, PackReport, PackSubtitle, Pin, ShowDetail, ShowSummary, SourceFile,
    Subtitle, TorrentUser, TorrentView,
};
use crate::library::{
    EpisodeIntro, History, ImportReport, ImportRow, IntroOutcome, M3uFilter, NewShow, OfferList,
    RefreshReport, SearchResult, TorrentInput,
};
use crate::torrent::{InfoHash, Inspected, TorrentFile};
use crate::trakt::{DeviceCode, LastScrobble, Tokens};

// ---------------------------------------------------------------------- requests

pub fn item(r: Option<pb::ItemRef>) -> Result<Item, Status> {
    let r = r.ok_or_else(|| Status::invalid_argument("say which movie or episode"))?;
    match pb::ItemKind::try_from(r.kind) {
        Ok(pb::ItemKind::Movie) => Ok(Item::Movie(r.id)),
        Ok(pb::ItemKind::Episode) => Ok(Item::Episode(r.id)),
        _ => Err(Status::invalid_argument(
            "item kind must be movie or episode",
        )),
    }
}

/// A torrent named by a magnet or a `.torrent` URL, or given as a `.torrent` file.
pub fn torrent_input<'a>(magnet: &'a str, file: &'a [u8]) -> Result<TorrentInput<'a>, Status> {
    match (magnet.is_empty(), file.is_empty()) {
        (false, true) => Ok(TorrentInput::Text(magnet)),
        (true, false) => Ok(TorrentInput::File(file)),
        (true, true) => Err(Status::invalid_argument(
            "say which torrent: a magnet, a .torrent URL or a .torrent file",
        )),
        (false, false) => Err(Status::invalid_argument(
            "give a magnet or a .torrent file, not both",
        )),
    }
}

pub fn media_kind(kind: i32) -> Result<MediaKind, Status> {
    match pb::MediaKind::try_from(kind) {
        Ok(pb::MediaKind::Movie) => Ok(MediaKind::Movie),
        Ok(pb::MediaKind::Show) => Ok(MediaKind::Show),
        _ => Err(Status::invalid_argument(
            "search kind must be movie or show",
        )),
    }
}

pub fn info_hash(text: &str) -> Result<InfoHash, Status> {
    InfoHash::parse(text).map_err(|e| Status::invalid_argument(e.0))
}

pub fn file_choice(path: Option<String>, index: Option<i32>) -> Result<FileChoice, Status> {
    match (path, index) {
        (Some(_), Some(_)) => Err(Status::invalid_argument(
            "give a file path or an index, not both",
        )),
        (Some(p), None) => Ok(FileChoice::Path(p)),
        (None, Some(i)) => usize::try_from(i)
            .map(FileChoice::Index)
            .map_err(|_| Status::invalid_argument(format!("file index {i} is negative"))),
        (None, None) => Ok(FileChoice::Auto),
    }
}

pub fn new_show(req: pb::AddShowRequest) -> Result<NewShow, Status> {
    match req.by {
        Some(pb::add_show_request::By::TmdbId(tmdb_id)) => Ok(NewShow::Tmdb {
            tmdb_id,
            seasons: req.seasons,
            specials: req.specials,
        }),
        Some(pb::add_show_request::By::Manual(m)) => Ok(NewShow::Manual {
            title: m.title,
            year: m.year,
            seasons: m
                .seasons
                .iter()
                .map(|s| (s.season_number, s.episode_count))
                .collect(),
        }),
        None => Err(Status::invalid_argument("give a TMDB id or a title")),
    }
}

pub fn labels(resolution: Option<String>, source: Option<String>) -> Labels {
    Labels {
        resolution,
        release: source,
    }
}

// ---------------------------------------------------------------------- replies

pub fn item_ref(item: Item) -> pb::ItemRef {
    let kind = match item.kind() {
        ItemKind::Movie => pb::ItemKind::Movie,
        ItemKind::Episode => pb::ItemKind::Episode,
    };
    pb::ItemRef {
        kind: kind as i32,
        id: item.id(),
    }
}

pub fn movie(m: Movie) -> pb::Movie {
    pb::Movie {
        id: m.id,
        tmdb_id: m.tmdb_id,
        title: m.title,
        year: m.year,
        assigned: m.assigned,
    }
}

/// Counts are u32 on the wire; a library never holds four billion episodes.
fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

pub fn show_summary(s: ShowSummary) -> pb::Show {
    pb::Show {
        id: s.id,
        tmdb_id: s.tmdb_id,
        title: s.title,
        year: s.year,
        seasons: Vec::new(),
        season_count: count(s.season_count),
        episode_count: count(s.episode_count),
        assigned_count: count(s.assigned_count),
    }
}

pub fn show_detail(d: ShowDetail) -> pb::Show {
    pb::Show {
        seasons: d
            .seasons
            .into_iter()
            .map(|s| pb::Season {
                id: s.id,
                season_number: s.season_number,
                episodes: s.episodes.into_iter().map(episode).collect(),
            })
            .collect(),
        ..show_summary(d.summary)
    }
}

fn episode(e: EpisodeDetail) -> pb::Episode {
    pb::Episode {
        id: e.id,
        episode_number: e.episode_number,
        name: e.name,
        air_date: e.air_date,
        assigned: e.assigned,
    }
}

pub fn refresh(r: RefreshReport) -> pb::RefreshShowResponse {
    pb::RefreshShowResponse {
        show: Some(show_detail(r.show)),
        added_seasons: r.added_seasons,
        added_episodes: r.added_episodes,
        updated_episodes: r.updated_episodes,
    }
}

pub fn search_result(r: SearchResult) -> pb::SearchResult {
    pb::SearchResult {
        tmdb_id: r.hit.tmdb_id,
        title: r.hit.title,
        year: r.hit.year,
        original_title: r.hit.original_title,
        in_library: r.in_library,
    }
}

pub fn assignment(a: Assignment) -> pb::Assignment {
    let (info_hash, file_index) = match &a.file {
        SourceFile::Torrent {
            info_hash, index, ..
        } => (
            Some(info_hash.to_string()),
            Some(i32::try_from(*index).unwrap_or(i32::MAX)),
        ),
        SourceFile::Local { .. } | SourceFile::Http { .. } => (None, None),
    };
    pb::Assignment {
        id: a.id,
        item: Some(item_ref(a.item)),
        source_kind: a.file.kind().as_str().to_string(),
        file_path: a.file.path().to_string(),
        file_size: a.size,
        info_hash,
        file_index,
        resolution: a.labels.resolution,
        source: a.labels.release,
        created_at: a.created_at,
        share_path: a.share_path,
        replaced_id: a.replaced_id,
        subtitles: a.subtitles.into_iter().map(subtitle).collect(),
    }
}

pub fn subtitle(s: Subtitle) -> pb::Subtitle {
    pb::Subtitle {
        id: s.id,
        item: Some(item_ref(s.item)),
        language: s.language,
        forced: s.forced,
        sdh: s.sdh,
        format: s.format.as_str().to_string(),
        origin: s.origin.as_str().to_string(),
        size: s.size,
        source_name: s.source_name,
        share_path: s.share_path,
        created_at: s.created_at,
    }
}

pub fn import_report(r: ImportReport) -> pb::ImportReport {
    pb::ImportReport {
        dry_run: r.dry_run,
        rows: r
            .rows
            .into_iter()
            .map(|row: ImportRow| pb::ImportRow {
                kind: row.kind.as_str().to_string(),
                title: row.title,
                year: row.year,
                tmdb_id: row.tmdb_id,
                movie_id: row.movie_id,
                show_id: row.show_id,
                episode_id: row.episode_id,
                season_number: row.episode.map(|(s, _)| s),
                episode_number: row.episode.map(|(_, e)| e),
                outcome: row.outcome.as_str().to_string(),
                file_path: row.file_path,
                files: row.files,
                note: row.note,
            })
            .collect(),
    }
}

pub fn pin(p: Pin) -> pb::Pin {
    pb::Pin {
        item: Some(item_ref(p.item)),
        assignment_id: p.assignment_id,
        source_kind: p.file.kind().as_str().to_string(),
        file_path: p.file.path().to_string(),
        share_path: p.share_path,
        state: p.state.as_str().to_string(),
        bytes_done: p.done,
        size: p.size,
        job_id: p.job_id,
        error: p.error,
        created_at: p.created_at,
        finished_at: p.finished_at,
    }
}

pub fn markers(m: Markers) -> pb::Markers {
    pb::Markers {
        item: Some(item_ref(m.item)),
        intro_start_s: m.intro.map(|i| i.0),
        intro_end_s: m.intro.map(|i| i.1),
        credits_start_s: m.credits.map(|c| c.0),
        credits_end_s: m.credits.and_then(|c| c.1),
        origin: m.origin.as_str().to_string(),
        confidence: m.confidence,
    }
}

pub fn intro_report(rows: Vec<EpisodeIntro>) -> pb::IntroReport {
    pb::IntroReport {
        episodes: rows
            .into_iter()
            .map(|r| pb::EpisodeIntro {
                episode_id: r.episode_id,
                season_number: r.season_number,
                episode_number: r.episode_number,
                markers: r.markers.map(markers),
                outcome: r.outcome.as_str().to_string(),
                error: match r.outcome {
                    IntroOutcome::Failed(e) => Some(e),
                    _ => None,
                },
            })
            .collect(),
    }
}

pub fn trakt_status(
    configured: bool,
    account: Option<Tokens>,
    last: Option<LastScrobble>,
) -> pb::TraktStatus {
    pb::TraktStatus {
        configured,
        signed_in: account.is_some(),
        username: account.as_ref().and_then(|a| a.username.clone()),
        expires_at: account.map(|a| a.expires_at),
        last_action: last.as_ref().map(|l| l.action.to_string()),
        last_item: last.as_ref().map(|l| item_ref(l.item)),
        last_progress: last.as_ref().map(|l| l.progress),
        last_at: last.map(|l| l.at),
    }
}

pub fn trakt_history(h: History) -> pb::TraktHistory {
    pb::TraktHistory {
        watches: h
            .watches
            .into_iter()
            .map(|w| pb::TraktWatch {
                item: Some(item_ref(w.item)),
                watched_at: w.watched_at,
                progress: w.progress,
                synced: w.synced,
            })
            .collect(),
        pushed: h.pushed,
        not_found: h.not_found,
    }
}

pub fn device_code(r: &pb::TraktWaitLogin) -> DeviceCode {
    DeviceCode {
        issued_at: r.issued_at,
        device_code: r.device_code.clone(),
        user_code: r.user_code.clone(),
        verification_url: r.verification_url.clone(),
        expires_in: r.expires_in.clamp(1, 3600),
        interval: r.interval.clamp(1, 60),
    }
}

pub fn m3u_filter(r: &pb::ImportM3uRequest) -> M3uFilter {
    M3uFilter {
        group: Some(r.group.clone()).filter(|g| !g.is_empty()),
        only: match pb::ImportOnly::try_from(r.only) {
            Ok(pb::ImportOnly::Movies) => Some(MediaKind::Movie),
            Ok(pb::ImportOnly::Shows) => Some(MediaKind::Show),
            _ => None,
        },
    }
}

pub fn offers(found: OfferList) -> pb::SearchSubtitlesResponse {
    pb::SearchSubtitlesResponse {
        offers: found
            .offers
            .into_iter()
            .map(|o| pb::SubtitleOffer {
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
        moviehash: found.moviehash,
    }
}

fn pack_subtitle(p: PackSubtitle) -> pb::PackSubtitle {
    pb::PackSubtitle {
        episode: Some(episode_ref(p.episode)),
        file: Some(torrent_file(p.file)),
        language: p.info.language,
        forced: p.info.forced,
        sdh: p.info.sdh,
        attached: p.attached.map(subtitle),
    }
}

pub fn torrent_file(f: TorrentFile) -> pb::TorrentFile {
    pb::TorrentFile {
        index: i32::try_from(f.index).unwrap_or(i32::MAX),
        path: f.path,
        size: f.size,
    }
}

pub fn torrent_files(i: Inspected) -> pb::TorrentFilesResponse {
    pb::TorrentFilesResponse {
        info_hash: i.info_hash.to_string(),
        name: i.name,
        files: i.files.into_iter().map(torrent_file).collect(),
    }
}

fn episode_ref(e: PackEpisode) -> pb::EpisodeRef {
    pb::EpisodeRef {
        id: e.id,
        season_number: e.season_number,
        episode_number: e.episode_number,
        name: e.name,
    }
}

fn pack_match(m: PackMatch) -> pb::PackMatch {
    pb::PackMatch {
        episode: Some(episode_ref(m.episode)),
        file: Some(torrent_file(m.file)),
        share_path: m.share_path,
    }
}

pub fn pack_report(r: PackReport) -> pb::PackReport {
    pb::PackReport {
        info_hash: r.info_hash.to_string(),
        name: r.name,
        dry_run: r.dry_run,
        matched: r.matched.into_iter().map(pack_match).collect(),
        unmatched_files: r.unmatched_files.into_iter().map(torrent_file).collect(),
        missing_episodes: r.missing_episodes.into_iter().map(episode_ref).collect(),
        ambiguous: r.ambiguous.into_iter().map(pack_match).collect(),
        subtitles: r.subtitles.into_iter().map(pack_subtitle).collect(),
    }
}

fn used_by(u: TorrentUser) -> pb::UsedBy {
    pb::UsedBy {
        item: Some(item_ref(u.item)),
        share_path: u.share_path,
        file_path: u.file_path,
    }
}

pub fn torrent(t: TorrentView) -> pb::Torrent {
    let used_by = t.used_by.into_iter().map(used_by).collect();
    let state = t.state.as_str().to_string();
    match t.engine {
        Some(s) => pb::Torrent {
            info_hash: s.info_hash.to_string(),
            name: s.name,
            state,
            error: s.error,
            progress_bytes: s.progress_bytes,
            total_bytes: s.total_bytes,
            peers: s.peers,
            download_bps: s.download_bps,
            upload_bps: s.upload_bps,
            open_streams: u32::try_from(s.open_streams).unwrap_or(u32::MAX),
            used_by,
            disk_bytes: s.disk_bytes,
        },
        None => pb::Torrent {
            info_hash: t.info_hash.to_string(),
            name: t.info_hash.to_string(),
            state,
            used_by,
            ..Default::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::library::limits::{
        MAX_EPISODES_PER_SEASON, MAX_EPISODES_PER_SHOW, MAX_NAME_BYTES, MAX_SEASONS,
    };
    use crate::library::model::{EpisodeDetail, SeasonDetail, ShowSummary};
    use crate::library::model::{Movie, Page};

    /// gRPC's default message limit, which clients of any language apply to replies.
    const MESSAGE_LIMIT: usize = 4 * 1024 * 1024;

    /// Ids and numbers as large as they get, names of the longest allowed length in
    /// characters of 4 bytes.
    fn longest_name() -> String {
        "😀".repeat(MAX_NAME_BYTES / 4)
    }

    #[test]
    fn the_largest_show_allowed_fits_in_one_reply() {
        let per_season = MAX_EPISODES_PER_SHOW / MAX_SEASONS;
        assert!(per_season <= MAX_EPISODES_PER_SEASON);
        let show = ShowDetail {
            summary: ShowSummary {
                id: i64::MAX,
                tmdb_id: Some(i64::MAX),
                title: longest_name(),
                year: Some(2300),
                season_count: MAX_SEASONS as i64,
                episode_count: MAX_EPISODES_PER_SHOW as i64,
                assigned_count: MAX_EPISODES_PER_SHOW as i64,
            },
            seasons: (0..MAX_SEASONS)
                .map(|s| SeasonDetail {
                    id: i64::MAX - s as i64,
                    season_number: 3000,
                    episodes: (0..per_season)
                        .map(|e| EpisodeDetail {
                            id: i64::MAX - e as i64,
                            episode_number: 99_999,
                            name: Some(longest_name()),
                            air_date: Some("2300-12-31".into()),
                            assigned: true,
                        })
                        .collect(),
                })
                .collect(),
        };
        let len = show_detail(show).encoded_len();
        assert!(len < MESSAGE_LIMIT, "{len} bytes");
    }

    #[test]
    fn a_full_page_of_movies_fits_in_one_reply() {
        let movies: Vec<Movie> = (0..Page::MAX_SIZE * 3)
            .map(|i| Movie {
                id: i64::MAX - i as i64,
                tmdb_id: Some(i64::MAX),
                title: longest_name(),
                year: Some(2300),
                assigned: true,
            })
            .collect();
        let page = Page::parse(Page::MAX_SIZE as u32, "").unwrap();
        let (movies, next) = page.of(movies);
        assert_eq!(next, Page::MAX_SIZE.to_string());
        let reply = pb::ListMoviesResponse {
            movies: movies.into_iter().map(movie).collect(),
            next_page_token: next,
        };
        assert!(reply.encoded_len() < MESSAGE_LIMIT);
    }

    #[test]
    fn pages_cover_the_list_once() {
        let all: Vec<i32> = (0..1234).collect();
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let (items, next) = Page::parse(500, &token).unwrap().of(all.clone());
            seen.extend(items);
            if next.is_empty() {
                break;
            }
            token = next;
        }
        assert_eq!(seen, all);
        assert!(Page::parse(1001, "").is_err());
        assert!(Page::parse(0, "x").is_err());
        assert_eq!(Page::parse(0, "").unwrap().size, Page::DEFAULT_SIZE);
    }
}
