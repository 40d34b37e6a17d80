//! Attaching subtitles to movies and episodes: by hand (`momoctl subs add`), or from the
//! torrent an item is assigned from. Every subtitle is checked (`subtitles::check`) and its
//! bytes stored before its row is written; a failure leaves neither.
use std::time::Duration;

use super::Library;
use super::model::SourceFile;
use super::model::{Item, NewSubtitle, Subtitle, SubtitleOrigin};
use crate::error::{Error, Result};
use crate::jobs::JobCtx;
use crate::store::TmdbRef;
use crate::subtitles::opensubtitles::{HASH_CHUNK, Offer, Query, moviehash};
use crate::subtitles::torrent::TorrentSubtitle;
use crate::subtitles::{self, Checked, Format, MAX_BYTES};
use crate::torrent::Magnet;

/// Longest file name kept as a subtitle's source name.
const MAX_SOURCE_NAME: usize = 255;

/// How long one subtitle file (or a file's head or tail for its moviehash) may take to come
/// from the swarm: they are small, and the assignment itself is already stored.
const TORRENT_FETCH_DEADLINE: Duration = Duration::from_secs(60);

/// The language a user asked for, as the code we keep; InvalidArgument when it is not one.
pub fn language_arg(text: &str) -> Result<String> {
    subtitles::language(text).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "unknown language `{}`: use an ISO 639-1 code such as en, de or pt-br",
            text.chars().take(32).collect::<String>()
        ))
    })
}

/// What a subtitle's origin looks like to people: at most 255 bytes, one line.
fn source_name(name: &str) -> String {
    let mut out: String = name.chars().filter(|c| !c.is_control()).collect();
    while out.len() > MAX_SOURCE_NAME {
        out.pop();
    }
    out
}

impl Library {
    /// An item's subtitles with where each appears; NotFound for an unknown item.
    pub async fn subtitles(&self, item: Item) -> Result<Vec<Subtitle>> {
        let subs = self.store.subtitles_of(item).await?;
        self.with_share_paths(subs).await
    }

    async fn with_share_paths(&self, mut subs: Vec<Subtitle>) -> Result<Vec<Subtitle>> {
        let tree = self.vfs.tree().await?;
        for s in &mut subs {
            s.share_path = tree.path_of_subtitle(s.id).unwrap_or_default().to_string();
        }
        Ok(subs)
    }

