//! `AssignmentService`: conversion only; the work is in `library::sources`.
use momo_proto::v1 as pb;
use momo_proto::v1::assignment_service_server::AssignmentService;
use tonic::{Request, Response, Status};

use crate::library::{Assignment, FileChoice, Labels, Library, PackEpisode, PackMatch};
use crate::torrent::TorrentFile;
use crate::vfs::Item;

pub struct AssignmentApi {
    pub library: Library,
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl AssignmentService for AssignmentApi {
    async fn assign_local(&self, req: Request<pb::AssignLocalRequest>) -> Reply<pb::Assignment> {
        let req = req.into_inner();
        let item = item(req.item)?;
        let a = self
            .library
            .assign_local(item, &req.path, req.resolution, req.source)
            .await?;
        Ok(Response::new(assignment(a)))
    }

    async fn assign_torrent(
        &self,
        req: Request<pb::AssignTorrentRequest>,
    ) -> Reply<pb::Assignment> {
        let req = req.into_inner();
        let item = item(req.item)?;
        let choice = match (req.file_path, req.file_index) {
            (Some(_), Some(_)) => {
                return Err(Status::invalid_argument(
                    "give a file path or an index, not both",
                ));
            }
            (Some(p), None) => FileChoice::Path(p),
            (None, Some(i)) if i >= 0 => FileChoice::Index(i as usize),
            (None, Some(i)) => {
                return Err(Status::invalid_argument(format!(
                    "file index {i} is negative"
                )));
            }
            (None, None) => FileChoice::Auto,
        };
        let labels = Labels {
            resolution: req.resolution,
            source: req.source,
        };
        let a = self
            .library
            .assign_torrent(item, &req.magnet, choice, labels)
            .await?;
        Ok(Response::new(assignment(a)))
    }

    async fn assign_pack(&self, req: Request<pb::AssignPackRequest>) -> Reply<pb::PackReport> {
        let req = req.into_inner();
        let labels = Labels {
            resolution: req.resolution,
            source: req.source,
        };
        let r = self
            .library
            .assign_pack(
                req.show_id,
                req.season_number,
                &req.magnet,
                req.dry_run,
                labels,
            )
            .await?;
        Ok(Response::new(pb::PackReport {
            info_hash: r.info_hash,
            name: r.name,
            dry_run: r.dry_run,
            matched: r.matched.into_iter().map(pack_match).collect(),
            unmatched_files: r.unmatched_files.into_iter().map(torrent_file).collect(),
            missing_episodes: r.missing_episodes.into_iter().map(episode_ref).collect(),
            ambiguous: r.ambiguous.into_iter().map(pack_match).collect(),
        }))
    }

    async fn unassign(&self, req: Request<pb::UnassignRequest>) -> Reply<pb::UnassignResponse> {
        let removed = self.library.unassign(item(req.into_inner().item)?).await?;
        Ok(Response::new(pb::UnassignResponse {
            removed: removed.map(assignment),
        }))
    }
}

pub fn item(r: Option<pb::ItemRef>) -> Result<Item, Status> {
    let r = r.ok_or_else(|| Status::invalid_argument("say which movie or episode"))?;
    match pb::ItemKind::try_from(r.kind) {
        Ok(pb::ItemKind::Movie) => Ok(Item::Movie(r.id)),
        Ok(pb::ItemKind::Episode) => Ok(Item::Episode(r.id)),
        _ => Err(Status::invalid_argument(
            "item kind must be movie or episode",
        )),
    }
}

pub fn assignment(a: Assignment) -> pb::Assignment {
    let (kind, id) = match a.item {
        Item::Movie(id) => (pb::ItemKind::Movie, id),
        Item::Episode(id) => (pb::ItemKind::Episode, id),
    };
    pb::Assignment {
        id: a.id,
        item: Some(pb::ItemRef {
            kind: kind as i32,
            id,
        }),
        source_kind: a.kind,
        file_path: a.file_path,
        file_size: a.file_size,
        info_hash: a.info_hash,
        file_index: a.file_index,
        resolution: a.resolution,
        source: a.source,
        created_at: a.created_at,
        share_path: a.share_path,
        replaced_id: a.replaced_id,
    }
}

pub fn torrent_file(f: TorrentFile) -> pb::TorrentFile {
    pb::TorrentFile {
        index: f.index as i32,
        path: f.path,
        size: f.size,
    }
}

fn episode_ref(e: PackEpisode) -> pb::EpisodeRef {
    pb::EpisodeRef {
        id: e.id,
        season_number: e.season_number,
        episode_number: e.episode_number,
        name: e.name,
    }
}

fn pack_match(m: PackMatch) -> pb::PackMatch {
    pb::PackMatch {
        episode: Some(episode_ref(m.episode)),
        file: Some(torrent_file(m.file)),
        share_path: m.share_path,
    }
}

pub fn item_ref(item: Item) -> pb::ItemRef {
    let (kind, id) = match item {
        Item::Movie(id) => (pb::ItemKind::Movie, id),
        Item::Episode(id) => (pb::ItemKind::Episode, id),
    };
    pb::ItemRef {
        kind: kind as i32,
        id,
    }
}
