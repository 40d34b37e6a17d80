//! The job types everyone speaks: what a job is, its state, progress and log lines.
use crate::library::model::Item;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        [
            JobState::Queued,
            JobState::Running,
            JobState::Done,
            JobState::Failed,
            JobState::Cancelled,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    pub fn has_ended(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Cancelled
        )
    }
}

/// What to do with a job that was running when momod stopped (or crashed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRestart {
    /// Run it again from the start: doing it twice does no harm.
    Requeue,
    /// Mark it failed (interrupted): a person was waiting on it and has seen it fail, and
    /// running it later could undo what they did since (replace a source they set by hand).
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    ShowAdd,
    ShowRefresh,
    AssignTorrent,
    AssignPack,
    SubtitleFetch,
    ImportRadarr,
    ImportSonarr,
    ImportM3u,
    Pin,
    TraktLogin,
    ImportTrakt,
    IntroDetect,
}

impl JobKind {
    /// Pins download for as long as a file takes, and a Trakt sign-in waits on a person:
    /// they run in a lane of their own, so they never hold up the other jobs.
    pub fn is_download(self) -> bool {
        matches!(self, JobKind::Pin | JobKind::TraktLogin)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::ShowAdd => "show_add",
            JobKind::ShowRefresh => "show_refresh",
            JobKind::AssignTorrent => "assign_torrent",
            JobKind::AssignPack => "assign_pack",
            JobKind::SubtitleFetch => "subtitle_fetch",
            JobKind::ImportRadarr => "import_radarr",
            JobKind::ImportSonarr => "import_sonarr",
            JobKind::ImportM3u => "import_m3u",
            JobKind::Pin => "pin",
            JobKind::TraktLogin => "trakt_login",
            JobKind::ImportTrakt => "import_trakt",
            JobKind::IntroDetect => "intro_detect",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        [
            JobKind::ShowAdd,
            JobKind::ShowRefresh,
            JobKind::AssignTorrent,
            JobKind::AssignPack,
            JobKind::SubtitleFetch,
            JobKind::ImportRadarr,
            JobKind::ImportSonarr,
            JobKind::ImportM3u,
            JobKind::Pin,
            JobKind::TraktLogin,
            JobKind::ImportTrakt,
            JobKind::IntroDetect,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Every use-case fetches first and writes in one transaction, so an interrupted job
    /// never leaves half a result; the question is only whether running it again is wanted.
    pub fn on_restart(self) -> OnRestart {
        match self {
            // Adds only what TMDB gained since: running it twice changes nothing.
            JobKind::ShowRefresh => OnRestart::Requeue,
            // Picks the download up where it stopped.
            JobKind::Pin => OnRestart::Requeue,
            // Reads the season as it is then and writes only detected markers.
            JobKind::IntroDetect => OnRestart::Requeue,
            // An import's API key was only ever in memory; a playlist import is started
            // again by hand, like any import, once the person has seen it stop.
            JobKind::ImportRadarr
            | JobKind::ImportSonarr
            | JobKind::ImportM3u
            // The user entering the code waits on it: after a restart, they sign in again.
            | JobKind::TraktLogin
            | JobKind::ImportTrakt
            | JobKind::ShowAdd
            | JobKind::AssignTorrent
            | JobKind::AssignPack
            | JobKind::SubtitleFetch => OnRestart::Fail,
        }
    }
}

/// What a job works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Movie(i64),
    Show(i64),
    Episode(i64),
}

impl Target {
    pub fn kind(self) -> &'static str {
        match self {
            Target::Movie(_) => "movie",
            Target::Show(_) => "show",
            Target::Episode(_) => "episode",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Target::Movie(id) | Target::Show(id) | Target::Episode(id) => id,
        }
    }

    pub fn parse(kind: &str, id: i64) -> Option<Target> {
        match kind {
            "movie" => Some(Target::Movie(id)),
            "show" => Some(Target::Show(id)),
            "episode" => Some(Target::Episode(id)),
            _ => None,
        }
    }
}

impl From<Item> for Target {
    fn from(item: Item) -> Target {
        match item {
            Item::Movie(id) => Target::Movie(id),
            Item::Episode(id) => Target::Episode(id),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    /// None while unknown (a metadata wait).
    pub total: Option<u64>,
    pub unit: String,
    /// What the job is doing now, for people.
    pub step: String,
}

/// Why a job failed: the gRPC code name its call would have failed with, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub summary: String,
    pub target: Option<Target>,
    pub state: JobState,
    pub progress: Progress,
    /// The encoded reply of a job that is done (opaque here; the API layer made it).
    pub result: Option<Vec<u8>>,
    pub error: Option<JobError>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// A job to create.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: JobKind,
    pub summary: String,
    pub target: Option<Target>,
    /// The encoded request, handed back to the executor when the job runs.
    pub payload: Vec<u8>,
    /// Jobs with the same key never run at once: starting one while another is active
    /// returns that one.
    pub dedupe_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub id: i64,
    pub job_id: i64,
    pub time_ms: i64,
    pub level: String,
    pub message: String,
}

/// Which jobs a listing wants.
#[derive(Debug, Clone, Copy)]
pub enum JobFilter {
    All,
    /// Queued and running, and those that ended at or after this Unix time.
    ActiveOrEndedSince(i64),
}
