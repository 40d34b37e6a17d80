//! Subtitles attached to movies and episodes. The rows say what each is; the bytes are in
//! `subtitles::Files`, named by content, and the same content is attached to an item once.
use std::collections::HashSet;

use diesel::prelude::*;

use super::assignments::{item_exists, item_of};
use super::schema::{episodes, movies, seasons, shows, subtitles};
use super::{Store, now};
use crate::error::{Error, Result};
use crate::library::model::{Item, NewSubtitle, Subtitle, SubtitleOrigin};
use crate::subtitles::Format;

/// An item as TMDB knows it (ids absent for items added by title).
#[derive(Debug, Clone, Copy)]
pub enum TmdbRef {
    Movie(Option<i64>),
    /// The show's TMDB id, the season and episode numbers.
    Episode(Option<i64>, i32, i32),
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = subtitles, check_for_backend(diesel::sqlite::Sqlite))]
pub(super) struct SubtitleRow {
    id: i64,
    movie_id: Option<i64>,
    episode_id: Option<i64>,
    language: String,
    forced: bool,
    sdh: bool,
    format: String,
    origin: String,
    sha256: String,
    size: i64,
    source_name: String,
    provider_id: Option<String>,
    created_at: i64,
}

/// A row as the domain sees it; None (and a warning) when it is malformed.
pub(super) fn subtitle(row: SubtitleRow) -> Option<Subtitle> {
    let parsed = (|| {
        Some(Subtitle {
            id: row.id,
            item: item_of(row.movie_id, row.episode_id)?,
            language: row.language,
            forced: row.forced,
            sdh: row.sdh,
            format: Format::parse(&row.format)?,
            origin: SubtitleOrigin::parse(&row.origin)?,
            sha256: row.sha256,
            size: row.size.max(0) as u64,
            source_name: row.source_name,
            provider_id: row.provider_id,
            created_at: row.created_at,
            share_path: String::new(),
        })
    })();
    if parsed.is_none() {
        tracing::warn!(
            id = row.id,
            "subtitle row is malformed in the database: left out"
        );
    }
    parsed
}

fn of_item(item: Item) -> subtitles::BoxedQuery<'static, diesel::sqlite::Sqlite> {
    let q = subtitles::table.into_boxed();
    match item {
        Item::Movie(id) => q.filter(subtitles::movie_id.eq(id)),
        Item::Episode(id) => q.filter(subtitles::episode_id.eq(id)),
    }
}

fn load(conn: &mut SqliteConnection, id: i64) -> Result<Option<Subtitle>> {
    Ok(subtitles::table
        .find(id)
        .select(SubtitleRow::as_select())
        .first(conn)
        .optional()?
        .and_then(subtitle))
}

fn not_found(id: i64) -> Error {
    Error::NotFound(format!(
        "no subtitle with id {id} (see `momoctl subs ls movie|episode ID`)"
    ))
}

impl Store {
    /// Attaches the subtitles to their items, all in one transaction; the same content an
    /// item has already is skipped. Returns the new ones. NotFound (nothing stored) when an
    /// item does not exist.
    pub async fn add_subtitles(&self, subs: Vec<(Item, NewSubtitle)>) -> Result<Vec<Subtitle>> {
        self.write(move |conn| {
            let mut out = Vec::new();
            for (item, new) in &subs {
                let item = *item;
                if !item_exists(conn, item)? {
                    return Err(item.not_found());
                }
                let had: Option<i64> = of_item(item)
                    .filter(subtitles::sha256.eq(&new.sha256))
                    .select(subtitles::id)
                    .first(conn)
                    .optional()?;
                if had.is_some() {
                    continue;
                }
                let (movie_id, episode_id) = match item {
                    Item::Movie(id) => (Some(id), None),
                    Item::Episode(id) => (None, Some(id)),
                };
                let id: i64 = diesel::insert_into(subtitles::table)
                    .values((
                        subtitles::movie_id.eq(movie_id),
                        subtitles::episode_id.eq(episode_id),
                        subtitles::language.eq(&new.language),
                        subtitles::forced.eq(new.forced),
                        subtitles::sdh.eq(new.sdh),
                        subtitles::format.eq(new.format.as_str()),
                        subtitles::origin.eq(new.origin.as_str()),
                        subtitles::sha256.eq(&new.sha256),
                        subtitles::size.eq(new.size as i64),
                        subtitles::source_name.eq(&new.source_name),
                        subtitles::provider_id.eq(&new.provider_id),
                        subtitles::created_at.eq(now()),
                    ))
                    .returning(subtitles::id)
                    .get_result(conn)?;
                out.push(
                    load(conn, id)?.ok_or_else(|| Error::Internal("subtitle vanished".into()))?,
                );
            }
            Ok(out)
        })
        .await
    }

