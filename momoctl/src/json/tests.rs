//! Each JSON shape against the README. The README's "JSON shapes" block lists every shape as
//! `Name {field, list[], nested: Shape, optional: Shape?, rows: [Shape]}`; a sample of each
//! shape, built from a protobuf reply with every field set, must serialise to exactly those
//! fields, recursively. A field renamed, added or dropped on either side fails here.
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::*;

const README: &str = include_str!("../../../README.md");
const MARKER: &str = "<!-- json-shapes -->";

#[derive(Debug)]
enum Field {
    /// A number, string, bool or null.
    Scalar,
    /// An array of scalars: `name[]`.
    Scalars,
    /// An object of a shape, or null when `?`: `name: Shape`, `name: Shape?`.
    Object(String, bool),
    /// An array of objects of a shape: `name: [Shape]`.
    Objects(String),
}

fn documented() -> BTreeMap<String, BTreeMap<String, Field>> {
    let start = README
        .find(MARKER)
        .expect("README has a JSON shapes block after <!-- json-shapes -->");
    let block = &README[start..];
    let body = block
        .split("```")
        .nth(1)
        .expect("a fenced block follows the marker");
    let mut shapes = BTreeMap::new();
    for line in body.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let (name, rest) = line.split_once('{').expect("Name {fields}");
        let fields = rest.trim().strip_suffix('}').expect("ends with }");
        let mut parsed = BTreeMap::new();
        for field in fields.split(',').map(str::trim) {
            let (key, kind) = match field.split_once(':') {
                None => match field.strip_suffix("[]") {
                    Some(k) => (k, Field::Scalars),
                    None => (field, Field::Scalar),
                },
                Some((k, t)) => {
                    let t = t.trim();
                    let kind = if let Some(inner) = t.strip_prefix('[') {
                        Field::Objects(inner.trim_end_matches(']').to_string())
                    } else if let Some(inner) = t.strip_suffix('?') {
                        Field::Object(inner.to_string(), true)
                    } else {
                        Field::Object(t.to_string(), false)
                    };
                    (k, kind)
                }
            };
            assert!(
                parsed.insert(key.trim().to_string(), kind).is_none(),
                "{name}: `{key}` twice"
            );
        }
        shapes.insert(name.trim().to_string(), parsed);
    }
    shapes
}

