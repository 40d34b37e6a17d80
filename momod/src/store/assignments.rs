//! Assignments: one row per source ever attached to a movie or an episode. At most one is
//! active per item (partial unique indexes in the schema); a replaced source stays as an
//! inactive row.
use diesel::prelude::*;

use super::schema::{assignments, episodes, movies};
use super::{Store, now};
use crate::error::{Error, Result};
use crate::library::model::{Assignment, Item, Labels, NewSource, SourceFile, SourceKind};
use crate::torrent::InfoHash;

/// The columns that say what a source is, read the same way everywhere.
#[derive(Queryable, Selectable)]
#[diesel(table_name = assignments, check_for_backend(diesel::sqlite::Sqlite))]
pub(super) struct SourceRow {
    kind: String,
    file_path: String,
    file_size: i64,
    info_hash: Option<String>,
    magnet: Option<String>,
    file_index: Option<i32>,
    url: Option<String>,
}

/// Reads a source back from its columns (the one inverse of `insert`).
pub(super) fn source_file(row: SourceRow) -> Result<(SourceFile, u64)> {
    let SourceRow {
        kind,
        file_path: path,
        file_size: size,
        info_hash: hash,
        magnet,
        file_index: index,
        url,
    } = row;
    let corrupt = || {
        Error::Internal(format!(
            "assignment of `{path}` is malformed in the database"
        ))
    };
    let file = match SourceKind::parse(&kind) {
        Some(SourceKind::Local) => SourceFile::Local { path: path.clone() },
        Some(SourceKind::Http) => SourceFile::Http {
            url: url.ok_or_else(corrupt)?,
            path: path.clone(),
        },
        Some(SourceKind::Torrent) => SourceFile::Torrent {
            info_hash: hash
                .as_deref()
                .and_then(|h| InfoHash::parse(h).ok())
                .ok_or_else(corrupt)?,
            magnet: magnet.ok_or_else(corrupt)?,
            index: index
                .and_then(|i| usize::try_from(i).ok())
                .ok_or_else(corrupt)?,
            path: path.clone(),
        },
        None => return Err(corrupt()),
    };
    Ok((file, size.max(0) as u64))
}

impl Store {
    /// Whether the movie or episode exists.
    pub async fn item_exists(&self, item: Item) -> Result<bool> {
        self.run(move |conn| item_exists(conn, item)).await
    }

    /// Stores each source as its item's active one, deactivating the one it replaces, all in
    /// one transaction. Returns the new assignments with the ids they replaced. NotFound
    /// (and nothing stored) when an item does not exist.
    pub async fn attach(&self, sources: Vec<(Item, NewSource)>) -> Result<Vec<Assignment>> {
        self.write(move |conn| {
            let mut out = Vec::with_capacity(sources.len());
            for (item, new) in &sources {
                let item = *item;
                if !item_exists(conn, item)? {
                    return Err(item.not_found());
                }
                let before = active(conn, item)?;
                let old = before.as_ref().map(|a| a.id);
                // Markers detected in another file are not this one's.
                if before.is_none_or(|a| a.file != new.file) {
                    super::markers::drop_detected(conn, item)?;
                }
                if let Some(old) = old {
                    diesel::update(assignments::table.find(old))
                        .set(assignments::is_active.eq(false))
                        .execute(conn)?;
                    // Subtitles that came with the old release are timed for it.
                    super::subtitles::drop_torrent_subtitles(conn, item)?;
                    super::pins::drop_pin(conn, old)?;
                }
                insert(conn, item, new)?;
                let mut a = active(conn, item)?
                    .ok_or_else(|| Error::Internal("assignment vanished".into()))?;
                a.replaced_id = old;
                out.push(a);
            }
            Ok(out)
        })
        .await
    }

    /// The item's active source; NotFound when the item does not exist.
    pub async fn active_source(&self, item: Item) -> Result<Option<Assignment>> {
        self.run(move |conn| {
            if !item_exists(conn, item)? {
                return Err(item.not_found());
            }
            active(conn, item)
        })
        .await
    }

    /// Deactivates the item's active source; returns it, or None when it had none.
    pub async fn detach(&self, item: Item) -> Result<Option<Assignment>> {
        // Nothing to detach is no write: the share's tree stays cached.
        let current = self
            .run(move |conn| {
                if !item_exists(conn, item)? {
                    return Err(item.not_found());
                }
                active(conn, item)
            })
            .await?;
        if current.is_none() {
            return Ok(None);
        }
        self.write(move |conn| {
            if !item_exists(conn, item)? {
                return Err(item.not_found());
            }
            let current = active(conn, item)?;
            if let Some(a) = &current {
                diesel::update(assignments::table.find(a.id))
                    .set(assignments::is_active.eq(false))
                    .execute(conn)?;
                super::pins::drop_pin(conn, a.id)?;
                super::markers::drop_detected(conn, item)?;
            }
            Ok(current)
        })
        .await
    }

