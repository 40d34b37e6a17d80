//! Skip markers: one row per movie or episode (the intro, the credits), manual or detected.
use diesel::prelude::*;

use super::assignments::{item_exists, item_of};
use super::schema::{episodes, markers, seasons};
use super::{Store, now};
use crate::error::Result;
use crate::library::model::{Item, MarkerOrigin, Markers};

type MarkerRow = (
    Option<i64>,
    Option<i64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    String,
    f64,
);

fn columns() -> (
    markers::movie_id,
    markers::episode_id,
    markers::intro_start,
    markers::intro_end,
    markers::credits_start,
    markers::credits_end,
    markers::origin,
    markers::confidence,
) {
    (
        markers::movie_id,
        markers::episode_id,
        markers::intro_start,
        markers::intro_end,
        markers::credits_start,
        markers::credits_end,
        markers::origin,
        markers::confidence,
    )
}

fn of_row((movie, episode, is, ie, cs, ce, origin, confidence): MarkerRow) -> Option<Markers> {
    Some(Markers {
        item: item_of(movie, episode)?,
        intro: is.zip(ie),
        credits: cs.map(|s| (s, ce)),
        origin: MarkerOrigin::parse(&origin)?,
        confidence,
    })
}

fn of_item(item: Item) -> markers::BoxedQuery<'static, diesel::sqlite::Sqlite> {
    let q = markers::table.into_boxed();
    match item {
        Item::Movie(id) => q.filter(markers::movie_id.eq(id)),
        Item::Episode(id) => q.filter(markers::episode_id.eq(id)),
    }
}

fn delete_of(conn: &mut SqliteConnection, item: Item) -> Result<()> {
    match item {
        Item::Movie(id) => {
            diesel::delete(markers::table.filter(markers::movie_id.eq(id))).execute(conn)?
        }
        Item::Episode(id) => {
            diesel::delete(markers::table.filter(markers::episode_id.eq(id))).execute(conn)?
        }
    };
    Ok(())
}

fn insert(conn: &mut SqliteConnection, m: &Markers) -> Result<()> {
    let (movie, episode) = match m.item {
        Item::Movie(id) => (Some(id), None),
        Item::Episode(id) => (None, Some(id)),
    };
    diesel::insert_into(markers::table)
        .values((
            markers::movie_id.eq(movie),
            markers::episode_id.eq(episode),
            markers::intro_start.eq(m.intro.map(|i| i.0)),
            markers::intro_end.eq(m.intro.map(|i| i.1)),
            markers::credits_start.eq(m.credits.map(|c| c.0)),
            markers::credits_end.eq(m.credits.and_then(|c| c.1)),
            markers::origin.eq(m.origin.as_str()),
            markers::confidence.eq(m.confidence.clamp(0.0, 1.0)),
            markers::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

impl Store {
    /// Stores an item's markers, replacing its row; a detected one never replaces a manual
    /// one (false then). NotFound when the item does not exist.
    pub async fn set_markers(&self, m: Markers) -> Result<bool> {
        self.write(move |conn| {
            if !item_exists(conn, m.item)? {
                return Err(m.item.not_found());
            }
            let current: Option<String> = of_item(m.item)
                .select(markers::origin)
                .first(conn)
                .optional()?;
            if m.origin == MarkerOrigin::Detected
                && current.as_deref() == Some(MarkerOrigin::Manual.as_str())
            {
                return Ok(false);
            }
            delete_of(conn, m.item)?;
            insert(conn, &m)?;
            Ok(true)
        })
        .await
    }

    /// Stores what a detection found in the file of assignment `scanned`, in one
    /// transaction: each item's detected markers replace its earlier detected ones, `None`
    /// (nothing found) removes those. Manual markers stay, and items whose source changed
    /// since the scan (or that were deleted) are skipped: the markers are not theirs.
    pub async fn set_detected_markers(
        &self,
        found: Vec<(Item, i64, Option<Markers>)>,
    ) -> Result<()> {
        self.write(move |conn| {
            for (item, scanned, markers) in found {
                let current: Option<String> = of_item(item)
                    .select(markers::origin)
                    .first(conn)
                    .optional()?;
                if current.as_deref() == Some(MarkerOrigin::Manual.as_str())
                    || super::assignments::active_id(conn, item)? != Some(scanned)
                {
                    continue;
                }
                delete_of(conn, item)?;
                if let Some(m) = markers {
                    insert(conn, &m)?;
                }
            }
            Ok(())
        })
        .await
    }

    /// The show and season number of an episode.
    pub async fn season_of(&self, episode_id: i64) -> Result<Option<(i64, i32)>> {
        self.run(move |conn| {
            Ok(episodes::table
                .inner_join(seasons::table)
                .filter(episodes::id.eq(episode_id))
                .select((seasons::show_id, seasons::season_number))
                .first(conn)
                .optional()?)
        })
        .await
    }

    /// Removes an item's markers; returns them, or None when it had none.
    pub async fn remove_markers(&self, item: Item) -> Result<Option<Markers>> {
        self.write(move |conn| {
            if !item_exists(conn, item)? {
                return Err(item.not_found());
            }
            let found: Option<MarkerRow> =
                of_item(item).select(columns()).first(conn).optional()?;
            delete_of(conn, item)?;
            Ok(found.and_then(of_row))
        })
        .await
    }

    /// The markers of a show's episodes (of one season, or all).
    pub async fn show_markers(&self, show_id: i64, season: Option<i32>) -> Result<Vec<Markers>> {
        self.run(move |conn| {
            let mut q = markers::table
                .inner_join(episodes::table.inner_join(seasons::table))
                .filter(seasons::show_id.eq(show_id))
                .into_boxed();
            if let Some(n) = season {
                q = q.filter(seasons::season_number.eq(n));
            }
            let rows: Vec<MarkerRow> = q
                .order((seasons::season_number.asc(), episodes::episode_number.asc()))
                .select(columns())
                .load(conn)?;
            Ok(rows.into_iter().filter_map(of_row).collect())
        })
        .await
    }
}

/// Drops an item's detected markers: they were found in a file it no longer has (manual
/// ones are the user's).
pub(super) fn drop_detected(conn: &mut SqliteConnection, item: Item) -> Result<()> {
    let detected = markers::table.filter(markers::origin.eq(MarkerOrigin::Detected.as_str()));
    match item {
        Item::Movie(id) => {
            diesel::delete(detected.filter(markers::movie_id.eq(id))).execute(conn)?
        }
        Item::Episode(id) => {
            diesel::delete(detected.filter(markers::episode_id.eq(id))).execute(conn)?
        }
    };
    Ok(())
}

/// Every item's markers, for the share's read model.
pub(super) fn all_markers(conn: &mut SqliteConnection) -> Result<Vec<Markers>> {
    let rows: Vec<MarkerRow> = markers::table.select(columns()).load(conn)?;
    Ok(rows.into_iter().filter_map(of_row).collect())
}
