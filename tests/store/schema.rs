//! The SQLite and PostgreSQL migrations kept in step (issue 22): the same migration files,
//! and — when a PostgreSQL server is at hand — the same tables with the same columns once
//! both have run, so a column added on one engine only fails here, not in production.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Connection;
use twofold::store::Store;

use super::common;

type Schema = BTreeMap<String, BTreeSet<String>>;

fn migration_files(engine: &str) -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(engine);
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Table → columns of the database at `url`, after Twofold's migrations ran on it.
async fn schema(url: &str, sqlite: bool) -> Schema {
    Store::connect(url, 2).await.unwrap().close().await;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let sql = if sqlite {
        "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'"
    } else {
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'"
    };
    let rows: Vec<(String, String)> = sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap();
    let mut out = Schema::new();
    for (table, column) in rows {
        out.entry(table).or_default().insert(column);
    }
    out
}

#[tokio::test]
async fn migrations_make_the_same_schema_on_both_engines() {
    assert_eq!(
        migration_files("sqlite"),
        migration_files("postgres"),
        "each migration has a file for both engines"
    );
    let dir = tempfile::tempdir().unwrap();
    let sqlite = schema(
        &format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display()),
        true,
    )
    .await;
    assert!(sqlite.len() > 20, "{} tables", sqlite.len());
    assert!(sqlite["oidc_grants"].contains("session_id"));
    common::warn_if_postgres_skipped();
    if common::postgres_url().is_none() {
        return;
    }
    let url = common::fresh_database(dir.path()).await;
    let postgres = schema(&url, false).await;
    let tables: BTreeSet<&String> = sqlite.keys().chain(postgres.keys()).collect();
    let mut differ = Vec::new();
    for t in tables {
        let (s, p) = (sqlite.get(t), postgres.get(t));
        if s != p {
            differ.push(format!("{t}: SQLite {s:?}, PostgreSQL {p:?}"));
        }
    }
    assert!(
        differ.is_empty(),
        "the engines' schemas differ:\n{}",
        differ.join("\n")
    );
}
