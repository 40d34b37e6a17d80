//! The store: the only module that knows tables, rows, SQL and transactions. Everything
//! else asks it for domain types (`library::model`) and hands it domain types to write.
//!
//! - `media`: movies, shows, seasons, episodes.
//! - `assignments`: which file plays each item (one active per item).
//! - `share`: the read model the share's tree is built from.
//! - `subtitles`: subtitles attached to movies and episodes.
//! - `jobs`: background jobs and their log lines.
//!
//! SQLite underneath: a small connection pool (WAL, foreign keys on, busy timeout),
//! migrations embedded from the top-level `migrations/` and applied at start, every call run
//! off the async runtime, every write one IMMEDIATE transaction. Queries use diesel's DSL,
//! except the show summary (plain SQL with SQLite's placeholders and collation), so a change
//! of backend would stay inside this module.
mod assignments;
mod jobs;
mod markers;
mod media;
mod pins;
mod schema;
mod share;
mod subtitles;
mod watches;

pub use jobs::{JobEnd, NewLogLine};
pub use media::NewShowRecord;
pub use share::{ShareEpisode, ShareMovie, ShareRows, ShareSource};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
pub use subtitles::TmdbRef;
pub use watches::Watch;

use anyhow::Context;
use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use tokio::sync::watch;

use crate::error::{Error, Result};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// File name of the library database inside the data dir.
pub const DB_FILE: &str = "library.db";

#[derive(Debug, Clone, Copy)]
struct Pragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // journal_mode is set once in `open` (it is stored in the file); switching it here
        // from several pooled connections at once fails with "database is locked".
        // synchronous=NORMAL is safe with WAL: a crash loses no committed transaction that
        // reached the WAL, only possibly the last ones before a power loss.
        conn.batch_execute(
            "PRAGMA busy_timeout = 15000;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

#[derive(Clone)]
pub struct Store {
    pool: Pool<ConnectionManager<SqliteConnection>>,
    /// Bumped after every committed write; caches derived from the database (the share's
    /// tree) compare it to know they are stale.
    generation: Arc<AtomicU64>,
    changes: Arc<watch::Sender<u64>>,
}

impl Store {
    /// Opens (creating if needed) `<data_dir>/library.db` and applies pending migrations.
    pub fn open(data_dir: &Path) -> anyhow::Result<Store> {
        let path = data_dir.join(DB_FILE);
        let url = path.to_str().context("data dir path is not UTF-8")?;
        // One connection first: WAL mode (persistent) and the schema, before the pool opens more.
        let mut first = SqliteConnection::establish(url)
            .with_context(|| format!("cannot open database {}", path.display()))?;
        first
            .batch_execute(
                "PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;",
            )
            .with_context(|| format!("cannot set up database {}", path.display()))?;
        let applied = first
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("database migrations on {}: {e}", path.display()))?;
        for m in applied {
            tracing::info!(migration = %m, "applied database migration");
        }
        drop(first);
        let pool = Pool::builder()
            // SQLite has one writer at a time; a few connections serve concurrent reads.
            .max_size(8)
            .connection_timeout(Duration::from_secs(30))
            .connection_customizer(Box::new(Pragmas))
            .build(ConnectionManager::<SqliteConnection>::new(url))
            .with_context(|| format!("cannot open database {}", path.display()))?;
        Ok(Store {
            pool,
            generation: Arc::new(AtomicU64::new(0)),
            changes: Arc::new(watch::channel(0).0),
        })
    }

    /// Runs `f` with a pooled connection on the blocking thread pool.
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool
                .get()
                .map_err(|e| Error::Unavailable(format!("database busy, try again: {e}")))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
    }

    /// Like `run`, inside one IMMEDIATE transaction: it takes the write lock up front, so
    /// concurrent writers wait on busy_timeout instead of failing at the read→write upgrade,
    /// and an error anywhere rolls everything back.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T> + Send + 'static,
    {
        let result = self.run(move |conn| conn.immediate_transaction(f)).await;
        if result.is_ok() {
            let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
            self.changes.send_replace(generation);
        }
        result
    }

    /// Like `write`, for tables the share does not show (jobs): the generation stays.
    async fn write_quiet<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T> + Send + 'static,
    {
        self.run(move |conn| conn.immediate_transaction(f)).await
    }

    /// How many writes have been committed since start.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Wakes on every committed library write (the value is the new generation).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Moves the WAL into the main file. Called last at shutdown (after every reader and
    /// writer stopped), so a backup that copies `library.db` alone has everything.
    pub async fn checkpoint(&self) {
        let result = self
            .run(|conn| {
                conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?;
                Ok(())
            })
            .await;
        if let Err(e) = result {
            tracing::warn!("database checkpoint at shutdown: {e}");
        }
    }
}

/// Database errors as the daemon reports them; only the store sees diesel's.
impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Error {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match e {
            D::NotFound => Error::NotFound("not found".into()),
            D::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                Error::AlreadyExists(format!("already exists ({})", info.message()))
            }
            D::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => {
                Error::FailedPrecondition(format!(
                    "refers to something missing ({})",
                    info.message()
                ))
            }
            other if other.to_string().contains("database is locked") => {
                Error::Unavailable(format!("database busy, try again: {other}"))
            }
            other => Error::Internal(format!("database: {other}")),
        }
    }
}

/// Seconds since the Unix epoch, as the store records times.
pub fn unix_now() -> i64 {
    now()
}

/// Seconds since the Unix epoch.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
