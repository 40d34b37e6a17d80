//! Attaching sources to movies and episodes: a local file, one file of a torrent, or the
//! files of a season pack mapped to episodes by name. One active source per item (the store
//! enforces it); a new one replaces the active one, which stays as an inactive row.
use std::path::{Path, PathBuf};

use super::Library;
use super::model::{
    Assignment, FileChoice, Item, Labels, NewSource, PackEpisode, PackReport, PackSubtitle,
    SourceFile,
};
use super::pack::{self, is_playable};
use super::torrents::TorrentInput;
use crate::error::{Error, Result};
use crate::jobs::JobCtx;
use crate::stream::Target;
use crate::subtitles;
use crate::subtitles::torrent::TorrentSubtitle;
use crate::torrent::{Inspected, Magnet, TorrentFile};

impl Library {
    /// Attaches the local file at `path` (absolute) to `item`.
    pub async fn assign_local(&self, item: Item, path: &str, labels: Labels) -> Result<Assignment> {
        let labels = check_labels(labels)?;
        let roots = self.local_roots.clone();
        let path = path.to_string();
        let (canonical, size) =
            tokio::task::spawn_blocking(move || check_local(Path::new(&path), &roots))
                .await
                .map_err(|e| Error::Internal(format!("path check failed: {e}")))??;
        let path = canonical
            .to_str()
            .ok_or_else(|| {
                Error::InvalidArgument(format!("{} is not valid UTF-8", canonical.display()))
            })?
            .to_string();
        let source = NewSource {
            file: SourceFile::Local { path },
            size,
            labels,
        };
        let mut attached = self.attach(vec![(item, source)]).await?;
        Ok(attached.remove(0))
    }

    /// Attaches the file at an http(s) URL to `item`, once its server has shown that it
    /// serves the file by ranges.
    pub async fn assign_http(&self, item: Item, url: &str, labels: Labels) -> Result<Assignment> {
        let labels = check_labels(labels)?;
        let url = http_url(url)?;
        // An unknown item fails before the server is asked.
        if !self.store.item_exists(item).await? {
            return Err(item.not_found());
        }
        let source = self.http_source(&url, labels).await?;
        let mut attached = self.attach(vec![(item, source)]).await?;
        Ok(attached.remove(0))
    }

    /// The source an http(s) URL makes, once its server has answered a one-byte range.
    pub(super) async fn http_source(
        &self,
        url: &reqwest::Url,
        labels: Labels,
    ) -> Result<NewSource> {
        let shown = crate::web::shown_url(url);
        let probe = self.streamer.http.probe(url, &shown).await?;
        let path = http_name(&shown, probe.content_type.as_deref())?;
        Ok(NewSource {
            file: SourceFile::Http {
                url: url.as_str().to_string(),
                path,
            },
            size: probe.size,
            labels,
        })
    }

    /// Attaches one file of a torrent to a movie or an episode.
    pub async fn assign_torrent(
        &self,
        item: Item,
        torrent: TorrentInput<'_>,
        choice: FileChoice,
        labels: Labels,
        ctx: &JobCtx,
    ) -> Result<Assignment> {
        torrent.check()?;
        let labels = check_labels(labels)?;
        // An unknown item fails before any swarm traffic.
        if !self.store.item_exists(item).await? {
            return Err(item.not_found());
        }
        ctx.step("waiting for the torrent's metadata");
        let (magnet, inspected) = self.inspect_input(torrent).await?;
        let file = choose_file(&inspected, &choice)?;
        ctx.step(format!(
            "metadata of {} ({} files): chose {}",
            inspected.name,
            inspected.files.len(),
            file.path
        ));
        ctx.commit()?;
        self.engine.add(&magnet, &inspected, &[file.index]).await?;
        let source = torrent_source(&magnet, &file, &labels);
        let target = Target::of(&source.file, source.size);
        let mut attached = self.attach(vec![(item, source)]).await?;
        let subs = subtitles::torrent::plan(&inspected.files, std::slice::from_ref(&file));
        if !subs.is_empty() {
            ctx.step(format!(
                "fetching {} subtitle files from the torrent",
                subs.len()
            ));
        }
        let subs = subs.into_iter().map(|s| (item, s)).collect();
        let mut assignment = attached.remove(0);
        assignment.subtitles = self.attach_torrent_subtitles(&magnet, subs).await;
        self.streamer
            .prefetch_assigned(target.into_iter().collect());
        Ok(assignment)
    }

