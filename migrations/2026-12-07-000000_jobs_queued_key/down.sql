DROP INDEX jobs_one_queued_per_key;
CREATE UNIQUE INDEX jobs_one_active_per_key
    ON jobs (dedupe_key) WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running');
