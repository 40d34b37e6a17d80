//! Sources: attaching a file to a movie or an episode. One active assignment per item
//! (enforced by the database); a new one replaces the active one, which stays as an
//! inactive row. This module checks local files; torrent sources are checked by the
//! torrent module before they reach `attach`.
use std::path::{Path, PathBuf};

use diesel::prelude::*;

use super::Library;
use crate::db::now;
use crate::error::{Error, Result};
use crate::schema::{assignments, episodes, movies};
use crate::vfs::Item;

/// What an item's source is, as stored.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub id: i64,
    pub item: Item,
    pub kind: String,
    pub file_path: String,
    pub file_size: u64,
    pub info_hash: Option<String>,
    pub file_index: Option<i32>,
    pub resolution: Option<String>,
    pub source: Option<String>,
    pub created_at: i64,
    /// Where the item appears (or appeared) in the share.
    pub share_path: String,
    pub replaced_id: Option<i64>,
}

/// A source about to be attached.
pub struct NewSource {
    pub kind: &'static str,
    pub file_path: String,
    pub file_size: u64,
    pub info_hash: Option<String>,
    pub magnet: Option<String>,
    pub file_index: Option<i32>,
    pub resolution: Option<String>,
    pub source: Option<String>,
}

#[derive(Queryable)]
struct AssignmentRow {
    id: i64,
    kind: String,
    file_path: String,
    file_size: i64,
    info_hash: Option<String>,
    file_index: Option<i32>,
    resolution: Option<String>,
    source: Option<String>,
    created_at: i64,
}

impl Library {
    /// Attaches the local file at `path` (absolute) to `item`.
    pub async fn assign_local(
        &self,
        item: Item,
        path: &str,
        resolution: Option<String>,
        source: Option<String>,
    ) -> Result<Assignment> {
        let roots = self.local_roots.clone();
        let path = path.to_string();
        let (canonical, size) =
            tokio::task::spawn_blocking(move || check_local(Path::new(&path), &roots))
                .await
                .map_err(|e| Error::Internal(format!("path check failed: {e}")))??;
        let file_path = canonical
            .to_str()
            .ok_or_else(|| {
                Error::InvalidArgument(format!("{} is not valid UTF-8", canonical.display()))
            })?
            .to_string();
        self.attach(
            item,
            NewSource {
                kind: "local",
                file_path,
                file_size: size,
                info_hash: None,
                magnet: None,
                file_index: None,
                resolution,
                source,
            },
        )
        .await
    }

    /// Stores `new` as the item's active source, deactivating the previous one.
    pub async fn attach(&self, item: Item, new: NewSource) -> Result<Assignment> {
        let mut attached = self.attach_many(vec![(item, new)]).await?;
        Ok(attached.remove(0))
    }

