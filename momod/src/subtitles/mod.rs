//! Subtitles: what a subtitle file is (format, language, flags), how it is checked before it
//! is kept, where its bytes live, and which subtitle files of a torrent belong to which video.
//!
//! - A subtitle is text: SubRip, ASS/SSA or WebVTT, at most `MAX_BYTES`, stored as UTF-8
//!   (UTF-16 and legacy single-byte encodings are converted on the way in).
//! - Its bytes live in `<data_dir>/subtitles`, named by content (`<sha256>.<format>`), so a
//!   listing or a read of a subtitle never touches a source (`Files`).
//! - In the share it sits beside its video as `<video base>.<lang>[.forced][.sdh].<ext>`
//!   (`sidecar_names`), the form Kodi, Jellyfin, Plex, mpv and Infuse look for.
//! - Languages are ISO 639-1 codes ("en"), with a region for the few that need one
//!   ("pt-br", "zh-tw"); "und" when a torrent's file does not say.
pub mod opensubtitles;
pub mod torrent;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Largest subtitle accepted (a feature film's SubRip is 50–150 KiB; ASS with styling
/// rarely passes 1 MiB).
pub const MAX_BYTES: usize = momo_proto::MAX_SUBTITLE_BYTES;

/// The language of a subtitle whose file does not say.
pub const UNDETERMINED: &str = "und";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Srt,
    Ass,
    Ssa,
    Vtt,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Srt => "srt",
            Format::Ass => "ass",
            Format::Ssa => "ssa",
            Format::Vtt => "vtt",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "srt" => Some(Format::Srt),
            "ass" => Some(Format::Ass),
            "ssa" => Some(Format::Ssa),
            "vtt" => Some(Format::Vtt),
            _ => None,
        }
    }

    /// From a file name's extension.
    pub fn of_name(name: &str) -> Option<Format> {
        Format::parse(name.rsplit_once('.')?.1)
    }

    fn describe(self) -> &'static str {
        match self {
            Format::Srt => "SubRip",
            Format::Ass | Format::Ssa => "SubStation Alpha",
            Format::Vtt => "WebVTT",
        }
    }

    /// Whether `text` is in this format, with at least one cue: what every player's
    /// parser needs.
    fn fits(self, text: &str) -> bool {
        let webvtt = text.trim_start().starts_with("WEBVTT");
        match self {
            Format::Srt => !webvtt && SRT_CUE.is_match(text),
            Format::Vtt => webvtt && VTT_CUE.is_match(text),
            // Anywhere: Aegisub writes embedded fonts and graphics before the events.
            Format::Ass | Format::Ssa => ASS_EVENTS.is_match(text) && ASS_CUE.is_match(text),
        }
    }

    /// The format `text` is in, when its name does not say.
    fn sniff(text: &str) -> Option<Format> {
        [Format::Vtt, Format::Ass, Format::Srt]
            .into_iter()
            .find(|f| f.fits(text))
    }
}

static SRT_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\s*\d{1,3}:\d{2}:\d{2}[,.]\d{1,3}\s*-->\s*\d{1,3}:\d{2}:\d{2}[,.]\d{1,3}")
        .unwrap()
});
static VTT_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\s*(?:\d+:)?\d{2}:\d{2}\.\d{3}\s+-->\s+(?:\d+:)?\d{2}:\d{2}\.\d{3}").unwrap()
});
static ASS_EVENTS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?mi)^\s*\[events\]").unwrap());
static ASS_CUE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?mi)^\s*dialogue\s*:").unwrap());

/// A subtitle's bytes, checked and converted to UTF-8.
#[derive(Debug, Clone)]
pub struct Checked {
    pub format: Format,
    pub text: Vec<u8>,
    pub sha256: String,
}

