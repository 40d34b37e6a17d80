//! Which subtitle files of a torrent belong to the videos being assigned from it.
//!
//! Tried in order, for each subtitle file (`.srt`, `.ass`, `.ssa`, `.vtt`, at most
//! `MAX_BYTES`):
//!
//! 1. its name starts with a video's base name (`Movie.2019.1080p.mkv` ←
//!    `Movie.2019.1080p.en.srt`, in any folder): that video, the longest such name winning;
//! 2. it, or its folder, names an episode (`Subs/Show.S01E02/2_English.srt`,
//!    `Show.S01E02.de.srt`) that exactly one of the videos holds: that video;
//! 3. the torrent has one video and it is being assigned: that video (`Subs/English.srt`).
use super::{Format, MAX_BYTES, NameInfo, parse_name};
use crate::library::pack::{is_playable, parse_episode};
use crate::torrent::TorrentFile;

/// A subtitle file of the torrent, the video it goes with, and what its name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorrentSubtitle {
    /// Index (in the torrent) of the video it belongs to.
    pub video: usize,
    pub file: TorrentFile,
    pub info: NameInfo,
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn stem(path: &str) -> &str {
    let name = file_name(path);
    name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name)
}

/// The first episode a path names: from the file, else from its folder.
fn episode_of(path: &str) -> Option<(Option<i32>, i32)> {
    let from = |p: &str| parse_episode(p).and_then(|e| Some((e.season, *e.episodes.first()?)));
    from(path).or_else(|| {
        let (folders, _) = path.rsplit_once('/')?;
        let folder = folders.rsplit('/').next()?;
        from(&format!("{folder}.srt"))
    })
}

fn same_episode(a: (Option<i32>, i32), b: (Option<i32>, i32)) -> bool {
    a.1 == b.1 && (a.0.is_none() || b.0.is_none() || a.0 == b.0)
}

/// The subtitle files of `files` (the whole torrent) that go with one of `videos` (those
/// being assigned), by path.
pub fn plan(files: &[TorrentFile], videos: &[TorrentFile]) -> Vec<TorrentSubtitle> {
    let all_videos = files.iter().filter(|f| is_playable(&f.path)).count();
    let episodes: Vec<Option<(Option<i32>, i32)>> =
        videos.iter().map(|v| episode_of(&v.path)).collect();
    let mut found: Vec<TorrentSubtitle> = files
        .iter()
        .filter(|f| Format::of_name(&f.path).is_some() && f.size > 0 && f.size <= MAX_BYTES as u64)
        .filter_map(|f| {
            let name = file_name(&f.path);
            let lower = name.to_lowercase();
            // 1. The video's base name first.
            let by_name = videos
                .iter()
                .filter(|v| {
                    let s = stem(&v.path).to_lowercase();
                    lower.starts_with(&s) && lower[s.len()..].starts_with('.')
                })
                .max_by_key(|v| stem(&v.path).len());
            if let Some(v) = by_name {
                return Some(TorrentSubtitle {
                    video: v.index,
                    file: f.clone(),
                    info: parse_name(name, Some(stem(&v.path))),
                });
            }
            // 2. The episode it names.
            let video = match episode_of(&f.path) {
                Some(ep) => {
                    let mut holders = videos
                        .iter()
                        .zip(&episodes)
                        .filter(|(_, e)| e.is_some_and(|e| same_episode(e, ep)));
                    match (holders.next(), holders.next()) {
                        (Some((v, _)), None) => Some(v),
                        _ => None,
                    }
                }
                // 3. The only video.
                None if all_videos == 1 && videos.len() == 1 => videos.first(),
                None => None,
            }?;
            Some(TorrentSubtitle {
                video: video.index,
                file: f.clone(),
                info: parse_name(name, None),
            })
        })
        .collect();
    found.sort_by(|a, b| a.file.path.cmp(&b.file.path));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(index: usize, path: &str) -> TorrentFile {
        TorrentFile {
            index,
            path: path.into(),
            size: 50_000,
        }
    }

    fn found(subs: &[TorrentSubtitle]) -> Vec<(usize, &str, &str, bool, bool)> {
        subs.iter()
            .map(|s| {
                (
                    s.video,
                    s.file.path.as_str(),
                    s.info.language.as_str(),
                    s.info.forced,
                    s.info.sdh,
                )
            })
            .collect()
    }

    #[test]
    fn a_movie_torrent_gives_its_sidecars_and_subs_folder() {
        let files = [
            file(0, "Movie.2019.1080p.BluRay.x264-GRP.mkv"),
            file(1, "Movie.2019.1080p.BluRay.x264-GRP.en.srt"),
            file(2, "Movie.2019.1080p.BluRay.x264-GRP.eng.forced.srt"),
            file(3, "Subs/2_English.srt"),
            file(4, "Subs/5_French.srt"),
            file(5, "Subs/Readme.txt"),
            file(6, "Sample/sample.mkv"),
            TorrentFile {
                size: MAX_BYTES as u64 + 1,
                ..file(7, "Subs/Huge.srt")
            },
        ];
        let subs = plan(&files, &[files[0].clone()]);
        assert_eq!(
            found(&subs),
            [
                (
                    0,
                    "Movie.2019.1080p.BluRay.x264-GRP.en.srt",
                    "en",
                    false,
                    false
                ),
                (
                    0,
                    "Movie.2019.1080p.BluRay.x264-GRP.eng.forced.srt",
                    "en",
                    true,
                    false
                ),
                (0, "Subs/2_English.srt", "en", false, false),
                (0, "Subs/5_French.srt", "fr", false, false),
            ]
        );
    }

    #[test]
    fn a_pack_gives_each_episode_its_own() {
        let files = [
            file(0, "Show.S01E01.Pilot.1080p.mkv"),
            file(1, "Show.S01E02.Second.1080p.mkv"),
            file(2, "Show.S01E03.Third.1080p.mkv"),
            file(3, "Subs/Show.S01E01.Pilot.1080p/2_English.srt"),
            file(4, "Subs/Show.S01E01.Pilot.1080p/3_English.srt"),
            file(5, "Subs/Show.S01E02.Second.1080p/2_German.srt"),
            file(6, "Show.S01E03.Third.1080p.es.srt"),
            file(7, "Subs/English.srt"),
        ];
        // Episodes 1 and 3 are assigned; 2 is not in the library.
        let subs = plan(&files, &[files[0].clone(), files[2].clone()]);
        assert_eq!(
            found(&subs),
            [
                (2, "Show.S01E03.Third.1080p.es.srt", "es", false, false),
                (
                    0,
                    "Subs/Show.S01E01.Pilot.1080p/2_English.srt",
                    "en",
                    false,
                    false
                ),
                (
                    0,
                    "Subs/Show.S01E01.Pilot.1080p/3_English.srt",
                    "en",
                    false,
                    false
                ),
            ]
        );
        // One episode assigned out of a pack: a folder-less subtitle is nobody's.
        let subs = plan(&files, &[files[1].clone()]);
        assert_eq!(
            found(&subs),
            [(
                1,
                "Subs/Show.S01E02.Second.1080p/2_German.srt",
                "de",
                false,
                false
            )]
        );
    }
}
