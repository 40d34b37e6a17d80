//! Torrent sources: a movie or episode plays one file of a torrent. The engine fetches the
//! metadata and holds the torrent; the library stores which file plays where.
use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;

use super::Library;
use super::pack::{is_playable, parse_episode};
use super::sources::{Assignment, NewSource};
use crate::error::{Error, Result};
use crate::schema::assignments;
use crate::torrent::{Inspected, Magnet, TorrentFile};
use crate::vfs::Item;

/// How to choose the file of a single-item assignment.
pub enum FileChoice {
    Path(String),
    Index(usize),
    /// The only playable video (samples, extras and trailers never count).
    Auto,
}

#[derive(Debug, Clone)]
pub struct PackEpisode {
    pub id: i64,
    pub season_number: i32,
    pub episode_number: i32,
    pub name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PackMatch {
    pub episode: PackEpisode,
    pub file: TorrentFile,
    pub share_path: String,
}

#[derive(Debug, Clone)]
pub struct PackReport {
    pub info_hash: String,
    pub name: String,
    pub dry_run: bool,
    pub matched: Vec<PackMatch>,
    pub unmatched_files: Vec<TorrentFile>,
    pub missing_episodes: Vec<PackEpisode>,
    pub ambiguous: Vec<PackMatch>,
}

/// A library item whose active source is in a given torrent.
#[derive(Debug, Clone)]
pub struct TorrentUser {
    pub item: Item,
    pub file_path: String,
}

#[derive(Queryable)]
struct UserRow {
    hash: Option<String>,
    movie: Option<i64>,
    episode: Option<i64>,
    file_path: String,
}

pub struct Labels {
    pub resolution: Option<String>,
    pub source: Option<String>,
}

fn parse_magnet(text: &str) -> Result<Magnet> {
    Magnet::parse(text).map_err(|e| Error::InvalidArgument(e.to_string()))
}

fn listing(files: &[&TorrentFile]) -> String {
    files
        .iter()
        .map(|f| format!("\n  [{}] {} ({} bytes)", f.index, f.path, f.size))
        .collect::<String>()
}

/// Picks the file to play, or says precisely why none can be picked.
pub fn choose_file(inspected: &Inspected, choice: &FileChoice) -> Result<TorrentFile> {
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

impl Library {
    /// The files of the torrent behind `magnet` (nothing is added).
    pub async fn torrent_files(&self, magnet: &str) -> Result<Inspected> {
        let magnet = parse_magnet(magnet)?;
        self.engine.inspect(&magnet).await
    }

    /// Attaches one file of a torrent to a movie or an episode.
    pub async fn assign_torrent(
        &self,
        item: Item,
        magnet: &str,
        choice: FileChoice,
        labels: Labels,
    ) -> Result<Assignment> {
        let magnet = parse_magnet(magnet)?;
        // An unknown item fails before any swarm traffic.
        self.active(item).await?;
        let inspected = self.engine.inspect(&magnet).await?;
        let file = choose_file(&inspected, &choice)?;
        self.engine.add(&magnet, &inspected, &[file.index]).await?;
        self.attach(item, torrent_source(&magnet, &file, &labels))
            .await
    }

    /// Maps the pack's video files to the show's episodes (one season, or all) by name;
    /// attaches the matches in one transaction unless `dry_run`.
    pub async fn assign_pack(
        &self,
        show_id: i64,
        season: Option<i32>,
        magnet: &str,
        dry_run: bool,
        labels: Labels,
    ) -> Result<PackReport> {
        let magnet = parse_magnet(magnet)?;
        let show = self.get_show(show_id).await?;
        if let Some(n) = season
            && !show.seasons.iter().any(|s| s.season_number == n)
        {
            return Err(Error::NotFound(format!(
                "show {show_id} ({}) has no season {n} in the library (see `momoctl show get {show_id}`)",
                show.summary.title
            )));
        }
        // (season, episode) → the library's episode, for the seasons in scope.
        let episodes: BTreeMap<(i32, i32), PackEpisode> = show
            .seasons
            .iter()
            .filter(|s| season.is_none_or(|n| n == s.season_number))
            .flat_map(|s| {
                s.episodes.iter().map(move |e| {
                    (
                        (s.season_number, e.episode_number),
                        PackEpisode {
                            id: e.id,
                            season_number: s.season_number,
                            episode_number: e.episode_number,
                            name: e.name.clone(),
                        },
                    )
                })
            })
            .collect();

        let inspected = self.engine.inspect(&magnet).await?;
        let mut claims: BTreeMap<(i32, i32), Vec<TorrentFile>> = BTreeMap::new();
        let mut unmatched_files = Vec::new();
        for file in inspected.files.iter().filter(|f| is_playable(&f.path)) {
            let found = parse_episode(&file.path).and_then(|r| {
                // A bare "E05" belongs to the season being assigned.
                let s = r.season.or(season)?;
                let keys: Vec<(i32, i32)> = r
                    .episodes
                    .iter()
                    .map(|e| (s, *e))
                    .filter(|k| episodes.contains_key(k))
                    .collect();
                (!keys.is_empty()).then_some(keys)
            });
            match found {
                Some(keys) => keys
                    .into_iter()
                    .for_each(|k| claims.entry(k).or_default().push(file.clone())),
                None => unmatched_files.push(file.clone()),
            }
        }
        let mut matched = Vec::new();
        let mut ambiguous = Vec::new();
        for (key, files) in &claims {
            let episode = episodes[key].clone();
            let entries = files.iter().map(|f| PackMatch {
                episode: episode.clone(),
                file: f.clone(),
                share_path: String::new(),
            });
            if files.len() == 1 {
                matched.extend(entries)
            } else {
                ambiguous.extend(entries)
            }
        }
        let missing_episodes = episodes
            .iter()
            .filter(|(k, _)| !claims.contains_key(k))
            .map(|(_, e)| e.clone())
            .collect();

        if !dry_run && !matched.is_empty() {
            let indices: Vec<usize> = matched.iter().map(|m| m.file.index).collect();
            self.engine.add(&magnet, &inspected, &indices).await?;
            let sources = matched
                .iter()
                .map(|m| {
                    (
                        Item::Episode(m.episode.id),
                        torrent_source(&magnet, &m.file, &labels),
                    )
                })
                .collect();
            let attached = self.attach_many(sources).await?;
            for (m, a) in matched.iter_mut().zip(attached) {
                m.share_path = a.share_path;
            }
        }
        Ok(PackReport {
            info_hash: inspected.info_hash.clone(),
            name: inspected.name.clone(),
            dry_run,
            matched,
            unmatched_files,
            missing_episodes,
            ambiguous,
        })
    }

    /// Active assignments per torrent: info hash → the items it plays.
    pub async fn torrent_users(&self) -> Result<HashMap<String, Vec<TorrentUser>>> {
        self.db
            .run(|conn| {
                let rows: Vec<UserRow> = assignments::table
                    .filter(assignments::is_active)
                    .filter(assignments::kind.eq("torrent"))
                    .select((
                        assignments::info_hash,
                        assignments::movie_id,
                        assignments::episode_id,
                        assignments::file_path,
                    ))
                    .load(conn)?;
                let mut out: HashMap<String, Vec<TorrentUser>> = HashMap::new();
                for UserRow {
                    hash,
                    movie,
                    episode,
                    file_path,
                } in rows
                {
                    let item = match (movie, episode) {
                        (Some(m), _) => Item::Movie(m),
                        (_, Some(e)) => Item::Episode(e),
                        _ => continue,
                    };
                    out.entry(hash.unwrap_or_default())
                        .or_default()
                        .push(TorrentUser { item, file_path });
                }
                Ok(out)
            })
            .await
    }

    /// Removes a torrent from the engine (with its downloaded data). Refused while library
    /// items play from it, unless `force`, which unassigns them first.
    pub async fn remove_torrent(&self, info_hash: &str, force: bool) -> Result<Vec<Item>> {
        let hash = info_hash.trim().to_ascii_lowercase();
        let users = self
            .torrent_users()
            .await?
            .remove(&hash)
            .unwrap_or_default();
        if !users.is_empty() && !force {
            let list = users
                .iter()
                .take(10)
                .map(|u| match u.item {
                    Item::Movie(id) => format!("movie {id}"),
                    Item::Episode(id) => format!("episode {id}"),
                })
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::FailedPrecondition(format!(
                "torrent {hash} is the source of {} library item(s) ({list}); \
                 unassign them or use --force to unassign and remove",
                users.len()
            )));
        }
        let removed_from_engine = self.engine.remove(&hash).await?;
        if !removed_from_engine && users.is_empty() {
            return Err(Error::NotFound(format!(
                "no torrent {hash} (see `momoctl torrent ls`)"
            )));
        }
        let h = hash.clone();
        self.db
            .write(move |conn| {
                diesel::update(
                    assignments::table
                        .filter(assignments::is_active)
                        .filter(assignments::info_hash.eq(&h)),
                )
                .set(assignments::is_active.eq(false))
                .execute(conn)?;
                Ok(())
            })
            .await?;
        Ok(users.into_iter().map(|u| u.item).collect())
    }
}

fn torrent_source(magnet: &Magnet, file: &TorrentFile, labels: &Labels) -> NewSource {
    NewSource {
        kind: "torrent",
        file_path: file.path.clone(),
        file_size: file.size,
        info_hash: Some(magnet.info_hash.clone()),
        magnet: Some(magnet.to_uri()),
        file_index: Some(file.index as i32),
        resolution: labels.resolution.clone(),
        source: labels.source.clone(),
    }
}
