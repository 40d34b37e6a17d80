//! `momoctl movie|show|search`: the library.
use clap::{Args, Subcommand, ValueEnum};
use momo_proto::v1 as pb;
use momo_proto::v1::library_service_client::LibraryServiceClient;
use serde::Serialize;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::client::{Auth, Failure};
use crate::output::{self, Format, opt};

type Client = LibraryServiceClient<InterceptedService<Channel, Auth>>;

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
    },
    /// List the shows.
    Ls,
    /// Show one show with its seasons and episodes (ids, and whether each has a source).
    Get { id: i64 },
    /// Remove a show (seasons, episodes and their sources) from the library.
    Rm { id: i64 },
    /// Add seasons and episodes that appeared on TMDB since; never drops any.
    Refresh { id: i64 },
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

// ---------------------------------------------------------------- JSON shapes (stable)

#[derive(Serialize)]
struct MovieJson {
    id: i64,
    tmdb_id: Option<i64>,
    title: String,
    year: Option<i32>,
    assigned: bool,
}

#[derive(Serialize)]
struct ShowSummaryJson {
    id: i64,
    tmdb_id: Option<i64>,
    title: String,
    year: Option<i32>,
    season_count: u32,
    episode_count: u32,
    assigned_count: u32,
}

#[derive(Serialize)]
struct ShowJson {
    id: i64,
    tmdb_id: Option<i64>,
    title: String,
    year: Option<i32>,
    seasons: Vec<SeasonJson>,
}

#[derive(Serialize)]
struct SeasonJson {
    season_number: i32,
    episodes: Vec<EpisodeJson>,
}

#[derive(Serialize)]
struct EpisodeJson {
    id: i64,
    episode_number: i32,
    name: Option<String>,
    air_date: Option<String>,
    assigned: bool,
}

#[derive(Serialize)]
struct RefreshJson {
    show: ShowJson,
    added_seasons: u32,
    added_episodes: u32,
    updated_episodes: u32,
}

#[derive(Serialize)]
struct SearchJson {
    tmdb_id: i64,
    title: String,
    year: Option<i32>,
    original_title: String,
    in_library: bool,
}

fn movie_json(m: pb::Movie) -> MovieJson {
    MovieJson {
        id: m.id,
        tmdb_id: m.tmdb_id,
        title: m.title,
        year: m.year,
        assigned: m.assigned,
    }
}

