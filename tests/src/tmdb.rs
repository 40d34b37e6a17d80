//! A local stand-in for TMDB API v3: serves realistic JSON (shapes and extra fields as the
//! real API sends them) for a few movies and shows, checks the key like TMDB does, and can be
//! told to fail a path, to rate-limit, or to stop.
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::serve::Serving;

/// The v3 key the fake accepts (as `api_key`).
pub const API_KEY: &str = "f00dfeedc0ffee5ec7e7ab1e0123abcd";
/// The v4 read token the fake accepts (as `Authorization: Bearer`).
pub const READ_TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJtb21vIn0.c2lnbmF0dXJlLXNlY3JldA";

#[derive(Clone)]
pub struct FakeShow {
    pub id: i64,
    pub name: String,
    pub first_air_date: String,
    /// season number → episodes (number, name, air date)
    pub seasons: BTreeMap<i32, Vec<(i32, String, Option<String>)>>,
}

#[derive(Default)]
struct State {
    movies: BTreeMap<i64, (String, String, String)>, // id → (title, original title, release date)
    shows: BTreeMap<i64, FakeShow>,
    /// TVDB id → TMDB show id, for `/find`.
    tvdb: BTreeMap<i64, i64>,
    /// path → HTTP status to answer instead (e.g. 500).
    failures: HashMap<String, u16>,
    /// path → number of 429 answers still to give.
    rate_limited: HashMap<String, u32>,
    /// Requests whose path starts with this wait this long before the answer.
    slow: Vec<(String, std::time::Duration)>,
    /// Every request line received, query included.
    log: Vec<String>,
}

pub struct FakeTmdb {
    pub url: String,
    state: Arc<Mutex<State>>,
    server: Serving,
}

impl FakeTmdb {
    /// Starts on a free loopback port with the standard data set.
    pub fn start() -> FakeTmdb {
        let state = Arc::new(Mutex::new(standard_data()));
        let app_state = state.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap| {
                let state = app_state.clone();
                async move {
                    let delay = slow_for(&state, uri.path());
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let (status, body, extra) = answer(&state, &uri.to_string(), auth);
                    let mut resp = axum::response::Response::builder()
                        .status(status)
                        .header("content-type", "application/json;charset=utf-8");
                    for (k, v) in extra {
                        resp = resp.header(k, v);
                    }
                    resp.body(axum::body::Body::from(body.to_string())).unwrap()
                }
            },
        );
        let server = Serving::start("TMDB", app);
        FakeTmdb {
            url: format!("{}/3", server.root),
            state,
            server,
        }
    }

    /// Stops answering: the listening socket is closed, so connections are refused.
    pub fn stop(&mut self) {
        self.server.stop();
    }

    pub fn fail(&self, path: &str, status: u16) {
        self.state
            .lock()
            .unwrap()
            .failures
            .insert(path.to_string(), status);
    }

    /// Answers 429 with `Retry-After: 1` the next `times` requests for `path`.
    pub fn rate_limit(&self, path: &str, times: u32) {
        self.state
            .lock()
            .unwrap()
            .rate_limited
            .insert(path.to_string(), times);
    }

    /// Answers every request whose path starts with `prefix` (e.g. "/3/tv/1396/season")
    /// only after `delay`: a slow TMDB, for jobs that take a while.
    pub fn slow(&self, prefix: &str, delay: std::time::Duration) {
        self.state
            .lock()
            .unwrap()
            .slow
            .push((prefix.to_string(), delay));
    }

    /// Changes a show's data (e.g. to add an episode before `show refresh`).
    pub fn edit_show(&self, id: i64, f: impl FnOnce(&mut FakeShow)) {
        f(self
            .state
            .lock()
            .unwrap()
            .shows
            .get_mut(&id)
            .expect("known show"));
    }

    /// Adds (or replaces) a show.
    pub fn add_show(&self, show: FakeShow) {
        self.state.lock().unwrap().shows.insert(show.id, show);
    }

    /// Adds a movie.
    pub fn add_movie(&self, id: i64, title: &str, release_date: &str) {
        self.state
            .lock()
            .unwrap()
            .movies
            .insert(id, (title.into(), title.into(), release_date.into()));
    }

    /// Request lines received so far ("GET /3/movie/550?api_key=…").
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }
}

