-- Skip markers of movies and episodes, in seconds from the start of their video: the
-- intro, and the credits. Set by hand (manual) or by detection, which never overwrites a
-- manual row. Served as a Kodi EDL sidecar beside the video.
CREATE TABLE markers (
    id            INTEGER PRIMARY KEY NOT NULL,
    movie_id      INTEGER REFERENCES movies(id) ON DELETE CASCADE,
    episode_id    INTEGER REFERENCES episodes(id) ON DELETE CASCADE,
    intro_start   DOUBLE,
    intro_end     DOUBLE,
    credits_start DOUBLE,
    -- Absent: the credits run to the end (not written to the EDL, which needs an end).
    credits_end   DOUBLE,
    origin        TEXT NOT NULL CHECK (origin IN ('detected', 'manual')),
    confidence    DOUBLE NOT NULL DEFAULT 1 CHECK (confidence BETWEEN 0 AND 1),
    created_at    BIGINT NOT NULL,
    CHECK ((movie_id IS NULL) <> (episode_id IS NULL)),
    CHECK ((intro_start IS NULL) = (intro_end IS NULL)),
    CHECK (intro_start IS NULL OR (intro_start >= 0 AND intro_end > intro_start)),
    CHECK (credits_start IS NULL OR credits_start >= 0),
    CHECK (credits_end IS NULL OR (credits_start IS NOT NULL AND credits_end > credits_start))
);

CREATE UNIQUE INDEX markers_movie ON markers (movie_id) WHERE movie_id IS NOT NULL;
CREATE UNIQUE INDEX markers_episode ON markers (episode_id) WHERE episode_id IS NOT NULL;
