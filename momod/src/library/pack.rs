//! Reading release file names: which files are videos worth playing, and which episodes a
//! file holds. Used to pick the file of a movie torrent and to map season packs (`plan`).
//!
//! Episode forms, tried in order: `S01E02` (also `s01e02e03`, `S01E02-E03`, `S01E02-03`),
//! `1x02`, `Season 1 Episode 2`, `E02`/`Ep 2`/`Episode 2` with the season from a folder
//! (`Season 1`, `S01`) or from the caller, and a bare `102` (season 1, episode 2) last.
use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::model::{PackEpisode, PackMatch};
use crate::torrent::TorrentFile;

const VIDEO_EXTENSIONS: &[&str] = &[
    "mkv", "mp4", "m4v", "avi", "mov", "wmv", "ts", "m2ts", "mts", "webm", "mpg", "mpeg", "flv",
    "ogv", "divx",
];

/// Folder or file words that mark extras, never the feature or an episode.
static EXTRA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(^|[^a-z])(sample|samples|trailer|trailers|extras?|featurettes?|behind[ ._-]the[ ._-]scenes|deleted[ ._-]scenes|bonus|interviews?|making[ ._-]of)([^a-z]|$)",
    )
    .unwrap()
});
static SXXEYY: LazyLock<Regex> = LazyLock::new(|| {
    // More episodes follow as "E03" or "-03"; never a bare number (".1080p" is not E108).
    Regex::new(
        r"(?i)(?:^|[^a-z0-9])s(\d{1,2})[ ._-]?e(\d{1,3})((?:[ ._]?-?[ ._]?e\d{1,3}|-\d{1,3})*)(?:[^0-9]|$)",
    )
    .unwrap()
});
static MORE_EPISODES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)e?(\d{1,3})").unwrap());
static NXMM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?:^|[^0-9a-z])(\d{1,2})x(\d{2,3})(?:[^0-9]|$)").unwrap());
static SEASON_EPISODE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)season[ ._-]*(\d{1,2})[ ._-]*episode[ ._-]*(\d{1,3})").unwrap()
});
static EPISODE_ONLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^a-z0-9])(?:e|ep|episode)[ ._-]?(\d{1,3})(?:[^0-9]|$)").unwrap()
});
static SEASON_FOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:season|series|staffel|saison)[ ._-]*(\d{1,2})$|^s(\d{1,2})$|(?:^|[^a-z0-9])s(\d{1,2})(?:[^0-9e]|$)").unwrap()
});
/// Tokens that look like numbers but are not episodes, removed before the last resort.
static NOISE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[hx][ .]?26[45]|\d{3,4}[pi]|(?:19|20)\d{2}|\d\.\d|\d+bit|ddp?\d|aac\d?|dts|av1|hevc|10bit").unwrap()
});
static THREE_DIGITS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[^0-9])(\d)(\d{2})(?:[^0-9]|$)").unwrap());

/// A video file that is not a sample, trailer or extra.
pub fn is_playable(path: &str) -> bool {
    has_video_extension(path) && !EXTRA.is_match(path)
}

/// Whether the name ends with a video extension (.mkv, .mp4, …), in any case.
pub fn has_video_extension(path: &str) -> bool {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    VIDEO_EXTENSIONS.contains(&ext.as_str())
}

/// Episodes a file holds: (season if the name or a folder says, episode numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodeRef {
    pub season: Option<i32>,
    pub episodes: Vec<i32>,
}

