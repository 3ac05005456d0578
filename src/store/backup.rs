//! Online backups of the SQLite database (`twofold backup`) and the checks `twofold restore`
//! makes on a copy before it takes the place of a database.
//!
//! Owns: the SQL of both (`VACUUM INTO`, `PRAGMA integrity_check`).
//! Must not: touch files other than the copy SQLite writes (the CLI moves files and takes
//! the data folder's lock).

use std::path::Path;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, install_default_drivers};

use super::{Engine, Store, StoreError, StoreResult};

impl Store {
    /// Writes a consistent copy of the whole SQLite database to `to`, which must not exist.
    ///
    /// `VACUUM INTO` reads in one transaction: the copy is the database at one moment, the
    /// server keeps reading and writing meanwhile (WAL), and the copy is compact and has
    /// no journal of its own.
    ///
    /// # Errors
    /// On PostgreSQL (its backups are `pg_dump`'s job), or when SQLite cannot write `to`.
    pub async fn backup_into(&self, to: &Path) -> StoreResult<()> {
        if self.engine != Engine::Sqlite {
            return Err(StoreError::Database(sqlx::Error::Configuration(
                "twofold backup copies a SQLite database; back PostgreSQL up with pg_dump".into(),
            )));
        }
        let to = to.to_str().ok_or(StoreError::Corrupt("backup path"))?;
        sqlx::query("VACUUM INTO $1")
            .bind(to)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Opens a SQLite file read-only, as it is: no migration, no settings, one connection.
    /// For looking at a backup before restoring it.
    ///
    /// # Errors
    /// When the file cannot be opened as a SQLite database.
    pub async fn open_copy(path: &Path) -> StoreResult<Self> {
        install_default_drivers();
        let url = format!("sqlite://{}?mode=ro", path.display());
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect_with(AnyConnectOptions::from_str(&url)?)
            .await?;
        Ok(Self {
            pool,
            engine: Engine::Sqlite,
            _lock: None,
        })
    }

    /// SQLite's own check of every page and index: `None` when it finds nothing wrong, or
    /// its first complaint.
    ///
    /// # Errors
    /// When the file is not a database at all.
    pub async fn integrity_problem(&self) -> StoreResult<Option<String>> {
        let first: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&self.pool)
            .await?;
        Ok((first != "ok").then_some(first))
    }
}