/// Checks that `bytes` (from a file called `name`) is a subtitle: text, not too large, in
/// the format its extension says (or one it can be recognised as). Converts it to UTF-8.
pub fn check(name: &str, bytes: &[u8]) -> Result<Checked> {
    if bytes.len() > MAX_BYTES {
        return Err(Error::InvalidArgument(format!(
            "{name} is {} bytes; a subtitle may have at most {MAX_BYTES} (5 MiB)",
            bytes.len()
        )));
    }
    if bytes.is_empty() {
        return Err(Error::InvalidArgument(format!("{name} is empty")));
    }
    let text = decode(bytes).ok_or_else(|| {
        Error::InvalidArgument(if utf16_without_bom(bytes) {
            format!("{name} is UTF-16 without a byte-order mark: save it as UTF-8")
        } else {
            format!(
                "{name} is not a text file (binary data); subtitles must be SubRip, ASS/SSA or WebVTT text"
            )
        })
    })?;
    if text.trim().is_empty() {
        return Err(Error::InvalidArgument(format!("{name} is empty")));
    }
    let format = match Format::of_name(name) {
        Some(f) if f.fits(&text) => f,
        Some(f) => {
            return Err(Error::InvalidArgument(match Format::sniff(&text) {
                Some(other) if other.describe() != f.describe() => format!(
                    "{name} holds {}, but its name says {}: rename it .{}",
                    other.describe(),
                    f.describe(),
                    other.as_str()
                ),
                _ => format!("{name} is not a {} file (it has no cue)", f.describe()),
            }));
        }
        None => Format::sniff(&text).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{name} is not a subtitle file: neither SubRip, ASS/SSA nor WebVTT"
            ))
        })?,
    };
    let text = text.into_bytes();
    // Converted, it may have grown (Windows-1252 letters take two bytes in UTF-8): the
    // bound holds for what is kept.
    if text.len() > MAX_BYTES {
        return Err(Error::InvalidArgument(format!(
            "{name} is more than {MAX_BYTES} bytes (5 MiB) as UTF-8"
        )));
    }
    let sha256 = Sha256::digest(&text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Checked {
        format,
        text,
        sha256,
    })
}

/// Text as UTF-8: UTF-8 (a BOM dropped), UTF-16 with a BOM, else Windows-1252 (what most
/// old SubRip files are in). None for binary data.
fn decode(bytes: &[u8]) -> Option<String> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes)
        && encoding != encoding_rs::UTF_8
    {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom..]);
        return (!had_errors && !has_binary(&text)).then(|| text.into_owned());
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_string(),
        Err(_) => {
            // Mostly UTF-8 with a stray bad byte: keep the UTF-8 (the byte becomes U+FFFD)
            // rather than read every accented letter as two Windows-1252 ones.
            let lossy = String::from_utf8_lossy(bytes);
            let letters = lossy
                .chars()
                .filter(|c| !c.is_ascii() && *c != '\u{FFFD}')
                .count();
            let bad = lossy.chars().filter(|c| *c == '\u{FFFD}').count();
            if letters > bad {
                lossy.into_owned()
            } else {
                encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling(bytes)
                    .0
                    .into_owned()
            }
        }
    };
    (!has_binary(&text)).then_some(text)
}

/// Text whose every other byte is NUL: UTF-16 that does not say so.
fn utf16_without_bom(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(4096)];
    let nul_at = |parity: usize| {
        sample
            .iter()
            .skip(parity)
            .step_by(2)
            .filter(|b| **b == 0)
            .count()
    };
    let half = sample.len() / 2;
    half > 8 && (nul_at(0) * 10 > half * 9 || nul_at(1) * 10 > half * 9)
}

/// NUL or other control characters text never has (tabs, line ends and form feeds aside).
fn has_binary(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
}

// ---------------------------------------------------------------------- languages

/// ISO 639-2/B codes that differ from 639-3 (release names use both).
const BIBLIOGRAPHIC: &[(&str, &str)] = &[
    ("alb", "sq"),
    ("arm", "hy"),
    ("baq", "eu"),
    ("bur", "my"),
    ("chi", "zh"),
    ("cze", "cs"),
    ("dut", "nl"),
    ("fre", "fr"),
    ("geo", "ka"),
    ("ger", "de"),
    ("gre", "el"),
    ("ice", "is"),
    ("mac", "mk"),
    ("mao", "mi"),
    ("may", "ms"),
    ("per", "fa"),
    ("rum", "ro"),
    ("slo", "sk"),
    ("tib", "bo"),
    ("wel", "cy"),
];

/// Languages with a region that subtitle sites keep apart.
const REGIONAL: &[(&str, &[&str])] = &[
    ("pt-br", &["ptbr", "pob", "brazilian", "brazil", "pt-br"]),
    ("pt-pt", &["ptpt", "pt-pt"]),
    ("zh-cn", &["zhcn", "chs", "zh-cn", "zh-hans"]),
    ("zh-tw", &["zhtw", "cht", "zh-tw", "zh-hant"]),
];