    /// Stores several sources in one transaction (all or nothing), each replacing its
    /// item's active one; the share's tree is rebuilt once afterwards.
    pub async fn attach_many(&self, sources: Vec<(Item, NewSource)>) -> Result<Vec<Assignment>> {
        let mut rows = Vec::with_capacity(sources.len());
        for (item, new) in sources {
            let resolution = label(new.resolution.clone(), "resolution")?;
            let source = label(new.source.clone(), "source")?;
            rows.push((item, new, resolution, source));
        }
        let items: Vec<Item> = rows.iter().map(|(item, ..)| *item).collect();
        let replaced = self
            .db
            .write(move |conn| {
                let mut replaced = Vec::with_capacity(rows.len());
                for (item, new, resolution, source) in &rows {
                    let item = *item;
                    ensure_item(conn, item)?;
                    let old = active_of(item)
                        .select(assignments::id)
                        .first::<i64>(conn)
                        .optional()?;
                    if let Some(old) = old {
                        diesel::update(assignments::table.find(old))
                            .set(assignments::is_active.eq(false))
                            .execute(conn)?;
                    }
                    let (movie_id, episode_id) = match item {
                        Item::Movie(id) => (Some(id), None),
                        Item::Episode(id) => (None, Some(id)),
                    };
                    diesel::insert_into(assignments::table)
                        .values((
                            assignments::movie_id.eq(movie_id),
                            assignments::episode_id.eq(episode_id),
                            assignments::kind.eq(new.kind),
                            assignments::info_hash.eq(&new.info_hash),
                            assignments::magnet.eq(&new.magnet),
                            assignments::file_index.eq(new.file_index),
                            assignments::file_path.eq(&new.file_path),
                            assignments::file_size.eq(new.file_size as i64),
                            assignments::resolution.eq(resolution),
                            assignments::source.eq(source),
                            assignments::is_active.eq(true),
                            assignments::created_at.eq(now()),
                        ))
                        .execute(conn)?;
                    replaced.push(old);
                }
                Ok(replaced)
            })
            .await?;
        let tree = self.vfs.tree().await?;
        let mut out = Vec::with_capacity(items.len());
        for (item, replaced_id) in items.into_iter().zip(replaced) {
            let mut a = self
                .active(item)
                .await?
                .ok_or_else(|| Error::Internal("assignment vanished".into()))?;
            a.replaced_id = replaced_id;
            a.share_path = tree.path_of(item).unwrap_or_default().to_string();
            out.push(a);
        }
        Ok(out)
    }

    /// Detaches the item's active source; `None` when it had none.
    pub async fn unassign(&self, item: Item) -> Result<Option<Assignment>> {
        let Some(mut current) = self.active(item).await? else {
            // Still say NotFound for an unknown item.
            self.db.run(move |conn| ensure_item(conn, item)).await?;
            return Ok(None);
        };
        current.share_path = self.share_path_of(item).await?.unwrap_or_default();
        let id = current.id;
        self.db
            .write(move |conn| {
                diesel::update(assignments::table.find(id))
                    .set(assignments::is_active.eq(false))
                    .execute(conn)?;
                Ok(())
            })
            .await?;
        Ok(Some(current))
    }

