//! Seeding a benchmark database: many accounts with two-factor authentication on, written
//! with large multi-row INSERTs in one transaction per call (`twofold bench seed`). It
//! writes exactly the rows a real enrolment writes (account, authenticator, backup batch and
//! codes) and nothing the login path does not read; it must never be used for real sign-ups
//! (no events, no checks beyond the unique indexes).

use sqlx::AssertSqlSafe;

use super::{Engine, StoreResult};
use crate::domain::{AccountId, BatchId, UnixTime};

/// One account to seed, its secrets already hashed and sealed by the caller.
#[derive(Clone, Debug)]
pub struct SeedAccount {
    /// Its id.
    pub id: AccountId,
    /// Its username (already a valid `Username`).
    pub username: String,
    /// The sealed authenticator secret.
    pub totp_sealed: String,
    /// The backup batch's id.
    pub batch_id: BatchId,
    /// Per code, in order: the keyed hash and the sealed code when codes are viewable.
    pub codes: Vec<(String, Option<String>)>,
}

/// One backup code to insert: its account, position, keyed hash and sealed copy.
type SeedCode<'a> = (&'a SeedAccount, i64, &'a (String, Option<String>));

/// Rows per INSERT statement: the widest statement (backup codes, 5 values a row) stays
/// under SQLite's default limit of 32,766 bound values and PostgreSQL's 65,535.
const ROWS_PER_STATEMENT: usize = 5_000;

impl super::Accounts<'_> {
    /// Inserts `accounts` (all sharing `password_hash`, two-factor on since `now`) in one
    /// transaction: either all of them are stored or none.
    ///
    /// # Errors
    /// On a database failure, or [`super::StoreError::Conflict`]-like errors when a username
    /// is taken (the unique index decides).
    pub async fn seed_accounts(
        &self,
        accounts: &[SeedAccount],
        password_hash: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        if self.engine == Engine::Sqlite {
            // The unique indexes take random keys (ids, keyed hashes): a large page cache
            // keeps their inner pages in memory while the tables grow to gigabytes.
            sqlx::query("PRAGMA cache_size = -1048576")
                .execute(&mut *tx)
                .await?;
        }
        for chunk in accounts.chunks(ROWS_PER_STATEMENT / 2) {
            let sql = insert_sql(
                self.engine,
                "accounts (id, username, password_hash, created_at, two_factor_since)",
                chunk.len(),
                5,
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for a in chunk {
                q = q
                    .bind(a.id.as_str())
                    .bind(a.username.as_str())
                    .bind(password_hash)
                    .bind(now.0)
                    .bind(now.0);
            }
            q.execute(&mut *tx).await?;
            let sql = insert_sql(
                self.engine,
                "totp_factors (account_id, secret_sealed, added_at, last_step)",
                chunk.len(),
                4,
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for a in chunk {
                q = q
                    .bind(a.id.as_str())
                    .bind(a.totp_sealed.as_str())
                    .bind(now.0)
                    .bind(0_i64);
            }
            q.execute(&mut *tx).await?;
            let sql = insert_sql(
                self.engine,
                "backup_batches (id, account_id, created_at)",
                chunk.len(),
                3,
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for a in chunk {
                q = q.bind(a.batch_id.as_str()).bind(a.id.as_str()).bind(now.0);
            }
            q.execute(&mut *tx).await?;
        }
        let codes: Vec<SeedCode<'_>> = accounts
            .iter()
            .flat_map(|a| {
                a.codes
                    .iter()
                    .zip(0_i64..)
                    .map(move |(c, position)| (a, position, c))
            })
            .collect();
        for chunk in codes.chunks(ROWS_PER_STATEMENT) {
            let sql = insert_sql(
                self.engine,
                "backup_codes (batch_id, account_id, position, code_mac, sealed)",
                chunk.len(),
                5,
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (a, position, (mac, sealed)) in chunk {
                q = q
                    .bind(a.batch_id.as_str())
                    .bind(a.id.as_str())
                    .bind(*position)
                    .bind(mac.as_str())
                    .bind(sealed.as_deref());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// `INSERT INTO {table} VALUES ($1, …), (…)` for `rows` rows of `cols` values, with the
/// engine's placeholders (sqlx's query builder writes `?` for `Any`, which PostgreSQL does
/// not read). SQLite gets bare `?`: sqlx asks SQLite for every parameter's name, and for a
/// named or numbered one (`$N`, `?N`) SQLite finds it by walking a list, which made a
/// 25,000-value statement cost a second of CPU (83 % of the seed's time in
/// `sqlite3_bind_parameter_name`).
/// Safe to run: `table` is one of this file's literals and the rest is placeholders, every
/// value is bound.
fn insert_sql(engine: Engine, table: &str, rows: usize, cols: usize) -> String {
    let mut sql = format!("INSERT INTO {table} VALUES ");
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                sql.push_str(", ");
            }
            match engine {
                Engine::Sqlite => sql.push('?'),
                Engine::Postgres => {
                    sql.push('$');
                    sql.push_str(&(r * cols + c + 1).to_string());
                }
            }
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_row_by_row() {
        use super::{Engine, insert_sql};
        assert_eq!(
            insert_sql(Engine::Postgres, "t (a, b)", 2, 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
        assert_eq!(
            insert_sql(Engine::Sqlite, "t (a, b)", 2, 2),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
    }
}
