-- Back to torrent and local sources only: http sources are dropped.
CREATE TABLE assignments_old (
    id          INTEGER PRIMARY KEY NOT NULL,
    movie_id    INTEGER REFERENCES movies(id) ON DELETE CASCADE,
    episode_id  INTEGER REFERENCES episodes(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('torrent', 'local')),
    info_hash   TEXT CHECK (info_hash IS NULL OR length(info_hash) = 40),
    magnet      TEXT,
    file_index  INTEGER,
    file_path   TEXT NOT NULL,
    file_size   BIGINT NOT NULL CHECK (file_size >= 0),
    resolution  TEXT,
    source      TEXT,
    is_active   BOOLEAN NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    CHECK ((movie_id IS NULL) <> (episode_id IS NULL)),
    CHECK (kind <> 'torrent' OR (info_hash IS NOT NULL AND magnet IS NOT NULL AND file_index IS NOT NULL))
);

INSERT INTO assignments_old
SELECT id, movie_id, episode_id, kind, info_hash, magnet, file_index, file_path, file_size,
       resolution, source, is_active, created_at
FROM assignments WHERE kind <> 'http';

DROP TABLE assignments;
ALTER TABLE assignments_old RENAME TO assignments;

CREATE UNIQUE INDEX assignments_one_active_movie
    ON assignments (movie_id) WHERE is_active AND movie_id IS NOT NULL;
CREATE UNIQUE INDEX assignments_one_active_episode
    ON assignments (episode_id) WHERE is_active AND episode_id IS NOT NULL;
CREATE INDEX assignments_info_hash ON assignments (info_hash);