    /// Attaches a subtitle file a user sent. AlreadyExists when the item has this one.
    pub async fn add_subtitle(
        &self,
        item: Item,
        file_name: &str,
        bytes: &[u8],
        language: &str,
        forced: bool,
        sdh: bool,
    ) -> Result<Subtitle> {
        let language = language_arg(language)?;
        if file_name.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "the subtitle's file name is empty".into(),
            ));
        }
        if file_name.len() > MAX_SOURCE_NAME {
            return Err(Error::InvalidArgument(format!(
                "the subtitle's file name is longer than {MAX_SOURCE_NAME} bytes"
            )));
        }
        let checked = subtitles::check(file_name, bytes)?;
        if let Some(had) = self.store.subtitle_with(item, &checked.sha256).await? {
            return Err(Error::AlreadyExists(format!(
                "this subtitle is attached to that item already (subtitle {})",
                had.id
            )));
        }
        let new = NewSubtitle {
            language,
            forced,
            sdh,
            format: checked.format,
            origin: SubtitleOrigin::Local,
            sha256: checked.sha256.clone(),
            size: checked.text.len() as u64,
            source_name: source_name(file_name),
            provider_id: None,
        };
        let mut added = self.attach_subtitles(vec![(item, new, checked)]).await?;
        if added.is_empty() {
            return Err(Error::AlreadyExists(
                "this subtitle is attached to that item already".into(),
            ));
        }
        Ok(added.remove(0))
    }

    /// Stores the bytes, then the rows (one transaction). Returns the new subtitles (the
    /// same content an item has already is skipped).
    async fn attach_subtitles(
        &self,
        subs: Vec<(Item, NewSubtitle, Checked)>,
    ) -> Result<Vec<Subtitle>> {
        // Bytes and rows change together: a removal deleting a file no row refers to must
        // not run between another attach's write of that file and its row.
        let _files = self.subs.writes.lock().await;
        let mut rows = Vec::with_capacity(subs.len());
        let mut written = Vec::new();
        for (item, new, checked) in subs {
            if let Err(e) = self.subs.files.put(&checked).await {
                self.drop_unreferenced(&written).await;
                return Err(e);
            }
            written.push((checked.sha256.clone(), checked.format));
            rows.push((item, new));
        }
        match self.store.add_subtitles(rows).await {
            Ok(added) => self.with_share_paths(added).await,
            Err(e) => {
                self.drop_unreferenced(&written).await;
                Err(e)
            }
        }
    }

    /// Deletes those of `files` no subtitle row refers to (under `subs.writes`).
    async fn drop_unreferenced(&self, files: &[(String, Format)]) {
        for (sha256, format) in files {
            // One lookup per file: never the whole table for one removal.
            if let Ok(false) = self.store.subtitle_file_used(sha256, *format).await {
                let _ = tokio::fs::remove_file(self.subs.files.path(sha256, *format)).await;
            }
        }
    }

    /// Detaches a subtitle and deletes its file unless another item has the same one.
    pub async fn remove_subtitle(&self, id: i64) -> Result<Subtitle> {
        let mut sub = self.store.subtitle(id).await?;
        sub.share_path = self
            .vfs
            .tree()
            .await?
            .path_of_subtitle(id)
            .unwrap_or_default()
            .to_string();
        let _files = self.subs.writes.lock().await;
        self.store.remove_subtitle(id).await?;
        self.drop_unreferenced(&[(sub.sha256.clone(), sub.format)])
            .await;
        Ok(sub)
    }

    /// Fetches the subtitle files of a torrent that belong to items just assigned from it,
    /// and attaches them. Best effort: the assignment is stored already, so a file that
    /// does not come or is not a subtitle is a warning in the job's log, not a failure.
    pub(super) async fn attach_torrent_subtitles(
        &self,
        magnet: &Magnet,
        subs: Vec<(Item, TorrentSubtitle)>,
    ) -> Vec<Subtitle> {
        if subs.is_empty() {
            return Vec::new();
        }
        let mut fetched = Vec::new();
        for (item, s) in subs {
            match self.read_torrent_file(magnet, &s).await {
                Ok(checked) => fetched.push((
                    item,
                    NewSubtitle {
                        language: s.info.language.clone(),
                        forced: s.info.forced,
                        sdh: s.info.sdh,
                        format: checked.format,
                        origin: SubtitleOrigin::Torrent,
                        sha256: checked.sha256.clone(),
                        size: checked.text.len() as u64,
                        source_name: source_name(&s.file.path),
                        provider_id: Some(format!("{}:{}", magnet.info_hash, s.file.index)),
                    },
                    checked,
                )),
                Err(e) => tracing::warn!("subtitle {} left out: {e}", s.file.path),
            }
        }
        match self.attach_subtitles(fetched).await {
            Ok(added) => added,
            Err(e) => {
                tracing::warn!("the torrent's subtitles could not be attached: {e}");
                Vec::new()
            }
        }
    }

    /// One subtitle file of a torrent, whole, checked.
    async fn read_torrent_file(&self, magnet: &Magnet, s: &TorrentSubtitle) -> Result<Checked> {
        if s.file.size > MAX_BYTES as u64 {
            return Err(Error::InvalidArgument(format!(
                "{} bytes; a subtitle may have at most {MAX_BYTES}",
                s.file.size
            )));
        }
        let bytes = self
            .engine
            .read_range(
                &magnet.info_hash,
                &magnet.to_uri(),
                s.file.index,
                0,
                s.file.size,
                TORRENT_FETCH_DEADLINE,
            )
            .await?;
        let name = s.file.path.rsplit('/').next().unwrap_or(&s.file.path);
        subtitles::check(name, &bytes)
    }
}

/// What OpenSubtitles is asked for an item: its TMDB ids, and its file's moviehash.
pub struct OfferList {
    pub offers: Vec<Offer>,
    pub moviehash: Option<String>,
}