fn ep(n: i32, name: &str, date: Option<&str>) -> (i32, String, Option<String>) {
    (n, name.to_string(), date.map(str::to_string))
}

fn standard_data() -> State {
    let mut s = State::default();
    for (id, title, original, date) in [
        (550, "Fight Club", "Fight Club", "1999-10-15"),
        (603, "The Matrix", "The Matrix", "1999-03-30"),
        (680, "Pulp Fiction", "Pulp Fiction", "1994-09-10"),
        (129, "Spirited Away", "千と千尋の神隠し", "2001-07-20"),
        (
            1_000_001,
            "Untitled Future Project",
            "Untitled Future Project",
            "",
        ),
    ] {
        s.movies
            .insert(id, (title.into(), original.into(), date.into()));
    }
    // Twenty plain movies for concurrency tests.
    for i in 0..20 {
        s.movies.insert(
            9000 + i,
            (
                format!("Movie Number {i}"),
                format!("Movie Number {i}"),
                "2010-01-01".into(),
            ),
        );
    }
    let mut bb = BTreeMap::new();
    bb.insert(
        0,
        vec![
            ep(1, "Good Cop / Bad Cop", Some("2009-02-17")),
            ep(2, "Wedding Day?", Some("2009-02-24")),
        ],
    );
    bb.insert(
        1,
        vec![
            ep(1, "Pilot", Some("2008-01-20")),
            ep(2, "Cat's in the Bag...", Some("2008-01-27")),
            ep(3, "...And the Bag's in the River", Some("2008-02-10")),
            ep(4, "Cancer Man", Some("2008-02-17")),
        ],
    );
    bb.insert(
        2,
        vec![
            ep(1, "Seven Thirty-Seven", Some("2009-03-08")),
            ep(2, "Grilled: A Story", Some("2009-03-15")),
            ep(3, "Bit by a Dead Bee", Some("2009-03-22")),
        ],
    );
    bb.insert(
        3,
        vec![
            ep(1, "No Más", Some("2010-03-21")),
            ep(2, "Caballo sin Nombre", Some("2010-03-28")),
            ep(3, "I.F.T. / Who?", Some("2010-04-04")),
        ],
    );
    s.shows.insert(
        1396,
        FakeShow {
            id: 1396,
            name: "Breaking Bad".into(),
            first_air_date: "2008-01-20".into(),
            seasons: bb,
        },
    );
    let mut dark = BTreeMap::new();
    dark.insert(
        1,
        vec![
            ep(1, "Geheimnisse", Some("2017-12-01")),
            ep(2, "Lügen", Some("2017-12-01")),
            ep(3, "", None),
        ],
    );
    dark.insert(
        2,
        vec![
            ep(1, "Anfänge und Enden", Some("2019-06-21")),
            ep(2, "Dark Matter: Part 1", None),
        ],
    );
    s.shows.insert(
        70523,
        FakeShow {
            id: 70523,
            name: "Dark".into(),
            first_air_date: "2017-12-01".into(),
            seasons: dark,
        },
    );
    s.tvdb.insert(81189, 1396);
    s.tvdb.insert(334824, 70523);
    s
}

fn error(status: u16, code: i64, message: &str) -> (u16, Value, Vec<(String, String)>) {
    (
        status,
        json!({"success": false, "status_code": code, "status_message": message}),
        vec![],
    )
}

/// Builds the answer to one request: (status, JSON body, extra headers).
fn slow_for(state: &Arc<Mutex<State>>, path: &str) -> std::time::Duration {
    let st = state.lock().unwrap();
    st.slow
        .iter()
        .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
        .map(|(_, d)| *d)
        .max()
        .unwrap_or_default()
}

