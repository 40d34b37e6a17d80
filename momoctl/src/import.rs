//! `momoctl import`: bringing an existing library in.
use clap::Subcommand;
use momo_proto::v1 as pb;
use tonic::transport::Channel;

use crate::client::{Auth, Failure};
use crate::jobs;
use crate::json;
use crate::output::{self, Format, opt, shown};
use pb::job_result::Value as JobValue;
use pb::start_job_request::Op;

#[derive(Subcommand, Debug)]
pub enum ImportCmd {
    /// Add every movie of a Radarr library (by TMDB id) and attach its file when it lies
    /// under library.local_roots. Running it again changes nothing.
    Radarr {
        /// Radarr's address, e.g. http://radarr:7878.
        #[arg(long)]
        url: String,
        /// Radarr → Settings → General → API Key.
        #[arg(long, env = "MOMOCTL_RADARR_API_KEY", hide_env_values = true)]
        api_key: String,
        /// Radarr's path prefix FROM is TO on momod's machine (repeatable).
        #[arg(long, value_name = "FROM=TO")]
        path_map: Vec<String>,
        /// Print what would be done, store nothing.
        #[arg(long)]
        dry_run: bool,
        /// Start the job and print it at once (`momoctl job wait ID`).
        #[arg(long)]
        detach: bool,
    },
}

pub async fn run(
    channel: Channel,
    auth: Auth,
    format: Format,
    cmd: ImportCmd,
) -> Result<(), Failure> {
    let ImportCmd::Radarr {
        url,
        api_key,
        path_map,
        dry_run,
        detach,
    } = cmd;
    let op = Op::ImportRadarr(pb::ImportRadarrRequest {
        url,
        api_key,
        dry_run,
        path_map,
    });
    match jobs::start(channel, auth, format, op, detach).await? {
        Some(JobValue::Import(r)) => print_report(format, r),
        Some(other) => return Err(jobs::unexpected(other)),
        None => {}
    }
    Ok(())
}

pub fn print_report(format: Format, r: pb::ImportReport) {
    output::emit(format, &json::ImportReport::from(r), |r| {
        let count = |o: &str| r.rows.iter().filter(|row| row.outcome == o).count();
        let note = if r.dry_run {
            " (dry run, nothing stored)"
        } else {
            ""
        };
        println!(
            "{} added, {} assigned, {} unchanged, {} skipped{note}",
            count("added"),
            count("assigned"),
            count("unchanged"),
            count("skipped")
        );
        let rows = r.rows.iter().map(|row| {
            vec![
                row.outcome.clone(),
                opt(row.movie_id),
                opt(row.tmdb_id),
                output::title_year(&row.title, row.year),
                shown(row.file_path.as_deref().unwrap_or("-")),
                row.note.clone(),
            ]
        });
        let header = ["OUTCOME", "ID", "TMDB", "TITLE", "FILE", "NOTE"];
        println!("{}", output::table(&header, rows));
    });
}
