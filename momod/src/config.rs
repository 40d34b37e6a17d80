//! Configuration: built-in defaults, then an optional TOML file, then `MOMO_*` environment
//! variables, then command-line flags. Every key is validated at start; an error names the key
//! and where its value came from.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// Prefix of the environment variables that override config keys (`MOMO_TMDB_API_KEY` → `tmdb.api_key`).
const ENV_PREFIX: &str = "MOMO_";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Holds the database, the control socket and the torrent cache.
    pub data_dir: Option<PathBuf>,
    /// At shutdown, how long open WebDAV responses and gRPC calls may run before they are cut.
    pub shutdown_grace_s: u64,
    pub grpc: GrpcConfig,
    pub webdav: WebdavConfig,
    pub tmdb: TmdbConfig,
    pub library: LibraryConfig,
    pub torrent: TorrentConfig,
    pub stream: StreamConfig,
    pub jobs: JobsConfig,
    pub subtitles: SubtitlesConfig,
    pub trakt: TraktConfig,
    pub intro: IntroConfig,
}

/// Skip-intro detection: the intro and credits a season's episodes share, by audio.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntroConfig {
    /// Detect a season's intro and credits, as a job, each time it gets a source and has
    /// at least two.
    pub auto: bool,
    /// Seconds at the start of each episode searched for the intro (at most a quarter of it).
    pub scan_s: u64,
    /// Seconds at the end searched for the credits (at most a quarter of it); 0 = none.
    pub credits_scan_s: u64,
    /// The programs that decode the audio.
    pub ffmpeg: String,
    pub ffprobe: String,
    /// Bound on one run of either, per episode window.
    pub timeout_s: u64,
}

impl Default for IntroConfig {
    fn default() -> Self {
        IntroConfig {
            auto: true,
            scan_s: 600,
            credits_scan_s: 180,
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            timeout_s: 300,
        }
    }
}

/// Trakt (API v2): sign-in and list imports.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TraktConfig {
    /// A Trakt API app's id and secret (trakt.tv/oauth/applications); none = Trakt off.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub base_url: String,
    pub timeout_s: u64,
    /// Tell Trakt what is played over the share (start, pause, stop), when signed in.
    pub scrobble: bool,
    /// Reads that keep coming this long are playback (a probe or thumbnailer stops sooner).
    pub scrobble_start_s: u64,
    /// No reads for this long pauses the playback...
    pub scrobble_pause_s: u64,
    /// ...and for this long stops it.
    pub scrobble_stop_s: u64,
    /// Reads that would take the whole file in less than this are a copy, not playback.
    pub scrobble_min_runtime_s: u64,
}

impl Default for TraktConfig {
    fn default() -> Self {
        TraktConfig {
            client_id: None,
            client_secret: None,
            base_url: "https://api.trakt.tv".into(),
            timeout_s: 15,
            scrobble: true,
            scrobble_start_s: 30,
            scrobble_pause_s: 30,
            scrobble_stop_s: 600,
            scrobble_min_runtime_s: 600,
        }
    }
}

/// Subtitles from OpenSubtitles (REST API v1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubtitlesConfig {
    /// Languages searched and fetched when a command names none (ISO 639-1).
    pub languages: Vec<String>,
    /// The application's key (opensubtitles.com → API consumers); none = OpenSubtitles off.
    pub opensubtitles_api_key: Option<String>,
    /// An account raises the daily download quota; optional.
    pub opensubtitles_username: Option<String>,
    pub opensubtitles_password: Option<String>,
    pub opensubtitles_base_url: String,
    pub timeout_s: u64,
    /// After each assignment, fetch the languages the item lacks, as a job (needs a key).
    pub auto: bool,
}

