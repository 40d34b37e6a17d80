//! `momoctl pin|unpin|pins`: sources downloaded whole to momod's disk, to play with the
//! swarm or the server gone.
use momo_proto::v1 as pb;
use momo_proto::v1::pin_service_client::PinServiceClient;
use tonic::transport::Channel;

use crate::assign::{ItemKind, item_ref};
use crate::client::{Auth, Failure};
use crate::jobs;
use crate::json;
use crate::output::{self, Format, human_size, shown};
use pb::job_result::Value as JobValue;

pub async fn pin(
    channel: Channel,
    auth: Auth,
    format: Format,
    kind: ItemKind,
    id: i64,
    wait: bool,
) -> Result<(), Failure> {
    let mut client = PinServiceClient::with_interceptor(channel.clone(), auth.clone());
    let p = client
        .pin(pb::PinRequest {
            item: Some(item_ref(kind, id)),
            assignment_id: 0,
        })
        .await?
        .into_inner();
    if wait && let Some(job) = p.job_id {
        let mut jobs = jobs::client(channel, auth);
        return match jobs::follow(&mut jobs, format, job).await? {
            JobValue::Pin(p) => {
                print_pin(format, p);
                Ok(())
            }
            other => Err(jobs::unexpected(other)),
        };
    }
    print_pin(format, p);
    Ok(())
}

pub async fn unpin(
    channel: Channel,
    auth: Auth,
    format: Format,
    kind: ItemKind,
    id: i64,
) -> Result<(), Failure> {
    let mut client = PinServiceClient::with_interceptor(channel, auth);
    let p = client
        .unpin(pb::PinRequest {
            item: Some(item_ref(kind, id)),
            assignment_id: 0,
        })
        .await?
        .into_inner();
    output::emit(format, &json::Pin::from(p), |p| {
        let what = if p.source_kind == "http" {
            "deleted"
        } else {
            "may be evicted again"
        };
        println!(
            "{} {} unpinned: its {} on disk {what}",
            p.item_kind,
            p.item_id,
            human_size(p.bytes_done)
        );
    });
    Ok(())
}

pub async fn list(channel: Channel, auth: Auth, format: Format) -> Result<(), Failure> {
    let mut client = PinServiceClient::with_interceptor(channel, auth);
    let pins = client.list(pb::ListPinsRequest {}).await?.into_inner().pins;
    let shapes: Vec<json::Pin> = pins.into_iter().map(json::Pin::from).collect();
    output::emit(format, &shapes, |pins| {
        if pins.is_empty() {
            println!("nothing is pinned (`momoctl pin movie ID`)");
            return;
        }
        let rows = pins.iter().map(|p| {
            vec![
                format!("{} {}", p.item_kind, p.item_id),
                p.state.clone(),
                progress(p),
                human_size(p.size),
                shown(&p.share_path),
                shown(p.error.as_deref().unwrap_or("")),
            ]
        });
        let header = ["ITEM", "STATE", "PROGRESS", "SIZE", "SHARE PATH", "ERROR"];
        println!("{}", output::table(&header, rows));
    });
    Ok(())
}

fn progress(p: &json::Pin) -> String {
    let percent = if p.size == 0 {
        100.0
    } else {
        p.bytes_done as f64 * 100.0 / p.size as f64
    };
    format!("{percent:.1}% ({})", human_size(p.bytes_done))
}

pub fn print_pin(format: Format, p: pb::Pin) {
    output::emit(format, &json::Pin::from(p), |p| {
        let job = p
            .job_id
            .filter(|_| p.state == "downloading")
            .map(|j| format!(" in job {j} (`momoctl job wait {j}`)"))
            .unwrap_or_default();
        println!(
            "{} {} pinned: {} {}{job}\n  share: {}",
            p.item_kind,
            p.item_id,
            p.state,
            progress(p),
            shown(&p.share_path)
        );
        if let Some(e) = &p.error {
            println!("  error: {}", shown(e));
        }
    });
}
