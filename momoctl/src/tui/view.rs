//! Drawing the TUI from `App`, and nothing else: no state changes here. Lists draw only
//! their visible rows, so 10,000 movies cost what 40 do.
use momo_proto::v1 as pb;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Tabs, Wrap};

use super::app::{App, Selected, ShowRow, Tab, is_active};
use crate::json::job_state;
use crate::output::{human_size, shown};

pub fn draw(frame: &mut Frame, app: &App) {
    let error_rows = u16::from(app.error.is_some());
    let [tabs, banner, main, jobs, help] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(error_rows),
        Constraint::Min(5),
        Constraint::Length(5),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_tabs(frame, app, tabs);
    if let Some(e) = &app.error {
        frame.render_widget(
            Paragraph::new(format!(" {} ", shown(e)))
                .style(Style::new().fg(Color::White).bg(Color::Red)),
            banner,
        );
    }
    let [list, detail] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(main);
    draw_list(frame, app, list);
    draw_detail(frame, app, detail);
    draw_jobs(frame, app, jobs);
    let help_text = match &app.message {
        Some(m) => shown(m),
        None => "1-4/Tab switch  ↑↓ PgUp PgDn move  Enter open  Esc back  r refresh  p pause/resume  u unassign  x cancel job  y copy path  q quit".into(),
    };
    frame.render_widget(
        Paragraph::new(help_text).style(Style::new().add_modifier(Modifier::DIM)),
        help,
    );
    if let Some(c) = &app.confirm {
        draw_confirm(frame, &c.prompt);
    }
}

fn draw_tabs(frame: &mut Frame, app: &App, area: Rect) {
    let counts = [
        app.movies.len(),
        app.shows.len(),
        app.torrents.len(),
        app.jobs.len(),
    ];
    let titles = Tab::ALL
        .iter()
        .zip(counts)
        .enumerate()
        .map(|(i, (t, n))| format!("{} {} {n}", i + 1, t.title()));
    frame.render_widget(
        Tabs::new(titles)
            .select(app.tab)
            .highlight_style(Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED))
            .divider("│"),
        area,
    );
}

/// The rows `height` lines show around `cursor` out of `len`: (first, count).
pub fn window(len: usize, cursor: usize, height: usize) -> (usize, usize) {
    if height == 0 || len == 0 {
        return (0, 0);
    }
    let first = if cursor < height {
        0
    } else {
        cursor + 1 - height
    };
    (first, height.min(len - first))
}