impl Default for SubtitlesConfig {
    fn default() -> Self {
        SubtitlesConfig {
            languages: vec!["en".into()],
            opensubtitles_api_key: None,
            opensubtitles_username: None,
            opensubtitles_password: None,
            opensubtitles_base_url: "https://api.opensubtitles.com/api/v1".into(),
            timeout_s: 15,
            auto: true,
        }
    }
}

/// What is fetched before and around a player's reads (see the README's "Playback").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    /// Fetched first when a file is first opened: players probe the start of a file...
    pub head_mb: u64,
    /// ...and its end (MKV cues, an MP4 `moov` at the end).
    pub tail_mb: u64,
    /// Fetch the head and tail of an assigned file right away, then let the torrent idle.
    pub prefetch_on_assign: bool,
    /// Seconds of playback kept fetched ahead of a reader, at its measured read rate.
    pub readahead_s: u64,
    /// Upper bound of that window.
    pub readahead_max_mb: u64,
    /// A stream a response has finished with is kept this long for the player's next range.
    pub reuse_idle_s: u64,
    /// Fetch the head and tail of the next episode once an episode is read past 70 %.
    pub warm_next: bool,
    /// HTTP(S) sources: how long connecting, and each wait for the next bytes, may take.
    pub http_timeout_s: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            head_mb: 8,
            tail_mb: 4,
            prefetch_on_assign: true,
            readahead_s: 30,
            readahead_max_mb: 256,
            reuse_idle_s: 5,
            warm_next: true,
            http_timeout_s: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Jobs that run at once; more wait in the queue, in order.
    pub concurrency: usize,
    /// Ended jobs and their log lines are deleted this many days after they end.
    pub retention_days: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            concurrency: 4,
            retention_days: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcConfig {
    /// `unix:///path.sock` or `tcp://host:port`; unset = `unix://<data_dir>/momod.sock`.
    /// The control socket in the data dir is always served; a `tcp://` listen adds a TCP listener.
    pub listen: Option<GrpcListen>,
    /// Required for a TCP listener: clients send `authorization: Bearer <token>`.
    pub token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebdavConfig {
    pub listen: SocketAddr,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Connections served at once; more wait in the kernel's queue until one closes.
    pub max_connections: usize,
    /// How long a connection may go without a complete request head, after it opens or
    /// after its last response (slow or silent clients, idle keep-alive connections).
    pub idle_timeout_s: u64,
    /// How long a response may wait on a client that has stopped reading it.
    pub send_timeout_s: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TmdbConfig {
    /// A v3 API key (sent as `api_key`) or a v4 read access token (sent as Bearer).
    pub api_key: Option<String>,
    pub base_url: String,
    pub language: String,
    pub timeout_s: u64,
    /// Client-side cap on requests per second.
    pub rate_limit_per_s: u32,
    /// How long fetched metadata is reused.
    pub cache_ttl_s: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LibraryConfig {
    /// Folders whose files may be assigned as local sources; empty = local sources refused.
    pub local_roots: Vec<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TorrentConfig {
    /// 0 = pick a free port.
    pub listen_port: u16,
    pub dht: bool,
    pub local_discovery: bool,
    pub trackers: bool,
    pub cache_max_mb: u64,
    pub metadata_timeout_s: u64,
    pub read_timeout_s: u64,
    pub idle_timeout_s: u64,
    pub start_paused: bool,
    /// Chunk requests (16 KiB) kept in flight per peer. Fewer make a seek's piece come
    /// sooner (it queues behind them); more help distant peers on fast links.
    pub request_window: u64,
    /// Download rate (KiB/s) while no stream reads, with `start_paused`: what a file kept
    /// selected for the player's next range may fetch meanwhile. 0 = no limit.
    pub idle_download_kib_s: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: None,
            shutdown_grace_s: 5,
            grpc: GrpcConfig::default(),
            webdav: WebdavConfig::default(),
            tmdb: TmdbConfig::default(),
            library: LibraryConfig::default(),
            torrent: TorrentConfig::default(),
            stream: StreamConfig::default(),
            jobs: JobsConfig::default(),
            subtitles: SubtitlesConfig::default(),
            trakt: TraktConfig::default(),
            intro: IntroConfig::default(),
        }
    }
}

impl Default for WebdavConfig {
    fn default() -> Self {
        WebdavConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 36911)),
            username: None,
            password: None,
            max_connections: 1024,
            idle_timeout_s: 30,
            send_timeout_s: 60,
        }
    }
}

