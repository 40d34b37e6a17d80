-- Watches inferred from the share's reads (a playback stopped past 80 %), for `trakt
-- history`: `synced` once Trakt has it.
CREATE TABLE watches (
    id          INTEGER PRIMARY KEY NOT NULL,
    movie_id    INTEGER REFERENCES movies(id) ON DELETE CASCADE,
    episode_id  INTEGER REFERENCES episodes(id) ON DELETE CASCADE,
    watched_at  BIGINT NOT NULL,
    progress    DOUBLE NOT NULL CHECK (progress BETWEEN 0 AND 100),
    synced      BOOLEAN NOT NULL DEFAULT 0,
    CHECK ((movie_id IS NULL) <> (episode_id IS NULL))
);

CREATE INDEX watches_synced ON watches (synced);
