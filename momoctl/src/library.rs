//! `momoctl movie|show|search`: the library.
use clap::{Args, Subcommand, ValueEnum};
use momo_proto::v1 as pb;
use momo_proto::v1::library_service_client::LibraryServiceClient;
use tonic::transport::Channel;

use crate::client::{Auth, Failure, all_movies, all_shows};
use crate::jobs;
use crate::json;
use crate::output::{self, Format, opt, title_year, tmdb_tag, yes};
use pb::job_result::Value as JobValue;
use pb::start_job_request::Op;

type Client = crate::client::LibraryClient;

#[derive(Subcommand, Debug)]
pub enum MovieCmd {
    /// Add a movie by TMDB id, or by --title (and --year) without TMDB.
    Add {
        /// TMDB movie id (e.g. 550).
        #[arg(required_unless_present = "title", conflicts_with = "title")]
        tmdb_id: Option<i64>,
        #[command(flatten)]
        manual: Manual,
    },
    /// List the movies.
    Ls,
    /// Show one movie.
    Get { id: i64 },
    /// Remove a movie (and its sources) from the library.
    Rm { id: i64 },
}

#[derive(Subcommand, Debug)]
pub enum ShowCmd {
    /// Add a show with its seasons and episodes, by TMDB id or by --title without TMDB.
    Add {
        /// TMDB TV id (e.g. 1396).
        #[arg(required_unless_present = "title", conflicts_with = "title")]
        tmdb_id: Option<i64>,
        /// Only these seasons (comma-separated), e.g. --seasons 1,3.
        #[arg(
            long,
            value_delimiter = ',',
            value_name = "N,..",
            conflicts_with = "title"
        )]
        seasons: Vec<i32>,
        /// Also add season 0 (specials).
        #[arg(long, conflicts_with = "title")]
        specials: bool,
        #[command(flatten)]
        manual: Manual,
        /// With --title: seasons to create as SEASON:EPISODES pairs, e.g. --episodes 1:7,2:13.
        #[arg(long, value_delimiter = ',', value_name = "S:N,..", requires = "title", value_parser = parse_season_size)]
        episodes: Vec<(i32, i32)>,
        /// Start the job and print it at once, without waiting (`momoctl job wait ID`).
        #[arg(long)]
        detach: bool,
    },
    /// List the shows.
    Ls,
    /// Show one show with its seasons and episodes (ids, and whether each has a source).
    Get { id: i64 },
    /// Remove a show (seasons, episodes and their sources) from the library.
    Rm { id: i64 },
    /// Add seasons and episodes that appeared on TMDB since; never drops any.
    Refresh {
        id: i64,
        /// Start the job and print it at once, without waiting (`momoctl job wait ID`).
        #[arg(long)]
        detach: bool,
    },
}

