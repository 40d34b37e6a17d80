//! Watches: playbacks of an item that stopped past 80 %, as the share's reads showed them.
use diesel::prelude::*;

use super::assignments::item_of;
use super::schema::watches;
use super::{Store, now};
use crate::error::Result;
use crate::library::model::Item;

/// A watch as stored.
#[derive(Debug, Clone)]
pub struct Watch {
    pub id: i64,
    pub item: Item,
    /// Unix seconds.
    pub watched_at: i64,
    pub progress: f64,
    pub synced: bool,
}

/// (id, movie, episode, watched at, progress, synced).
type WatchRow = (i64, Option<i64>, Option<i64>, i64, f64, bool);

/// Watches listed at most at once.
const MAX_WATCHES: i64 = 10_000;

impl Store {
    pub async fn add_watch(&self, item: Item, progress: f64, synced: bool) -> Result<()> {
        let (movie, episode) = match item {
            Item::Movie(id) => (Some(id), None),
            Item::Episode(id) => (None, Some(id)),
        };
        self.write_quiet(move |conn| {
            diesel::insert_into(watches::table)
                .values((
                    watches::movie_id.eq(movie),
                    watches::episode_id.eq(episode),
                    watches::watched_at.eq(now()),
                    watches::progress.eq(progress.clamp(0.0, 100.0)),
                    watches::synced.eq(synced),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    /// The newest watches first (at most 10,000); only those Trakt lacks with `unsynced`.
    pub async fn watches(&self, unsynced: bool) -> Result<Vec<Watch>> {
        self.run(move |conn| {
            let mut q = watches::table.into_boxed();
            if unsynced {
                q = q.filter(watches::synced.eq(false));
            }
            let rows: Vec<WatchRow> = q
                .order(watches::id.desc())
                .limit(MAX_WATCHES)
                .select((
                    watches::id,
                    watches::movie_id,
                    watches::episode_id,
                    watches::watched_at,
                    watches::progress,
                    watches::synced,
                ))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .filter_map(|(id, m, e, watched_at, progress, synced)| {
                    Some(Watch {
                        id,
                        item: item_of(m, e)?,
                        watched_at,
                        progress,
                        synced,
                    })
                })
                .collect())
        })
        .await
    }

    pub async fn mark_synced(&self, ids: Vec<i64>) -> Result<()> {
        self.write_quiet(move |conn| {
            diesel::update(watches::table.filter(watches::id.eq_any(ids)))
                .set(watches::synced.eq(true))
                .execute(conn)?;
            Ok(())
        })
        .await
    }
}