impl Library {
    /// The languages asked for, or the configured ones; each checked.
    fn languages(&self, asked: &[String]) -> Result<Vec<String>> {
        if asked.len() > 20 {
            return Err(Error::InvalidArgument(
                "at most 20 languages at once".into(),
            ));
        }
        let mut languages: Vec<String> = if asked.is_empty() {
            self.subs.languages.clone()
        } else {
            asked
                .iter()
                .map(|l| language_arg(l))
                .collect::<Result<_>>()?
        };
        // "en" and "eng" are one language.
        let mut seen = std::collections::HashSet::new();
        languages.retain(|l| seen.insert(l.clone()));
        Ok(languages)
    }

    /// The moviehash of the item's active source: the head and tail of a local file, of a
    /// torrent's file from the swarm, or of a URL (only those 128 KiB). None without a source, for
    /// a small file, or when the bytes do not come.
    async fn source_moviehash(&self, item: Item) -> Option<String> {
        let a = self.store.active_source(item).await.ok()??;
        if a.size < 2 * HASH_CHUNK {
            return None;
        }
        let tail_at = a.size - HASH_CHUNK;
        let read = async {
            match &a.file {
                SourceFile::Local { path } => {
                    use tokio::io::{AsyncReadExt, AsyncSeekExt};
                    let mut f = tokio::fs::File::open(path).await.ok()?;
                    let mut head = vec![0; HASH_CHUNK as usize];
                    f.read_exact(&mut head).await.ok()?;
                    f.seek(std::io::SeekFrom::Start(tail_at)).await.ok()?;
                    let mut tail = vec![0; HASH_CHUNK as usize];
                    f.read_exact(&mut tail).await.ok()?;
                    Some((head, tail))
                }
                SourceFile::Torrent {
                    info_hash,
                    magnet,
                    index,
                    ..
                } => {
                    let range = |at| {
                        self.engine.read_range(
                            info_hash,
                            magnet,
                            *index,
                            at,
                            HASH_CHUNK,
                            TORRENT_FETCH_DEADLINE,
                        )
                    };
                    let head = range(0).await.ok()?;
                    let tail = range(tail_at).await.ok()?;
                    Some((head, tail))
                }
                SourceFile::Http { url, .. } => {
                    let http = &self.streamer.http;
                    let head = http.read_range(url, a.size, 0, HASH_CHUNK).await.ok()?;
                    let tail = http
                        .read_range(url, a.size, tail_at, HASH_CHUNK)
                        .await
                        .ok()?;
                    Some((head, tail))
                }
            }
        };
        let (head, tail) = tokio::time::timeout(2 * TORRENT_FETCH_DEADLINE, read)
            .await
            .ok()??;
        moviehash(a.size, &head, &tail)
    }

    async fn subtitle_query(&self, item: Item, languages: Vec<String>) -> Result<Query> {
        let tmdb = self.store.tmdb_ref(item).await?;
        let mut q = Query {
            moviehash: self.source_moviehash(item).await,
            languages,
            ..Query::default()
        };
        match tmdb {
            TmdbRef::Movie(id) => q.tmdb_id = id,
            TmdbRef::Episode(show, season, episode) => {
                q.episode = show.map(|s| (s, season, episode));
            }
        }
        Ok(q)
    }

    /// What OpenSubtitles offers for an item, matches of its file first.
    pub async fn search_subtitles(&self, item: Item, languages: &[String]) -> Result<OfferList> {
        let languages = self.languages(languages)?;
        self.subs.opensubtitles.check()?;
        let q = self.subtitle_query(item, languages).await?;
        let offers = self.subs.opensubtitles.search(&q).await?;
        Ok(OfferList {
            offers,
            moviehash: q.moviehash,
        })
    }