fn draw_list(frame: &mut Frame, app: &App, area: Rect) {
    let tab = app.current_tab();
    let title = match (&app.open_show, tab) {
        (Some((show, _, _)), Tab::Shows) => format!(" {} — Esc: all shows ", shown(&show.title)),
        _ => format!(" {} ", tab.title()),
    };
    let block = Block::new().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (len, empty) = match (tab, &app.open_show) {
        (Tab::Movies, _) => (
            app.movies.len(),
            "No movies in the library: add one with `momoctl movie add TMDB_ID`",
        ),
        (Tab::Shows, Some((_, rows, _))) => (rows.len(), "This show has no episodes"),
        (Tab::Shows, None) => (
            app.shows.len(),
            "No shows in the library: add one with `momoctl show add TMDB_ID`",
        ),
        (Tab::Torrents, _) => (
            app.torrents.len(),
            "No torrents: assign one with `momoctl assign`",
        ),
        (Tab::Jobs, _) => (app.jobs.len(), "No jobs in the last hour"),
    };
    if len == 0 {
        let text = if app.loaded || app.error.is_some() {
            empty
        } else {
            "loading…"
        };
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
        return;
    }
    let cursor = app.cursor();
    let (first, count) = window(len, cursor, inner.height as usize);
    let lines: Vec<Line> = (first..first + count)
        .map(|i| {
            let text = row_text(app, tab, i);
            let marker = if i == cursor { "▶ " } else { "  " };
            let line = Line::from(format!("{marker}{text}"));
            if i == cursor {
                line.style(Style::new().add_modifier(Modifier::REVERSED))
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn year(y: Option<i32>) -> String {
    y.map(|y| format!(" ({y})")).unwrap_or_default()
}

fn row_text(app: &App, tab: Tab, i: usize) -> String {
    match (tab, &app.open_show) {
        (Tab::Movies, _) => {
            let m = &app.movies[i];
            let mark = if m.assigned { "●" } else { "○" };
            format!("{mark} {}{}", shown(&m.title), year(m.year))
        }
        (Tab::Shows, Some((_, rows, _))) => match &rows[i] {
            ShowRow::Season { number, episodes } => {
                format!("Season {number} ({episodes} episodes)")
            }
            ShowRow::Episode {
                season,
                number,
                name,
                assigned,
                ..
            } => {
                let mark = if *assigned { "●" } else { "○" };
                let name = name
                    .as_deref()
                    .map(shown)
                    .unwrap_or_else(|| format!("Episode {number}"));
                format!("  {mark} S{season:02}E{number:02} {name}")
            }
        },
        (Tab::Shows, None) => {
            let s = &app.shows[i];
            format!(
                "{}{}  {}/{} with a source",
                shown(&s.title),
                year(s.year),
                s.assigned_count,
                s.episode_count
            )
        }
        (Tab::Torrents, _) => {
            let t = &app.torrents[i];
            format!(
                "{:<8} {}  {}",
                t.state,
                shown(&t.name),
                percent(t.progress_bytes, t.total_bytes)
            )
        }
        (Tab::Jobs, _) => job_line(&app.jobs[i], 16),
    }
}

fn percent(done: u64, total: u64) -> String {
    if total == 0 {
        "-".into()
    } else {
        format!("{:.0}%", done as f64 * 100.0 / total as f64)
    }
}

/// "[=====>    ] 3/5 seasons", or the bare count when the total is unknown.
fn bar(job: &pb::Job, width: usize) -> String {
    match job.progress_total {
        Some(total) if total > 0 => {
            let filled = (job.progress_done.min(total) as usize * width) / total as usize;
            format!(
                "[{}{}] {}/{} {}",
                "=".repeat(filled),
                " ".repeat(width - filled),
                job.progress_done,
                total,
                shown(&job.progress_unit)
            )
        }
        _ => String::new(),
    }
}

fn job_line(j: &pb::Job, width: usize) -> String {
    let tail = match (&j.error, j.step.is_empty()) {
        (Some(e), _) => shown(e),
        (None, false) => shown(&j.step),
        (None, true) => String::new(),
    };
    format!(
        "#{} {:<9} {}  {} {}",
        j.id,
        job_state(j.state),
        shown(&j.summary),
        bar(j, width),
        tail
    )
}

fn draw_detail(frame: &mut Frame, app: &App, area: Rect) {
    let block = Block::new().borders(Borders::ALL).title(" Detail ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
    match app.selection() {
        None => lines.push(Line::from("nothing selected")),
        Some(Selected::Movie(id)) => {
            if let Some(m) = app.movies.iter().find(|m| m.id == id) {
                lines.push(
                    Line::from(format!("{}{}", shown(&m.title), year(m.year)))
                        .style(Style::new().add_modifier(Modifier::BOLD)),
                );
                lines.push(field("movie", id.to_string()));
                lines.push(field(
                    "tmdb",
                    m.tmdb_id
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "-".into()),
                ));
            }
            source_lines(app, &mut lines);
        }
        Some(Selected::Episode(id)) => {
            lines.push(field("episode", id.to_string()));
            source_lines(app, &mut lines);
        }
        Some(Selected::Show(id)) => {
            let s = app
                .open_show
                .as_ref()
                .map(|(s, _, _)| s)
                .filter(|s| s.id == id)
                .or_else(|| app.shows.iter().find(|s| s.id == id));
            if let Some(s) = s {
                lines.push(
                    Line::from(format!("{}{}", shown(&s.title), year(s.year)))
                        .style(Style::new().add_modifier(Modifier::BOLD)),
                );
                lines.push(field("show", id.to_string()));
                lines.push(field("seasons", s.season_count.to_string()));
                lines.push(field(
                    "episodes",
                    format!("{} ({} with a source)", s.episode_count, s.assigned_count),
                ));
                lines.push(Line::from("Enter: episodes   r: refresh from TMDB"));
            }
        }
        Some(Selected::Torrent(hash)) => {
            if let Some(t) = app.torrents.iter().find(|t| t.info_hash == hash) {
                torrent_lines(t, &mut lines);
                for u in &t.used_by {
                    lines.push(Line::from(format!("  ▸ {}", shown(&u.share_path))));
                }
            }
        }
        Some(Selected::Job(id)) => {
            if let Some(j) = app.jobs.iter().find(|j| j.id == id) {
                lines.push(field("job", format!("#{} {}", j.id, shown(&j.summary))));
                lines.push(field("state", job_state(j.state).to_string()));
                if !bar(j, 20).is_empty() {
                    lines.push(field("progress", bar(j, 20)));
                }
                if let Some(e) = &j.error {
                    lines.push(field("error", shown(e)).style(Style::new().fg(Color::Red)));
                }
            }
            if app.logs_job == Some(id) {
                let room = (inner.height as usize).saturating_sub(lines.len() + 1);
                let skip = app.logs.len().saturating_sub(room);
                lines.push(Line::from("log:"));
                lines.extend(
                    app.logs[skip..]
                        .iter()
                        .map(|l| Line::from(format!("{:5} {}", l.level, shown(&l.message)))),
                );
            }
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// "key       value", the key in bold.
fn field(key: &str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(
            format!("{key:<10}"),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(value),
    ])
}

fn source_lines(app: &App, lines: &mut Vec<Line>) {
    let Some((selected, detail)) = &app.detail else {
        lines.push(Line::from("source: loading…"));
        return;
    };
    if Some(selected) != app.selection().as_ref() {
        return;
    }
    match &detail.source {
        None => lines.push(field("source", "none (not in the share)".into())),
        Some(a) => {
            lines.push(field(
                "source",
                format!("{} {}", a.source_kind, shown(&a.file_path)),
            ));
            lines.push(field("size", human_size(a.file_size)));
            lines.push(field("share", shown(&a.share_path)));
        }
    }
    if let Some(t) = &detail.torrent {
        torrent_lines(t, lines);
    }
}

fn torrent_lines(t: &pb::Torrent, lines: &mut Vec<Line>) {
    lines.push(field("torrent", shown(&t.name)));
    lines.push(field("state", t.state.clone()));
    lines.push(field(
        "progress",
        format!(
            "{} of {} ({})",
            human_size(t.progress_bytes),
            human_size(t.total_bytes),
            percent(t.progress_bytes, t.total_bytes)
        ),
    ));
    lines.push(field("peers", t.peers.to_string()));
    lines.push(field(
        "speed",
        format!(
            "↓ {}/s ↑ {}/s",
            human_size(t.download_bps),
            human_size(t.upload_bps)
        ),
    ));
    lines.push(field("streams", t.open_streams.to_string()));
    if let Some(e) = &t.error {
        lines.push(field("error", shown(e)));
    }
}

fn draw_jobs(frame: &mut Frame, app: &App, area: Rect) {
    let title = format!(" Jobs: {} active ", app.active_jobs());
    let block = Block::new().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // Active ones first, then the most recent.
    let mut shown_jobs: Vec<&pb::Job> = app.jobs.iter().filter(|j| is_active(j)).collect();
    shown_jobs.extend(app.jobs.iter().filter(|j| !is_active(j)));
    let lines: Vec<Line> = shown_jobs
        .into_iter()
        .take(inner.height as usize)
        .map(|j| Line::from(job_line(j, 20)))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_confirm(frame: &mut Frame, prompt: &str) {
    let area = frame.area();
    let width = (prompt.chars().count() as u16 + 6).max(20).min(area.width);
    let height = 4.min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(shown(prompt)),
            Line::from("y: yes   any other key: no"),
        ])
        .block(Block::new().borders(Borders::ALL).title(" Confirm ")),
        popup,
    );
}
