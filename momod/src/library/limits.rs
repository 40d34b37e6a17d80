//! Limits on what enters the library, from a user or from TMDB, checked before anything is
//! stored or fetched further.
//!
//! They keep every name usable as a file name and every reply under gRPC's 4 MiB message
//! limit: the largest show allowed (`MAX_EPISODES_PER_SHOW` episodes, each with a name of
//! `MAX_NAME_BYTES`) encodes to under 4 MiB; lists of movies and shows are paged.
//!
//! Text is cleaned before it is measured: surrounding space trimmed, control characters
//! dropped (tabs and newlines become spaces). A limit broken by the user's input is
//! `InvalidArgument`; by TMDB's answer, `Unavailable` (TMDB sent something we cannot use),
//! naming the item so the user can add it by hand instead.
use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::error::{Error, Result};
use crate::library::model::ShowDetail;
use crate::tmdb::{EpisodeInfo, SeasonInfo};

/// Longest title and episode name, in bytes after cleaning. The longest real titles are
/// around 200 bytes; a share folder name must fit in 255 with its year and suffix.
pub const MAX_NAME_BYTES: usize = 200;
/// Longest search text sent to TMDB.
pub const MAX_QUERY_BYTES: usize = 200;
pub const YEARS: RangeInclusive<i32> = 1800..=2300;
/// Season numbers: 0 is specials; some shows number seasons by year (2024).
pub const SEASON_NUMBERS: RangeInclusive<i32> = 0..=3000;
pub const EPISODE_NUMBERS: RangeInclusive<i32> = 0..=99_999;
pub const MAX_SEASONS: usize = 200;
pub const MAX_EPISODES_PER_SEASON: usize = 2000;
/// Long-running daily shows go past this; they can be added a few seasons at a time.
pub const MAX_EPISODES_PER_SHOW: usize = 10_000;

/// Where a value came from, which decides the error's code and wording.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    User,
    /// TMDB, for this item ("movie 550", "show 1396").
    Tmdb(&'a str),
}

impl Origin<'_> {
    fn error(self, what: String) -> Error {
        match self {
            Origin::User => Error::InvalidArgument(what),
            Origin::Tmdb(item) => Error::Unavailable(format!(
                "TMDB sent unusable data for {item}: {what}; add it by hand with --title instead"
            )),
        }
    }
}

