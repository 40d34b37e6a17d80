//! `momoctl intro`: the skip markers (intro, credits) of movies and episodes.
use clap::Subcommand;
use momo_proto::v1 as pb;
use momo_proto::v1::intro_service_client::IntroServiceClient;
use tonic::transport::Channel;

use crate::assign::{ItemKind, item_ref};
use crate::client::{Auth, Failure};
use crate::jobs;
use crate::json;
use crate::output::{self, Format};
use pb::job_result::Value as JobValue;
use pb::start_job_request::Op;

#[derive(Subcommand, Debug)]
pub enum IntroCmd {
    /// The markers of a show's episodes.
    Ls {
        show_id: i64,
        #[arg(long)]
        season: Option<i32>,
    },
    /// Set an item's markers by hand (times as 90, 1:30 or 1:02:03.5).
    Set {
        #[arg(value_enum)]
        kind: ItemKind,
        id: i64,
        /// Where the intro starts...
        #[arg(long, value_parser = seconds, requires = "end")]
        start: Option<f64>,
        /// ...and ends.
        #[arg(long, value_parser = seconds, requires = "start")]
        end: Option<f64>,
        /// Where the credits start (START), or START-END.
        #[arg(long, value_name = "START[-END]")]
        credits: Option<String>,
    },
    /// Remove an item's markers.
    Rm {
        #[arg(value_enum)]
        kind: ItemKind,
        id: i64,
    },
    /// Detect the intro and credits the episodes of a season share, by their audio (ffmpeg
    /// reads the first intro.scan_s and last intro.credits_scan_s of each, at most a
    /// quarter of it at each end), as a job. Manual markers stay.
    Detect {
        show_id: i64,
        /// One season; without it, every season with two episodes with a source.
        #[arg(long)]
        season: Option<i32>,
        /// Start the job and print it at once (`momoctl job wait ID`).
        #[arg(long)]
        detach: bool,
    },
}

/// "90", "1:30", "1:02:03.5" → seconds.
fn seconds(text: &str) -> Result<f64, String> {
    let mut total = 0.0;
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.len() > 3 {
        return Err(format!("`{text}` is not a time (90, 1:30 or 1:02:03.5)"));
    }
    for (i, p) in parts.iter().enumerate() {
        let v: f64 = p
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("`{text}` is not a time (90, 1:30 or 1:02:03.5)"))?;
        // Minutes and seconds after the first part are under 60; all but the last whole.
        if (i > 0 && v >= 60.0) || (i + 1 < parts.len() && v.fract() != 0.0) {
            return Err(format!("`{text}` is not a time (90, 1:30 or 1:02:03.5)"));
        }
        total = total * 60.0 + v;
    }
    Ok(total)
}

pub async fn run(
    channel: Channel,
    auth: Auth,
    format: Format,
    cmd: IntroCmd,
) -> Result<(), Failure> {
    if let IntroCmd::Detect {
        show_id,
        season,
        detach,
    } = cmd
    {
        let op = Op::DetectIntros(pb::DetectIntrosRequest {
            show_id,
            season_number: season,
        });
        return match jobs::start(channel, auth, format, op, detach).await? {
            Some(JobValue::Intros(r)) => {
                print_report(format, r);
                Ok(())
            }
            Some(other) => Err(jobs::unexpected(other)),
            None => Ok(()),
        };
    }
    let mut client = IntroServiceClient::with_interceptor(channel, auth);
    match cmd {
        IntroCmd::Ls { show_id, season } => {
            let list = client
                .list(pb::ListMarkersRequest {
                    show_id,
                    season_number: season,
                })
                .await?
                .into_inner()
                .markers;
            let shapes: Vec<json::Markers> = list.into_iter().map(json::Markers::from).collect();
            output::emit(format, &shapes, |list| {
                let t = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or("-".into());
                let rows = list.iter().map(|m| {
                    vec![
                        format!("{} {}", m.item_kind, m.item_id),
                        t(m.intro_start_s),
                        t(m.intro_end_s),
                        t(m.credits_start_s),
                        m.origin.clone(),
                    ]
                });
                let header = ["ITEM", "INTRO FROM", "INTRO TO", "CREDITS", "ORIGIN"];
                println!("{}", output::table(&header, rows));
            });
        }
        IntroCmd::Set {
            kind,
            id,
            start,
            end,
            credits,
        } => {
            let (credits_start_s, credits_end_s) = match credits.as_deref() {
                None => (None, None),
                Some(c) => match c.split_once('-') {
                    Some((a, b)) => (
                        Some(seconds(a).map_err(Failure::Usage)?),
                        Some(seconds(b).map_err(Failure::Usage)?),
                    ),
                    None => (Some(seconds(c).map_err(Failure::Usage)?), None),
                },
            };
            let m = client
                .set(pb::SetMarkersRequest {
                    item: Some(item_ref(kind, id)),
                    intro_start_s: start,
                    intro_end_s: end,
                    credits_start_s,
                    credits_end_s,
                })
                .await?
                .into_inner();
            print(format, m);
        }
        IntroCmd::Rm { kind, id } => {
            let m = client
                .remove(pb::RemoveMarkersRequest {
                    item: Some(item_ref(kind, id)),
                })
                .await?
                .into_inner();
            print(format, m);
        }
        IntroCmd::Detect { .. } => unreachable!("started as a job above"),
    }
    Ok(())
}

/// What a detection did, episode by episode.
pub fn print_report(format: Format, r: pb::IntroReport) {
    output::emit(format, &json::IntroReport::from(r), |r| {
        let t = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or("-".into());
        let rows = r.episodes.iter().map(|e| {
            let m = e.markers.as_ref();
            vec![
                format!("S{:02}E{:02}", e.season_number, e.episode_number),
                e.episode_id.to_string(),
                t(m.and_then(|m| m.intro_start_s)),
                t(m.and_then(|m| m.intro_end_s)),
                t(m.and_then(|m| m.credits_start_s)),
                t(m.and_then(|m| m.credits_end_s)),
                match &e.error {
                    Some(error) => format!("{}: {}", e.outcome, output::shown(error)),
                    None => e.outcome.clone(),
                },
            ]
        });
        let header = [
            "EPISODE",
            "ID",
            "INTRO FROM",
            "INTRO TO",
            "CREDITS FROM",
            "CREDITS TO",
            "OUTCOME",
        ];
        println!("{}", output::table(&header, rows));
    });
}

fn print(format: Format, m: pb::Markers) {
    output::emit(format, &json::Markers::from(m), |m| {
        println!(
            "{} {}: intro {}–{}, credits {} ({})",
            m.item_kind,
            m.item_id,
            m.intro_start_s
                .map(|v| format!("{v:.1}"))
                .unwrap_or("-".into()),
            m.intro_end_s
                .map(|v| format!("{v:.1}"))
                .unwrap_or("-".into()),
            m.credits_start_s
                .map(|v| format!("{v:.1}"))
                .unwrap_or("-".into()),
            m.origin
        );
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_as_people_write_them() {
        assert_eq!(super::seconds("90"), Ok(90.0));
        assert_eq!(super::seconds("1:30"), Ok(90.0));
        assert_eq!(super::seconds("1:02:03.5"), Ok(3723.5));
        assert!(super::seconds("1:75").is_err());
        assert!(super::seconds("-5").is_err());
        assert!(super::seconds("a:b").is_err());
    }
}