fn show_json(s: pb::Show) -> ShowJson {
    ShowJson {
        id: s.id,
        tmdb_id: s.tmdb_id,
        title: s.title,
        year: s.year,
        seasons: s
            .seasons
            .into_iter()
            .map(|season| SeasonJson {
                season_number: season.season_number,
                episodes: season
                    .episodes
                    .into_iter()
                    .map(|e| EpisodeJson {
                        id: e.id,
                        episode_number: e.episode_number,
                        name: e.name,
                        air_date: e.air_date,
                        assigned: e.assigned,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// "Fight Club (1999)", or just the title without a year.
fn title_year(title: &str, year: Option<i32>) -> String {
    match year {
        Some(y) => format!("{title} ({y})"),
        None => title.to_string(),
    }
}

fn yes(b: bool) -> String {
    if b { "yes".into() } else { "-".into() }
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
            print_movie("added movie", m, format);
        }
        MovieCmd::Ls => {
            let movies = client
                .list_movies(pb::ListMoviesRequest {})
                .await?
                .into_inner()
                .movies;
            match format {
                Format::Json => {
                    output::json(&movies.into_iter().map(movie_json).collect::<Vec<_>>())
                }
                Format::Table => println!(
                    "{}",
                    output::table(
                        &["ID", "TMDB", "TITLE", "YEAR", "SOURCE"],
                        movies.into_iter().map(|m| {
                            vec![
                                m.id.to_string(),
                                opt(m.tmdb_id),
                                m.title,
                                opt(m.year),
                                yes(m.assigned),
                            ]
                        }),
                    )
                ),
            }
        }
        MovieCmd::Get { id } => {
            let m = client
                .get_movie(pb::GetMovieRequest { id })
                .await?
                .into_inner();
            match format {
                Format::Json => output::json(&movie_json(m)),
                Format::Table => output::fields(&[
                    ("id", m.id.to_string()),
                    ("tmdb id", opt(m.tmdb_id)),
                    ("title", m.title),
                    ("year", opt(m.year)),
                    ("source", yes(m.assigned)),
                ]),
            }
        }
        MovieCmd::Rm { id } => {
            let r = client
                .remove_movie(pb::RemoveMovieRequest { id })
                .await?
                .into_inner();
            if let Some(m) = r.removed {
                print_movie("removed movie", m, format);
            }
        }
    }
    Ok(())
}

fn print_movie(verb: &str, m: pb::Movie, format: Format) {
    match format {
        Format::Json => output::json(&movie_json(m)),
        Format::Table => {
            let tmdb = m
                .tmdb_id
                .map(|t| format!(" [tmdb {t}]"))
                .unwrap_or_default();
            println!("{verb} {}: {}{tmdb}", m.id, title_year(&m.title, m.year));
        }
    }
}

pub async fn show(
    channel: Channel,
    auth: Auth,
    format: Format,
    cmd: ShowCmd,
) -> Result<(), Failure> {
    let mut client: Client = LibraryServiceClient::with_interceptor(channel, auth);
    match cmd {
        ShowCmd::Add {
            tmdb_id,
            seasons,
            specials,
            manual,
            episodes,
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
            let s = client
                .add_show(pb::AddShowRequest {
                    by: Some(by),
                    seasons,
                    specials,
                })
                .await?
                .into_inner();
            match format {
                Format::Json => output::json(&show_json(s)),
                Format::Table => {
                    let tmdb = s
                        .tmdb_id
                        .map(|t| format!(" [tmdb {t}]"))
                        .unwrap_or_default();
                    println!(
                        "added show {}: {}{tmdb}, {} seasons, {} episodes",
                        s.id,
                        title_year(&s.title, s.year),
                        s.season_count,
                        s.episode_count
                    );
                }
            }
        }
        ShowCmd::Ls => {
            let shows = client
                .list_shows(pb::ListShowsRequest {})
                .await?
                .into_inner()
                .shows;
            match format {
                Format::Json => output::json(
                    &shows
                        .into_iter()
                        .map(|s| ShowSummaryJson {
                            id: s.id,
                            tmdb_id: s.tmdb_id,
                            title: s.title,
                            year: s.year,
                            season_count: s.season_count,
                            episode_count: s.episode_count,
                            assigned_count: s.assigned_count,
                        })
                        .collect::<Vec<_>>(),
                ),
                Format::Table => println!(
                    "{}",
                    output::table(
                        &[
                            "ID",
                            "TMDB",
                            "TITLE",
                            "YEAR",
                            "SEASONS",
                            "EPISODES",
                            "WITH SOURCE"
                        ],
                        shows.into_iter().map(|s| {
                            vec![
                                s.id.to_string(),
                                opt(s.tmdb_id),
                                s.title,
                                opt(s.year),
                                s.season_count.to_string(),
                                s.episode_count.to_string(),
                                s.assigned_count.to_string(),
                            ]
                        }),
                    )
                ),
            }
        }
        ShowCmd::Get { id } => {
            let s = client
                .get_show(pb::GetShowRequest { id })
                .await?
                .into_inner();
            print_show_detail(s, format);
        }
        ShowCmd::Rm { id } => {
            let r = client
                .remove_show(pb::RemoveShowRequest { id })
                .await?
                .into_inner();
            if let Some(s) = r.removed {
                match format {
                    Format::Json => output::json(&show_json(s)),
                    Format::Table => println!(
                        "removed show {}: {} ({} episodes)",
                        s.id,
                        title_year(&s.title, s.year),
                        s.episode_count
                    ),
                }
            }
        }
        ShowCmd::Refresh { id } => {
            let r = client
                .refresh_show(pb::RefreshShowRequest { id })
                .await?
                .into_inner();
            let show = r.show.unwrap_or_default();
            match format {
                Format::Json => output::json(&RefreshJson {
                    show: show_json(show),
                    added_seasons: r.added_seasons,
                    added_episodes: r.added_episodes,
                    updated_episodes: r.updated_episodes,
                }),
                Format::Table => println!(
                    "refreshed show {}: {}: {} new seasons, {} new episodes, {} updated",
                    show.id,
                    title_year(&show.title, show.year),
                    r.added_seasons,
                    r.added_episodes,
                    r.updated_episodes
                ),
            }
        }
    }
    Ok(())
}

fn print_show_detail(s: pb::Show, format: Format) {
    match format {
        Format::Json => output::json(&show_json(s)),
        Format::Table => {
            let tmdb = s
                .tmdb_id
                .map(|t| format!(" [tmdb {t}]"))
                .unwrap_or_default();
            println!("show {}: {}{tmdb}", s.id, title_year(&s.title, s.year));
            let rows = s.seasons.into_iter().flat_map(|season| {
                season.episodes.into_iter().map(move |e| {
                    vec![
                        format!("S{:02}E{:02}", season.season_number, e.episode_number),
                        e.id.to_string(),
                        e.name
                            .unwrap_or_else(|| format!("Episode {}", e.episode_number)),
                        opt(e.air_date),
                        yes(e.assigned),
                    ]
                })
            });
            println!(
                "{}",
                output::table(&["EPISODE", "ID", "NAME", "AIR DATE", "SOURCE"], rows)
            );
        }
    }
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
    let results = client
        .search(pb::SearchRequest {
            kind: kind as i32,
            query: args.text.join(" "),
            year: args.year,
        })
        .await?
        .into_inner()
        .results;
    match format {
        Format::Json => output::json(
            &results
                .into_iter()
                .map(|r| SearchJson {
                    tmdb_id: r.tmdb_id,
                    title: r.title,
                    year: r.year,
                    original_title: r.original_title,
                    in_library: r.in_library,
                })
                .collect::<Vec<_>>(),
        ),
        Format::Table => println!(
            "{}",
            output::table(
                &["TMDB", "TITLE", "YEAR", "ORIGINAL TITLE", "IN LIBRARY"],
                results.into_iter().map(|r| {
                    let original = if r.original_title == r.title {
                        String::new()
                    } else {
                        r.original_title
                    };
                    vec![
                        r.tmdb_id.to_string(),
                        r.title,
                        opt(r.year),
                        original,
                        yes(r.in_library),
                    ]
                }),
            )
        ),
    }
    Ok(())
}
