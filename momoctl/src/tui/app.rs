//! The TUI's state and its rules, with no terminal and no network: keys in, commands out,
//! updates from the daemon applied. Drawn by `view`, driven by `mod.rs`.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use momo_proto::v1 as pb;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Movies,
    Shows,
    Torrents,
    Jobs,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Movies, Tab::Shows, Tab::Torrents, Tab::Jobs];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Movies => "Movies",
            Tab::Shows => "Shows",
            Tab::Torrents => "Torrents",
            Tab::Jobs => "Jobs",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// A row of an opened show: a season heading or one of its episodes.
#[derive(Debug, Clone, PartialEq)]
pub enum ShowRow {
    Season {
        number: i32,
        episodes: usize,
    },
    Episode {
        id: i64,
        season: i32,
        number: i32,
        name: Option<String>,
        assigned: bool,
    },
}

/// What the detail pane is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selected {
    Movie(i64),
    Episode(i64),
    Show(i64),
    Torrent(String),
    Job(i64),
}

/// Facts fetched for the selected item: its source, and the torrent it plays from.
#[derive(Debug, Clone, Default)]
pub struct Detail {
    pub source: Option<pb::Assignment>,
    pub torrent: Option<pb::Torrent>,
}

/// Work for the runtime: calls to momod, or the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    OpenShow(i64),
    /// Fetch the detail of the selection.
    Detail(Selected),
    FollowLogs(i64),
    RefreshShow(i64),
    Pause(String),
    Resume(String),
    Unassign(pb::ItemKind, i64),
    CancelJob(i64),
    /// Put text on the clipboard (OSC 52).
    Copy(String),
    /// Fetch the jobs and torrents again (after a reconnect).
    Reload,
    Quit,
}

/// An action waiting for y/n.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub prompt: String,
    pub command: Command,
}

/// What comes back from momod.
#[derive(Debug, Clone)]
pub enum Update {
    Movies(Vec<pb::Movie>),
    Shows(Vec<pb::Show>),
    Torrents(Vec<pb::Torrent>),
    Jobs(Vec<pb::Job>),
    /// One job changed (from the live stream).
    Job(pb::Job),
    Show(pb::Show),
    Detail(Selected, Detail),
    LogLine(pb::JobLogLine),
    /// An action went through: say so.
    Done(String),
    /// A call failed: say why.
    Failed(String),
    /// The live stream is (back) up, or lost.
    Connected,
    Disconnected(String),
}

/// Log lines kept for the followed job.
const MAX_LOG_LINES: usize = 500;

#[derive(Debug, Default)]
pub struct App {
    pub tab: usize,
    pub movies: Vec<pb::Movie>,
    pub shows: Vec<pb::Show>,
    pub torrents: Vec<pb::Torrent>,
    /// Newest first.
    pub jobs: Vec<pb::Job>,
    /// Selection per tab.
    pub selected: [usize; 4],
    /// The opened show, its rows and the selected row.
    pub open_show: Option<(pb::Show, Vec<ShowRow>, usize)>,
    pub detail: Option<(Selected, Detail)>,
    pub logs: Vec<pb::JobLogLine>,
    /// The job whose log is followed; lines of any other are dropped.
    pub logs_job: Option<i64>,
    pub confirm: Option<Confirm>,
    /// The last message for the user.
    pub message: Option<String>,
    /// Set while momod cannot be reached.
    pub error: Option<String>,
    /// True once the first lists have arrived.
    pub loaded: bool,
}

impl App {
    pub fn new() -> App {
        App::default()
    }

    pub fn current_tab(&self) -> Tab {
        Tab::ALL[self.tab.min(3)]
    }

    fn len(&self, tab: Tab) -> usize {
        match tab {
            Tab::Movies => self.movies.len(),
            Tab::Shows => match &self.open_show {
                Some((_, rows, _)) => rows.len(),
                None => self.shows.len(),
            },
            Tab::Torrents => self.torrents.len(),
            Tab::Jobs => self.jobs.len(),
        }
    }