    /// Every active torrent source: (info hash, item, path inside the torrent).
    pub async fn torrent_sources(&self) -> Result<Vec<(InfoHash, Item, String)>> {
        self.run(|conn| {
            // (info hash, movie id, episode id, path in the torrent)
            type Row = (Option<String>, Option<i64>, Option<i64>, String);
            let rows: Vec<Row> = assignments::table
                .filter(assignments::is_active)
                .filter(assignments::kind.eq(SourceKind::Torrent.as_str()))
                .select((
                    assignments::info_hash,
                    assignments::movie_id,
                    assignments::episode_id,
                    assignments::file_path,
                ))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .filter_map(|(hash, movie, episode, path)| {
                    let parsed = hash.as_deref().and_then(|h| InfoHash::parse(h).ok());
                    match (parsed, item_of(movie, episode)) {
                        (Some(hash), Some(item)) => Some((hash, item, path)),
                        _ => {
                            tracing::warn!(%path, "torrent source with a malformed hash or item left out");
                            None
                        }
                    }
                })
                .collect())
        })
        .await
    }

    /// Deactivates every active source in the torrent; returns how many there were.
    pub async fn detach_torrent(&self, hash: &InfoHash) -> Result<usize> {
        let hash = hash.as_str().to_string();
        self.write(move |conn| {
            let active = assignments::table
                .filter(assignments::is_active)
                .filter(assignments::info_hash.eq(&hash));
            let items: Vec<(Option<i64>, Option<i64>)> = active
                .select((assignments::movie_id, assignments::episode_id))
                .load(conn)?;
            let n = diesel::update(active)
                .set(assignments::is_active.eq(false))
                .execute(conn)?;
            super::pins::drop_inactive_pins(conn)?;
            for item in items.into_iter().filter_map(|(m, e)| item_of(m, e)) {
                super::markers::drop_detected(conn, item)?;
            }
            Ok(n)
        })
        .await
    }
}

pub(super) fn item_of(movie: Option<i64>, episode: Option<i64>) -> Option<Item> {
    match (movie, episode) {
        (Some(m), _) => Some(Item::Movie(m)),
        (_, Some(e)) => Some(Item::Episode(e)),
        _ => None,
    }
}

/// The active assignment row of an item.
fn active_of(item: Item) -> assignments::BoxedQuery<'static, diesel::sqlite::Sqlite> {
    let q = assignments::table
        .filter(assignments::is_active)
        .into_boxed();
    match item {
        Item::Movie(id) => q.filter(assignments::movie_id.eq(id)),
        Item::Episode(id) => q.filter(assignments::episode_id.eq(id)),
    }
}

pub(super) fn active_id(conn: &mut SqliteConnection, item: Item) -> Result<Option<i64>> {
    Ok(active_of(item)
        .select(assignments::id)
        .first::<i64>(conn)
        .optional()?)
}

fn active(conn: &mut SqliteConnection, item: Item) -> Result<Option<Assignment>> {
    type Row = (i64, SourceRow, Option<String>, Option<String>, i64);
    let row: Option<Row> = active_of(item)
        .select((
            assignments::id,
            SourceRow::as_select(),
            assignments::resolution,
            assignments::source,
            assignments::created_at,
        ))
        .first(conn)
        .optional()?;
    row.map(|(id, source, resolution, release, created_at)| {
        let (file, size) = source_file(source)?;
        Ok(Assignment {
            id,
            item,
            file,
            size,
            labels: Labels {
                resolution,
                release,
            },
            created_at,
            share_path: String::new(),
            replaced_id: None,
            subtitles: Vec::new(),
        })
    })
    .transpose()
}

fn insert(conn: &mut SqliteConnection, item: Item, new: &NewSource) -> Result<()> {
    let (movie_id, episode_id) = match item {
        Item::Movie(id) => (Some(id), None),
        Item::Episode(id) => (None, Some(id)),
    };
    let url = match &new.file {
        SourceFile::Http { url, .. } => Some(url.as_str()),
        _ => None,
    };
    let (hash, magnet, index) = match &new.file {
        SourceFile::Local { .. } | SourceFile::Http { .. } => (None, None, None),
        SourceFile::Torrent {
            info_hash,
            magnet,
            index,
            ..
        } => (
            Some(info_hash.as_str()),
            Some(magnet.as_str()),
            Some(i32::try_from(*index).map_err(|_| {
                Error::InvalidArgument(format!("file index {index} is out of range"))
            })?),
        ),
    };
    diesel::insert_into(assignments::table)
        .values((
            assignments::movie_id.eq(movie_id),
            assignments::episode_id.eq(episode_id),
            assignments::kind.eq(new.file.kind().as_str()),
            assignments::info_hash.eq(hash),
            assignments::magnet.eq(magnet),
            assignments::file_index.eq(index),
            assignments::url.eq(url),
            assignments::file_path.eq(new.file.path()),
            assignments::file_size.eq(i64::try_from(new.size).unwrap_or(i64::MAX)),
            assignments::resolution.eq(&new.labels.resolution),
            assignments::source.eq(&new.labels.release),
            assignments::is_active.eq(true),
            assignments::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub(super) fn item_exists(conn: &mut SqliteConnection, item: Item) -> Result<bool> {
    let found = match item {
        Item::Movie(id) => movies::table
            .find(id)
            .select(movies::id)
            .first::<i64>(conn)
            .optional()?,
        Item::Episode(id) => episodes::table
            .find(id)
            .select(episodes::id)
            .first::<i64>(conn)
            .optional()?,
    };
    Ok(found.is_some())
}