/// A language as users and release names write it ("en", "eng", "English", "pt-BR"),
/// as the code we keep ("en", "pt-br"). None when it is not one.
pub fn language(text: &str) -> Option<String> {
    let lower = text.trim().to_lowercase().replace('_', "-");
    if lower == UNDETERMINED {
        return Some(UNDETERMINED.into());
    }
    if let Some((code, _)) = REGIONAL
        .iter()
        .find(|(code, names)| *code == lower || names.contains(&lower.as_str()))
    {
        return Some((*code).to_string());
    }
    // "en-US", "de-AT": the language alone.
    let base = match lower.split_once('-') {
        Some((l, region)) if l.len() == 2 && region.len() == 2 => l,
        _ => lower.as_str(),
    };
    let found = match base.len() {
        2 => isolang::Language::from_639_1(base),
        3 => BIBLIOGRAPHIC
            .iter()
            .find(|(b, _)| *b == base)
            .and_then(|(_, one)| isolang::Language::from_639_1(one))
            .or_else(|| isolang::Language::from_639_3(base)),
        _ => {
            let mut name = base.to_string();
            if let Some(first) = name.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            isolang::Language::from_name(&name)
        }
    }?;
    // Only languages with a two-letter code: players and OpenSubtitles speak those, and
    // release names are full of three-letter words that are some obscure language's code.
    found.to_639_1().map(str::to_string)
}

/// What a subtitle's file name says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameInfo {
    pub language: String,
    pub forced: bool,
    pub sdh: bool,
}

static TOKEN_SPLIT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[ ._\-\[\]()]+").unwrap());
static REGION_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^a-z])(pt|zh)[-_ ]?(br|pt|cn|tw)(?:[^a-z]|$)").unwrap()
});

/// Reads language and flags from a subtitle's file name ("Movie.2019.en.forced.srt",
/// "2_English.srt", "Show.S01E02.eng.sdh.srt"). `after` is the video's base name: when the
/// subtitle's name starts with it, only the rest is read.
pub fn parse_name(file_name: &str, after: Option<&str>) -> NameInfo {
    let stem = file_name
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(file_name);
    let rest = match after {
        Some(base)
            if stem.len() >= base.len()
                && stem.is_char_boundary(base.len())
                && stem[..base.len()].eq_ignore_ascii_case(base) =>
        {
            &stem[base.len()..]
        }
        _ => stem,
    };
    let mut info = NameInfo {
        language: UNDETERMINED.into(),
        forced: false,
        sdh: false,
    };
    if let Some(c) = REGION_PAIR.captures(rest) {
        info.language = format!("{}-{}", c[1].to_lowercase(), c[2].to_lowercase());
    }
    let tokens: Vec<String> = TOKEN_SPLIT
        .split(rest)
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut hi = false;
    let mut words = Vec::new();
    for t in &tokens {
        match t.as_str() {
            "forced" | "foreign" => info.forced = true,
            "sdh" | "cc" | "hearing" | "impaired" => info.sdh = true,
            "hi" => hi = true,
            _ => words.push(t.as_str()),
        }
    }
    // Languages sit at the end of a name: read the last few words, nearest the end first.
    // A long release name has words like "it" or "no" in its middle.
    if info.language == UNDETERMINED
        && let Some(l) = words.iter().rev().take(3).find_map(|w| language(w))
    {
        info.language = l;
    }
    // "hi" is Hindi unless another language is named: then it marks hearing-impaired.
    if hi {
        if info.language == UNDETERMINED {
            info.language = "hi".into();
        } else {
            info.sdh = true;
        }
    }
    info
}

// ---------------------------------------------------------------------- the share

/// A subtitle as the share lists it beside its video.
#[derive(Debug, Clone)]
pub struct Sidecar {
    pub language: String,
    pub forced: bool,
    pub sdh: bool,
    pub format: Format,
}

/// The names of a video's subtitles (in the order given): `<base>.<lang>[.forced][.sdh].<ext>`,
/// the language left out when unknown; a second of the same name gets " 2" before the
/// extension, a third " 3".
pub fn sidecar_names(base: &str, subs: &[Sidecar]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    subs.iter()
        .map(|s| {
            let mut stem = base.to_string();
            if s.language != UNDETERMINED {
                stem.push('.');
                stem.push_str(&s.language);
            }
            if s.forced {
                stem.push_str(".forced");
            }
            if s.sdh {
                stem.push_str(".sdh");
            }
            let ext = s.format.as_str();
            let n = seen
                .entry(format!("{stem}.{ext}").to_lowercase())
                .or_default();
            *n += 1;
            if *n == 1 {
                format!("{stem}.{ext}")
            } else {
                format!("{stem} {n}.{ext}")
            }
        })
        .collect()
}