    /// The subtitle of `item` with this content, if it has one.
    pub async fn subtitle_with(&self, item: Item, sha256: &str) -> Result<Option<Subtitle>> {
        let sha256 = sha256.to_string();
        self.run(move |conn| {
            Ok(of_item(item)
                .filter(subtitles::sha256.eq(sha256))
                .select(SubtitleRow::as_select())
                .first(conn)
                .optional()?
                .and_then(subtitle))
        })
        .await
    }

    /// An item's subtitles, oldest first; NotFound when the item does not exist.
    pub async fn subtitles_of(&self, item: Item) -> Result<Vec<Subtitle>> {
        self.run(move |conn| {
            if !item_exists(conn, item)? {
                return Err(item.not_found());
            }
            let rows: Vec<SubtitleRow> = of_item(item)
                .order(subtitles::id)
                .select(SubtitleRow::as_select())
                .load(conn)?;
            Ok(rows.into_iter().filter_map(subtitle).collect())
        })
        .await
    }

    pub async fn subtitle(&self, id: i64) -> Result<Subtitle> {
        self.run(move |conn| load(conn, id)?.ok_or_else(|| not_found(id)))
            .await
    }

    /// Detaches a subtitle; returns what it was.
    pub async fn remove_subtitle(&self, id: i64) -> Result<Subtitle> {
        self.write(move |conn| {
            let sub = load(conn, id)?.ok_or_else(|| not_found(id))?;
            diesel::delete(subtitles::table.find(id)).execute(conn)?;
            Ok(sub)
        })
        .await
    }

    /// What OpenSubtitles knows an item by: a movie's TMDB id, or an episode's show TMDB id,
    /// season and episode. NotFound for an unknown item.
    pub async fn tmdb_ref(&self, item: Item) -> Result<TmdbRef> {
        self.run(move |conn| {
            let found = match item {
                Item::Movie(id) => movies::table
                    .find(id)
                    .select(movies::tmdb_id)
                    .first::<Option<i64>>(conn)
                    .optional()?
                    .map(TmdbRef::Movie),
                Item::Episode(id) => episodes::table
                    .find(id)
                    .inner_join(seasons::table.inner_join(shows::table))
                    .select((
                        shows::tmdb_id,
                        seasons::season_number,
                        episodes::episode_number,
                    ))
                    .first::<(Option<i64>, i32, i32)>(conn)
                    .optional()?
                    .map(|(show, season, number)| TmdbRef::Episode(show, season, number)),
            };
            found.ok_or_else(|| item.not_found())
        })
        .await
    }

    /// Whether some subtitle row refers to the stored file of this content and format.
    pub async fn subtitle_file_used(&self, sha256: &str, format: Format) -> Result<bool> {
        let sha256 = sha256.to_string();
        self.run(move |conn| {
            let found: Option<i64> = subtitles::table
                .filter(subtitles::sha256.eq(sha256))
                .filter(subtitles::format.eq(format.as_str()))
                .select(subtitles::id)
                .first(conn)
                .optional()?;
            Ok(found.is_some())
        })
        .await
    }

    /// The file names (`<sha256>.<format>`) some subtitle row refers to.
    pub async fn subtitle_files(&self) -> Result<HashSet<String>> {
        self.run(|conn| {
            let rows: Vec<(String, String)> = subtitles::table
                .select((subtitles::sha256, subtitles::format))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(|(sha, format)| format!("{sha}.{format}"))
                .collect())
        })
        .await
    }
}

/// Detaches the subtitles an item got from its torrent (its source is being replaced).
/// Their files go at the next start, with the others no row refers to.
pub(super) fn drop_torrent_subtitles(conn: &mut SqliteConnection, item: Item) -> Result<()> {
    let rows = subtitles::table.filter(subtitles::origin.eq(SubtitleOrigin::Torrent.as_str()));
    match item {
        Item::Movie(id) => diesel::delete(rows.filter(subtitles::movie_id.eq(id))).execute(conn)?,
        Item::Episode(id) => {
            diesel::delete(rows.filter(subtitles::episode_id.eq(id))).execute(conn)?
        }
    };
    Ok(())
}

/// Every subtitle (for the share's tree), oldest first.
pub(super) fn all_subtitles(conn: &mut SqliteConnection) -> Result<Vec<Subtitle>> {
    let rows: Vec<SubtitleRow> = subtitles::table
        .order(subtitles::id)
        .select(SubtitleRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().filter_map(subtitle).collect())
}
