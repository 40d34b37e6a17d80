DROP TABLE job_logs;
DROP TABLE jobs;