// ---------------------------------------------------------------------- storage

/// Where subtitles' bytes are kept: `<data_dir>/subtitles/<sha256>.<format>`.
#[derive(Debug, Clone)]
pub struct Files {
    dir: PathBuf,
}

impl Files {
    pub fn new(data_dir: &Path) -> std::io::Result<Files> {
        let dir = data_dir.join("subtitles");
        std::fs::create_dir_all(&dir)?;
        Ok(Files { dir })
    }

    pub fn path(&self, sha256: &str, format: Format) -> PathBuf {
        self.dir.join(format!("{sha256}.{}", format.as_str()))
    }

    /// Writes the bytes (to a temporary file, synced, then renamed: a crash leaves the
    /// whole file or none). Kept as is when already there.
    pub async fn put(&self, sub: &Checked) -> Result<PathBuf> {
        let path = self.path(&sub.sha256, sub.format);
        let dir = self.dir.clone();
        let text = sub.text.clone();
        let target = path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if target.is_file() {
                return Ok(());
            }
            let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
            tmp.write_all(&text)?;
            tmp.as_file().sync_all()?;
            tmp.persist(&target).map_err(|e| e.error)?;
            Ok(())
        })
        .await
        .map_err(|e| Error::Internal(format!("subtitle write task: {e}")))?
        .map_err(|e| {
            Error::Internal(format!("cannot store subtitle in {}: {e}", path.display()))
        })?;
        Ok(path)
    }

    /// Deletes the files no subtitle row refers to (`keep`: their file names). Run at
    /// start: an item deleted with its subtitles leaves their files behind.
    pub fn sweep(&self, keep: &HashSet<String>) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        let mut removed = 0;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if !keep.contains(&name) && std::fs::remove_file(e.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(lang: &str, forced: bool, sdh: bool) -> NameInfo {
        NameInfo {
            language: lang.into(),
            forced,
            sdh,
        }
    }

    #[test]
    fn languages_as_people_and_releases_write_them() {
        for (text, code) in [
            ("en", Some("en")),
            ("EN", Some("en")),
            ("eng", Some("en")),
            ("English", Some("en")),
            ("german", Some("de")),
            ("ger", Some("de")),
            ("deu", Some("de")),
            ("fre", Some("fr")),
            ("pt-BR", Some("pt-br")),
            ("pt_br", Some("pt-br")),
            ("Brazilian", Some("pt-br")),
            ("en-US", Some("en")),
            ("zh-tw", Some("zh-tw")),
            ("und", Some("und")),
            ("xx", None),
            ("klingonese", None),
            ("web", None),
            ("dts", None),
            ("", None),
        ] {
            assert_eq!(language(text).as_deref(), code, "{text}");
        }
    }

    #[test]
    fn names_say_language_and_flags() {
        let base = "Fight.Club.1999.1080p.BluRay.x264-GRP";
        for (name, after, want) in [
            (
                "Fight.Club.1999.1080p.BluRay.x264-GRP.en.srt",
                Some(base),
                info("en", false, false),
            ),
            (
                "Fight.Club.1999.1080p.BluRay.x264-GRP.eng.forced.srt",
                Some(base),
                info("en", true, false),
            ),
            (
                "Fight.Club.1999.1080p.BluRay.x264-GRP.srt",
                Some(base),
                info("und", false, false),
            ),
            ("2_English.srt", None, info("en", false, false)),
            ("3_English.SDH.srt", None, info("en", false, true)),
            ("Show.S01E02.de.hi.srt", None, info("de", false, true)),
            ("Movie.hi.srt", Some("Movie"), info("hi", false, false)),
            (
                "Movie.Portuguese (Brazil).srt",
                Some("Movie"),
                info("pt-br", false, false),
            ),
            (
                "Movie.pt-BR.srt",
                Some("Movie"),
                info("pt-br", false, false),
            ),
            (
                "Movie.English.Forced.ass",
                Some("Movie"),
                info("en", true, false),
            ),
            // A long release name with no language at its end says none.
            (
                "Movie.It.Was.No.Good.2019.WEB.srt",
                None,
                info("und", false, false),
            ),
        ] {
            assert_eq!(parse_name(name, after), want, "{name}");
        }
    }

    #[test]
    fn content_must_be_a_subtitle_in_text() {
        let srt = b"1\r\n00:00:01,000 --> 00:00:02,000\r\nHello\r\n";
        assert_eq!(check("a.srt", srt).unwrap().format, Format::Srt);
        assert_eq!(check("a.txt", srt).unwrap().format, Format::Srt);
        let vtt = b"WEBVTT\n\n00:01.000 --> 00:02.000\nHi\n";
        assert_eq!(check("a.vtt", vtt).unwrap().format, Format::Vtt);
        assert_eq!(check("noext", vtt).unwrap().format, Format::Vtt);
        let ass = b"[Script Info]\nTitle: x\n\n[Events]\nDialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,Hi\n";
        assert_eq!(check("a.ass", ass).unwrap().format, Format::Ass);

        // UTF-16 and Windows-1252 come out as UTF-8; a BOM goes.
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "1\n00:00:01,000 --> 00:00:02,000\nÄpfel\n".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let c = check("a.srt", &utf16).unwrap();
        assert!(String::from_utf8(c.text).unwrap().contains("Äpfel"));
        let latin = b"1\n00:00:01,000 --> 00:00:02,000\n\xC4pfel\n";
        let c = check("a.srt", latin).unwrap();
        assert!(String::from_utf8(c.text).unwrap().contains("Äpfel"));
        let mut stray = "1\n00:00:01,000 --> 00:00:02,000\nÄpfel, Öl, Über\n"
            .as_bytes()
            .to_vec();
        stray.push(0xFF);
        let c = check("a.srt", &stray).unwrap();
        assert!(
            String::from_utf8(c.text)
                .unwrap()
                .contains("Äpfel, Öl, Über")
        );
        let bom = b"\xEF\xBB\xBF1\n00:00:01,000 --> 00:00:02,000\nx\n";
        assert!(check("a.srt", bom).unwrap().text.starts_with(b"1\n"));

        let utf16_le_without_bom: Vec<u8> = "1\n00:00:01,000 --> 00:00:02,000\nHello there\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        for (name, bytes, says) in [
            (
                "a.srt",
                &b"\x00\x01\x02binary --> \x00"[..],
                "not a text file",
            ),
            ("a.srt", &b"just some notes"[..], "not a SubRip file"),
            ("a.vtt", &srt[..], "holds SubRip, but its name says WebVTT"),
            ("a.srt", &vtt[..], "holds WebVTT, but its name says SubRip"),
            ("a.srt", &b"-->"[..], "it has no cue"),
            ("a.vtt", &b"WEBVTT\n"[..], "it has no cue"),
            ("a.srt", &b"\xEF\xBB\xBF"[..], "empty"),
            (
                "a.srt",
                &utf16_le_without_bom[..],
                "UTF-16 without a byte-order mark",
            ),
            ("a.txt", &b"plain text"[..], "not a subtitle file"),
            ("a.srt", &b""[..], "empty"),
        ] {
            let e = check(name, bytes).unwrap_err().to_string();
            assert!(e.contains(says), "{name}: {e}");
        }
        let big = vec![b'a'; MAX_BYTES + 1];
        assert!(
            check("a.srt", &big)
                .unwrap_err()
                .to_string()
                .contains("at most")
        );
        // The same text, the same name on disk.
        assert_eq!(
            check("a.srt", srt).unwrap().sha256,
            check("b.srt", srt).unwrap().sha256
        );
    }

    #[test]
    fn sidecars_are_named_for_players() {
        let sub = |_id: i64, lang: &str, forced, sdh, format| Sidecar {
            language: lang.into(),
            forced,
            sdh,
            format,
        };
        let names = sidecar_names(
            "Fight Club (1999)",
            &[
                sub(1, "en", false, false, Format::Srt),
                sub(2, "en", true, false, Format::Srt),
                sub(3, "de", false, true, Format::Srt),
                sub(4, "en", false, false, Format::Srt),
                sub(5, "en", false, false, Format::Ass),
                sub(6, "und", false, false, Format::Srt),
                sub(7, "en", false, false, Format::Srt),
            ],
        );
        assert_eq!(
            names,
            [
                "Fight Club (1999).en.srt",
                "Fight Club (1999).en.forced.srt",
                "Fight Club (1999).de.sdh.srt",
                "Fight Club (1999).en 2.srt",
                "Fight Club (1999).en.ass",
                "Fight Club (1999).srt",
                "Fight Club (1999).en 3.srt",
            ]
        );
    }
}
