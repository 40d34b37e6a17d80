//! The SQLite database: a small connection pool (WAL, foreign keys on, busy timeout),
//! migrations embedded from the top-level `migrations/` and run at start, and `run` to call
//! diesel off the async runtime.
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

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
pub struct Db {
    pool: Pool<ConnectionManager<SqliteConnection>>,
    /// Bumped after every committed write; caches derived from the database (the share's
    /// tree) compare it to know they are stale.
    generation: Arc<AtomicU64>,
}

impl Db {
    /// Opens (creating if needed) `<data_dir>/library.db` and applies pending migrations.
    pub fn open(data_dir: &Path) -> anyhow::Result<Db> {
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
        Ok(Db {
            pool,
            generation: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Runs `f` with a pooled connection on the blocking thread pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
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
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T> + Send + 'static,
    {
        let result = self.run(move |conn| conn.immediate_transaction(f)).await;
        if result.is_ok() {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        result
    }

    /// How many writes have been committed since start.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