    /// The selected row of the current tab (of the opened show on Shows).
    pub fn cursor(&self) -> usize {
        match (&self.open_show, self.current_tab()) {
            (Some((_, _, sel)), Tab::Shows) => *sel,
            _ => self.selected[self.tab],
        }
    }

    fn set_cursor(&mut self, to: usize) {
        let len = self.len(self.current_tab());
        let to = to.min(len.saturating_sub(1));
        let tab = self.current_tab();
        match (&mut self.open_show, tab) {
            (Some((_, _, sel)), Tab::Shows) => *sel = to,
            _ => self.selected[self.tab] = to,
        }
    }

    /// What the cursor is on.
    pub fn selection(&self) -> Option<Selected> {
        let i = self.cursor();
        match self.current_tab() {
            Tab::Movies => self.movies.get(i).map(|m| Selected::Movie(m.id)),
            Tab::Shows => match &self.open_show {
                Some((show, rows, _)) => match rows.get(i)? {
                    ShowRow::Episode { id, .. } => Some(Selected::Episode(*id)),
                    ShowRow::Season { .. } => Some(Selected::Show(show.id)),
                },
                None => self.shows.get(i).map(|s| Selected::Show(s.id)),
            },
            Tab::Torrents => self
                .torrents
                .get(i)
                .map(|t| Selected::Torrent(t.info_hash.clone())),
            Tab::Jobs => self.jobs.get(i).map(|j| Selected::Job(j.id)),
        }
    }

