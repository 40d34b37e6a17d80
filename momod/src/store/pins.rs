//! Pins: sources downloaded whole into the data dir. One row per pinned assignment; it goes
//! when the assignment stops being its item's active source (see `assignments`).
use diesel::prelude::*;

use super::assignments::{SourceRow, item_of, source_file};
use super::schema::{assignments, pins};
use super::{Store, now};
use crate::error::{Error, Result};
use crate::library::model::{Pin, PinState};

type PinRow = (
    i64,
    String,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    SourceRow,
);

fn pin_of(row: PinRow) -> Result<Pin> {
    let (assignment_id, state, job_id, error, created_at, finished_at, movie, episode, source) =
        row;
    let corrupt = || Error::Internal(format!("pin of assignment {assignment_id} is malformed"));
    let (file, size) = source_file(source)?;
    Ok(Pin {
        assignment_id,
        item: item_of(movie, episode).ok_or_else(corrupt)?,
        file,
        size,
        state: PinState::parse(&state).ok_or_else(corrupt)?,
        job_id,
        error,
        created_at,
        finished_at,
        done: 0,
        share_path: String::new(),
    })
}

/// The columns of a pin with its assignment's.
type PinColumns = (
    pins::assignment_id,
    pins::state,
    pins::job_id,
    pins::error,
    pins::created_at,
    pins::finished_at,
    assignments::movie_id,
    assignments::episode_id,
    diesel::dsl::AsSelect<SourceRow, diesel::sqlite::Sqlite>,
);

/// Pins with their assignments.
fn query()
-> diesel::dsl::Select<diesel::dsl::InnerJoin<pins::table, assignments::table>, PinColumns> {
    pins::table.inner_join(assignments::table).select((
        pins::assignment_id,
        pins::state,
        pins::job_id,
        pins::error,
        pins::created_at,
        pins::finished_at,
        assignments::movie_id,
        assignments::episode_id,
        SourceRow::as_select(),
    ))
}

fn load(conn: &mut SqliteConnection, assignment: i64) -> Result<Option<Pin>> {
    query()
        .filter(pins::assignment_id.eq(assignment))
        .first::<PinRow>(conn)
        .optional()?
        .map(pin_of)
        .transpose()
}

impl Store {
    /// Pins the assignment (downloading), or returns its pin; a failed one starts again.
    pub async fn pin(&self, assignment: i64) -> Result<Pin> {
        self.write_quiet(move |conn| {
            if let Some(p) = load(conn, assignment)? {
                if p.state != PinState::Failed {
                    return Ok(p);
                }
                diesel::update(pins::table.find(assignment))
                    .set((
                        pins::state.eq(PinState::Downloading.as_str()),
                        pins::error.eq(None::<String>),
                        pins::finished_at.eq(None::<i64>),
                    ))
                    .execute(conn)?;
            } else {
                diesel::insert_into(pins::table)
                    .values((
                        pins::assignment_id.eq(assignment),
                        pins::state.eq(PinState::Downloading.as_str()),
                        pins::created_at.eq(now()),
                    ))
                    .execute(conn)?;
            }
            load(conn, assignment)?.ok_or_else(|| Error::Internal("pin vanished".into()))
        })
        .await
    }

    pub async fn set_pin_job(&self, assignment: i64, job: i64) -> Result<()> {
        self.write_quiet(move |conn| {
            diesel::update(pins::table.find(assignment))
                .set(pins::job_id.eq(job))
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    /// Records the end of a pin's download: done, or failed with why. No-op once unpinned.
    pub async fn finish_pin(&self, assignment: i64, error: Option<String>) -> Result<()> {
        self.write_quiet(move |conn| {
            let state = match error {
                None => PinState::Done,
                Some(_) => PinState::Failed,
            };
            diesel::update(pins::table.find(assignment))
                .set((
                    pins::state.eq(state.as_str()),
                    pins::error.eq(error),
                    pins::finished_at.eq(now()),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    /// The pin of an assignment, if it has one.
    pub async fn pin_of(&self, assignment: i64) -> Result<Option<Pin>> {
        self.run(move |conn| load(conn, assignment)).await
    }

    /// Removes a pin; returns it, or None when there was none.
    pub async fn unpin(&self, assignment: i64) -> Result<Option<Pin>> {
        self.write_quiet(move |conn| {
            let p = load(conn, assignment)?;
            diesel::delete(pins::table.find(assignment)).execute(conn)?;
            Ok(p)
        })
        .await
    }

    /// Every pin, oldest first.
    pub async fn pins(&self) -> Result<Vec<Pin>> {
        self.run(|conn| {
            query()
                .order(pins::created_at.asc())
                .then_order_by(pins::assignment_id.asc())
                .load::<PinRow>(conn)?
                .into_iter()
                .map(pin_of)
                .collect()
        })
        .await
    }
}

/// An assignment that stops being active takes its pin with it.
pub(super) fn drop_pin(conn: &mut SqliteConnection, assignment: i64) -> Result<()> {
    diesel::delete(pins::table.find(assignment)).execute(conn)?;
    Ok(())
}

/// The same for every inactive assignment (after a whole torrent was detached).
pub(super) fn drop_inactive_pins(conn: &mut SqliteConnection) -> Result<()> {
    let inactive = assignments::table
        .filter(assignments::is_active.eq(false))
        .select(assignments::id);
    diesel::delete(pins::table.filter(pins::assignment_id.eq_any(inactive))).execute(conn)?;
    Ok(())
}
