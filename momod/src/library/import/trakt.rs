//! Importing a Trakt list (the watchlist, the collection, or one of the user's lists): its
//! movies and shows added by their TMDB ids, with all seasons for a show. Items already in
//! the library are left alone; entries Trakt knows no TMDB id for are reported.
use super::{ImportReport, ImportRow, NewMovieW, NewShowW, Outcome, RowKind, Writes, stops_import};
use crate::error::{Error, Result};
use crate::jobs::JobCtx;
use crate::library::Library;
use crate::library::limits::{self, Origin};
use crate::library::model::{MediaKind, SeasonFilter};
use crate::trakt::List;

/// `watchlist`, `collection`, or `list` with the list's slug (as in its address).
pub fn trakt_list(kind: &str, slug: &str) -> Result<List> {
    match kind {
        "watchlist" => Ok(List::Watchlist),
        "collection" => Ok(List::Collection),
        "list" if !slug.is_empty()
            && slug.len() <= 100
            && slug
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(List::Custom(slug.to_string()))
        }
        "list" => Err(Error::InvalidArgument(
            "give the list's slug, as in its address (trakt.tv/users/NAME/lists/SLUG): letters, digits, - and _".into(),
        )),
        other => Err(Error::InvalidArgument(format!(
            "`{}` is not a Trakt list: watchlist, collection or list SLUG",
            crate::error::echo(other)
        ))),
    }
}

impl Library {
    pub async fn import_trakt(
        &self,
        list: &List,
        dry_run: bool,
        ctx: &JobCtx,
    ) -> Result<ImportReport> {
        ctx.step("reading the Trakt list");
        let items = self.trakt.list(list).await?;
        let total = items.len() as u64;
        let mut rows = Vec::with_capacity(items.len());
        let mut writes = Writes::default();
        for (n, item) in items.into_iter().enumerate() {
            ctx.progress(n as u64, Some(total), "entries");
            let kind = if item.show {
                RowKind::Show
            } else {
                RowKind::Movie
            };
            let mut row = ImportRow::new(kind, &item.title, item.year);
            row.tmdb_id = item.tmdb_id;
            let Some(tmdb_id) = item.tmdb_id else {
                row.note = "Trakt knows no TMDB id for it".into();
                rows.push(row);
                continue;
            };
            let media = if item.show {
                MediaKind::Show
            } else {
                MediaKind::Movie
            };
            if let Some(id) = self.store.id_by_tmdb(media, tmdb_id).await? {
                row.outcome = Outcome::Unchanged;
                row.note = "already in the library".into();
                if item.show {
                    row.show_id = Some(id);
                } else {
                    row.movie_id = Some(id);
                }
                rows.push(row);
                continue;
            }
            let planned = if item.show {
                writes.show(tmdb_id).is_some()
            } else {
                writes.movie(tmdb_id).is_some()
            };
            if planned {
                row.outcome = Outcome::Unchanged;
                row.note = "listed twice: the first entry is imported".into();
                rows.push(row);
                continue;
            }
            let index = rows.len();
            if item.show {
                match self.tmdb_show(tmdb_id, SeasonFilter::default(), ctx).await {
                    Ok(Ok((record, seasons))) => {
                        writes.shows.push(NewShowW {
                            rows: vec![index],
                            record,
                            seasons,
                            sources: Vec::new(),
                        });
                        row.outcome = Outcome::Added;
                    }
                    Err(e) if stops_import(&e) => return Err(e),
                    Err(e) | Ok(Err(e)) => row.note = e.to_string(),
                }
            } else {
                let found = match self.tmdb.movie(tmdb_id).await {
                    Err(e) if stops_import(&e) => return Err(e),
                    Err(e) => Err(e),
                    Ok(info) => {
                        let origin = format!("movie {tmdb_id}");
                        let origin = Origin::Tmdb(&origin);
                        limits::title(&info.title, origin)
                            .and_then(|t| Ok((t, limits::year(info.year, origin)?)))
                    }
                };
                match found {
                    Ok((title, year)) => {
                        writes.movies.push(NewMovieW {
                            row: index,
                            tmdb_id,
                            title,
                            year,
                            source: None,
                        });
                        row.outcome = Outcome::Added;
                    }
                    Err(e) => row.note = e.to_string(),
                }
            }
            rows.push(row);
        }
        ctx.progress(total, Some(total), "entries");
        self.finish_import(writes, rows, dry_run, ctx).await
    }
}