impl Default for TmdbConfig {
    fn default() -> Self {
        TmdbConfig {
            api_key: None,
            base_url: "https://api.themoviedb.org/3".into(),
            language: "en-US".into(),
            timeout_s: 15,
            rate_limit_per_s: 20,
            cache_ttl_s: 3600,
        }
    }
}

impl Default for TorrentConfig {
    fn default() -> Self {
        TorrentConfig {
            listen_port: 0,
            dht: true,
            local_discovery: true,
            trackers: true,
            cache_max_mb: 0,
            metadata_timeout_s: 60,
            read_timeout_s: 120,
            idle_timeout_s: 300,
            start_paused: true,
            request_window: 16,
            idle_download_kib_s: 128,
        }
    }
}

/// Where a gRPC listener binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrpcListen {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl std::fmt::Display for GrpcListen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GrpcListen::Unix(p) => write!(f, "unix://{}", p.display()),
            GrpcListen::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

impl std::str::FromStr for GrpcListen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "`{s}`: a unix socket path must be absolute (unix:///path)"
                ));
            }
            Ok(GrpcListen::Unix(PathBuf::from(path)))
        } else if let Some(addr) = s.strip_prefix("tcp://") {
            addr.parse()
                .map(GrpcListen::Tcp)
                .map_err(|_| format!("`{s}`: expected tcp://IP:PORT, e.g. tcp://127.0.0.1:4444"))
        } else {
            Err(format!(
                "`{s}`: expected unix:///path/to.sock or tcp://IP:PORT"
            ))
        }
    }
}

impl Serialize for GrpcListen {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GrpcListen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Config {
    /// Loads defaults, the file (if any), and the environment. `env` is passed in so tests
    /// need not touch the process environment.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Config> {
        let defaults = toml::Table::try_from(Config::default()).context("default config")?;
        // Sections are the keys whose value is a table; an env var `MOMO_<SECTION>_<KEY>`
        // maps to `<section>.<key>`, any other `MOMO_<KEY>` to a top-level key.
        let sections: Vec<&str> = defaults
            .iter()
            .filter(|(_, v)| v.is_table())
            .map(|(k, _)| k.as_str())
            .collect();
        let mut merged = defaults.clone();
        // Dotted key → where its value came from, for error messages.
        let mut origin: BTreeMap<String, String> = BTreeMap::new();

        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            let table: toml::Table = text
                .parse()
                .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
            for (key, value) in table {
                match (merged.get_mut(&key), value) {
                    (Some(toml::Value::Table(section)), toml::Value::Table(values)) => {
                        for (k, v) in values {
                            origin.insert(format!("{key}.{k}"), format!("in {}", path.display()));
                            section.insert(k, v);
                        }
                    }
                    (_, value) => {
                        origin.insert(key.clone(), format!("in {}", path.display()));
                        merged.insert(key, value);
                    }
                }
            }
        }

