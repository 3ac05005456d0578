//! Shared by the test binaries: a fresh database on SQLite (default) or PostgreSQL
//! (when `TWOFOLD_TEST_DATABASE_URL` names a PostgreSQL server to create databases on).

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::sync::Once;

use sqlx::{AssertSqlSafe, Connection, Executor};

/// Which engine the tests run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server to test against, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("TWOFOLD_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// The engine this run of the suite uses.
pub fn engine() -> Engine {
    if postgres_url().is_some() {
        Engine::Postgres
    } else {
        Engine::Sqlite
    }
}

/// Says once, on the terminal and not swallowed by the test harness, that the
/// PostgreSQL half was skipped.
pub fn warn_if_postgres_skipped() {
    static ONCE: Once = Once::new();
    // scripts/test runs the SQLite half on purpose and the PostgreSQL half right after.
    if postgres_url().is_none() && std::env::var_os("TWOFOLD_TEST_POSTGRES_FOLLOWS").is_none() {
        ONCE.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "\n\x21\x21\x21 TWOFOLD_TEST_DATABASE_URL is not set: these tests ran on SQLite only and the \
                 PostgreSQL half was SKIPPED. `scripts/test` starts a throwaway PostgreSQL and runs both.\n"
            );
        });
    }
}

/// A fresh, empty database URL: a file in `dir` for SQLite, a new database for PostgreSQL.
pub async fn fresh_database(dir: &Path) -> String {
    warn_if_postgres_skipped();
    match postgres_url() {
        None => format!("sqlite://{}?mode=rwc", dir.join("twofold.db").display()),
        Some(admin) => {
            sqlx::any::install_default_drivers();
            let name = format!("twofold_test_{}", hex_id());
            let mut conn = sqlx::AnyConnection::connect(&admin)
                .await
                .expect("connect to the test PostgreSQL");
            conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .expect("create a test database");
            conn.close().await.ok();
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            format!("{base}/{name}")
        }
    }
}

fn hex_id() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = std::process::id() as u128
        ^ nanos
        ^ (COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst) as u128) << 64;
    format!("{:x}", n & 0xffff_ffff_ffff_ffff_ffff)
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