/// Reads the episode(s) from a path inside a torrent ("Show/Season 1/Show.S01E02.mkv").
pub fn parse_episode(path: &str) -> Option<EpisodeRef> {
    let (folders, file) = path.rsplit_once('/').unwrap_or(("", path));
    let stem = file.rsplit_once('.').map(|(s, _)| s).unwrap_or(file);
    let num = |s: &str| s.parse::<i32>().ok();

    if let Some(c) = SXXEYY.captures(stem) {
        let season = num(&c[1])?;
        let first = num(&c[2])?;
        let mut episodes = vec![first];
        // "E03", "-03", "-E03" after the first episode: a list or a range.
        let tail = c.get(3).map_or("", |m| m.as_str());
        let is_range = tail.trim_start_matches([' ', '.', '_']).starts_with('-');
        let more: Vec<i32> = MORE_EPISODES
            .captures_iter(tail)
            .filter_map(|m| num(&m[1]))
            .collect();
        match (is_range, more.as_slice()) {
            (true, [last]) if *last > first && *last - first < 10 => {
                episodes.extend(first + 1..=*last)
            }
            _ => episodes.extend(more.iter().filter(|e| **e > first)),
        }
        episodes.dedup();
        return Some(EpisodeRef {
            season: Some(season),
            episodes,
        });
    }
    if let Some(c) = NXMM.captures(stem) {
        return Some(EpisodeRef {
            season: num(&c[1]),
            episodes: vec![num(&c[2])?],
        });
    }
    if let Some(c) = SEASON_EPISODE_WORDS.captures(stem) {
        return Some(EpisodeRef {
            season: num(&c[1]),
            episodes: vec![num(&c[2])?],
        });
    }
    let folder_season = folders.split('/').rev().find_map(|f| {
        SEASON_FOLDER
            .captures(f)
            .and_then(|c| c.get(1).or(c.get(2)).or(c.get(3)))
            .and_then(|m| num(m.as_str()))
    });
    if let Some(c) = EPISODE_ONLY.captures(stem) {
        return Some(EpisodeRef {
            season: folder_season,
            episodes: vec![num(&c[1])?],
        });
    }
    // Last resort: a lone three-digit number, once resolutions, codecs and years are gone.
    let cleaned = NOISE.replace_all(stem, " ");
    let mut candidates = THREE_DIGITS.captures_iter(&cleaned);
    let c = candidates.next()?;
    if candidates.next().is_some() {
        return None;
    }
    Some(EpisodeRef {
        season: num(&c[1]),
        episodes: vec![num(&c[2])?],
    })
}

/// How a pack's files map to episodes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PackPlan {
    /// Episodes exactly one file claims.
    pub matched: Vec<PackMatch>,
    /// Episodes several files claim: left alone, every claim reported.
    pub ambiguous: Vec<PackMatch>,
    /// Playable files that name no episode in scope.
    pub unmatched_files: Vec<TorrentFile>,
    /// Episodes in scope no file claims.
    pub missing_episodes: Vec<PackEpisode>,
}