    /// Downloads and attaches the best offer in each language (a hash match, else the most
    /// downloaded), or the offer `file_id`. Languages the item has from OpenSubtitles are
    /// fetched again only when picked.
    pub async fn fetch_subtitles(
        &self,
        item: Item,
        languages: &[String],
        file_id: Option<i64>,
        missing_only: bool,
        ctx: &JobCtx,
    ) -> Result<Vec<Subtitle>> {
        let mut languages = self.languages(languages)?;
        self.subs.opensubtitles.check()?;
        if missing_only {
            let have: Vec<String> = self
                .store
                .subtitles_of(item)
                .await?
                .into_iter()
                // A forced one (signs and songs only) does not make a language present.
                .filter(|s| !s.forced)
                .map(|s| s.language)
                .collect();
            languages.retain(|l| !have.contains(l));
            if languages.is_empty() {
                ctx.step("the item has a subtitle in every language asked for");
                return Ok(Vec::new());
            }
        }
        ctx.step("searching OpenSubtitles");
        let q = self.subtitle_query(item, languages.clone()).await?;
        let offers = self.subs.opensubtitles.search(&q).await?;
        let chosen: Vec<Offer> = match file_id {
            Some(id) => vec![offers.into_iter().find(|o| o.file_id == id).ok_or_else(|| {
                Error::NotFound(format!(
                    "OpenSubtitles offers no file {id} for this item (see `momoctl subs search`)"
                ))
            })?],
            None => languages
                .iter()
                .filter_map(|l| offers.iter().find(|o| &o.language == l).cloned())
                .collect(),
        };
        if chosen.is_empty() && missing_only {
            ctx.step(format!(
                "OpenSubtitles has nothing in {}",
                languages.join(", ")
            ));
            return Ok(Vec::new());
        }
        if chosen.is_empty() {
            return Err(Error::NotFound(format!(
                "OpenSubtitles has no subtitles for this item in {}",
                languages.join(", ")
            )));
        }
        let mut fetched = Vec::new();
        let mut failed = None;
        for (n, offer) in chosen.iter().enumerate() {
            ctx.progress(n as u64, Some(chosen.len() as u64), "subtitles");
            ctx.step(format!(
                "downloading {} ({})",
                offer.file_name, offer.language
            ));
            let got = match self.subs.opensubtitles.download(offer.file_id).await {
                Ok((name, bytes)) => subtitles::check(&name, &bytes),
                Err(e) => Err(e),
            };
            match got {
                Ok(checked) => fetched.push((item, self.offered(offer, &checked), checked)),
                Err(e) => {
                    // What came already stays (each download counts against the quota).
                    tracing::warn!("{} ({}) not attached: {e}", offer.file_name, offer.language);
                    let spent = matches!(e, Error::ResourceExhausted(_));
                    failed = Some(e);
                    if spent {
                        break;
                    }
                }
            }
        }
        ctx.progress(fetched.len() as u64, Some(chosen.len() as u64), "subtitles");
        match failed {
            // An automatic fetch that finds the quota spent is not a failed job.
            Some(Error::ResourceExhausted(m)) if missing_only && fetched.is_empty() => {
                ctx.step(format!("not fetched: {m}"));
                return Ok(Vec::new());
            }
            Some(e) if fetched.is_empty() => return Err(e),
            _ => {}
        }
        ctx.commit()?;
        self.attach_subtitles(fetched).await
    }

    fn offered(&self, offer: &Offer, checked: &Checked) -> NewSubtitle {
        NewSubtitle {
            language: offer.language.clone(),
            forced: offer.forced,
            sdh: offer.sdh,
            format: checked.format,
            origin: SubtitleOrigin::OpenSubtitles,
            sha256: checked.sha256.clone(),
            size: checked.text.len() as u64,
            source_name: source_name(if offer.release.is_empty() {
                &offer.file_name
            } else {
                &offer.release
            }),
            provider_id: Some(offer.file_id.to_string()),
        }
    }

    /// Whether assignments start a fetch of the languages an item lacks.
    pub fn auto_subtitles(&self) -> bool {
        self.subs.auto && self.subs.opensubtitles.check().is_ok()
    }

    /// Checks what `fetch_subtitles` can check at once, before a job is made for it.
    pub async fn check_fetch_subtitles(&self, item: Item, languages: &[String]) -> Result<()> {
        self.languages(languages)?;
        self.subs.opensubtitles.check()?;
        self.store.tmdb_ref(item).await.map(drop)
    }
}
