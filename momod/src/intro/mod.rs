//! Skip-intro detection: the intro and the credits a season's episodes share, found by
//! comparing their audio.
//!
//! Each episode's first `scan_s` and last `credits_scan_s` (each at most a quarter of the
//! episode, as Jellyfin's intro-skipper does) are decoded by ffmpeg into chromaprint
//! fingerprints (`-f chromaprint`), then compared pair by pair (`matching`). ffmpeg reads
//! through momod's own WebDAV share on loopback, with a grant for that one file: a torrent
//! then fetches the ranges ffmpeg reads (minutes, not whole episodes), a local file is read
//! in place, and these reads are not plays (no scrobble). Fingerprints are kept in memory
//! per file version, so detecting a season again after it gains an episode decodes that
//! episode only.
pub mod matching;

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::error::{Error, Result};
use crate::webdav::Grants;
pub use matching::{Detection, Prints, compare};

/// At most this share of an episode is scanned at each end.
const MAX_SHARE: f64 = 0.25;
/// Fingerprints kept (a few tens of KiB each); beyond, the cache starts over.
const CACHED: usize = 512;
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

/// How ffmpeg reaches the share: its base URL on loopback, and the grants it reads with.
pub struct Share {
    pub base: String,
    pub grants: Grants,
}

pub struct Detector {
    settings: Settings,
    share: Share,
    /// Fingerprints by (share path, ETag).
    cache: Mutex<HashMap<(String, String), Arc<Prints>>>,
    /// Whether `check_tools` found them once (a failure is checked again: they may be
    /// installed since).
    tools_ok: AtomicBool,
}

impl Detector {
    pub fn new(settings: Settings, share: Share) -> Detector {
        Detector {
            settings,
            share,
            cache: Mutex::default(),
            tools_ok: AtomicBool::new(false),
        }
    }

    pub fn auto(&self) -> bool {
        self.settings.auto
    }

    /// The fingerprints of the file at share path `path` (whose ETag is `etag`): decoded
    /// now, or kept from an earlier scan of the same file.
    pub async fn scan(&self, path: &str, etag: &str) -> Result<Arc<Prints>> {
        let key = (path.to_string(), etag.to_string());
        if let Some(prints) = self.cache.lock().expect("cache lock").get(&key) {
            return Ok(prints.clone());
        }
        let grant = self
            .share
            .grants
            .issue(path)
            .map_err(|e| Error::Internal(format!("cannot make a share grant: {e}")))?;
        let headers = format!("Authorization: {}\r\n", grant.authorization());
        let url = format!("{}{}", self.share.base, crate::webdav::url_path(path));
        let duration = self.duration(&url, &headers).await?;
        let head_len = self.settings.scan_s.min(duration * MAX_SHARE);
        let tail_len = self.settings.credits_scan_s.min(duration * MAX_SHARE);
        let tail_start = duration - tail_len;
        let head = self.fingerprint(&url, &headers, 0.0, head_len).await?;
        let tail = if tail_len > 0.0 {
            self.fingerprint(&url, &headers, tail_start, tail_len)
                .await?
        } else {
            Vec::new()
        };
        let prints = Arc::new(Prints {
            duration,
            head,
            tail,
            tail_start,
        });
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.len() >= CACHED {
            cache.clear();
        }
        cache.insert(key, prints.clone());
        Ok(prints)
    }

    async fn duration(&self, url: &str, headers: &str) -> Result<f64> {
        let mut cmd = Command::new(&self.settings.ffprobe);
        cmd.args(["-v", "error", "-headers", headers]).args([
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
            url,
        ]);
        let out = self.run("ffprobe", cmd, url).await?;
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
    async fn fingerprint(
        &self,
        url: &str,
        headers: &str,
        start: f64,
        len: f64,
    ) -> Result<Vec<u32>> {
        let mut cmd = Command::new(&self.settings.ffmpeg);
        cmd.args(["-nostdin", "-v", "error", "-headers", headers])
            .args(["-ss", &format!("{start:.3}"), "-t", &format!("{len:.3}")])
            .args(["-i", url, "-map", "0:a:0", "-ac", "1"])
            .args(["-f", "chromaprint", "-fp_format", "raw", "-"]);
        let out = self.run("ffmpeg", cmd, url).await?;
        Ok(out
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Runs `cmd` within the timeout (killed after it), its output bounded; its stdout, or
    /// an error with the end of what it said.
    async fn run(&self, name: &str, mut cmd: Command, url: &str) -> Result<Vec<u8>> {
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
            // Its first line says why, after the URL (which says nothing to a person).
            let said = String::from_utf8_lossy(&err).replace(url, "");
            let line = said
                .lines()
                .map(|l| l.trim_start_matches(':').trim())
                .find(|l| !l.is_empty())
                .unwrap_or("no message");
            let why = if line.contains("matches no streams") {
                "it has no audio stream".to_string()
            } else {
                crate::error::echo(line)
            };
            return Err(Error::FailedPrecondition(format!(
                "{name} failed ({status}): {why}"
            )));
        }
        Ok(out)
    }

    /// Whether ffmpeg and ffprobe run, and ffmpeg can write fingerprints: checked before a
    /// detection is started, so a missing tool is one clear error, not one per episode.
    pub async fn check_tools(&self) -> Result<()> {
        if self.tools_ok.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut probe = Command::new(&self.settings.ffprobe);
        probe.args(["-v", "error", "-version"]);
        self.run("ffprobe", probe, "").await?;
        let mut ffmpeg = Command::new(&self.settings.ffmpeg);
        ffmpeg.args(["-hide_banner", "-h", "muxer=chromaprint"]);
        let help = self.run("ffmpeg", ffmpeg, "").await?;
        if !String::from_utf8_lossy(&help).contains("Muxer chromaprint") {
            return Err(Error::FailedPrecondition(format!(
                "`{}` has no chromaprint muxer: install an ffmpeg built with --enable-chromaprint \
                 (Debian's is) or set intro.ffmpeg",
                self.settings.ffmpeg
            )));
        }
        self.tools_ok.store(true, Ordering::Relaxed);
        Ok(())
    }
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
