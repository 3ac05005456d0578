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

/// A fresh database URL: an empty file in `dir` for SQLite (the server migrates it); for
/// PostgreSQL a new database copied from a template that Twofold's migrations already ran
/// on, so that each test skips them (built once per cluster and per migration set).
pub async fn fresh_database(dir: &Path) -> String {
    warn_if_postgres_skipped();
    match postgres_url() {
        None => format!("sqlite://{}?mode=rwc", dir.join("twofold.db").display()),
        Some(admin) => {
            sqlx::any::install_default_drivers();
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            let template = migrated_template(&admin, base).await;
            let name = format!("twofold_test_{}", hex_id());
            let mut conn = sqlx::AnyConnection::connect(&admin)
                .await
                .expect("connect to the test PostgreSQL");
            conn.execute(AssertSqlSafe(format!(
                "CREATE DATABASE {name} TEMPLATE {template}"
            )))
            .await
            .expect("create a test database");
            conn.close().await.ok();
            format!("{base}/{name}")
        }
    }
}

/// The name of a database that holds the schema of this tree's PostgreSQL migrations,
/// built by running them on an empty database (under an advisory lock, so that parallel
/// tests and test binaries build it once) and named after a hash of the migration files,
/// so that a changed migration builds a new one.
async fn migrated_template(admin: &str, base: &str) -> String {
    use std::hash::{Hash, Hasher};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read the PostgreSQL migrations")
        .map(|e| e.expect("a migration file").path())
        .collect();
    files.sort();
    let mut hash = std::collections::hash_map::DefaultHasher::new();
    for f in &files {
        f.file_name().hash(&mut hash);
        std::fs::read(f).expect("read a migration").hash(&mut hash);
    }
    let template = format!("twofold_template_{:016x}", hash.finish());
    let mut conn = sqlx::AnyConnection::connect(admin)
        .await
        .expect("connect to the test PostgreSQL");
    conn.execute("SELECT pg_advisory_lock(7262)")
        .await
        .expect("lock");
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&template)
        .fetch_optional(&mut conn)
        .await
        .expect("look for the template");
    if exists.is_none() {
        let building = format!("{template}_building");
        conn.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {building}")))
            .await
            .expect("drop a half-built template");
        conn.execute(AssertSqlSafe(format!("CREATE DATABASE {building}")))
            .await
            .expect("create the template");
        twofold::store::Store::connect(&format!("{base}/{building}"), 1)
            .await
            .expect("migrate the template")
            .close()
            .await;
        conn.execute(AssertSqlSafe(format!(
            "ALTER DATABASE {building} RENAME TO {template}"
        )))
        .await
        .expect("name the template");
    }
    conn.execute("SELECT pg_advisory_unlock(7262)")
        .await
        .expect("unlock");
    conn.close().await.ok();
    template
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