/// Trimmed, control characters dropped, runs of whitespace kept as they are.
pub fn clean(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// A movie or show title: not blank, at most `MAX_NAME_BYTES`.
pub fn title(text: &str, origin: Origin) -> Result<String> {
    let t = clean(text);
    // Blank, or only invisible format characters: the share would show "(1999)".
    if t.chars()
        .all(|c| c.is_whitespace() || c.general_category() == GeneralCategory::Format)
    {
        return Err(origin.error("the title is blank".into()));
    }
    if t.len() > MAX_NAME_BYTES {
        return Err(origin.error(format!(
            "the title is {} bytes long; at most {MAX_NAME_BYTES} are allowed",
            t.len()
        )));
    }
    Ok(t)
}

pub fn year(year: Option<i32>, origin: Origin) -> Result<Option<i32>> {
    match year {
        Some(y) if !YEARS.contains(&y) => Err(origin.error(format!(
            "year {y} is not plausible ({}–{})",
            YEARS.start(),
            YEARS.end()
        ))),
        y => Ok(y),
    }
}

pub fn season_number(n: i32, origin: Origin) -> Result<i32> {
    if SEASON_NUMBERS.contains(&n) {
        Ok(n)
    } else {
        Err(origin.error(format!(
            "season {n} is out of range ({}–{})",
            SEASON_NUMBERS.start(),
            SEASON_NUMBERS.end()
        )))
    }
}

/// The list of season numbers a show has, before any season is fetched.
pub fn season_list(numbers: &[i32], origin: Origin) -> Result<()> {
    if numbers.len() > MAX_SEASONS {
        return Err(origin.error(format!(
            "the show has {} seasons; at most {MAX_SEASONS} are allowed",
            numbers.len()
        )));
    }
    let mut seen = BTreeSet::new();
    for &n in numbers {
        season_number(n, origin)?;
        if !seen.insert(n) {
            return Err(origin.error(format!("season {n} is listed twice")));
        }
    }
    Ok(())
}

/// Seasons about to be stored: numbers in range, no duplicates, counts within the limits,
/// episode names cleaned and bounded, air dates kept only when they look like dates.
pub fn seasons(seasons: Vec<SeasonInfo>, origin: Origin) -> Result<Vec<SeasonInfo>> {
    let numbers: Vec<i32> = seasons.iter().map(|s| s.season_number).collect();
    season_list(&numbers, origin)?;
    let total: usize = seasons.iter().map(|s| s.episodes.len()).sum();
    if total > MAX_EPISODES_PER_SHOW {
        return Err(origin.error(format!(
            "the show has {total} episodes; at most {MAX_EPISODES_PER_SHOW} are allowed \
             (add fewer seasons with --seasons)"
        )));
    }
    let mut out = Vec::with_capacity(seasons.len());
    for season in seasons {
        let n = season.season_number;
        if season.episodes.len() > MAX_EPISODES_PER_SEASON {
            return Err(origin.error(format!(
                "season {n} has {} episodes; at most {MAX_EPISODES_PER_SEASON} are allowed",
                season.episodes.len()
            )));
        }
        let mut seen = BTreeSet::new();
        let mut episodes = Vec::with_capacity(season.episodes.len());
        for e in season.episodes {
            let number = e.episode_number;
            if !EPISODE_NUMBERS.contains(&number) {
                return Err(origin.error(format!(
                    "season {n} has an episode numbered {number} (allowed: {}–{})",
                    EPISODE_NUMBERS.start(),
                    EPISODE_NUMBERS.end()
                )));
            }
            if !seen.insert(number) {
                // TMDB does list an episode twice now and then: the first one counts.
                continue;
            }
            let name = e.name.map(|name| clean(&name)).filter(|s| !s.is_empty());
            if let Some(name) = &name
                && name.len() > MAX_NAME_BYTES
            {
                return Err(origin.error(format!(
                    "the name of S{n:02}E{number:02} is {} bytes long; at most {MAX_NAME_BYTES} are allowed",
                    name.len()
                )));
            }
            episodes.push(EpisodeInfo {
                episode_number: number,
                name,
                air_date: e.air_date.filter(|d| is_date(d)),
            });
        }
        out.push(SeasonInfo {
            season_number: n,
            episodes,
        });
    }
    Ok(out)
}

/// The show after a refresh (which never removes anything): its stored seasons and
/// episodes together with `fetched` stay within the limits.
pub fn merged(current: &ShowDetail, fetched: &[SeasonInfo], origin: Origin) -> Result<()> {
    let mut seasons: BTreeMap<i32, BTreeSet<i32>> = current
        .seasons
        .iter()
        .map(|s| {
            (
                s.season_number,
                s.episodes.iter().map(|e| e.episode_number).collect(),
            )
        })
        .collect();
    for s in fetched {
        seasons
            .entry(s.season_number)
            .or_default()
            .extend(s.episodes.iter().map(|e| e.episode_number));
    }
    if seasons.len() > MAX_SEASONS {
        return Err(origin.error(format!(
            "with TMDB's new seasons the show would have {}; at most {MAX_SEASONS} are allowed",
            seasons.len()
        )));
    }
    if let Some((n, e)) = seasons
        .iter()
        .find(|(_, e)| e.len() > MAX_EPISODES_PER_SEASON)
    {
        return Err(origin.error(format!(
            "with TMDB's new episodes season {n} would have {}; at most {MAX_EPISODES_PER_SEASON} are allowed",
            e.len()
        )));
    }
    let total: usize = seasons.values().map(BTreeSet::len).sum();
    if total > MAX_EPISODES_PER_SHOW {
        return Err(origin.error(format!(
            "with TMDB's new episodes the show would have {total}; at most {MAX_EPISODES_PER_SHOW} are allowed"
        )));
    }
    Ok(())
}

/// Search text: not blank, bounded.
pub fn query(text: &str) -> Result<String> {
    let q = clean(text);
    if q.is_empty() {
        return Err(Error::InvalidArgument("search text is empty".into()));
    }
    if q.len() > MAX_QUERY_BYTES {
        return Err(Error::InvalidArgument(format!(
            "search text is {} bytes long; at most {MAX_QUERY_BYTES} are allowed",
            q.len()
        )));
    }
    Ok(q)
}

/// `YYYY-MM-DD`.
fn is_date(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn episode(n: i32, name: Option<&str>) -> EpisodeInfo {
        EpisodeInfo {
            episode_number: n,
            name: name.map(str::to_string),
            air_date: Some("2008-01-20".into()),
        }
    }

    fn season(n: i32, episodes: Vec<EpisodeInfo>) -> SeasonInfo {
        SeasonInfo {
            season_number: n,
            episodes,
        }
    }

    #[test]
    fn titles_are_cleaned_then_measured() {
        assert_eq!(
            title("  Fight\tClub\u{7}  ", Origin::User).unwrap(),
            "Fight Club"
        );
        assert!(matches!(
            title("   ", Origin::User),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            title("\u{200b}\u{1b}", Origin::Tmdb("movie 1")),
            Err(Error::Unavailable(_))
        ));
        assert!(title(&"a".repeat(MAX_NAME_BYTES), Origin::User).is_ok());
        let e = title(&"é".repeat(MAX_NAME_BYTES), Origin::Tmdb("movie 7"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("movie 7") && e.contains("400 bytes"), "{e}");
    }

    #[test]
    fn years_and_numbers_are_bounded() {
        assert!(year(Some(9999), Origin::Tmdb("movie 1")).is_err());
        assert_eq!(year(Some(1999), Origin::User).unwrap(), Some(1999));
        assert_eq!(year(None, Origin::User).unwrap(), None);
        assert!(season_number(i32::MAX, Origin::Tmdb("show 1")).is_err());
        assert!(season_list(&(0..=MAX_SEASONS as i32).collect::<Vec<_>>(), Origin::User).is_err());
    }

    #[test]
    fn seasons_are_checked_whole() {
        let ok = seasons(
            vec![season(
                1,
                vec![episode(1, Some(" Pilot\n")), episode(2, Some(""))],
            )],
            Origin::User,
        )
        .unwrap();
        assert_eq!(ok[0].episodes[0].name.as_deref(), Some("Pilot"));
        assert_eq!(ok[0].episodes[1].name, None);

        let bad_number = seasons(
            vec![season(1, vec![episode(-1, None)])],
            Origin::Tmdb("show 1"),
        );
        assert!(matches!(bad_number, Err(Error::Unavailable(_))));
        let twice = seasons(
            vec![season(
                1,
                vec![episode(1, Some("A")), episode(1, Some("B"))],
            )],
            Origin::Tmdb("show 1"),
        )
        .unwrap();
        assert_eq!(twice[0].episodes.len(), 1);
        assert_eq!(twice[0].episodes[0].name.as_deref(), Some("A"));
        assert!(season_list(&[1, 2, 1], Origin::User).is_err());
        let long = seasons(
            vec![season(1, vec![episode(1, Some(&"x".repeat(201)))])],
            Origin::User,
        );
        assert!(long.is_err());
        let big = seasons(
            vec![season(
                1,
                (0..=MAX_EPISODES_PER_SEASON as i32)
                    .map(|n| episode(n, None))
                    .collect(),
            )],
            Origin::User,
        );
        assert!(big.is_err());
        let huge: Vec<SeasonInfo> = (1..=6)
            .map(|s| season(s, (1..=1800).map(|n| episode(n, None)).collect()))
            .collect();
        let e = seasons(huge, Origin::User).unwrap_err().to_string();
        assert!(e.contains("10800 episodes"), "{e}");
    }

    #[test]
    fn air_dates_must_look_like_dates() {
        let s = seasons(
            vec![season(
                1,
                vec![EpisodeInfo {
                    episode_number: 1,
                    name: None,
                    air_date: Some("x".repeat(5000)),
                }],
            )],
            Origin::User,
        )
        .unwrap();
        assert_eq!(s[0].episodes[0].air_date, None);
        assert!(is_date("2008-01-20") && !is_date("2008-1-20") && !is_date("20080120xx"));
    }
}