    /// Maps the pack's video files to the show's episodes (one season, or all) by name;
    /// attaches the matches in one transaction unless `dry_run`.
    pub async fn assign_pack(
        &self,
        show_id: i64,
        season: Option<i32>,
        torrent: TorrentInput<'_>,
        dry_run: bool,
        labels: Labels,
        ctx: &JobCtx,
    ) -> Result<PackReport> {
        torrent.check()?;
        let labels = check_labels(labels)?;
        let show = self.get_show(show_id).await?;
        if let Some(n) = season
            && !show.seasons.iter().any(|s| s.season_number == n)
        {
            return Err(Error::NotFound(format!(
                "show {show_id} ({}) has no season {n} in the library (see `momoctl show get {show_id}`)",
                show.summary.title
            )));
        }
        let episodes: Vec<PackEpisode> = show
            .seasons
            .iter()
            .filter(|s| season.is_none_or(|n| n == s.season_number))
            .flat_map(|s| {
                s.episodes.iter().map(move |e| PackEpisode {
                    id: e.id,
                    season_number: s.season_number,
                    episode_number: e.episode_number,
                    name: e.name.clone(),
                })
            })
            .collect();
        ctx.step("waiting for the torrent's metadata");
        let (magnet, inspected) = self.inspect_input(torrent).await?;
        let mut plan = pack::plan(&episodes, &inspected.files, season);
        let videos: Vec<TorrentFile> = plan.matched.iter().map(|m| m.file.clone()).collect();
        // Each subtitle file of the pack with the episode whose video it goes with.
        let mut found: Vec<(PackEpisode, TorrentSubtitle)> =
            subtitles::torrent::plan(&inspected.files, &videos)
                .into_iter()
                .filter_map(|s| {
                    let m = plan.matched.iter().find(|m| m.file.index == s.video)?;
                    Some((m.episode.clone(), s))
                })
                .collect();
        found.sort_by_key(|(e, _)| (e.season_number, e.episode_number));
        let mut added = Vec::new();
        ctx.progress(
            plan.matched.len() as u64,
            Some(episodes.len() as u64),
            "episodes matched",
        );
        ctx.step(format!(
            "{} of {} episodes matched in {} ({} files)",
            plan.matched.len(),
            episodes.len(),
            inspected.name,
            inspected.files.len()
        ));

        if !dry_run && !plan.matched.is_empty() {
            ctx.commit()?;
            let indices: Vec<usize> = plan.matched.iter().map(|m| m.file.index).collect();
            self.engine.add(&magnet, &inspected, &indices).await?;
            let sources = plan
                .matched
                .iter()
                .map(|m| {
                    (
                        Item::Episode(m.episode.id),
                        torrent_source(&magnet, &m.file, &labels),
                    )
                })
                .collect::<Vec<_>>();
            let targets = sources
                .iter()
                .filter_map(|(_, s)| Target::of(&s.file, s.size))
                .collect();
            let attached = self.attach(sources).await?;
            for (m, a) in plan.matched.iter_mut().zip(attached) {
                m.share_path = a.share_path;
            }
            if !found.is_empty() {
                ctx.step(format!(
                    "fetching {} subtitle files from the torrent",
                    found.len()
                ));
            }
            let wanted = found
                .iter()
                .map(|(e, s)| (Item::Episode(e.id), s.clone()))
                .collect();
            added = self.attach_torrent_subtitles(&magnet, wanted).await;
            self.streamer.prefetch_assigned(targets);
        }
        Ok(PackReport {
            info_hash: inspected.info_hash.clone(),
            name: inspected.name.clone(),
            dry_run,
            matched: plan.matched,
            unmatched_files: plan.unmatched_files,
            missing_episodes: plan.missing_episodes,
            ambiguous: plan.ambiguous,
            subtitles: found
                .into_iter()
                .map(|(episode, s)| {
                    let provider = format!("{}:{}", magnet.info_hash, s.file.index);
                    let attached = added
                        .iter()
                        .find(|a| {
                            a.item == Item::Episode(episode.id)
                                && a.provider_id.as_deref() == Some(provider.as_str())
                        })
                        .cloned();
                    PackSubtitle {
                        episode,
                        file: s.file,
                        info: s.info,
                        attached,
                    }
                })
                .collect(),
        })
    }