#[derive(Args, Debug)]
pub struct Manual {
    /// Title, to add without TMDB.
    #[arg(long)]
    title: Option<String>,
    /// Year, with --title.
    #[arg(long, requires = "title")]
    year: Option<i32>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SearchKind {
    Movie,
    Show,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    #[arg(value_enum)]
    kind: SearchKind,
    /// Words to search for.
    #[arg(required = true, num_args = 1..)]
    text: Vec<String>,
    /// Only this (release or first-air) year.
    #[arg(long)]
    year: Option<i32>,
}

fn parse_season_size(s: &str) -> Result<(i32, i32), String> {
    let (season, count) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}`: expected SEASON:EPISODES, e.g. 1:7"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<i32>()
            .map_err(|_| format!("`{s}`: `{v}` is not a number"))
    };
    Ok((parse(season)?, parse(count)?))
}

// ---------------------------------------------------------------- commands

pub async fn movie(
    channel: Channel,
    auth: Auth,
    format: Format,
    cmd: MovieCmd,
) -> Result<(), Failure> {
    let mut client: Client = LibraryServiceClient::with_interceptor(channel, auth);
    match cmd {
        MovieCmd::Add { tmdb_id, manual } => {
            let by = match tmdb_id {
                Some(id) => pb::add_movie_request::By::TmdbId(id),
                None => pb::add_movie_request::By::Manual(pb::ManualTitle {
                    title: manual.title.unwrap_or_default(),
                    year: manual.year,
                }),
            };
            let m = client
                .add_movie(pb::AddMovieRequest { by: Some(by) })
                .await?
                .into_inner();
            print_movie("added movie", m.into(), format);
        }
        MovieCmd::Ls => {
            let movies: Vec<json::Movie> = all_movies(&client, 0)
                .await?
                .into_iter()
                .map(json::Movie::from)
                .collect();
            output::emit(format, &movies, |movies| {
                let rows = movies.iter().map(|m| {
                    vec![
                        m.id.to_string(),
                        opt(m.tmdb_id),
                        m.title.clone(),
                        opt(m.year),
                        yes(m.assigned),
                    ]
                });
                println!(
                    "{}",
                    output::table(&["ID", "TMDB", "TITLE", "YEAR", "SOURCE"], rows)
                );
            });
        }
        MovieCmd::Get { id } => {
            let m = json::Movie::from(
                client
                    .get_movie(pb::GetMovieRequest { id })
                    .await?
                    .into_inner(),
            );
            output::emit(format, &m, |m| {
                output::fields(&[
                    ("id", m.id.to_string()),
                    ("tmdb id", opt(m.tmdb_id)),
                    ("title", m.title.clone()),
                    ("year", opt(m.year)),
                    ("source", yes(m.assigned)),
                ])
            });
        }
        MovieCmd::Rm { id } => {
            let r = client
                .remove_movie(pb::RemoveMovieRequest { id })
                .await?
                .into_inner();
            if let Some(m) = r.removed {
                print_movie("removed movie", m.into(), format);
            }
        }
    }
    Ok(())
}

fn print_movie(verb: &str, m: json::Movie, format: Format) {
    output::emit(format, &m, |m| {
        println!(
            "{verb} {}: {}{}",
            m.id,
            title_year(&m.title, m.year),
            tmdb_tag(m.tmdb_id)
        )
    });
}

pub async fn show(
    channel: Channel,
    auth: Auth,
    format: Format,
    cmd: ShowCmd,
) -> Result<(), Failure> {
    let mut client: Client = LibraryServiceClient::with_interceptor(channel.clone(), auth.clone());
    match cmd {
        ShowCmd::Add {
            tmdb_id,
            seasons,
            specials,
            manual,
            episodes,
            detach,
        } => {
            let by = match tmdb_id {
                Some(id) => pb::add_show_request::By::TmdbId(id),
                None => pb::add_show_request::By::Manual(pb::ManualShow {
                    title: manual.title.unwrap_or_default(),
                    year: manual.year,
                    seasons: episodes
                        .into_iter()
                        .map(|(season_number, episode_count)| pb::SeasonSize {
                            season_number,
                            episode_count,
                        })
                        .collect(),
                }),
            };
            let op = Op::AddShow(pb::AddShowRequest {
                by: Some(by),
                seasons,
                specials,
            });
            match jobs::start(channel, auth, format, op, detach).await? {
                Some(JobValue::Show(s)) => print_added_show(format, s),
                Some(other) => return Err(jobs::unexpected(other)),
                None => {}
            }
        }
        ShowCmd::Ls => {
            let shows: Vec<json::ShowSummary> = all_shows(&client, 0)
                .await?
                .into_iter()
                .map(json::ShowSummary::from)
                .collect();
            output::emit(format, &shows, |shows| {
                let rows = shows.iter().map(|s| {
                    vec![
                        s.id.to_string(),
                        opt(s.tmdb_id),
                        s.title.clone(),
                        opt(s.year),
                        s.season_count.to_string(),
                        s.episode_count.to_string(),
                        s.assigned_count.to_string(),
                    ]
                });
                let header = [
                    "ID",
                    "TMDB",
                    "TITLE",
                    "YEAR",
                    "SEASONS",
                    "EPISODES",
                    "WITH SOURCE",
                ];
                println!("{}", output::table(&header, rows));
            });
        }
        ShowCmd::Get { id } => {
            let s = client
                .get_show(pb::GetShowRequest { id })
                .await?
                .into_inner();
            output::emit(format, &json::Show::from(s), print_show_detail);
        }
        ShowCmd::Rm { id } => {
            let r = client
                .remove_show(pb::RemoveShowRequest { id })
                .await?
                .into_inner();
            if let Some(s) = r.removed {
                let episodes = s.episode_count;
                output::emit(format, &json::Show::from(s), |s| {
                    println!(
                        "removed show {}: {} ({episodes} episodes)",
                        s.id,
                        title_year(&s.title, s.year),
                    )
                });
            }
        }
        ShowCmd::Refresh { id, detach } => {
            let op = Op::RefreshShow(pb::RefreshShowRequest { id });
            match jobs::start(channel, auth, format, op, detach).await? {
                Some(JobValue::Refresh(r)) => print_refresh(format, r),
                Some(other) => return Err(jobs::unexpected(other)),
                None => {}
            }
        }
    }
    Ok(())
}

pub fn print_added_show(format: Format, s: pb::Show) {
    let (season_count, episode_count) = (s.season_count, s.episode_count);
    output::emit(format, &json::Show::from(s), |s| {
        println!(
            "added show {}: {}{}, {season_count} seasons, {episode_count} episodes",
            s.id,
            title_year(&s.title, s.year),
            tmdb_tag(s.tmdb_id),
        )
    });
}

pub fn print_refresh(format: Format, r: pb::RefreshShowResponse) {
    output::emit(format, &json::Refresh::from(r), |r| {
        println!(
            "refreshed show {}: {}: {} new seasons, {} new episodes, {} updated",
            r.show.id,
            title_year(&r.show.title, r.show.year),
            r.added_seasons,
            r.added_episodes,
            r.updated_episodes
        )
    });
}

fn print_show_detail(s: &json::Show) {
    println!(
        "show {}: {}{}",
        s.id,
        title_year(&s.title, s.year),
        tmdb_tag(s.tmdb_id)
    );
    let rows = s.seasons.iter().flat_map(|season| {
        season.episodes.iter().map(move |e| {
            vec![
                format!("S{:02}E{:02}", season.season_number, e.episode_number),
                e.id.to_string(),
                e.name
                    .clone()
                    .unwrap_or_else(|| format!("Episode {}", e.episode_number)),
                opt(e.air_date.clone()),
                yes(e.assigned),
            ]
        })
    });
    println!(
        "{}",
        output::table(&["EPISODE", "ID", "NAME", "AIR DATE", "SOURCE"], rows)
    );
}

pub async fn search(
    channel: Channel,
    auth: Auth,
    format: Format,
    args: SearchArgs,
) -> Result<(), Failure> {
    let mut client: Client = LibraryServiceClient::with_interceptor(channel, auth);
    let kind = match args.kind {
        SearchKind::Movie => pb::MediaKind::Movie,
        SearchKind::Show => pb::MediaKind::Show,
    };
    let results: Vec<json::SearchResult> = client
        .search(pb::SearchRequest {
            kind: kind as i32,
            query: args.text.join(" "),
            year: args.year,
        })
        .await?
        .into_inner()
        .results
        .into_iter()
        .map(json::SearchResult::from)
        .collect();
    output::emit(format, &results, |results| {
        let rows = results.iter().map(|r| {
            let original = if r.original_title == r.title {
                String::new()
            } else {
                r.original_title.clone()
            };
            vec![
                r.tmdb_id.to_string(),
                r.title.clone(),
                opt(r.year),
                original,
                yes(r.in_library),
            ]
        });
        println!(
            "{}",
            output::table(
                &["TMDB", "TITLE", "YEAR", "ORIGINAL TITLE", "IN LIBRARY"],
                rows
            )
        );
    });
    Ok(())
}