fn answer(
    state: &Arc<Mutex<State>>,
    url: &str,
    bearer: Option<String>,
) -> (u16, Value, Vec<(String, String)>) {
    let mut st = state.lock().unwrap();
    st.log.push(format!("GET {url}"));
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let params: HashMap<String, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), decode(v)))
        .collect();

    let authorised = params.get("api_key").map(String::as_str) == Some(API_KEY)
        || bearer.as_deref() == Some(&format!("Bearer {READ_TOKEN}"));
    if !authorised {
        return error(401, 7, "Invalid API key: You must be granted a valid key.");
    }
    if let Some(n) = st.rate_limited.get_mut(path)
        && *n > 0
    {
        *n -= 1;
        let (s, b, _) = error(
            429,
            25,
            "Your request count (41) is over the allowed limit of (40).",
        );
        return (s, b, vec![("Retry-After".into(), "1".into())]);
    }
    if let Some(status) = st.failures.get(path) {
        return error(
            *status,
            11,
            "Internal error: Something went wrong, contact TMDB.",
        );
    }

    let parts: Vec<&str> = path.trim_start_matches("/3/").split('/').collect();
    match parts.as_slice() {
        ["movie", id] => match id
            .parse::<i64>()
            .ok()
            .and_then(|id| st.movies.get(&id).map(|m| (id, m)))
        {
            Some((id, (title, original, date))) => {
                (200, movie_json(id, title, original, date), vec![])
            }
            None => error(404, 34, "The resource you requested could not be found."),
        },
        ["tv", id] => match id.parse::<i64>().ok().and_then(|id| st.shows.get(&id)) {
            Some(show) => (200, show_json(show), vec![]),
            None => error(404, 34, "The resource you requested could not be found."),
        },
        ["tv", id, "season", n] => {
            let show = id.parse::<i64>().ok().and_then(|id| st.shows.get(&id));
            let season = n.parse::<i32>().ok();
            match (show, season) {
                (Some(show), Some(n)) if show.seasons.contains_key(&n) => {
                    (200, season_json(show, n), vec![])
                }
                _ => error(404, 34, "The resource you requested could not be found."),
            }
        }
        ["find", id] if params.get("external_source").map(String::as_str) == Some("tvdb_id") => {
            let tv: Vec<Value> = id
                .parse::<i64>()
                .ok()
                .and_then(|id| st.tvdb.get(&id))
                .and_then(|tmdb| st.shows.get(tmdb))
                .map(|s| {
                    vec![json!({"id": s.id, "name": s.name, "original_name": s.name,
                                "first_air_date": s.first_air_date, "media_type": "tv",
                                "origin_country": ["US"], "popularity": 300.1})]
                })
                .unwrap_or_default();
            (
                200,
                json!({"movie_results": [], "person_results": [], "tv_results": tv,
                       "tv_episode_results": [], "tv_season_results": []}),
                vec![],
            )
        }
        ["search", kind] => {
            // TMDB's year filters: a movie released that year, a show first aired that year.
            let year = params
                .get("year")
                .or_else(|| params.get("first_air_date_year"))
                .cloned();
            let in_year = |date: &str| year.as_deref().is_none_or(|y| date.starts_with(y));
            let q = params
                .get("query")
                .cloned()
                .unwrap_or_default()
                .to_lowercase();
            let results: Vec<Value> = if *kind == "movie" {
                st.movies
                    .iter()
                    .filter(|(_, (t, o, d))| {
                        (t.to_lowercase().contains(&q) || o.to_lowercase().contains(&q))
                            && in_year(d)
                    })
                    .map(|(id, (t, o, d))| {
                        json!({"adult": false, "id": id, "title": t, "original_title": o,
                               "release_date": d, "overview": "…", "popularity": 61.4,
                               "genre_ids": [18], "original_language": "en", "video": false})
                    })
                    .collect()
            } else {
                st.shows
                    .values()
                    .filter(|s| s.name.to_lowercase().contains(&q) && in_year(&s.first_air_date))
                    .map(|s| {
                        json!({"id": s.id, "name": s.name, "original_name": s.name,
                               "first_air_date": s.first_air_date, "origin_country": ["US"],
                               "overview": "…", "popularity": 300.1})
                    })
                    .collect()
            };
            let total = results.len();
            (
                200,
                json!({"page": 1, "results": results, "total_pages": 1, "total_results": total}),
                vec![],
            )
        }
        _ => error(404, 34, "The resource you requested could not be found."),
    }
}

