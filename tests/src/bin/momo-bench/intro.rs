//! `intro`: skip-intro detection of one season, twice: from local files (what decoding and
//! comparing cost) and from a loopback swarm (what a torrent-backed season costs in time
//! and in bytes fetched). Synthetic episodes (`momo_tests::episodes`): mostly raw video,
//! as real episodes are mostly video, with the season's theme at a different offset in each
//! and its credits music at the end; detection is checked against where they really are.
//! Nothing comparable runs here side by side (Jellyfin's intro-skipper is a .NET plugin of
//! a media server), so the figures are absolute.
use std::path::PathBuf;
use std::time::Instant;

use momo_tests::episodes::{CREDITS_S, Episode, THEME_S, make_episode};
use momo_tests::swarm::Seeder;
use momo_tests::{Daemon, DaemonConfig};
use serde_json::Value;

use super::{MIB, rss};

#[derive(clap::Args)]
pub struct IntroArgs {
    /// Episodes in the season.
    #[arg(long, default_value_t = 4)]
    episodes: usize,
    /// Length of each episode (s).
    #[arg(long, default_value_t = 1200)]
    seconds: u32,
    /// Video bytes per second beside the audio (the size of an episode).
    #[arg(long, default_value_t = 200_000)]
    video_bytes_s: u32,
    /// Upload rate of the loopback seeder (MiB/s).
    #[arg(long, default_value_t = 16)]
    seed_mib_s: u32,
}

pub fn intro(args: &IntroArgs) {
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut files: Vec<(PathBuf, u32)> = Vec::new();
    for i in 0..args.episodes {
        let file = tmp.path().join(format!("Season.S01E{:02}.mkv", i + 1));
        // Offsets inside the scan window (the default intro.scan_s: 600 s).
        let theme_at = (i as u32 * 47) % 300;
        make_episode(
            &file,
            &Episode {
                seconds: args.seconds,
                seed: i as u32 + 1,
                theme_at: Some(theme_at),
                credits: true,
                video_bytes_s: args.video_bytes_s,
            },
        );
        files.push((file, theme_at));
    }
    let size = std::fs::metadata(&files[0].0).unwrap().len();
    println!(
        "made {} episodes of {} s, {:.0} MiB each, in {:.1} s",
        args.episodes,
        args.seconds,
        size as f64 / MIB as f64,
        started.elapsed().as_secs_f64()
    );

    // Local files.
    let d = Daemon::start(
        DaemonConfig::new()
            .env("MOMO_LIBRARY_LOCAL_ROOTS", tmp.path().display().to_string())
            .env("MOMO_INTRO_AUTO", "false")
            .env("RUST_LOG", "warn"),
    );
    let ids = season(&d, "Local Season", args.episodes);
    for ((file, _), id) in files.iter().zip(&ids) {
        d.ctl_json(&["assign", "episode", id, "--local", file.to_str().unwrap()]);
    }
    let (report, took) = detect(&d, &ids);
    let (_, peak) = rss(d.pid());
    println!(
        "local:   {:.2} s per episode ({:.1} s for the season), momod peak RSS {:.0} MiB",
        took / args.episodes as f64,
        took,
        peak as f64 / MIB as f64
    );
    accuracy(&report, &files, args.seconds);
    drop(d);

    // A loopback swarm.
    let seeder = Seeder::start(Some(args.seed_mib_s * MIB as u32));
    let seeded: Vec<_> = files.iter().map(|(f, _)| seeder.seed(f)).collect();
    let d = Daemon::start(
        DaemonConfig::new()
            .env("MOMO_INTRO_AUTO", "false")
            .env("MOMO_STREAM_PREFETCH_ON_ASSIGN", "false")
            .env("MOMO_TORRENT_READ_TIMEOUT_S", "60")
            .env("RUST_LOG", "warn"),
    );
    let ids = season(&d, "Swarm Season", args.episodes);
    for (s, id) in seeded.iter().zip(&ids) {
        d.ctl_json(&["assign", "episode", id, &s.magnet]);
    }
    let (report, took) = detect(&d, &ids);
    // What is still in flight lands, then the bytes are counted.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let fetched: u64 = seeded
        .iter()
        .map(|s| {
            let t = d.ctl_json(&["torrent", "get", &s.info_hash]);
            t["progress_bytes"].as_u64().unwrap_or(0)
        })
        .sum();
    let per_episode = fetched as f64 / args.episodes as f64;
    println!(
        "torrent: {:.2} s per episode ({:.1} s for the season) at {} MiB/s; fetched {:.0} MiB per episode, {:.0} % of its {:.0} MiB",
        took / args.episodes as f64,
        took,
        args.seed_mib_s,
        per_episode / MIB as f64,
        per_episode * 100.0 / size as f64,
        size as f64 / MIB as f64
    );
    accuracy(&report, &files, args.seconds);
}

/// A show of one season of `n` episodes; their ids.
fn season(d: &Daemon, title: &str, n: usize) -> Vec<String> {
    let show = d.ctl_json(&[
        "show",
        "add",
        "--title",
        title,
        "--episodes",
        &format!("1:{n}"),
    ]);
    show["seasons"][0]["episodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].to_string())
        .collect()
}

/// Runs a detection of the show of `ids`; its report and how long it took (s).
fn detect(d: &Daemon, ids: &[String]) -> (Value, f64) {
    let show = d
        .ctl_json(&["show", "ls"])
        .as_array()
        .unwrap()
        .last()
        .unwrap()["id"]
        .to_string();
    let t = Instant::now();
    let report = d.ctl_json(&["intro", "detect", &show]);
    let took = t.elapsed().as_secs_f64();
    assert_eq!(report["episodes"].as_array().unwrap().len(), ids.len());
    (report, took)
}

/// How far detection is from where the theme and credits really are.
fn accuracy(report: &Value, files: &[(PathBuf, u32)], seconds: u32) {
    let (mut found, mut worst) = (0, 0.0f64);
    for (row, (_, theme_at)) in report["episodes"].as_array().unwrap().iter().zip(files) {
        let m = &row["markers"];
        if row["outcome"] != "found" {
            continue;
        }
        found += 1;
        let truth = [
            (*theme_at as f64, &m["intro_start_s"]),
            ((theme_at + THEME_S) as f64, &m["intro_end_s"]),
            ((seconds - CREDITS_S) as f64, &m["credits_start_s"]),
        ];
        for (want, got) in truth {
            let err = got
                .as_f64()
                .map(|g| (g - want).abs())
                .unwrap_or(f64::INFINITY);
            worst = worst.max(err);
        }
    }
    println!(
        "         found {found} of {}; worst error {worst:.2} s (intro start, end, credits start)",
        files.len()
    );
}
