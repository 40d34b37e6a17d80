//! `momoctl trakt`: signing in to Trakt and bringing its lists into the library.
use clap::{Subcommand, ValueEnum};
use momo_proto::v1 as pb;
use momo_proto::v1::trakt_service_client::TraktServiceClient;
use tonic::transport::Channel;

use crate::client::{Auth, Failure};
use crate::jobs;
use crate::json;
use crate::output::{self, Format};
use pb::job_result::Value as JobValue;
use pb::start_job_request::Op;

#[derive(Subcommand, Debug)]
pub enum TraktCmd {
    /// Sign in: shows a code to enter on trakt.tv, then waits until it is approved.
    Login,
    /// Sign out: the token is revoked and forgotten.
    Logout,
    /// Whether Trakt is set up, who is signed in, the last scrobble.
    Status,
    /// What was watched over the share (playback stopped past 80 %); --sync adds what
    /// Trakt lacks to its history.
    History {
        #[arg(long)]
        sync: bool,
    },
    /// Add the movies and shows of a Trakt list by their TMDB ids (items already in the
    /// library are left alone).
    Import {
        #[arg(value_enum)]
        list: ListKind,
        /// The list's slug, for `list` (as in trakt.tv/users/NAME/lists/SLUG).
        slug: Option<String>,
        /// Print what would be done, store nothing.
        #[arg(long)]
        dry_run: bool,
        /// Start the job and print it at once (`momoctl job wait ID`).
        #[arg(long)]
        detach: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ListKind {
    Watchlist,
    Collection,
    List,
}

pub async fn run(
    channel: Channel,
    auth: Auth,
    format: Format,
    cmd: TraktCmd,
) -> Result<(), Failure> {
    let mut client = TraktServiceClient::with_interceptor(channel.clone(), auth.clone());
    let status = match cmd {
        TraktCmd::Login => {
            let login = client.login(pb::TraktLoginRequest {}).await?.into_inner();
            // On stderr, so `-o json` prints the account alone once signed in.
            eprintln!(
                "Open {} and enter the code {} (within {} minutes).",
                output::shown(&login.verification_url),
                output::shown(&login.user_code),
                login.expires_in.div_ceil(60)
            );
            let mut jobs_client = jobs::client(channel, auth);
            match jobs::follow(&mut jobs_client, format, login.job_id).await? {
                JobValue::Trakt(s) => s,
                other => return Err(jobs::unexpected(other)),
            }
        }
        TraktCmd::Logout => client.logout(pb::TraktLogoutRequest {}).await?.into_inner(),
        TraktCmd::Status => client.status(pb::TraktStatusRequest {}).await?.into_inner(),
        TraktCmd::History { sync } => {
            let h = client
                .history(pb::TraktHistoryRequest { sync })
                .await?
                .into_inner();
            output::emit(format, &json::TraktHistory::from(h), |h| {
                if sync {
                    println!(
                        "{} added to Trakt's history, {} not found there",
                        h.pushed, h.not_found
                    );
                }
                let rows = h.watches.iter().map(|w| {
                    vec![
                        format!("{} {}", w.item_kind, w.item_id),
                        w.watched_at.to_string(),
                        format!("{:.0}%", w.progress),
                        if w.synced { "yes" } else { "no" }.to_string(),
                    ]
                });
                let header = ["ITEM", "WATCHED AT", "PROGRESS", "ON TRAKT"];
                println!("{}", output::table(&header, rows));
            });
            return Ok(());
        }
        TraktCmd::Import {
            list,
            slug,
            dry_run,
            detach,
        } => {
            let list = match list {
                ListKind::Watchlist => "watchlist",
                ListKind::Collection => "collection",
                ListKind::List => "list",
            };
            let op = Op::ImportTrakt(pb::ImportTraktRequest {
                list: list.to_string(),
                slug: slug.unwrap_or_default(),
                dry_run,
            });
            match jobs::start(channel, auth, format, op, detach).await? {
                Some(JobValue::Import(r)) => crate::import::print_report(format, r),
                Some(other) => return Err(jobs::unexpected(other)),
                None => {}
            }
            return Ok(());
        }
    };
    print_status(format, status);
    Ok(())
}

pub fn print_status(format: Format, s: pb::TraktStatus) {
    output::emit(format, &json::TraktStatus::from(s), |s| {
        match (&s.username, s.signed_in, s.configured) {
            (_, _, false) => println!(
                "Trakt is not set up: set trakt.client_id and trakt.client_secret in momod's config"
            ),
            (Some(u), true, _) => println!("signed in to Trakt as {}", output::shown(u)),
            (None, true, _) => println!("signed in to Trakt"),
            (_, false, _) => println!("not signed in to Trakt (`momoctl trakt login`)"),
        }
        if let (Some(a), Some(kind), Some(id), Some(p)) = (
            &s.last_action,
            s.last_item_kind,
            s.last_item_id,
            s.last_progress,
        ) {
            println!("last scrobble: {a} of {kind} {id} at {p:.1}%");
        }
    });
}
