//! Skip markers (the intro, the credits) of movies and episodes, served as Kodi EDL sidecars
//! beside their videos and in the API. Set by hand here; a manual marker is never replaced
//! by detection.
use super::Library;
use super::model::{Item, MarkerOrigin, Markers};
use crate::error::{Error, Result};

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
}
