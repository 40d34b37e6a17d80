//! Skip-intro detection: the intro and the credits a season's episodes share, found by
//! comparing their audio.
//!
//! Each episode's first `scan_s` and last `credits_scan_s` (at most half the episode each)
//! are decoded by ffmpeg into chromaprint fingerprints (`-f chromaprint`), then compared
//! pair by pair (`matching`). ffmpeg reads through momod's own WebDAV share on loopback,
//! with a credential made for this process: a torrent then fetches the ranges ffmpeg
//! reads (minutes, not whole episodes), a local file is read in place, and these reads are
//! not counted as plays (no scrobble).
pub mod matching;

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::error::{Error, Result};
use matching::Span;

/// Intros last this long (intro-skipper's bounds: shorter is a jingle, longer is not an
/// intro)...
const INTRO_MIN_S: f64 = 15.0;
const INTRO_MAX_S: f64 = 120.0;
/// ...and credits at least this long.
const CREDITS_MIN_S: f64 = 15.0;
/// Credits ending this close to the end run to it (the last points are lost to the
/// fingerprint's window).
const CREDITS_TO_END_S: f64 = 5.0;
/// Each episode is compared with this many neighbours on each side at most: a season of
/// hundreds of episodes stays a bounded job.
const NEIGHBOURS: usize = 10;
/// ffmpeg's stderr kept for an error message.
const MAX_STDERR: u64 = 4096;
/// A fingerprint is 4 bytes per 0.124 s; this bounds what is read from ffmpeg well above
/// the longest window (an hour).
const MAX_PRINT: u64 = 1 << 20;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Detect each season that gets a source and has two (`intro.auto`).
    pub auto: bool,
    pub scan_s: f64,
    pub credits_scan_s: f64,
    pub ffmpeg: String,
    pub ffprobe: String,
    /// For one ffmpeg or ffprobe run.
    pub timeout: Duration,
}

/// How ffmpeg reaches the share: its base URL on loopback, and the Authorization header
/// value of this process's own credential.
#[derive(Debug, Clone)]
pub struct Share {
    pub base: String,
    pub authorization: String,
}

pub struct Detector {
    settings: Settings,
    share: Share,
}

/// One episode, scanned.
pub struct Scan {
    pub duration: f64,
    head: Vec<u32>,
    tail: Vec<u32>,
    tail_start: f64,
}

/// What a season's comparison found for one episode: times in seconds from its start,
/// and the share of the episodes it was compared with that agree.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Found {
    pub intro: Option<(f64, f64)>,
    pub credits: Option<(f64, f64)>,
    pub confidence: f64,
}

impl Detector {
    pub fn new(settings: Settings, share: Share) -> Detector {
        Detector { settings, share }
    }

    pub fn auto(&self) -> bool {
        self.settings.auto
    }

    /// Decodes the windows of the file at share path `path` into fingerprints.
    pub async fn scan(&self, path: &str) -> Result<Scan> {
        let url = format!("{}{}", self.share.base, crate::webdav::url_path(path));
        let duration = self.duration(&url).await?;
        let head_len = self.settings.scan_s.min(duration / 2.0);
        let tail_len = self.settings.credits_scan_s.min(duration / 2.0);
        let tail_start = duration - tail_len;
        let head = self.fingerprint(&url, 0.0, head_len).await?;
        let tail = if tail_len > 0.0 {
            self.fingerprint(&url, tail_start, tail_len).await?
        } else {
            Vec::new()
        };
        Ok(Scan {
            duration,
            head,
            tail,
            tail_start,
        })
    }