fn check(shapes: &BTreeMap<String, BTreeMap<String, Field>>, shape: &str, value: &Value, at: &str) {
    let fields = shapes
        .get(shape)
        .unwrap_or_else(|| panic!("{at}: shape {shape} is not in the README"));
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{at}: expected a {shape} object, got {value}"));
    let have: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(have, want, "{at}: fields of {shape} (code vs README)");
    for (key, field) in fields {
        let v = &object[key];
        let at = format!("{at}.{key}");
        match field {
            Field::Scalar => assert!(!v.is_object() && !v.is_array(), "{at}: not a scalar: {v}"),
            Field::Scalars => assert!(
                v.as_array()
                    .is_some_and(|a| a.iter().all(|x| !x.is_object())),
                "{at}: not a list of scalars: {v}"
            ),
            Field::Object(inner, nullable) => {
                if !(v.is_null() && *nullable) {
                    check(shapes, inner, v, &at)
                }
            }
            Field::Objects(inner) => {
                let items = v
                    .as_array()
                    .unwrap_or_else(|| panic!("{at}: not a list: {v}"));
                assert!(!items.is_empty(), "{at}: samples fill every list");
                for (i, item) in items.iter().enumerate() {
                    check(shapes, inner, item, &format!("{at}[{i}]"));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------- samples

fn item(kind: pb::ItemKind, id: i64) -> Option<pb::ItemRef> {
    Some(pb::ItemRef {
        kind: kind as i32,
        id,
    })
}

fn show() -> pb::Show {
    pb::Show {
        id: 1,
        tmdb_id: Some(1396),
        title: "Breaking Bad".into(),
        year: Some(2008),
        seasons: vec![pb::Season {
            id: 3,
            season_number: 1,
            episodes: vec![pb::Episode {
                id: 7,
                episode_number: 1,
                name: Some("Pilot".into()),
                air_date: Some("2008-01-20".into()),
                assigned: true,
            }],
        }],
        season_count: 1,
        episode_count: 1,
        assigned_count: 1,
    }
}

fn assignment() -> pb::Assignment {
    pb::Assignment {
        id: 4,
        item: item(pb::ItemKind::Movie, 1),
        source_kind: "torrent".into(),
        file_path: "Film/film.mkv".into(),
        file_size: 1_468_006_400,
        info_hash: Some("c9e15763f722f23e98a29decdfae341b98d53056".into()),
        file_index: Some(0),
        resolution: Some("1080p".into()),
        source: Some("BluRay".into()),
        created_at: 1_795_000_000,
        share_path: "/Movies/Film (1999)/Film (1999).mkv".into(),
        replaced_id: Some(2),
        subtitles: vec![subtitle()],
    }
}

fn subtitle() -> pb::Subtitle {
    pb::Subtitle {
        id: 3,
        item: item(pb::ItemKind::Movie, 1),
        language: "en".into(),
        forced: false,
        sdh: true,
        format: "srt".into(),
        origin: "torrent".into(),
        size: 81_000,
        source_name: "Subs/2_English.srt".into(),
        share_path: "/Movies/Film (1999)/Film (1999).en.sdh.srt".into(),
        created_at: 1_795_000_000,
    }
}

fn file() -> pb::TorrentFile {
    pb::TorrentFile {
        index: 2,
        path: "S01/e02.mkv".into(),
        size: 1000,
    }
}

fn pack_match() -> pb::PackMatch {
    pb::PackMatch {
        episode: Some(episode_ref()),
        file: Some(file()),
        share_path: "/TV Shows/X/Season 01/X - S01E02 - Two.mkv".into(),
    }
}

fn episode_ref() -> pb::EpisodeRef {
    pb::EpisodeRef {
        id: 8,
        season_number: 1,
        episode_number: 2,
        name: Some("Two".into()),
    }
}

fn torrent() -> pb::Torrent {
    pb::Torrent {
        info_hash: "c9e15763f722f23e98a29decdfae341b98d53056".into(),
        name: "X.S01".into(),
        state: "live".into(),
        error: Some("none".into()),
        progress_bytes: 10,
        total_bytes: 100,
        peers: 3,
        download_bps: 1000,
        upload_bps: 10,
        open_streams: 1,
        disk_bytes: 50,
        used_by: vec![pb::UsedBy {
            item: item(pb::ItemKind::Episode, 8),
            share_path: "/TV Shows/X/Season 01/X - S01E02 - Two.mkv".into(),
            file_path: "S01/e02.mkv".into(),
        }],
    }
}

fn job() -> pb::Job {
    pb::Job {
        id: 12,
        kind: "show_add".into(),
        summary: "add show tmdb 1396".into(),
        state: pb::JobState::Failed as i32,
        target: Some(pb::ItemTarget {
            kind: "show".into(),
            id: 1,
        }),
        progress_done: 1,
        progress_total: Some(2),
        progress_unit: "seasons".into(),
        step: "fetching season 2 (2 of 2)".into(),
        created_at: 1_795_000_000,
        started_at: Some(1_795_000_001),
        finished_at: Some(1_795_000_002),
        error_code: Some("Unavailable".into()),
        error: Some("TMDB is unreachable".into()),
        result: None,
    }
}

/// One fully populated sample of every top-level shape, by its README name.
fn samples() -> Vec<(&'static str, Value)> {
    let v = |x: &dyn erased::Ser| x.value();
    vec![
        (
            "Status",
            v(&Status::from(pb::StatusResponse {
                version: "0.1.0".into(),
                uptime_seconds: 5,
                data_dir: "/d".into(),
                grpc_listen: vec!["unix:///d/momod.sock".into()],
                webdav_listen: "127.0.0.1:36911".into(),
                library: Some(pb::LibraryCounts {
                    movies: 1,
                    shows: 1,
                    seasons: 1,
                    episodes: 1,
                    assigned: 1,
                    torrents: 1,
                    active_jobs: 1,
                }),
                playback: Some(pb::Playback {
                    cache_used_bytes: 1,
                    cache_max_bytes: 2,
                    streams_opened: 3,
                    streams_reused: 4,
                    evicted_torrents: 5,
                    evicted_bytes: 6,
                }),
            })),
        ),
        (
            "Movie",
            v(&Movie::from(pb::Movie {
                id: 1,
                tmdb_id: Some(550),
                title: "Fight Club".into(),
                year: Some(1999),
                assigned: true,
            })),
        ),
        ("ShowSummary", v(&ShowSummary::from(show()))),
        ("Show", v(&Show::from(show()))),
        (
            "Refresh",
            v(&Refresh::from(pb::RefreshShowResponse {
                show: Some(show()),
                added_seasons: 1,
                added_episodes: 2,
                updated_episodes: 3,
            })),
        ),
        (
            "SearchResult",
            v(&SearchResult::from(pb::SearchResult {
                tmdb_id: 550,
                title: "Fight Club".into(),
                year: Some(1999),
                original_title: "Fight Club".into(),
                in_library: false,
            })),
        ),
        ("Assignment", v(&Assignment::from(assignment()))),
        (
            "Unassigned",
            v(&Unassigned::from(pb::UnassignResponse {
                removed: Some(assignment()),
            })),
        ),
        (
            "PackReport",
            v(&PackReport::from(pb::PackReport {
                info_hash: "c9e15763f722f23e98a29decdfae341b98d53056".into(),
                name: "X.S01".into(),
                dry_run: true,
                matched: vec![pack_match()],
                unmatched_files: vec![file()],
                missing_episodes: vec![episode_ref()],
                ambiguous: vec![pack_match()],
                subtitles: vec![pb::PackSubtitle {
                    episode: Some(pb::EpisodeRef {
                        id: 7,
                        season_number: 1,
                        episode_number: 2,
                        name: Some("Pilot".into()),
                    }),
                    file: Some(file()),
                    language: "en".into(),
                    forced: true,
                    sdh: false,
                    attached: Some(subtitle()),
                }],
            })),
        ),
        ("Subtitle", v(&Subtitle::from(subtitle()))),
        (
            "ImportReport",
            v(&ImportReport::from(pb::ImportReport {
                dry_run: true,
                rows: vec![pb::ImportRow {
                    kind: "episode".into(),
                    title: "Breaking Bad S01E02".into(),
                    year: Some(2008),
                    tmdb_id: Some(1396),
                    movie_id: None,
                    show_id: Some(1),
                    episode_id: Some(2),
                    season_number: Some(1),
                    episode_number: Some(2),
                    outcome: "added".into(),
                    file_path: Some("http://vod.example/…/2.mkv".into()),
                    files: 1,
                    note: String::new(),
                }],
            })),
        ),
        (
            "TraktStatus",
            v(&TraktStatus::from(pb::TraktStatus {
                configured: true,
                signed_in: true,
                username: Some("sean".into()),
                expires_at: Some(1_700_000_000),
                last_action: Some("stop".into()),
                last_item: item(pb::ItemKind::Movie, 1),
                last_progress: Some(85.0),
                last_at: Some(1_700_000_000),
            })),
        ),
        (
            "Markers",
            v(&Markers::from(pb::Markers {
                item: item(pb::ItemKind::Episode, 7),
                intro_start_s: Some(45.0),
                intro_end_s: Some(90.0),
                credits_start_s: Some(2500.0),
                credits_end_s: None,
                origin: "manual".into(),
                confidence: 1.0,
            })),
        ),
        (
            "IntroReport",
            v(&IntroReport::from(pb::IntroReport {
                episodes: vec![pb::EpisodeIntro {
                    episode_id: 7,
                    season_number: 1,
                    episode_number: 2,
                    markers: Some(pb::Markers {
                        item: item(pb::ItemKind::Episode, 7),
                        intro_start_s: Some(30.1),
                        intro_end_s: Some(55.2),
                        credits_start_s: Some(2500.0),
                        credits_end_s: Some(2560.0),
                        origin: "detected".into(),
                        confidence: 1.0,
                    }),
                    outcome: "found".into(),
                    error: None,
                }],
            })),
        ),
        (
            "TraktHistory",
            v(&TraktHistory::from(pb::TraktHistory {
                watches: vec![pb::TraktWatch {
                    item: item(pb::ItemKind::Episode, 7),
                    watched_at: 1_700_000_000,
                    progress: 85.0,
                    synced: false,
                }],
                pushed: 0,
                not_found: 0,
            })),
        ),
        (
            "Pin",
            v(&Pin::from(pb::Pin {
                item: item(pb::ItemKind::Movie, 1),
                assignment_id: 3,
                source_kind: "http".into(),
                file_path: "http://vod.example/…/1.mkv".into(),
                share_path: "/Movies/Fight Club (1999)/Fight Club (1999).mkv".into(),
                state: "downloading".into(),
                bytes_done: 1000,
                size: 4000,
                job_id: Some(9),
                error: None,
                created_at: 1_700_000_000,
                finished_at: None,
            })),
        ),
        (
            "SubtitleSearch",
            v(&SubtitleSearch::from(pb::SearchSubtitlesResponse {
                moviehash: Some("8e245d9679d31e12".into()),
                offers: vec![pb::SubtitleOffer {
                    file_id: 1_952_711,
                    file_name: "Fight.Club.1999.srt".into(),
                    language: "en".into(),
                    release: "Fight.Club.1999.1080p.BluRay".into(),
                    download_count: 12_000,
                    sdh: false,
                    forced: false,
                    hash_match: true,
                }],
            })),
        ),
        (
            "TorrentFiles",
            v(&TorrentFiles::from(pb::TorrentFilesResponse {
                info_hash: "c9e15763f722f23e98a29decdfae341b98d53056".into(),
                name: "X.S01".into(),
                files: vec![file()],
            })),
        ),
        ("Torrent", v(&Torrent::from(torrent()))),
        ("Job", v(&Job::from(job()))),
        (
            "JobLogLine",
            v(&JobLogLine::from(pb::JobLogLine {
                id: 3,
                job_id: 12,
                time_ms: 1_795_000_000_250,
                level: "info".into(),
                message: "fetching season 1 (1 of 2)".into(),
            })),
        ),
        (
            "TorrentRemoved",
            v(&TorrentRemoved {
                removed: "c9e15763f722f23e98a29decdfae341b98d53056".into(),
                unassigned: vec![ItemRef::from(pb::ItemRef {
                    kind: pb::ItemKind::Episode as i32,
                    id: 8,
                })],
            }),
        ),
    ]
}

/// Lets `samples` hold values of different shapes in one list.
mod erased {
    pub trait Ser {
        fn value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).expect("serialisable")
        }
    }
}

#[test]
fn every_json_shape_has_the_documented_fields() {
    let shapes = documented();
    let mut reached = BTreeSet::new();
    for (name, value) in samples() {
        check(&shapes, name, &value, name);
        reached.insert(name.to_string());
        collect_nested(&shapes, name, &mut reached);
    }
    let listed: BTreeSet<String> = shapes.keys().cloned().collect();
    assert_eq!(
        listed, reached,
        "the README lists exactly the shapes momoctl prints"
    );
}

fn collect_nested(
    shapes: &BTreeMap<String, BTreeMap<String, Field>>,
    name: &str,
    out: &mut BTreeSet<String>,
) {
    for field in shapes[name].values() {
        if let Field::Object(inner, _) | Field::Objects(inner) = field
            && out.insert(inner.clone())
        {
            collect_nested(shapes, inner, out);
        }
    }
}

#[test]
fn job_states_read_as_words() {
    assert_eq!(job_state(pb::JobState::Running as i32), "running");
    assert_eq!(job_state(pb::JobState::Cancelled as i32), "cancelled");
    assert_eq!(job_state(42), "unknown");
}

#[test]
fn item_kinds_read_as_words_and_never_guess() {
    assert_eq!(item_kind(pb::ItemKind::Movie as i32), "movie");
    assert_eq!(item_kind(pb::ItemKind::Episode as i32), "episode");
    assert_eq!(item_kind(0), "unknown");
    assert_eq!(item_kind(99), "unknown");
}