    /// The item's active source with its share path; None when it has none.
    pub async fn source(&self, item: Item) -> Result<Option<Assignment>> {
        let Some(mut a) = self.store.active_source(item).await? else {
            return Ok(None);
        };
        a.share_path = self.share_path_of(item).await?.unwrap_or_default();
        Ok(Some(a))
    }

    /// Checks what `assign_torrent` can check at once (the magnet, that the item exists), so
    /// a bad request is refused before a job is created for it.
    pub async fn check_assign_torrent(&self, item: Item, torrent: TorrentInput<'_>) -> Result<()> {
        torrent.check()?;
        if !self.store.item_exists(item).await? {
            return Err(item.not_found());
        }
        Ok(())
    }

    /// The same for `assign_pack`: the magnet and the show.
    pub async fn check_assign_pack(&self, show_id: i64, torrent: TorrentInput<'_>) -> Result<()> {
        torrent.check()?;
        self.get_show(show_id).await.map(drop)
    }

    /// Stores the sources (one transaction, all or nothing) and says where each item now
    /// appears in the share.
    pub(super) async fn attach(&self, sources: Vec<(Item, NewSource)>) -> Result<Vec<Assignment>> {
        let mut attached = self.store.attach(sources).await?;
        let tree = self.vfs.tree().await?;
        for a in &mut attached {
            a.share_path = tree.path_of(a.item).unwrap_or_default().to_string();
        }
        Ok(attached)
    }

    /// Detaches the item's active source; `None` when it had none.
    pub async fn unassign(&self, item: Item) -> Result<Option<Assignment>> {
        // The path it had, before the share forgets it.
        let share_path = self.share_path_of(item).await?.unwrap_or_default();
        let removed = self.store.detach(item).await?;
        Ok(removed.map(|a| Assignment { share_path, ..a }))
    }
}

fn torrent_source(magnet: &Magnet, file: &TorrentFile, labels: &Labels) -> NewSource {
    NewSource {
        file: SourceFile::Torrent {
            info_hash: magnet.info_hash.clone(),
            magnet: magnet.to_uri(),
            index: file.index,
            path: file.path.clone(),
        },
        size: file.size,
        labels: labels.clone(),
    }
}

/// The files an error names: the first 20 (a torrent can hold a hundred thousand, and the
/// message is stored with its job).
fn listing(files: &[&TorrentFile]) -> String {
    const SHOWN: usize = 20;
    let mut out: String = files
        .iter()
        .take(SHOWN)
        .map(|f| {
            let path: String = f.path.chars().take(200).collect();
            format!("\n  [{}] {path} ({} bytes)", f.index, f.size)
        })
        .collect();
    if files.len() > SHOWN {
        out.push_str(&format!(
            "\n  … and {} more (see `momoctl torrent files`)",
            files.len() - SHOWN
        ));
    }
    out
}

