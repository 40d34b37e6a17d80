//! Skip markers (the intro, the credits) of movies and episodes, served as Kodi EDL sidecars
//! beside their videos and in the API: set by hand, or detected for a season by comparing
//! its episodes' audio (`crate::intro`). A manual marker is never replaced by detection.
use std::collections::BTreeMap;
use std::sync::Arc;

use super::Library;
use super::model::{EpisodeDetail, Item, MarkerOrigin, Markers};
use crate::error::{Error, Result};
use crate::intro::{Detection, Prints};
use crate::jobs::JobCtx;
use crate::vfs::Node;

/// What a detection did for one episode.
#[derive(Debug, Clone)]
pub struct EpisodeIntro {
    pub episode_id: i64,
    pub season_number: i32,
    pub episode_number: i32,
    /// What it has now: detected, manual ones kept, or (failed) what it had.
    pub markers: Option<Markers>,
    pub outcome: IntroOutcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum IntroOutcome {
    /// An intro or credits (or both) shared with other episodes of its season.
    Found,
    /// Nothing shared with the others: no markers rather than wrong ones.
    NoCommonSegment,
    /// Its markers were set by hand and stay.
    ManualKept,
    /// Its audio could not be read (why).
    Failed(String),
}

impl IntroOutcome {
    pub fn as_str(&self) -> &str {
        match self {
            IntroOutcome::Found => "found",
            IntroOutcome::NoCommonSegment => "no common segment",
            IntroOutcome::ManualKept => "manual markers kept",
            IntroOutcome::Failed(_) => "failed",
        }
    }
}

/// A season to detect: its number and its episodes with a source.
type SeasonEpisodes = (i32, Vec<EpisodeDetail>);

/// Passes a detection makes over episodes that keep getting other sources meanwhile.
const PASSES: usize = 3;

/// No marker lies past this (a day of video).
const MAX_SECONDS: f64 = 86_400.0;

fn check_span(what: &str, start: f64, end: Option<f64>) -> Result<()> {
    let ok = |t: f64| t.is_finite() && (0.0..=MAX_SECONDS).contains(&t);
    if !ok(start) || end.is_some_and(|e| !ok(e)) {
        return Err(Error::InvalidArgument(format!(
            "the {what} times must lie between 0 and {MAX_SECONDS} s"
        )));
    }
    if let Some(e) = end
        && e <= start
    {
        return Err(Error::InvalidArgument(format!(
            "the {what} must end after it starts ({start} s to {e} s)"
        )));
    }
    Ok(())
}

impl Library {
    /// Sets an item's markers by hand (replacing any).
    pub async fn set_markers(
        &self,
        item: Item,
        intro: Option<(f64, f64)>,
        credits: Option<(f64, Option<f64>)>,
    ) -> Result<Markers> {
        if intro.is_none() && credits.is_none() {
            return Err(Error::InvalidArgument(
                "give the intro (--start and --end) or the credits (--credits), or both".into(),
            ));
        }
        if let Some((s, e)) = intro {
            check_span("intro", s, Some(e))?;
        }
        if let Some((s, e)) = credits {
            check_span("credits", s, e)?;
        }
        let markers = Markers {
            item,
            intro,
            credits,
            origin: MarkerOrigin::Manual,
            confidence: 1.0,
        };
        self.store.set_markers(markers.clone()).await?;
        Ok(markers)
    }

    /// Removes an item's markers; NotFound when it has none.
    pub async fn remove_markers(&self, item: Item) -> Result<Markers> {
        self.store
            .remove_markers(item)
            .await?
            .ok_or_else(|| Error::NotFound(format!("{item} has no markers")))
    }

    /// The markers of a show's episodes (of one season, or all).
    pub async fn show_markers(&self, show_id: i64, season: Option<i32>) -> Result<Vec<Markers>> {
        self.get_show(show_id).await?;
        self.store.show_markers(show_id, season).await
    }

    /// Checks what `detect_intros` can check at once, before a job is made for it.
    pub async fn check_detect_intros(&self, show_id: i64, season: Option<i32>) -> Result<()> {
        self.intro_seasons(show_id, season).await?;
        self.intros.check_tools().await
    }

