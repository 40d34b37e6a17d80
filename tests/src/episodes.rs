//! Synthetic episodes for skip-intro detection, made by ffmpeg: each has audio of its own
//! (melodies that change every fraction of a second, from a seed), and may carry the
//! season's theme (25 s) at some offset and its credits music (the last 40 s). Real
//! episodes' audio is never still; neither is this, so fingerprints of unrelated parts
//! differ as they would.
use std::path::Path;

use crate::{run, stderr};

/// Length of the theme in every episode that has it.
pub const THEME_S: u32 = 25;
/// Length of the credits music at the end of every episode that has it.
pub const CREDITS_S: u32 = 40;
const RATE: u32 = 22050;

/// What goes into one episode.
pub struct Episode {
    pub seconds: u32,
    /// A different seed for each episode: its own audio.
    pub seed: u32,
    /// Where the theme starts, if it has it.
    pub theme_at: Option<u32>,
    pub credits: bool,
    /// Bytes per second of raw grey video beside the audio (0: audio only), so the audio
    /// is a small part of the file as in a real episode.
    pub video_bytes_s: u32,
}

fn melody(seed: u32, part: u32, seconds: u32) -> String {
    let k = seed * 7 + part * 3;
    let (a, m, r, base) = (5 + k % 9, 17 + (k * 5) % 13, 3 + k % 3, 170 + 23 * (k % 11));
    format!(
        "aevalsrc=exprs=0.3*sin(2*PI*({base}+37*mod(floor(t*{r})*{a}\\,{m}))*t)*(0.6+0.4*sin(2*PI*t*0.{a}))\
         +0.15*sin(2*PI*({base}*2.3+23*mod(floor(t*{r}*1.7)*{a}\\,{m}+4))*t):s={RATE}:d={seconds}"
    )
}

fn theme() -> String {
    format!(
        "aevalsrc=exprs=0.4*sin(2*PI*(300+60*mod(floor(t*3)*7\\,13))*t)\
         +0.2*sin(2*PI*(900+40*mod(floor(t*5)*3\\,11))*t):s={RATE}:d={THEME_S}"
    )
}

fn credits() -> String {
    format!(
        "aevalsrc=exprs=0.4*sin(2*PI*(520+45*mod(floor(t*2)*5\\,11))*t)*(0.7+0.3*sin(2*PI*t*0.3)):s={RATE}:d={CREDITS_S}"
    )
}

/// Writes the episode as Matroska (PCM audio) to `path`.
pub fn make_episode(path: &Path, e: &Episode) {
    let credits_from = e.seconds - if e.credits { CREDITS_S } else { 0 };
    let mut parts = Vec::new();
    let mut at = 0;
    if let Some(theme_at) = e.theme_at {
        if theme_at > 0 {
            parts.push(melody(e.seed, 0, theme_at));
        }
        parts.push(theme());
        at = theme_at + THEME_S;
    }
    parts.push(melody(e.seed, 1, credits_from - at));
    if e.credits {
        parts.push(credits());
    }
    let n = parts.len();
    let mut graph: String = parts
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{p}[p{i}];"))
        .collect();
    graph.extend((0..n).map(|i| format!("[p{i}]")));
    graph.push_str(&format!("concat=n={n}:v=0:a=1[audio]"));
    let mut args: Vec<String> = ["-v", "error", "-y", "-filter_complex", &graph]
        .map(String::from)
        .to_vec();
    if e.video_bytes_s > 0 {
        // 256x256 grey frames of 64 KiB.
        let fps = (e.video_bytes_s / 65536).max(1);
        let frames = format!("color=c=gray:s=256x256:r={fps}:d={}", e.seconds);
        args.extend(
            [
                "-f", "lavfi", "-i", &frames, "-map", "0:v", "-c:v", "rawvideo",
            ]
            .into_iter()
            .chain(["-pix_fmt", "gray"])
            .map(String::from),
        );
    }
    args.extend(
        ["-map", "[audio]", "-c:a", "pcm_s16le", "-ac", "1"]
            .into_iter()
            .map(String::from),
    );
    args.push(path.to_str().expect("UTF-8 path").to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run("ffmpeg", &args);
    assert!(
        out.status.success(),
        "ffmpeg could not make the episode: {}",
        stderr(&out)
    );
}