    /// The item's active source, if any (NotFound for an unknown item).
    pub async fn active(&self, item: Item) -> Result<Option<Assignment>> {
        self.db
            .run(move |conn| {
                ensure_item(conn, item)?;
                let row: Option<AssignmentRow> = active_of(item)
                    .select((
                        assignments::id,
                        assignments::kind,
                        assignments::file_path,
                        assignments::file_size,
                        assignments::info_hash,
                        assignments::file_index,
                        assignments::resolution,
                        assignments::source,
                        assignments::created_at,
                    ))
                    .first(conn)
                    .optional()?;
                Ok(row.map(|r| Assignment {
                    id: r.id,
                    item,
                    kind: r.kind,
                    file_path: r.file_path,
                    file_size: r.file_size.max(0) as u64,
                    info_hash: r.info_hash,
                    file_index: r.file_index,
                    resolution: r.resolution,
                    source: r.source,
                    created_at: r.created_at,
                    share_path: String::new(),
                    replaced_id: None,
                }))
            })
            .await
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

fn ensure_item(conn: &mut SqliteConnection, item: Item) -> Result<()> {
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
    match (found, item) {
        (Some(_), _) => Ok(()),
        (None, Item::Movie(id)) => Err(Error::NotFound(format!(
            "no movie with id {id} in the library (see `momoctl movie ls`)"
        ))),
        (None, Item::Episode(id)) => Err(Error::NotFound(format!(
            "no episode with id {id} in the library (see `momoctl show get SHOW_ID`)"
        ))),
    }
}

/// Trims a free-text label (resolution, source); empty means none.
fn label(value: Option<String>, what: &str) -> Result<Option<String>> {
    let Some(v) = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    if v.len() > 40 || v.chars().any(char::is_control) {
        return Err(Error::InvalidArgument(format!(
            "{what} `{v}` is too long or has control characters"
        )));
    }
    Ok(Some(v))
}

/// Resolves `path` (symlinks included) and accepts it only if it is a readable regular file
/// inside one of `roots`. Returns the canonical path and the size.
fn check_local(path: &Path, roots: &[PathBuf]) -> Result<(PathBuf, u64)> {
    if roots.is_empty() {
        return Err(Error::FailedPrecondition(
            "local sources are off: list the folders that may be assigned in library.local_roots \
             (or MOMO_LIBRARY_LOCAL_ROOTS)"
                .into(),
        ));
    }
    if !path.is_absolute() {
        return Err(Error::InvalidArgument(format!(
            "{} is not an absolute path",
            path.display()
        )));
    }
    let canonical = path.canonicalize().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::NotFound(format!("no such file: {}", path.display()))
        }
        _ => Error::InvalidArgument(format!("cannot resolve {}: {e}", path.display())),
    })?;
    let roots: Vec<PathBuf> = roots.iter().filter_map(|r| r.canonicalize().ok()).collect();
    if !roots.iter().any(|r| canonical.starts_with(r)) {
        let list = roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let lexically_inside = roots.iter().any(|r| path.starts_with(r));
        return Err(Error::InvalidArgument(if lexically_inside {
            format!(
                "{} leads outside library.local_roots (it resolves to {}); roots: {list}",
                path.display(),
                canonical.display()
            )
        } else {
            format!("{} is outside library.local_roots ({list})", path.display())
        }));
    }
    let meta = std::fs::metadata(&canonical)
        .map_err(|e| Error::InvalidArgument(format!("cannot read {}: {e}", path.display())))?;
    if meta.is_dir() {
        return Err(Error::InvalidArgument(format!(
            "{} is a directory; give a file",
            path.display()
        )));
    }
    if !meta.is_file() {
        return Err(Error::InvalidArgument(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    std::fs::File::open(&canonical).map_err(|e| {
        Error::FailedPrecondition(format!("momod cannot read {}: {e}", canonical.display()))
    })?;
    Ok((canonical, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_must_be_files_inside_a_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("sub/film.mkv"), b"12345").unwrap();
        std::fs::write(outside.join("secret.mkv"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.join("secret.mkv"), root.join("escape.mkv")).unwrap();
        std::os::unix::fs::symlink(root.join("sub/film.mkv"), root.join("inside.mkv")).unwrap();
        let roots = vec![root.clone()];

        let (p, size) = check_local(&root.join("sub/film.mkv"), &roots).unwrap();
        assert_eq!(
            (p, size),
            (root.join("sub/film.mkv").canonicalize().unwrap(), 5)
        );
        // A symlink that stays inside is fine and stored resolved.
        assert_eq!(
            check_local(&root.join("inside.mkv"), &roots).unwrap().0,
            root.join("sub/film.mkv").canonicalize().unwrap()
        );
        // `..` is resolved before the check.
        let sneaky = root.join("sub/../../outside/secret.mkv");
        assert!(
            matches!(check_local(&sneaky, &roots), Err(Error::InvalidArgument(m)) if m.contains("leads outside"))
        );
        assert!(
            matches!(check_local(&root.join("escape.mkv"), &roots), Err(Error::InvalidArgument(m)) if m.contains("leads outside"))
        );
        assert!(
            matches!(check_local(&outside.join("secret.mkv"), &roots), Err(Error::InvalidArgument(m)) if m.contains("outside"))
        );
        assert!(matches!(
            check_local(&root.join("missing.mkv"), &roots),
            Err(Error::NotFound(_))
        ));
        assert!(
            matches!(check_local(&root.join("sub"), &roots), Err(Error::InvalidArgument(m)) if m.contains("directory"))
        );
        assert!(matches!(
            check_local(Path::new("relative.mkv"), &roots),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            check_local(&root.join("sub/film.mkv"), &[]),
            Err(Error::FailedPrecondition(_))
        ));
    }
}
