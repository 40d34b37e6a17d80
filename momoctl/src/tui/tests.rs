//! The TUI's screens drawn on ratatui's test backend and read back as text: what a person
//! would see for an empty library, a few items, 10,000 movies, a lost daemon, and after keys.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use momo_proto::v1 as pb;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{App, Command, Detail, Selected, Update};
use super::view;

fn screen(app: &App) -> String {
    let (w, h) = (160, 30);
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::draw(f, app)).unwrap();
    let buf = t.backend().buffer();
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn key(app: &mut App, code: KeyCode) -> Vec<Command> {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn movie(id: i64, title: &str, year: i32, assigned: bool) -> pb::Movie {
    pb::Movie {
        id,
        tmdb_id: Some(id + 500),
        title: title.into(),
        year: Some(year),
        assigned,
    }
}

fn three() -> App {
    let mut app = App::new();
    app.apply(Update::Movies(vec![
        movie(1, "Fight Club", 1999, true),
        movie(2, "The Matrix", 1999, false),
        movie(3, "Pulp Fiction", 1994, false),
    ]));
    app
}

fn job(id: i64, state: pb::JobState, done: u64, step: &str) -> pb::Job {
    pb::Job {
        id,
        kind: "show_add".into(),
        summary: "add show tmdb 1396".into(),
        state: state as i32,
        progress_done: done,
        progress_total: Some(5),
        progress_unit: "seasons".into(),
        step: step.into(),
        ..Default::default()
    }
}

#[test]
fn an_empty_library_says_how_to_fill_it() {
    let mut app = App::new();
    assert!(screen(&app).contains("loading…"), "{}", screen(&app));
    app.apply(Update::Movies(vec![]));
    app.apply(Update::Shows(vec![]));
    let s = screen(&app);
    assert!(s.contains("1 Movies 0"), "{s}");
    assert!(s.contains("2 Shows 0"), "{s}");
    assert!(
        s.contains("No movies in the library: add one with `momoctl movie add TMDB_ID`"),
        "{s}"
    );
    assert!(s.contains("Jobs: 0 active"), "{s}");
    assert!(s.contains("nothing selected"), "{s}");
    key(&mut app, KeyCode::Char('2'));
    assert!(
        screen(&app).contains("No shows in the library"),
        "{}",
        screen(&app)
    );
}

#[test]
fn three_movies_with_the_source_and_torrent_of_the_selected_one() {
    let mut app = three();
    let s = screen(&app);
    assert!(s.contains("▶ ● Fight Club (1999)"), "{s}");
    assert!(s.contains("  ○ The Matrix (1999)"), "{s}");
    assert!(s.contains("  ○ Pulp Fiction (1994)"), "{s}");
    assert!(s.contains("source: loading…"), "{s}");
    app.apply(Update::Detail(
        Selected::Movie(1),
        Detail {
            source: Some(pb::Assignment {
                source_kind: "torrent".into(),
                file_path: "Fight.Club.1999/fc.mkv".into(),
                file_size: 1_468_006_400,
                info_hash: Some("c9e15763f722f23e98a29decdfae341b98d53056".into()),
                share_path: "/Movies/Fight Club (1999)/Fight Club (1999).mkv".into(),
                ..Default::default()
            }),
            torrent: Some(pb::Torrent {
                name: "Fight.Club.1999".into(),
                state: "live".into(),
                progress_bytes: 734_003_200,
                total_bytes: 1_468_006_400,
                peers: 3,
                open_streams: 1,
                ..Default::default()
            }),
        },
    ));
    let s = screen(&app);
    for want in [
        "source    torrent Fight.Club.1999/fc.mkv",
        "size      1.4 GiB",
        "share     /Movies/Fight Club (1999)/Fight Club (1999).mkv",
        "state     live",
        "progress  700.0 MiB of 1.4 GiB (50%)",
        "peers     3",
        "streams   1",
    ] {
        assert!(s.contains(want), "`{want}` in\n{s}");
    }
    // Copy the share path; then move: the next movie's detail is asked for.
    assert_eq!(
        key(&mut app, KeyCode::Char('y')),
        vec![Command::Copy(
            "/Movies/Fight Club (1999)/Fight Club (1999).mkv".into()
        )]
    );
    assert_eq!(
        key(&mut app, KeyCode::Down),
        vec![Command::Detail(Selected::Movie(2))]
    );
    assert!(screen(&app).contains("▶ ○ The Matrix (1999)"));
    // Unassign asks first; anything but y leaves it.
    assert!(key(&mut app, KeyCode::Char('u')).is_empty());
    assert!(screen(&app).contains("Detach the source of movie 2? It leaves the share."));
    assert!(key(&mut app, KeyCode::Char('n')).is_empty());
    assert!(screen(&app).contains("left as it was"));
    key(&mut app, KeyCode::Char('u'));
    assert_eq!(
        key(&mut app, KeyCode::Char('y')),
        vec![Command::Unassign(pb::ItemKind::Movie, 2)]
    );
}

#[test]
fn ten_thousand_movies_scroll_and_draw_only_what_shows() {
    let mut app = App::new();
    app.apply(Update::Movies(
        (0..10_000)
            .map(|i| movie(i + 1, &format!("Movie {i:05}"), 2000, i % 2 == 0))
            .collect(),
    ));
    let s = screen(&app);
    assert!(s.contains("1 Movies 10000"), "{s}");
    assert!(s.contains("▶ ● Movie 00000"), "{s}");
    for _ in 0..250 {
        key(&mut app, KeyCode::PageDown);
    }
    let s = screen(&app);
    assert!(s.contains("▶ ● Movie 05000"), "{s}");
    assert!(s.contains("  ○ Movie 04999"), "{s}");
    assert!(!s.contains("Movie 00000"), "{s}");
    key(&mut app, KeyCode::End);
    let s = screen(&app);
    assert!(s.contains("▶ ○ Movie 09999"), "{s}");
    // A shorter list after a reload keeps the cursor inside it.
    app.apply(Update::Movies(vec![movie(1, "Only One", 2001, false)]));
    assert!(screen(&app).contains("▶ ○ Only One (2001)"));
}

#[test]
fn a_lost_daemon_shows_a_banner_until_it_is_back() {
    let mut app = three();
    app.apply(Update::Disconnected(
        "momod unreachable: transport error — retrying".into(),
    ));
    let s = screen(&app);
    assert!(
        s.lines()
            .nth(1)
            .is_some_and(|l| l.contains("momod unreachable: transport error — retrying")),
        "{s}"
    );
    // What was shown stays.
    assert!(s.contains("Fight Club (1999)"), "{s}");
    app.apply(Update::Connected);
    assert!(!screen(&app).contains("momod unreachable"));
    app.apply(Update::Failed("no show with id 9 in the library".into()));
    assert!(screen(&app).contains("no show with id 9 in the library"));
}

#[test]
fn a_show_opens_into_seasons_and_episodes_and_refreshes_after_a_yes() {
    let mut app = App::new();
    let show = pb::Show {
        id: 1,
        tmdb_id: Some(1396),
        title: "Breaking Bad".into(),
        year: Some(2008),
        season_count: 1,
        episode_count: 2,
        assigned_count: 1,
        seasons: vec![pb::Season {
            id: 1,
            season_number: 1,
            episodes: vec![
                pb::Episode {
                    id: 7,
                    episode_number: 1,
                    name: Some("Pilot".into()),
                    assigned: true,
                    ..Default::default()
                },
                pb::Episode {
                    id: 8,
                    episode_number: 2,
                    name: None,
                    ..Default::default()
                },
            ],
        }],
    };
    app.apply(Update::Shows(vec![pb::Show {
        seasons: vec![],
        ..show.clone()
    }]));
    key(&mut app, KeyCode::Char('2'));
    let s = screen(&app);
    assert!(
        s.contains("▶ Breaking Bad (2008)  1/2 with a source"),
        "{s}"
    );
    assert_eq!(key(&mut app, KeyCode::Enter), vec![Command::OpenShow(1)]);
    app.apply(Update::Show(show));
    let s = screen(&app);
    assert!(s.contains("Breaking Bad — Esc: all shows"), "{s}");
    assert!(s.contains("▶ Season 1 (2 episodes)"), "{s}");
    assert!(s.contains("● S01E01 Pilot"), "{s}");
    assert!(s.contains("○ S01E02 Episode 2"), "{s}");
    assert_eq!(
        key(&mut app, KeyCode::Down),
        vec![Command::Detail(Selected::Episode(7))]
    );
    key(&mut app, KeyCode::Char('r'));
    assert!(screen(&app).contains("Refresh show 1 (Breaking Bad) from TMDB?"));
    assert_eq!(
        key(&mut app, KeyCode::Char('y')),
        vec![Command::RefreshShow(1)]
    );
    key(&mut app, KeyCode::Esc);
    assert!(screen(&app).contains("▶ Breaking Bad (2008)"));
}

#[test]
fn jobs_update_live_with_progress_and_logs() {
    let mut app = three();
    app.apply(Update::Job(job(
        3,
        pb::JobState::Running,
        2,
        "fetching season 3 (3 of 5)",
    )));
    let s = screen(&app);
    assert!(s.contains("Jobs: 1 active"), "{s}");
    assert!(
        s.contains("#3 running   add show tmdb 1396  [========            ] 2/5 seasons fetching season 3 (3 of 5)"),
        "{s}"
    );
    app.apply(Update::Job(job(
        3,
        pb::JobState::Done,
        5,
        "storing 5 seasons",
    )));
    let s = screen(&app);
    assert!(s.contains("Jobs: 0 active"), "{s}");
    assert!(s.contains("#3 done"), "{s}");
    // The Jobs tab follows the selected job's log.
    assert_eq!(
        key(&mut app, KeyCode::Char('4')),
        vec![Command::FollowLogs(3)]
    );
    for (i, m) in ["started: add show tmdb 1396", "done"].iter().enumerate() {
        app.apply(Update::LogLine(pb::JobLogLine {
            id: i as i64 + 1,
            job_id: 3,
            time_ms: 0,
            level: "info".into(),
            message: m.to_string(),
        }));
    }
    let s = screen(&app);
    assert!(s.contains("info  started: add show tmdb 1396"), "{s}");
    // An ended job cannot be cancelled; a running one asks first.
    key(&mut app, KeyCode::Char('x'));
    assert!(screen(&app).contains("x cancels a queued or running job"));
    app.apply(Update::Job(job(4, pb::JobState::Queued, 0, "")));
    key(&mut app, KeyCode::Home);
    key(&mut app, KeyCode::Char('x'));
    assert!(screen(&app).contains("Cancel job 4 (add show tmdb 1396)?"));
    assert_eq!(
        key(&mut app, KeyCode::Char('y')),
        vec![Command::CancelJob(4)]
    );
}

#[test]
fn base64_for_the_clipboard() {
    assert_eq!(super::base64(b""), "");
    assert_eq!(super::base64(b"f"), "Zg==");
    assert_eq!(super::base64(b"fo"), "Zm8=");
    assert_eq!(super::base64(b"foo"), "Zm9v");
    assert_eq!(super::base64("/Movies/é".as_bytes()), "L01vdmllcy/DqQ==");
}

#[test]
fn reloads_keep_the_cursor_on_its_item_and_late_answers_are_dropped() {
    let mut app = three();
    key(&mut app, KeyCode::Down);
    // A movie added before it: the cursor stays on The Matrix.
    app.apply(Update::Movies(vec![
        movie(9, "Alien", 1979, false),
        movie(1, "Fight Club", 1999, true),
        movie(2, "The Matrix", 1999, false),
        movie(3, "Pulp Fiction", 1994, false),
    ]));
    assert!(
        screen(&app).contains("▶ ○ The Matrix (1999)"),
        "{}",
        screen(&app)
    );
    // The answer for Fight Club arrives after the cursor left it: not shown.
    app.apply(Update::Detail(
        Selected::Movie(1),
        Detail {
            source: Some(pb::Assignment {
                share_path: "/Movies/Fight Club (1999)/Fight Club (1999).mkv".into(),
                ..Default::default()
            }),
            torrent: None,
        },
    ));
    let s = screen(&app);
    assert!(!s.contains("/Movies/Fight Club"), "{s}");
    assert!(s.contains("source: loading…"), "{s}");
    // A job's lines reach only the log of the job being followed.
    key(&mut app, KeyCode::Char('4'));
    app.apply(Update::LogLine(pb::JobLogLine {
        id: 1,
        job_id: 77,
        level: "info".into(),
        message: "from another job".into(),
        ..Default::default()
    }));
    assert!(!screen(&app).contains("from another job"));
}

#[test]
fn a_tiny_terminal_draws_without_panicking() {
    let mut app = three();
    key(&mut app, KeyCode::Char('u'));
    for (w, h) in [(1, 1), (10, 3), (30, 8)] {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| view::draw(f, &app)).unwrap();
    }
}
