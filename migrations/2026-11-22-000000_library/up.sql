-- The library: movies and shows keyed by TMDB id, and the sources attached to them.
-- Times are Unix seconds.

CREATE TABLE movies (
    id          INTEGER PRIMARY KEY NOT NULL,
    tmdb_id     INTEGER UNIQUE,            -- NULL for a movie added by title
    title       TEXT NOT NULL CHECK (title <> ''),
    year        INTEGER,
    created_at  BIGINT NOT NULL
);

CREATE TABLE shows (
    id          INTEGER PRIMARY KEY NOT NULL,
    tmdb_id     INTEGER UNIQUE,            -- NULL for a show added by title
    title       TEXT NOT NULL CHECK (title <> ''),
    year        INTEGER,
    -- What `show add` asked for, so `show refresh` keeps to it: a comma list of season
    -- numbers, or NULL for all; and whether season 0 (specials) is wanted.
    season_filter TEXT,
    specials    BOOLEAN NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);

CREATE TABLE seasons (
    id            INTEGER PRIMARY KEY NOT NULL,
    show_id       INTEGER NOT NULL REFERENCES shows(id) ON DELETE CASCADE,
    season_number INTEGER NOT NULL CHECK (season_number >= 0),
    UNIQUE (show_id, season_number)
);

CREATE TABLE episodes (
    id             INTEGER PRIMARY KEY NOT NULL,
    season_id      INTEGER NOT NULL REFERENCES seasons(id) ON DELETE CASCADE,
    episode_number INTEGER NOT NULL CHECK (episode_number >= 0),
    name           TEXT,                   -- NULL: shown as "Episode N"
    air_date       TEXT,                   -- YYYY-MM-DD
    UNIQUE (season_id, episode_number)
);

-- One row per source ever attached to a movie or an episode. At most one is active per
-- item (partial unique indexes below); replaced sources stay as inactive rows.
CREATE TABLE assignments (
    id          INTEGER PRIMARY KEY NOT NULL,
    movie_id    INTEGER REFERENCES movies(id) ON DELETE CASCADE,
    episode_id  INTEGER REFERENCES episodes(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('torrent', 'local')),
    -- torrent sources
    info_hash   TEXT CHECK (info_hash IS NULL OR length(info_hash) = 40),
    magnet      TEXT,
    file_index  INTEGER,
    -- path inside the torrent, or the canonical local path
    file_path   TEXT NOT NULL,
    file_size   BIGINT NOT NULL CHECK (file_size >= 0),
    resolution  TEXT,
    source      TEXT,
    is_active   BOOLEAN NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    CHECK ((movie_id IS NULL) <> (episode_id IS NULL)),
    CHECK (kind <> 'torrent' OR (info_hash IS NOT NULL AND magnet IS NOT NULL AND file_index IS NOT NULL))
);

CREATE UNIQUE INDEX assignments_one_active_movie
    ON assignments (movie_id) WHERE is_active AND movie_id IS NOT NULL;
CREATE UNIQUE INDEX assignments_one_active_episode
    ON assignments (episode_id) WHERE is_active AND episode_id IS NOT NULL;
CREATE INDEX assignments_info_hash ON assignments (info_hash);
CREATE INDEX seasons_show ON seasons (show_id);
CREATE INDEX episodes_season ON episodes (season_id);