fn movie_json(id: i64, title: &str, original: &str, date: &str) -> Value {
    json!({
        "adult": false,
        "backdrop_path": "/hZkgoQYus5vegHoetLkCJzb17zJ.jpg",
        "belongs_to_collection": null,
        "budget": 63000000,
        "genres": [{"id": 18, "name": "Drama"}],
        "homepage": "",
        "id": id,
        "imdb_id": "tt0137523",
        "original_language": "en",
        "original_title": original,
        "overview": "A ticking-time-bomb insomniac and a slippery soap salesman…",
        "popularity": 61.416,
        "poster_path": "/pB8BM7pdSp6B6Ih7QZ4DrQ3PmJK.jpg",
        "release_date": date,
        "revenue": 100853753,
        "runtime": 139,
        "status": "Released",
        "tagline": "Mischief. Mayhem. Soap.",
        "title": title,
        "video": false,
        "vote_average": 8.433,
        "vote_count": 26280
    })
}

fn show_json(show: &FakeShow) -> Value {
    let seasons: Vec<Value> = show
        .seasons
        .iter()
        .map(|(n, eps)| {
            json!({
                "air_date": eps.first().and_then(|e| e.2.clone()),
                "episode_count": eps.len(),
                "id": show.id * 100 + i64::from(*n),
                "name": if *n == 0 { "Specials".to_string() } else { format!("Season {n}") },
                "overview": "",
                "poster_path": null,
                "season_number": n,
                "vote_average": 0.0
            })
        })
        .collect();
    json!({
        "adult": false,
        "backdrop_path": "/tsRy63Mu5cu8etL1X7ZLyf7UP1M.jpg",
        "created_by": [],
        "episode_run_time": [],
        "first_air_date": show.first_air_date,
        "genres": [{"id": 18, "name": "Drama"}],
        "id": show.id,
        "in_production": false,
        "languages": ["en"],
        "last_air_date": "2013-09-29",
        "name": show.name,
        "number_of_episodes": show.seasons.values().map(Vec::len).sum::<usize>(),
        "number_of_seasons": show.seasons.keys().filter(|n| **n > 0).count(),
        "original_name": show.name,
        "overview": "…",
        "seasons": seasons,
        "status": "Ended",
        "type": "Scripted"
    })
}

fn season_json(show: &FakeShow, n: i32) -> Value {
    let episodes: Vec<Value> = show.seasons[&n]
        .iter()
        .map(|(e, name, date)| {
            json!({
                "air_date": date,
                "episode_number": e,
                "episode_type": "standard",
                "id": show.id * 10000 + i64::from(n) * 100 + i64::from(*e),
                "name": name,
                "overview": "",
                "production_code": "",
                "runtime": 47,
                "season_number": n,
                "show_id": show.id,
                "still_path": null,
                "vote_average": 8.1,
                "vote_count": 100,
                "crew": [],
                "guest_stars": []
            })
        })
        .collect();
    json!({
        "_id": "52542282760ee313280017f9",
        "air_date": show.seasons[&n].first().and_then(|e| e.2.clone()),
        "episodes": episodes,
        "id": show.id * 100 + i64::from(n),
        "name": if n == 0 { "Specials".to_string() } else { format!("Season {n}") },
        "overview": "",
        "poster_path": null,
        "season_number": n,
        "vote_average": 8.2
    })
}

/// Percent-decoding of a query value ('+' is a space in forms).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or(""),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
