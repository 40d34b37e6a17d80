//! `AssignmentService`: conversion only; the work is in `library::sources`.
use momo_proto::v1 as pb;
use momo_proto::v1::assignment_service_server::AssignmentService;
use tonic::{Request, Response, Status};

use crate::library::{Assignment, Library};
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