/// Picks the file to play, or says precisely why none can be picked.
fn choose_file(inspected: &Inspected, choice: &FileChoice) -> Result<TorrentFile> {
    let all: Vec<&TorrentFile> = inspected.files.iter().collect();
    match choice {
        FileChoice::Index(i) => inspected
            .files
            .iter()
            .find(|f| f.index == *i)
            .cloned()
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "torrent {} has no file with index {i}; it has:{}",
                    inspected.name,
                    listing(&all)
                ))
            }),
        FileChoice::Path(p) => {
            let wanted = p.trim_start_matches('/');
            let exact = inspected.files.iter().find(|f| f.path == wanted);
            let loose: Vec<&TorrentFile> = inspected
                .files
                .iter()
                .filter(|f| {
                    f.path.eq_ignore_ascii_case(wanted) || f.path.ends_with(&format!("/{wanted}"))
                })
                .collect();
            match (exact, loose.as_slice()) {
                (Some(f), _) => Ok(f.clone()),
                (None, [one]) => Ok((*one).clone()),
                (None, []) => Err(Error::NotFound(format!(
                    "torrent {} has no file `{wanted}`; it has:{}",
                    inspected.name,
                    listing(&all)
                ))),
                (None, many) => Err(Error::InvalidArgument(format!(
                    "`{wanted}` matches several files; give the full path or --index:{}",
                    listing(many)
                ))),
            }
        }
        FileChoice::Auto => {
            let videos: Vec<&TorrentFile> = inspected
                .files
                .iter()
                .filter(|f| is_playable(&f.path))
                .collect();
            match videos.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err(Error::InvalidArgument(format!(
                    "torrent {} has no video file to play; pick one with --file or --index:{}",
                    inspected.name,
                    listing(&all)
                ))),
                many => Err(Error::InvalidArgument(format!(
                    "torrent {} has {} video files that could be meant; pick one with --file or --index:{}",
                    inspected.name,
                    many.len(),
                    listing(many)
                ))),
            }
        }
    }
}

/// An http(s) URL of a video, as given; refused before anything is asked of its server.
pub(super) fn http_url(text: &str) -> Result<reqwest::Url> {
    let max = crate::stream::http::MAX_URL_BYTES;
    if text.len() > max {
        return Err(Error::InvalidArgument(format!(
            "the URL is {} bytes long; at most {max} are accepted",
            text.len()
        )));
    }
    // Not quoted back: the text may hold credentials.
    let url = reqwest::Url::parse(text.trim())
        .map_err(|e| Error::InvalidArgument(format!("the URL is not valid: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(Error::InvalidArgument(format!(
            "{} is not an http(s) URL with a host",
            crate::web::shown_url(&url)
        )));
    }
    Ok(url)
}

/// The name an HTTP source is shown by, which gives the share file its extension: the URL
/// as it may be shown, with the extension its content type says when its name has none.
fn http_name(shown: &str, content_type: Option<&str>) -> Result<String> {
    if pack::has_video_extension(shown) {
        return Ok(shown.to_string());
    }
    let ext = match content_type.unwrap_or("") {
        "video/mp4" => "mp4",
        "video/x-matroska" | "video/matroska" | "application/x-matroska" => "mkv",
        "video/webm" => "webm",
        "video/quicktime" => "mov",
        "video/x-msvideo" | "video/avi" => "avi",
        "video/mp2t" => "ts",
        "video/mpeg" => "mpg",
        "video/x-m4v" => "m4v",
        "video/x-flv" => "flv",
        "video/ogg" => "ogv",
        "video/x-ms-wmv" => "wmv",
        other => {
            let called = if other.is_empty() {
                "gives no content type".to_string()
            } else {
                format!("calls it {other}")
            };
            return Err(Error::FailedPrecondition(format!(
                "{shown} cannot be a source: its name has no video extension (.mkv, .mp4, …) \
                 and the server {called}"
            )));
        }
    };
    Ok(format!("{shown}.{ext}"))
}

fn check_labels(labels: Labels) -> Result<Labels> {
    Ok(Labels {
        resolution: label(labels.resolution, "resolution")?,
        release: label(labels.release, "source")?,
    })
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
            "{what} `{}` is longer than 40 bytes or has control characters",
            crate::error::echo(&v)
        )));
    }
    Ok(Some(v))
}

/// Resolves `path` (symlinks included) and accepts it only if it is a readable regular file
/// inside one of `roots`. Returns the canonical path and the size.
pub(super) fn check_local(path: &Path, roots: &[PathBuf]) -> Result<(PathBuf, u64)> {
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
