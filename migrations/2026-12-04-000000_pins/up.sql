-- Sources pinned to disk: downloaded whole into the data dir, never evicted by the disk
-- budget. A pin belongs to one assignment: when the item's source is replaced or detached,
-- the pin goes with it (its data is let go).
CREATE TABLE pins (
    assignment_id INTEGER PRIMARY KEY NOT NULL REFERENCES assignments(id) ON DELETE CASCADE,
    state       TEXT NOT NULL CHECK (state IN ('downloading', 'done', 'failed')),
    -- The job downloading it (the last one, once it has ended).
    job_id      INTEGER,
    -- Why a failed pin stopped.
    error       TEXT,
    created_at  BIGINT NOT NULL,
    finished_at BIGINT,
    CHECK ((state = 'downloading') = (finished_at IS NULL))
);