    async fn duration(&self, url: &str) -> Result<f64> {
        let mut cmd = Command::new(&self.settings.ffprobe);
        cmd.args(["-v", "error", "-headers"])
            .arg(self.headers())
            .args(["-show_entries", "format=duration", "-of", "csv=p=0", url]);
        let out = self.run("ffprobe", cmd).await?;
        String::from_utf8_lossy(&out)
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|d| d.is_finite() && *d > 0.0)
            .ok_or_else(|| {
                Error::FailedPrecondition("ffprobe found no duration: not a video file?".into())
            })
    }

    /// The chromaprint fingerprint of `len` seconds from `start` of the first audio stream.
    async fn fingerprint(&self, url: &str, start: f64, len: f64) -> Result<Vec<u32>> {
        let mut cmd = Command::new(&self.settings.ffmpeg);
        cmd.args(["-nostdin", "-v", "error", "-headers"])
            .arg(self.headers())
            .args(["-ss", &format!("{start:.3}"), "-t", &format!("{len:.3}")])
            .args(["-i", url, "-map", "0:a:0", "-ac", "1"])
            .args(["-f", "chromaprint", "-fp_format", "raw", "-"]);
        let out = self.run("ffmpeg", cmd).await?;
        Ok(out
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    fn headers(&self) -> String {
        format!("Authorization: {}\r\n", self.share.authorization)
    }

    /// Runs `cmd` within the timeout (killed after it), its output bounded; its stdout, or
    /// an error with the end of what it said.
    async fn run(&self, name: &str, mut cmd: Command) -> Result<Vec<u8>> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| {
            Error::FailedPrecondition(format!(
                "cannot run {name} (`{}`): {e}; install ffmpeg or set intro.ffmpeg and intro.ffprobe",
                cmd.as_std().get_program().to_string_lossy()
            ))
        })?;
        let (mut stdout, mut stderr) = (
            child.stdout.take().expect("piped"),
            child.stderr.take().expect("piped"),
        );
        let work = async {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let (mut out_head, mut err_head) = (
                (&mut stdout).take(MAX_PRINT),
                (&mut stderr).take(MAX_STDERR),
            );
            let (read_out, read_err) = tokio::join!(
                out_head.read_to_end(&mut out),
                err_head.read_to_end(&mut err),
            );
            read_out.and(read_err)?;
            // What is left past the bounds is drained, or a blocked writer never exits.
            let (mut sink_out, mut sink_err) = (tokio::io::sink(), tokio::io::sink());
            let _ = tokio::join!(
                tokio::io::copy(&mut stdout, &mut sink_out),
                tokio::io::copy(&mut stderr, &mut sink_err),
            );
            child.wait().await.map(|status| (status, out, err))
        };
        let (status, out, err) = tokio::time::timeout(self.settings.timeout, work)
            .await
            .map_err(|_| {
                Error::DeadlineExceeded(format!(
                    "{name} took longer than {} s (intro.timeout_s)",
                    self.settings.timeout.as_secs()
                ))
            })?
            .map_err(|e| Error::Internal(format!("{name}: {e}")))?;
        if !status.success() {
            let said = String::from_utf8_lossy(&err);
            let said = said.trim().lines().last().unwrap_or("no message");
            return Err(Error::FailedPrecondition(format!(
                "{name} failed ({status}): {}",
                crate::error::echo(said)
            )));
        }
        Ok(out)
    }
}

/// Compares a season's scanned episodes: what each shares with the others.
pub fn compare(scans: &[&Scan]) -> Vec<Found> {
    let n = scans.len();
    let mut intros = vec![Vec::new(); n];
    let mut endings = vec![Vec::new(); n];
    let mut compared = vec![0usize; n];
    for i in 0..n {
        for j in (i + 1)..n.min(i + 1 + NEIGHBOURS) {
            compared[i] += 1;
            compared[j] += 1;
            let (a, b) = (scans[i], scans[j]);
            if let Some((x, y)) = matching::shared(&a.head, &b.head, INTRO_MIN_S, INTRO_MAX_S) {
                intros[i].push(x);
                intros[j].push(y);
            }
            let longest = a.duration.min(b.duration);
            if let Some((x, y)) = matching::shared(&a.tail, &b.tail, CREDITS_MIN_S, longest) {
                endings[i].push(x);
                endings[j].push(y);
            }
        }
    }
    (0..n)
        .map(|i| {
            let scan = scans[i];
            let intro = matching::consensus(&intros[i], INTRO_MIN_S).map(|s| {
                // An intro starting in the first second starts the episode.
                let start = if s.start < 1.0 { 0.0 } else { s.start };
                (start, s.end.min(scan.duration))
            });
            let credits = matching::consensus(&endings[i], CREDITS_MIN_S).map(|s: Span| {
                let end = scan.tail_start + s.end;
                let end = if scan.duration - end < CREDITS_TO_END_S {
                    scan.duration
                } else {
                    end
                };
                (scan.tail_start + s.start, end)
            });
            // The share of the compared episodes this one shares its intro (or, lacking
            // one, its credits) with.
            let agreeing = if intro.is_some() {
                intros[i].len()
            } else {
                endings[i].len()
            };
            let confidence = if compared[i] == 0 {
                0.0
            } else {
                agreeing as f64 / compared[i] as f64
            };
            Found {
                intro,
                credits,
                confidence: (confidence * 100.0).round() / 100.0,
            }
        })
        .collect()
}

impl Settings {
    pub fn from_config(c: &crate::config::IntroConfig) -> Settings {
        Settings {
            auto: c.auto,
            scan_s: c.scan_s as f64,
            credits_scan_s: c.credits_scan_s as f64,
            ffmpeg: c.ffmpeg.clone(),
            ffprobe: c.ffprobe.clone(),
            timeout: Duration::from_secs(c.timeout_s),
        }
    }
}