        for (name, raw) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let rest = rest.to_ascii_lowercase();
            let (section, key) = match sections.iter().find(|s| rest.starts_with(&format!("{s}_")))
            {
                Some(s) => (Some(*s), rest[s.len() + 1..].to_string()),
                None => (None, rest),
            };
            let default = match section {
                Some(s) => defaults.get(s).and_then(|t| t.get(&key)),
                None => defaults.get(&key),
            };
            let value =
                env_value(&raw, default).with_context(|| format!("environment variable {name}"))?;
            let dotted = match section {
                Some(s) => format!("{s}.{key}"),
                None => key.clone(),
            };
            origin.insert(dotted.clone(), format!("from {name}"));
            match section {
                Some(s) => {
                    let Some(toml::Value::Table(t)) = merged.get_mut(s) else {
                        unreachable!("every section has a default table")
                    };
                    t.insert(key, value);
                }
                None => {
                    merged.insert(key, value);
                }
            }
        }

        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(merged)).map_err(|e| {
                // The path names the offending key, unknown keys included.
                let path = e.path().to_string();
                let source = origin
                    .get(&path)
                    .map(|o| format!(" ({o})"))
                    .unwrap_or_default();
                let inner = e.inner().to_string();
                let inner = inner.lines().next().unwrap_or_default();
                anyhow::anyhow!("config key `{path}`{source}: {inner}")
            })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if matches!(self.grpc.listen, Some(GrpcListen::Tcp(_)))
            && self.grpc.token.as_deref().is_none_or(str::is_empty)
        {
            bail!(
                "config key `grpc.listen` is a TCP address but `grpc.token` is not set: \
                 a TCP listener is only started with a token (set grpc.token or MOMO_GRPC_TOKEN)"
            );
        }
        let username = self.webdav.username.as_deref().unwrap_or_default();
        let password = self.webdav.password.as_deref().unwrap_or_default();
        if username.is_empty() != password.is_empty() {
            bail!("config keys `webdav.username` and `webdav.password` must be set together");
        }
        if username.is_empty() && !self.webdav.listen.ip().is_loopback() {
            bail!(
                "config key `webdav.listen` = {} is reachable from other machines, but the share has \
                 no credentials: set webdav.username and webdav.password (MOMO_WEBDAV_USERNAME, \
                 MOMO_WEBDAV_PASSWORD), or listen on 127.0.0.1",
                self.webdav.listen
            );
        }
        if self.shutdown_grace_s > 600 {
            bail!(
                "config key `shutdown_grace_s` = {} is more than 600 seconds",
                self.shutdown_grace_s
            );
        }
        for (key, value, range) in [
            (
                "webdav.max_connections",
                self.webdav.max_connections as u64,
                1..=100_000,
            ),
            (
                "webdav.idle_timeout_s",
                self.webdav.idle_timeout_s,
                1..=3600,
            ),
            (
                "webdav.send_timeout_s",
                self.webdav.send_timeout_s,
                1..=3600,
            ),
            ("jobs.concurrency", self.jobs.concurrency as u64, 1..=64),
            ("stream.head_mb", self.stream.head_mb, 0..=1024),
            ("stream.tail_mb", self.stream.tail_mb, 0..=1024),
            ("stream.readahead_s", self.stream.readahead_s, 1..=3600),
            (
                "stream.readahead_max_mb",
                self.stream.readahead_max_mb,
                32..=4096,
            ),
            ("stream.reuse_idle_s", self.stream.reuse_idle_s, 0..=300),
            ("stream.http_timeout_s", self.stream.http_timeout_s, 1..=600),
            (
                "torrent.request_window",
                self.torrent.request_window,
                2..=1024,
            ),
            (
                "torrent.idle_download_kib_s",
                self.torrent.idle_download_kib_s,
                0..=1_048_576,
            ),
            (
                "torrent.cache_max_mb",
                self.torrent.cache_max_mb,
                0..=100_000_000,
            ),
            ("jobs.retention_days", self.jobs.retention_days, 1..=3650),
            ("subtitles.timeout_s", self.subtitles.timeout_s, 1..=300),
            ("trakt.timeout_s", self.trakt.timeout_s, 1..=300),
            (
                "trakt.scrobble_start_s",
                self.trakt.scrobble_start_s,
                1..=3600,
            ),
            (
                "trakt.scrobble_pause_s",
                self.trakt.scrobble_pause_s,
                1..=3600,
            ),
            (
                "trakt.scrobble_stop_s",
                self.trakt.scrobble_stop_s,
                1..=86_400,
            ),
            (
                "trakt.scrobble_min_runtime_s",
                self.trakt.scrobble_min_runtime_s,
                1..=86_400,
            ),
            ("intro.scan_s", self.intro.scan_s, 30..=3600),
            ("intro.credits_scan_s", self.intro.credits_scan_s, 0..=3600),
            ("intro.timeout_s", self.intro.timeout_s, 5..=3600),
        ] {
            if !range.contains(&value) {
                bail!(
                    "config key `{key}` = {value} is out of range ({}–{})",
                    range.start(),
                    range.end()
                );
            }
        }
        // librqbit's limiter takes a 16 KiB request whole: a smaller rate would kill peers.
        if (1..16).contains(&self.torrent.idle_download_kib_s) {
            bail!("config key `torrent.idle_download_kib_s` must be 0 (no limit) or at least 16");
        }
        for lang in &self.subtitles.languages {
            if crate::subtitles::language(lang).is_none() {
                bail!(
                    "config key `subtitles.languages`: `{lang}` is not a language code (use ISO 639-1: en, de, pt-br)"
                );
            }
        }
        if self.subtitles.languages.len() > 20 {
            bail!("config key `subtitles.languages` lists more than 20 languages");
        }
        if reqwest::Url::parse(&self.subtitles.opensubtitles_base_url).is_err() {
            bail!(
                "config key `subtitles.opensubtitles_base_url`: `{}` is not a URL",
                self.subtitles.opensubtitles_base_url
            );
        }
        if self.subtitles.opensubtitles_username.is_some()
            != self.subtitles.opensubtitles_password.is_some()
        {
            bail!("config keys `subtitles.opensubtitles_username` and `_password` go together");
        }
        if reqwest::Url::parse(&self.trakt.base_url).is_err() {
            bail!(
                "config key `trakt.base_url`: `{}` is not a URL",
                self.trakt.base_url
            );
        }
        if self.trakt.client_id.is_some() != self.trakt.client_secret.is_some() {
            bail!("config keys `trakt.client_id` and `trakt.client_secret` go together");
        }
        if self.tmdb.rate_limit_per_s == 0 {
            bail!("config key `tmdb.rate_limit_per_s` must be at least 1");
        }
        if reqwest::Url::parse(&self.tmdb.base_url).is_err() {
            bail!(
                "config key `tmdb.base_url`: `{}` is not a URL",
                self.tmdb.base_url
            );
        }
        for root in &self.library.local_roots {
            if !root.is_absolute() {
                bail!(
                    "config key `library.local_roots`: `{}` is not an absolute path",
                    root.display()
                );
            }
        }
        Ok(())
    }

    /// The data dir in force: the configured one or the platform default.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(momo_proto::default_data_dir)
    }
}