/// Maps the playable `files` to `episodes` by name. `season` is the season being assigned
/// (a bare "E05" belongs to it); None for a whole-show pack. Samples and extras are skipped.
pub fn plan(episodes: &[PackEpisode], files: &[TorrentFile], season: Option<i32>) -> PackPlan {
    let by_number: BTreeMap<(i32, i32), &PackEpisode> = episodes
        .iter()
        .map(|e| ((e.season_number, e.episode_number), e))
        .collect();
    let mut claims: BTreeMap<(i32, i32), Vec<&TorrentFile>> = BTreeMap::new();
    let mut out = PackPlan::default();
    for file in files.iter().filter(|f| is_playable(&f.path)) {
        let keys: Vec<(i32, i32)> = parse_episode(&file.path)
            .and_then(|r| {
                let s = r.season.or(season)?;
                Some(r.episodes.into_iter().map(move |e| (s, e)))
            })
            .into_iter()
            .flatten()
            .filter(|k| by_number.contains_key(k))
            .collect();
        if keys.is_empty() {
            out.unmatched_files.push(file.clone());
        }
        for k in keys {
            claims.entry(k).or_default().push(file);
        }
    }
    for (key, files) in &claims {
        let entries = files.iter().map(|f| PackMatch {
            episode: by_number[key].clone(),
            file: (*f).clone(),
            share_path: String::new(),
        });
        if files.len() == 1 {
            out.matched.extend(entries)
        } else {
            out.ambiguous.extend(entries)
        }
    }
    out.missing_episodes = by_number
        .iter()
        .filter(|(k, _)| !claims.contains_key(k))
        .map(|(_, e)| (*e).clone())
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn episode(id: i64, season: i32, number: i32) -> PackEpisode {
        PackEpisode {
            id,
            season_number: season,
            episode_number: number,
            name: None,
        }
    }

    fn file(index: usize, path: &str) -> TorrentFile {
        TorrentFile {
            index,
            path: path.into(),
            size: 1000 + index as u64,
        }
    }

    #[test]
    fn a_pack_maps_files_to_episodes_in_scope() {
        let episodes = [
            episode(11, 1, 1),
            episode(12, 1, 2),
            episode(13, 1, 3),
            episode(14, 1, 4),
            episode(15, 1, 5),
        ];
        let files = [
            file(0, "Show.S01/Show.S01E01.1080p.mkv"),
            // One file, two episodes.
            file(1, "Show.S01/Show.S01E02E03.1080p.mkv"),
            // Two files claim episode 4: neither is picked.
            file(2, "Show.S01/Show.S01E04.mkv"),
            file(3, "Show.S01/Show.S01E04.REPACK.mkv"),
            // Outside the season, a sample, and a subtitle: never matched.
            file(4, "Show.S01/Show.S02E01.mkv"),
            file(5, "Show.S01/Sample/Show.S01E05.sample.mkv"),
            file(6, "Show.S01/Show.S01E05.srt"),
        ];
        let p = plan(&episodes, &files, Some(1));
        let matched: Vec<(i64, usize)> = p
            .matched
            .iter()
            .map(|m| (m.episode.id, m.file.index))
            .collect();
        assert_eq!(matched, [(11, 0), (12, 1), (13, 1)]);
        let ambiguous: Vec<(i64, usize)> = p
            .ambiguous
            .iter()
            .map(|m| (m.episode.id, m.file.index))
            .collect();
        assert_eq!(ambiguous, [(14, 2), (14, 3)]);
        assert_eq!(p.unmatched_files, [files[4].clone()]);
        assert_eq!(p.missing_episodes, [episodes[4].clone()]);
    }

    #[test]
    fn a_bare_episode_number_takes_the_season_being_assigned() {
        let episodes = [episode(21, 2, 1), episode(31, 3, 1)];
        let files = [file(0, "E01 - Title.mkv")];
        assert_eq!(plan(&episodes, &files, Some(3)).matched[0].episode.id, 31);
        // A whole-show pack cannot tell which season a bare E01 is.
        let whole = plan(&episodes, &files, None);
        assert!(whole.matched.is_empty());
        assert_eq!(whole.unmatched_files.len(), 1);
    }

    fn ep(path: &str) -> Option<(Option<i32>, Vec<i32>)> {
        parse_episode(path).map(|e| (e.season, e.episodes))
    }

    #[test]
    fn episode_forms() {
        assert_eq!(
            ep("Show.Name.S01E02.1080p.WEB-DL.x264-GRP.mkv"),
            Some((Some(1), vec![2]))
        );
        assert_eq!(
            ep("show.name.s01e02e03.720p.mkv"),
            Some((Some(1), vec![2, 3]))
        );
        assert_eq!(
            ep("Show S02E05-E07 Finale.mkv"),
            Some((Some(2), vec![5, 6, 7]))
        );
        assert_eq!(ep("Show.S02E05-06.mkv"), Some((Some(2), vec![5, 6])));
        assert_eq!(ep("Show - 1x02 - Title.avi"), Some((Some(1), vec![2])));
        assert_eq!(ep("Show Season 1 Episode 2.mp4"), Some((Some(1), vec![2])));
        assert_eq!(
            ep("Show/Season 3/E04 - Title.mkv"),
            Some((Some(3), vec![4]))
        );
        assert_eq!(ep("Show/S03/Episode 4.mkv"), Some((Some(3), vec![4])));
        assert_eq!(ep("Ep 7.mkv"), Some((None, vec![7])));
        assert_eq!(ep("show.102.hdtv.x264.mkv"), Some((Some(1), vec![2])));
        assert_eq!(ep("Show.2008.720p.H.264.mkv"), None);
        assert_eq!(ep("Show 1920x1080.mkv"), None);
        assert_eq!(ep("readme.mkv"), None);
    }

    #[test]
    fn samples_and_extras_are_not_playable() {
        assert!(is_playable("Movie.2019.1080p.BluRay.x264.mkv"));
        assert!(is_playable("Show/Season 1/Show.S01E01.MP4"));
        assert!(!is_playable("Movie.2019.1080p-sample.mkv"));
        assert!(!is_playable("Sample/movie.mkv"));
        assert!(!is_playable("Extras/Behind the Scenes.mkv"));
        assert!(!is_playable("Movie.Trailer.mp4"));
        assert!(!is_playable("Featurettes/x.mkv"));
        assert!(!is_playable("movie.nfo"));
        assert!(!is_playable("Subs/movie.srt"));
        // Words that merely contain "extra" or "sample" stay.
        assert!(is_playable("Extraordinary.Attorney.Woo.S01E01.mkv"));
    }
}
