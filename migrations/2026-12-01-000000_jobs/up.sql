-- Background jobs: long operations (show add/refresh, assignments that wait on a swarm,
-- packs) with their progress and log lines. Times are Unix seconds.

CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind <> ''),
    -- What the job works on, once known ("show" 3, "movie" 1, "episode" 7).
    target_kind     TEXT CHECK (target_kind IS NULL OR target_kind IN ('movie', 'show', 'episode')),
    target_id       INTEGER,
    -- One line for people: "add show tmdb 1396".
    summary         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    -- The request, encoded by the API layer; opaque to the store.
    payload         BLOB NOT NULL,
    -- Jobs that must not run twice at once (one refresh per show) share a key while active.
    dedupe_key      TEXT,
    progress_done   BIGINT NOT NULL DEFAULT 0 CHECK (progress_done >= 0),
    progress_total  BIGINT CHECK (progress_total IS NULL OR progress_total >= 0),
    progress_unit   TEXT NOT NULL DEFAULT '',
    step            TEXT NOT NULL DEFAULT '',
    -- The reply of a job that is done, encoded by the API layer.
    result          BLOB,
    -- A failed job's gRPC code name (NotFound, DeadlineExceeded, …) and message.
    error_code      TEXT,
    error           TEXT,
    created_at      BIGINT NOT NULL,
    started_at      BIGINT,
    finished_at     BIGINT,
    CHECK ((target_kind IS NULL) = (target_id IS NULL)),
    CHECK ((state IN ('done', 'failed', 'cancelled')) = (finished_at IS NOT NULL))
);

CREATE UNIQUE INDEX jobs_one_active_per_key
    ON jobs (dedupe_key) WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running');
CREATE INDEX jobs_state ON jobs (state);
CREATE INDEX jobs_finished ON jobs (finished_at);

CREATE TABLE job_logs (
    id      INTEGER PRIMARY KEY NOT NULL,
    job_id  INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    -- Unix milliseconds: lines of one second keep their order and their spacing.
    time_ms BIGINT NOT NULL,
    level   TEXT NOT NULL CHECK (level IN ('error', 'warn', 'info', 'debug', 'trace')),
    message TEXT NOT NULL
);

CREATE INDEX job_logs_job ON job_logs (job_id, id);