/// Turns an environment string into a TOML value of the same kind as the key's default:
/// numbers and booleans are parsed, lists take TOML array syntax or `:`-separated items
/// (`,` too for lists without a `/`, like languages),
/// everything else stays a string (so `MOMO_TMDB_API_KEY=123` is still a string).
fn env_value(raw: &str, default: Option<&toml::Value>) -> anyhow::Result<toml::Value> {
    let parse_toml = |s: &str| -> anyhow::Result<toml::Value> {
        let t: toml::Table = format!("v = {s}")
            .parse()
            .map_err(|_| anyhow::anyhow!("`{raw}` is not a valid value"))?;
        Ok(t["v"].clone())
    };
    Ok(match default {
        Some(toml::Value::Integer(_) | toml::Value::Boolean(_) | toml::Value::Float(_)) => {
            parse_toml(raw.trim())?
        }
        Some(toml::Value::Array(_)) if raw.trim_start().starts_with('[') => parse_toml(raw)?,
        Some(toml::Value::Array(_)) => toml::Value::Array(
            // Paths split on `:` only (a folder may have a comma); words also on `,`.
            raw.split(|c| c == ':' || (c == ',' && !raw.contains('/')))
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.into()))
                .collect(),
        ),
        _ => toml::Value::String(raw.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn defaults_work_without_file_or_env() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.webdav.listen, "127.0.0.1:36911".parse().unwrap());
        assert_eq!(c.tmdb.base_url, "https://api.themoviedb.org/3");
        assert!(c.torrent.dht && c.torrent.start_paused);
        assert_eq!(c.torrent.metadata_timeout_s, 60);
        assert!(c.tmdb.api_key.is_none());
    }

    #[test]
    fn env_overrides_file_and_keeps_types() {
        let f = file("[tmdb]\napi_key = \"fromfile\"\n[torrent]\ndht = true\n");
        let c = Config::load(
            Some(f.path()),
            env(&[
                ("MOMO_TMDB_API_KEY", "12345"),
                ("MOMO_TORRENT_DHT", "false"),
                ("MOMO_TORRENT_IDLE_TIMEOUT_S", "7"),
                ("MOMO_DATA_DIR", "/tmp/x"),
                ("MOMO_LIBRARY_LOCAL_ROOTS", "/a:/b"),
                ("MOMOCTL_ADDR", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(c.tmdb.api_key.as_deref(), Some("12345"));
        assert!(!c.torrent.dht);
        assert_eq!(c.torrent.idle_timeout_s, 7);
        assert_eq!(c.data_dir(), PathBuf::from("/tmp/x"));
        assert_eq!(
            c.library.local_roots,
            vec![PathBuf::from("/a"), PathBuf::from("/b")]
        );
    }

    #[test]
    fn bad_value_names_key_and_source() {
        let f = file("[webdav]\nlisten = \"nope\"\n");
        let err = Config::load(Some(f.path()), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("webdav.listen"), "{err}");
        assert!(err.contains(&f.path().display().to_string()), "{err}");

        let err = Config::load(None, env(&[("MOMO_TORRENT_DHT", "maybe")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("MOMO_TORRENT_DHT"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let f = file("[webdav]\nlisten_port = 1\n");
        let err = Config::load(Some(f.path()), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen_port"), "{err}");

        let err = Config::load(None, env(&[("MOMO_WEBDAV_COLOR", "red")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("color") && err.contains("MOMO_WEBDAV_COLOR"),
            "{err}"
        );

        let f = file("bogus = 1\n");
        let err = Config::load(Some(f.path()), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn idle_download_rate_is_off_or_at_least_one_request() {
        for (value, ok) in [("0", true), ("8", false), ("16", true), ("2000000", false)] {
            let r = Config::load(None, env(&[("MOMO_TORRENT_IDLE_DOWNLOAD_KIB_S", value)]));
            match r {
                Ok(c) => {
                    assert!(ok, "{value} was accepted");
                    assert_eq!(c.torrent.idle_download_kib_s.to_string(), value);
                }
                Err(e) => {
                    assert!(!ok, "{value} was refused: {e}");
                    assert!(e.to_string().contains("torrent.idle_download_kib_s"), "{e}");
                }
            }
        }
    }

    #[test]
    fn tcp_listener_requires_token() {
        let err = Config::load(None, env(&[("MOMO_GRPC_LISTEN", "tcp://127.0.0.1:4444")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("grpc.token"), "{err}");
        let c = Config::load(
            None,
            env(&[
                ("MOMO_GRPC_LISTEN", "tcp://127.0.0.1:4444"),
                ("MOMO_GRPC_TOKEN", "s3cret"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.grpc.listen,
            Some(GrpcListen::Tcp("127.0.0.1:4444".parse().unwrap()))
        );
        let err = Config::load(None, env(&[("MOMO_GRPC_LISTEN", "localhost:1")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("grpc.listen"), "{err}");
    }
}