    /// The seasons of a show (one, or all) with at least two episodes with a source.
    async fn intro_seasons(
        &self,
        show_id: i64,
        season: Option<i32>,
    ) -> Result<Vec<SeasonEpisodes>> {
        let show = self.get_show(show_id).await?;
        if let Some(n) = season
            && !show.seasons.iter().any(|s| s.season_number == n)
        {
            return Err(Error::NotFound(format!("show {show_id} has no season {n}")));
        }
        let seasons: Vec<SeasonEpisodes> = show
            .seasons
            .into_iter()
            .filter(|s| season.is_none_or(|n| s.season_number == n))
            .map(|s| {
                let with_source = s.episodes.into_iter().filter(|e| e.assigned).collect();
                (s.season_number, with_source)
            })
            .collect();
        let (ready, short): (Vec<_>, Vec<_>) = seasons.into_iter().partition(|(_, e)| e.len() >= 2);
        if ready.is_empty() {
            let said = match (season, short.first()) {
                (Some(n), Some((_, e))) => format!("season {n} has {} with a source", e.len()),
                _ => "no season has two episodes with a source".into(),
            };
            return Err(Error::FailedPrecondition(format!(
                "show {show_id}: {said}; detection compares the episodes of a season, at least two"
            )));
        }
        Ok(ready)
    }

    /// Detects the intro and credits of a show's seasons (one, or each with two episodes
    /// with a source) by comparing their episodes' audio, and stores them as detected
    /// markers: replacing earlier detected ones, removing them where nothing is shared now,
    /// never touching manual ones. A season of which fewer than two episodes could be read
    /// is left as it was. If episodes got other sources while it compared, it compares
    /// again (the fingerprints it has are kept), up to `PASSES` times; then it writes, in
    /// one transaction, what still belongs to the files it read.
    pub async fn detect_intros(
        &self,
        show_id: i64,
        season: Option<i32>,
        ctx: &JobCtx,
    ) -> Result<Vec<EpisodeIntro>> {
        let mut pass = 1;
        let (mut report, writes) = loop {
            let seasons = self.intro_seasons(show_id, season).await?;
            let sources = self.sources_of(&seasons).await?;
            let (report, writes) = self.compare_seasons(seasons, &sources, ctx).await?;
            let now = self.intro_seasons(show_id, season).await?;
            if pass == PASSES || self.sources_of(&now).await? == sources {
                break (report, writes);
            }
            pass += 1;
            ctx.step("episodes got other sources meanwhile: comparing again");
        };
        if writes.is_empty() {
            // Not one season compared: the job failed, with the first reason.
            let why = report.iter().find_map(|r| match &r.outcome {
                IntroOutcome::Failed(why) => Some(why.clone()),
                _ => None,
            });
            return Err(Error::FailedPrecondition(format!(
                "no episode could be compared: {}",
                why.unwrap_or_default()
            )));
        }
        ctx.commit()?;
        self.store.set_detected_markers(writes).await?;
        // Each row with what its episode has now; manual markers were kept.
        let now = self.store.show_markers(show_id, season).await?;
        for r in &mut report {
            let item = Item::Episode(r.episode_id);
            r.markers = now.iter().find(|m| m.item == item).cloned();
            let manual = r.markers.as_ref().map(|m| m.origin) == Some(MarkerOrigin::Manual);
            if manual && !matches!(r.outcome, IntroOutcome::Failed(_)) {
                r.outcome = IntroOutcome::ManualKept;
            }
        }
        report.sort_by_key(|r| (r.season_number, r.episode_number));
        Ok(report)
    }

    /// The active source of each episode of `seasons`, by episode id.
    async fn sources_of(&self, seasons: &[SeasonEpisodes]) -> Result<BTreeMap<i64, i64>> {
        let mut sources = BTreeMap::new();
        for e in seasons.iter().flat_map(|(_, e)| e) {
            if let Some(a) = self.store.active_source(Item::Episode(e.id)).await? {
                sources.insert(e.id, a.id);
            }
        }
        Ok(sources)
    }

