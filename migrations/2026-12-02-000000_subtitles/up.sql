-- Subtitles attached to movies and episodes. Their bytes live in <data_dir>/subtitles,
-- named by content (`<sha256>.<format>`), so a listing or a read never touches a source.

CREATE TABLE subtitles (
    id          INTEGER PRIMARY KEY NOT NULL,
    movie_id    INTEGER REFERENCES movies(id) ON DELETE CASCADE,
    episode_id  INTEGER REFERENCES episodes(id) ON DELETE CASCADE,
    -- ISO 639-1 ("en"), with a region where one matters ("pt-br", "zh-tw").
    language    TEXT NOT NULL CHECK (length(language) BETWEEN 2 AND 8),
    forced      BOOLEAN NOT NULL DEFAULT 0,
    sdh         BOOLEAN NOT NULL DEFAULT 0,
    format      TEXT NOT NULL CHECK (format IN ('srt', 'ass', 'ssa', 'vtt')),
    origin      TEXT NOT NULL CHECK (origin IN ('torrent', 'opensubtitles', 'local')),
    sha256      TEXT NOT NULL CHECK (length(sha256) = 64),
    size        BIGINT NOT NULL CHECK (size > 0),
    -- Where it came from, for people: the path inside the torrent, the uploaded file's
    -- name, or the release name on OpenSubtitles.
    source_name TEXT NOT NULL,
    -- OpenSubtitles' file id, or "<info hash>:<file index>" for a torrent's file.
    provider_id TEXT,
    created_at  BIGINT NOT NULL,
    CHECK ((movie_id IS NULL) <> (episode_id IS NULL))
);

-- The same subtitle (by content) is attached to an item once.
CREATE UNIQUE INDEX subtitles_movie_content
    ON subtitles (movie_id, sha256) WHERE movie_id IS NOT NULL;
CREATE UNIQUE INDEX subtitles_episode_content
    ON subtitles (episode_id, sha256) WHERE episode_id IS NOT NULL;
CREATE INDEX subtitles_movie ON subtitles (movie_id);
CREATE INDEX subtitles_episode ON subtitles (episode_id);
