//! SQLite's write-ahead log, copied back into the database file off the request path.
//!
//! In WAL mode SQLite copies the log back (a checkpoint) once it passes a size, and it does
//! so inside the commit that crossed it: at a million accounts that commit writes about a
//! thousand scattered pages and syncs the file, and its login waits several milliseconds
//! for work that is not its own. A running server instead checkpoints every moment from a
//! task of its own ([`Store::checkpoint`]), which keeps the log below the size where a
//! commit would. The automatic checkpoint stays on at a larger size
//! ([`AUTO_CHECKPOINT`]) so that the log stays bounded when no server runs the task
//! (an admin command) or the task falls behind under a burst.

use super::{Engine, Store, StoreResult};

/// The log size, in pages, at which a commit checkpoints by itself: 8,000 pages (32 MiB)
/// instead of SQLite's default 1,000, many times what the server's task leaves between two
/// of its runs, so that the task comes first.
pub(super) const AUTO_CHECKPOINT: &str = "PRAGMA wal_autocheckpoint = 8000";

/// What one checkpoint did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Checkpoint {
    /// Pages in the log when it ran.
    pub log_pages: i64,
    /// Pages of it now in the database file.
    pub copied_pages: i64,
}

impl Store {
    /// Copies what it can of SQLite's log into the database file without waiting for any
    /// reader or writer (`PRAGMA wal_checkpoint(PASSIVE)`); the requests running meanwhile
    /// are not held up. Nothing to do on PostgreSQL (`None`).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn checkpoint(&self) -> StoreResult<Option<Checkpoint>> {
        if self.engine != Engine::Sqlite {
            return Ok(None);
        }
        let (_busy, log_pages, copied_pages): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&self.pool)
                .await?;
        Ok(Some(Checkpoint {
            log_pages,
            copied_pages,
        }))
    }
}