    /// One pass: scans and compares each season; the report's rows and the markers to
    /// write (with the source each was found in).
    async fn compare_seasons(
        &self,
        seasons: Vec<SeasonEpisodes>,
        sources: &BTreeMap<i64, i64>,
        ctx: &JobCtx,
    ) -> Result<(Vec<EpisodeIntro>, Vec<(Item, i64, Option<Markers>)>)> {
        let total = seasons.iter().map(|(_, e)| e.len() as u64).sum();
        ctx.progress(0, Some(total), "episodes");
        let mut report = Vec::new();
        let mut writes = Vec::new();
        for (number, episodes) in seasons {
            let scanned = self
                .scan_season(number, episodes, (ctx, total), &mut report)
                .await;
            if scanned.len() < 2 {
                for (e, _) in scanned {
                    let why = "no other episode of its season could be read: nothing compared";
                    report.push(row(number, &e, IntroOutcome::Failed(why.into())));
                }
                continue;
            }
            ctx.step(format!(
                "season {number}: comparing {} episodes",
                scanned.len()
            ));
            let (scanned, found) = tokio::task::spawn_blocking(move || {
                let prints: Vec<&Prints> = scanned.iter().map(|(_, p)| p.as_ref()).collect();
                let found = crate::intro::compare(&prints);
                (scanned, found)
            })
            .await
            .map_err(|e| Error::Internal(format!("intro comparison: {e}")))?;
            for ((e, _), found) in scanned.iter().zip(found) {
                let markers = detected(Item::Episode(e.id), found);
                let outcome = match markers {
                    Some(_) => IntroOutcome::Found,
                    None => IntroOutcome::NoCommonSegment,
                };
                if let Some(&source) = sources.get(&e.id) {
                    writes.push((Item::Episode(e.id), source, markers));
                }
                report.push(row(number, e, outcome));
            }
        }
        Ok((report, writes))
    }

    /// Fingerprints the episodes of a season; those that cannot be read get a failed row.
    async fn scan_season(
        &self,
        number: i32,
        episodes: Vec<EpisodeDetail>,
        (ctx, total): (&JobCtx, u64),
        report: &mut Vec<EpisodeIntro>,
    ) -> Vec<(EpisodeDetail, Arc<Prints>)> {
        let tree = match self.vfs.tree().await {
            Ok(tree) => tree,
            Err(e) => {
                for ep in &episodes {
                    report.push(row(number, ep, IntroOutcome::Failed(e.to_string())));
                }
                return Vec::new();
            }
        };
        let mut scanned = Vec::new();
        for e in episodes {
            ctx.step(format!(
                "season {number}: decoding the audio of episode {}",
                e.episode_number
            ));
            let file = tree
                .path_of(Item::Episode(e.id))
                .and_then(|path| match tree.lookup(path) {
                    Some(Node::File(f)) => Some((path.to_string(), f.etag.clone())),
                    _ => None,
                });
            let prints = match &file {
                Some((path, etag)) => self.intros.scan(path, etag).await,
                None => Err(Error::NotFound("it has no file in the share".into())),
            };
            match prints {
                Ok(prints) => scanned.push((e, prints)),
                Err(err) => {
                    tracing::warn!(episode = e.id, "intro detection cannot read it: {err}");
                    report.push(row(number, &e, IntroOutcome::Failed(err.to_string())));
                }
            }
            let done = report.len() + scanned.len();
            ctx.progress(done as u64, Some(total), "episodes");
        }
        scanned
    }

    /// The shows of these newly assigned items that detection should look at now
    /// (`intro.auto`): those where an item's season has two episodes with a source.
    pub async fn shows_to_detect(&self, items: &[Item]) -> Vec<i64> {
        if !self.intros.auto() {
            return Vec::new();
        }
        let mut shows = Vec::new();
        for item in items {
            let Item::Episode(id) = item else { continue };
            if let Ok(Some((show, season))) = self.store.season_of(*id).await
                && !shows.contains(&show)
                && self.intro_seasons(show, Some(season)).await.is_ok()
            {
                shows.push(show);
            }
        }
        shows
    }
}

fn row(season: i32, e: &EpisodeDetail, outcome: IntroOutcome) -> EpisodeIntro {
    EpisodeIntro {
        episode_id: e.id,
        season_number: season,
        episode_number: e.episode_number,
        markers: None,
        outcome,
    }
}

/// The markers a detection makes, if it found anything.
fn detected(item: Item, found: Detection) -> Option<Markers> {
    let round = |t: f64| (t * 1000.0).round() / 1000.0;
    (found.intro.is_some() || found.credits.is_some()).then(|| Markers {
        item,
        intro: found.intro.map(|(s, e)| (round(s), round(e))),
        credits: found.credits.map(|(s, e)| (round(s), Some(round(e)))),
        origin: MarkerOrigin::Detected,
        confidence: found.confidence,
    })
}
