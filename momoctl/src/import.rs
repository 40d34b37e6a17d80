//! `momoctl import`: bringing an existing library in.
use clap::{Args, Subcommand, ValueEnum};
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
    Radarr(ArrArgs),
    /// Add every series of a Sonarr library (by TMDB id, mapped from TVDB when needed) with
    /// its seasons, and attach each episode file under library.local_roots.
    Sonarr(ArrArgs),
    /// Add the movies and episodes of an M3U playlist (a VOD list) and attach their URLs.
    /// Entries are named "Title (Year)" or "Show S01E02"; each is matched on TMDB.
    M3u {
        /// The playlist: a file (read by momoctl) or an http(s) URL (fetched by momod).
        #[arg(value_name = "FILE|URL")]
        playlist: String,
        /// Only entries whose group (group-title) matches this regex (case insensitive).
        #[arg(long, value_name = "REGEX")]
        group: Option<String>,
        /// Only movies, or only episodes.
        #[arg(long, value_enum)]
        only: Option<Only>,
        /// Print what would be done, store nothing.
        #[arg(long)]
        dry_run: bool,
        /// Start the job and print it at once (`momoctl job wait ID`).
        #[arg(long)]
        detach: bool,
    },
}

#[derive(Args, Debug)]
pub struct ArrArgs {
    /// Its address, e.g. http://radarr:7878 or http://sonarr:8989.
    #[arg(long)]
    url: String,
    /// Settings → General → API Key (or MOMOCTL_ARR_API_KEY).
    #[arg(long, env = "MOMOCTL_ARR_API_KEY", hide_env_values = true)]
    api_key: String,
    /// Its path prefix FROM is TO on momod's machine (repeatable).
    #[arg(long, value_name = "FROM=TO")]
    path_map: Vec<String>,
    /// Print what would be done, store nothing.
    #[arg(long)]
    dry_run: bool,
    /// Start the job and print it at once (`momoctl job wait ID`).
    #[arg(long)]
    detach: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Only {
    Movies,
    Shows,
}

pub async fn run(
    channel: Channel,
    auth: Auth,
    format: Format,
    cmd: ImportCmd,
) -> Result<(), Failure> {
    let (op, detach) = match cmd {
        ImportCmd::Radarr(a) => (
            Op::ImportRadarr(pb::ImportRadarrRequest {
                url: a.url,
                api_key: a.api_key,
                dry_run: a.dry_run,
                path_map: a.path_map,
            }),
            a.detach,
        ),
        ImportCmd::Sonarr(a) => (
            Op::ImportSonarr(pb::ImportSonarrRequest {
                url: a.url,
                api_key: a.api_key,
                dry_run: a.dry_run,
                path_map: a.path_map,
            }),
            a.detach,
        ),
        ImportCmd::M3u {
            playlist,
            group,
            only,
            dry_run,
            detach,
        } => {
            let (url, bytes) = playlist_arg(&playlist)?;
            let only = match only {
                None => pb::ImportOnly::Unspecified,
                Some(Only::Movies) => pb::ImportOnly::Movies,
                Some(Only::Shows) => pb::ImportOnly::Shows,
            };
            let req = pb::ImportM3uRequest {
                playlist: bytes,
                url,
                dry_run,
                group: group.unwrap_or_default(),
                only: only as i32,
            };
            (Op::ImportM3u(req), detach)
        }
    };
    match jobs::start(channel, auth, format, op, detach).await? {
        Some(JobValue::Import(r)) => print_report(format, r),
        Some(other) => return Err(jobs::unexpected(other)),
        None => {}
    }
    Ok(())
}

/// An http(s) URL goes to momod as it is; anything else is a file read here (bounded).
fn playlist_arg(arg: &str) -> Result<(String, Vec<u8>), Failure> {
    if arg.starts_with("http://") || arg.starts_with("https://") {
        return Ok((arg.to_string(), Vec::new()));
    }
    let max = momo_proto::MAX_PLAYLIST_BYTES as u64;
    let file = std::fs::File::open(arg).map_err(|e| Failure::Usage(format!("{arg}: {e}")))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, max + 1), &mut bytes)
        .map_err(|e| Failure::Usage(format!("{arg}: {e}")))?;
    if bytes.is_empty() {
        return Err(Failure::Usage(format!("{arg} is empty: not a playlist")));
    }
    if bytes.len() as u64 > max {
        return Err(Failure::Usage(format!(
            "{arg} is larger than {max} bytes: serve it over HTTP and give its URL"
        )));
    }
    Ok((String::new(), bytes))
}

pub fn print_report(format: Format, r: pb::ImportReport) {
    output::emit(format, &json::ImportReport::from(r), |r| {
        let count = |o: &str| r.rows.iter().filter(|row| row.outcome == o).count();
        let note = if r.dry_run {
            " (dry run, nothing stored)"
        } else {
            ""
        };
        let mut summary = format!(
            "{} added, {} assigned, {} unchanged, {} skipped",
            count("added"),
            count("assigned"),
            count("unchanged"),
            count("skipped")
        );
        for extra in ["unmatched", "ambiguous"] {
            if count(extra) > 0 {
                summary.push_str(&format!(", {} {extra}", count(extra)));
            }
        }
        println!("{summary}{note}");
        let rows = r.rows.iter().map(|row| {
            // The library's id of what the row is about: the movie, the episode, the show.
            let id = row.movie_id.or(row.episode_id).or(row.show_id);
            let what = match (row.kind.as_str(), row.season_number, row.episode_number) {
                ("episode", Some(s), Some(e)) => format!("episode S{s:02}E{e:02}"),
                (kind, _, _) => kind.to_string(),
            };
            vec![
                row.outcome.clone(),
                what,
                opt(id),
                opt(row.tmdb_id),
                output::title_year(&row.title, row.year),
                shown(row.file_path.as_deref().unwrap_or("-")),
                row.note.clone(),
            ]
        });
        let header = ["OUTCOME", "KIND", "ID", "TMDB", "TITLE", "FILE", "NOTE"];
        println!("{}", output::table(&header, rows));
    });
}
