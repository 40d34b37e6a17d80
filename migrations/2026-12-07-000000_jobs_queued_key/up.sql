-- One queued job per dedupe key. A running one may have a queued follower with its key:
-- a skip-intro detection asked for while one of the same show runs waits for it, then
-- reads the show anew. Kinds that join a running job check for it before inserting.
DROP INDEX jobs_one_active_per_key;
CREATE UNIQUE INDEX jobs_one_queued_per_key
    ON jobs (dedupe_key) WHERE dedupe_key IS NOT NULL AND state = 'queued';