    /// The command that fetches what the detail pane needs for the selection.
    fn follow_selection(&mut self) -> Vec<Command> {
        match self.selection() {
            Some(Selected::Job(id)) => {
                if self.logs_job != Some(id) {
                    self.logs.clear();
                    self.logs_job = Some(id);
                }
                vec![Command::FollowLogs(id)]
            }
            Some(s @ (Selected::Movie(_) | Selected::Episode(_))) => vec![Command::Detail(s)],
            _ => vec![],
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return vec![Command::Quit];
        }
        if let Some(confirm) = self.confirm.take() {
            return match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => vec![confirm.command],
                _ => {
                    self.message = Some("left as it was".into());
                    vec![]
                }
            };
        }
        let page = 20;
        let before = self.selection();
        let mut out = Vec::new();
        match key.code {
            KeyCode::Char('q') => return vec![Command::Quit],
            KeyCode::Tab | KeyCode::Right => self.tab = (self.tab + 1) % 4,
            KeyCode::BackTab | KeyCode::Left => self.tab = (self.tab + 3) % 4,
            KeyCode::Char(c @ '1'..='4') => self.tab = c as usize - '1' as usize,
            KeyCode::Down | KeyCode::Char('j') => self.set_cursor(self.cursor() + 1),
            KeyCode::Up | KeyCode::Char('k') => self.set_cursor(self.cursor().saturating_sub(1)),
            KeyCode::PageDown => self.set_cursor(self.cursor() + page),
            KeyCode::PageUp => self.set_cursor(self.cursor().saturating_sub(page)),
            KeyCode::Home | KeyCode::Char('g') => self.set_cursor(0),
            KeyCode::End | KeyCode::Char('G') => self.set_cursor(usize::MAX),
            KeyCode::Enter => {
                if let (Tab::Shows, None, Some(show)) = (
                    self.current_tab(),
                    &self.open_show,
                    self.shows.get(self.cursor()),
                ) {
                    out.push(Command::OpenShow(show.id));
                }
            }
            KeyCode::Esc | KeyCode::Backspace if self.current_tab() == Tab::Shows => {
                self.open_show = None;
            }
            KeyCode::Char('r') => self.ask_refresh(),
            KeyCode::Char('p') => self.ask_pause(),
            KeyCode::Char('u') => self.ask_unassign(),
            KeyCode::Char('x') => self.ask_cancel(),
            KeyCode::Char('y') => match self.share_path() {
                Some(path) => out.push(Command::Copy(path)),
                None => self.message = Some("no share path here (the item has no source)".into()),
            },
            _ => {}
        }
        if self.selection() != before {
            self.detail = None;
            out.extend(self.follow_selection());
        }
        out
    }

    /// The share path of the selection, from its fetched detail.
    pub fn share_path(&self) -> Option<String> {
        let (selected, detail) = self.detail.as_ref()?;
        if Some(selected) != self.selection().as_ref() {
            return None;
        }
        detail
            .source
            .as_ref()
            .map(|a| a.share_path.clone())
            .filter(|p| !p.is_empty())
    }

    fn ask_refresh(&mut self) {
        let show = match (&self.open_show, self.current_tab()) {
            (Some((show, _, _)), Tab::Shows) => Some((show.id, show.title.clone())),
            (None, Tab::Shows) => self
                .shows
                .get(self.cursor())
                .map(|s| (s.id, s.title.clone())),
            _ => None,
        };
        match show {
            Some((id, title)) => {
                self.confirm = Some(Confirm {
                    prompt: format!("Refresh show {id} ({title}) from TMDB?"),
                    command: Command::RefreshShow(id),
                })
            }
            None => self.message = Some("r refreshes a show: select one on the Shows tab".into()),
        }
    }

    fn ask_pause(&mut self) {
        let torrent = match self.current_tab() {
            Tab::Torrents => self.torrents.get(self.cursor()).cloned(),
            _ => self.detail.as_ref().and_then(|(_, d)| d.torrent.clone()),
        };
        let Some(t) = torrent else {
            self.message = Some("p pauses or resumes a torrent: select one".into());
            return;
        };
        let (verb, command) = if t.state == "paused" {
            ("Resume", Command::Resume(t.info_hash.clone()))
        } else {
            ("Pause", Command::Pause(t.info_hash.clone()))
        };
        self.confirm = Some(Confirm {
            prompt: format!("{verb} torrent {}?", t.name),
            command,
        });
    }

    fn ask_unassign(&mut self) {
        let (kind, id) = match self.selection() {
            Some(Selected::Movie(id)) => (pb::ItemKind::Movie, id),
            Some(Selected::Episode(id)) => (pb::ItemKind::Episode, id),
            _ => {
                self.message = Some("u detaches the source of a movie or an episode".into());
                return;
            }
        };
        let noun = if kind == pb::ItemKind::Movie {
            "movie"
        } else {
            "episode"
        };
        self.confirm = Some(Confirm {
            prompt: format!("Detach the source of {noun} {id}? It leaves the share."),
            command: Command::Unassign(kind, id),
        });
    }

    fn ask_cancel(&mut self) {
        let job = match self.current_tab() {
            Tab::Jobs => self.jobs.get(self.cursor()),
            _ => self.jobs.iter().find(|j| is_active(j)),
        };
        match job.filter(|j| is_active(j)) {
            Some(j) => {
                self.confirm = Some(Confirm {
                    prompt: format!("Cancel job {} ({})?", j.id, j.summary),
                    command: Command::CancelJob(j.id),
                })
            }
            None => self.message = Some("x cancels a queued or running job".into()),
        }
    }

    /// Applies what momod sent; returns follow-up commands.
    pub fn apply(&mut self, update: Update) -> Vec<Command> {
        let before = self.selection();
        // Each list's cursor stays on the same item when the list is replaced.
        let kept: Vec<Option<Selected>> = Tab::ALL.iter().map(|t| self.list_item(*t)).collect();
        let mut out = Vec::new();
        match update {
            Update::Movies(m) => {
                self.movies = m;
                self.loaded = true;
            }
            Update::Shows(s) => self.shows = s,
            Update::Torrents(t) => self.torrents = t,
            // A snapshot: merged by id, so a newer live change is not undone.
            Update::Jobs(snapshot) => {
                for job in snapshot {
                    if !self.jobs.iter().any(|j| j.id == job.id) {
                        self.jobs.push(job);
                    }
                }
                self.jobs.sort_by_key(|j| std::cmp::Reverse(j.id));
            }
            Update::Job(job) => match self.jobs.iter_mut().find(|j| j.id == job.id) {
                Some(j) => *j = job,
                None => {
                    self.jobs.insert(0, job);
                    self.jobs.sort_by_key(|j| std::cmp::Reverse(j.id));
                }
            },
            Update::Show(show) => {
                let keep = self
                    .open_show
                    .as_ref()
                    .filter(|(s, _, _)| s.id == show.id)
                    .map(|(_, _, sel)| *sel)
                    .unwrap_or(0);
                let rows = show_rows(&show);
                let sel = keep.min(rows.len().saturating_sub(1));
                self.open_show = Some((show, rows, sel));
            }
            // A late answer for an earlier selection is of no use.
            Update::Detail(selected, detail) => {
                if Some(&selected) == self.selection().as_ref() {
                    self.detail = Some((selected, detail));
                }
            }
            Update::LogLine(line) => {
                if self.logs_job != Some(line.job_id) {
                    return vec![];
                }
                self.logs.push(line);
                if self.logs.len() > MAX_LOG_LINES {
                    self.logs.remove(0);
                }
            }
            Update::Done(m) | Update::Failed(m) => self.message = Some(m),
            Update::Connected => {
                if self.error.take().is_some() {
                    out.push(Command::Reload);
                }
            }
            Update::Disconnected(e) => self.error = Some(e),
        }
        for (tab, item) in Tab::ALL.into_iter().zip(kept) {
            let i = tab.index();
            let found = item.and_then(|item| self.index_of(tab, &item));
            // Gone (or never there): stay at the same place, inside the list.
            let len = self.list_len(tab);
            self.selected[i] = found.unwrap_or(self.selected[i]).min(len.saturating_sub(1));
        }
        if self.selection() != before {
            self.detail = None;
            out.extend(self.follow_selection());
        }
        out
    }

    /// Length of a tab's own list (the shows, not an opened show's rows).
    fn list_len(&self, tab: Tab) -> usize {
        match tab {
            Tab::Movies => self.movies.len(),
            Tab::Shows => self.shows.len(),
            Tab::Torrents => self.torrents.len(),
            Tab::Jobs => self.jobs.len(),
        }
    }

    /// The item under a tab's own cursor.
    fn list_item(&self, tab: Tab) -> Option<Selected> {
        let i = self.selected[tab.index()];
        match tab {
            Tab::Movies => self.movies.get(i).map(|m| Selected::Movie(m.id)),
            Tab::Shows => self.shows.get(i).map(|s| Selected::Show(s.id)),
            Tab::Torrents => self
                .torrents
                .get(i)
                .map(|t| Selected::Torrent(t.info_hash.clone())),
            Tab::Jobs => self.jobs.get(i).map(|j| Selected::Job(j.id)),
        }
    }

    fn index_of(&self, tab: Tab, item: &Selected) -> Option<usize> {
        match (tab, item) {
            (Tab::Movies, Selected::Movie(id)) => self.movies.iter().position(|m| m.id == *id),
            (Tab::Shows, Selected::Show(id)) => self.shows.iter().position(|s| s.id == *id),
            (Tab::Torrents, Selected::Torrent(h)) => {
                self.torrents.iter().position(|t| &t.info_hash == h)
            }
            (Tab::Jobs, Selected::Job(id)) => self.jobs.iter().position(|j| j.id == *id),
            _ => None,
        }
    }

    /// Jobs queued or running.
    pub fn active_jobs(&self) -> usize {
        self.jobs.iter().filter(|j| is_active(j)).count()
    }
}

pub fn is_active(j: &pb::Job) -> bool {
    matches!(
        pb::JobState::try_from(j.state),
        Ok(pb::JobState::Queued | pb::JobState::Running)
    )
}

fn show_rows(show: &pb::Show) -> Vec<ShowRow> {
    let mut rows = Vec::new();
    for s in &show.seasons {
        rows.push(ShowRow::Season {
            number: s.season_number,
            episodes: s.episodes.len(),
        });
        rows.extend(s.episodes.iter().map(|e| ShowRow::Episode {
            id: e.id,
            season: s.season_number,
            number: e.episode_number,
            name: e.name.clone(),
            assigned: e.assigned,
        }));
    }
    rows
}
