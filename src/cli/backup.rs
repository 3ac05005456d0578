//! `twofold backup FILE` and `twofold restore FILE`: an online copy of the SQLite database
//! taken while the server runs, and putting one back in place of a stopped server's.
//!
//! A backup is worth nothing without `secret.key`: it seals the authenticator secrets and
//! keys the backup codes, so both commands say where the key is and check it against the
//! database (its check value is stored there). PostgreSQL is backed up with `pg_dump`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::clock::SystemClock;
use crate::config::{Config, Location, Overrides};
use crate::server::Opener;
use crate::store::{DbLock, Store};

/// Runs `twofold backup FILE`.
pub(super) async fn backup(location: &Location, to: &Path) -> anyhow::Result<ExitCode> {
    let config = Config::resolve(location, &Overrides::default())?;
    let Some(db) = crate::store::sqlite_path(&config.database_url) else {
        eprintln!(
            "twofold: the database is PostgreSQL; back it up with pg_dump (`pg_dump --format=custom --file twofold.dump DBNAME`, restore with pg_restore), and keep {} with the dump",
            config.secret_key_path().display()
        );
        return Ok(ExitCode::from(2));
    };
    // `symlink_metadata`, not `exists`: a symbolic link whose target is missing does not
    // "exist", yet SQLite would follow it and write the backup wherever it points (issue 21,
    // item 14).
    if let Ok(meta) = std::fs::symlink_metadata(to) {
        let what = if meta.file_type().is_symlink() {
            "is a symbolic link"
        } else {
            "already exists"
        };
        eprintln!(
            "twofold: {} {what}; a backup never overwrites or follows one, so give it a new name",
            to.display()
        );
        return Ok(ExitCode::from(2));
    }
    // Opening as an admin proves secret.key belongs to this database before anything is
    // copied, so the operator is not left with a backup and the wrong key.
    let (auth, _keys, _) =
        crate::server::open(&config, Arc::new(SystemClock), Opener::Admin).await?;
    let started = std::time::Instant::now();
    let done = auth.backup_into(to).await;
    auth.close().await;
    done.with_context(|| format!("copying {} to {}", db.display(), to.display()))?;
    let size = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    println!(
        "backed up {} to {} ({:.1} MB in {:.1} s), a consistent copy of one moment",
        db.display(),
        to.display(),
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    println!(
        "keep {} with it: without that key no authenticator secret or backup code in the copy can be used",
        config.secret_key_path().display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `twofold restore FILE`.
pub(super) async fn restore(
    location: &Location,
    from: &Path,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let config = Config::resolve(location, &Overrides::default())?;
    let Some(db) = crate::store::sqlite_path(&config.database_url) else {
        eprintln!("twofold: the database is PostgreSQL; restore a pg_dump with pg_restore");
        return Ok(ExitCode::from(2));
    };
    anyhow::ensure!(from.is_file(), "there is no backup at {}", from.display());
    // Look at the copy before anything is touched: a SQLite database, whole, of Twofold's.
    let copy = Store::open_copy(from)
        .await
        .with_context(|| format!("{} is not a SQLite database", from.display()))?;
    let looked = inspect(&copy).await;
    copy.close().await;
    let (accounts, key_check) =
        looked.with_context(|| format!("{} is not a Twofold backup", from.display()))?;
    crate::server::ensure_data_dir(&config)?;
    // Held until the end: nothing opens the database while it is replaced, and anything
    // that has it open (a server, an admin command, a backup: they hold the lock shared)
    // makes this fail at once.
    let Some(_lock) =
        DbLock::exclusive(&db).with_context(|| format!("locking {}", db.display()))?
    else {
        eprintln!(
            "twofold: {} is in use (a Twofold server or command has it open); stop the server first (a restore under it would be lost or corrupt the database)",
            db.display()
        );
        return Ok(ExitCode::from(2));
    };
    if db.exists() && !force {
        eprintln!(
            "twofold: {} exists; pass --force to replace it with the backup (everything since the backup is lost)",
            db.display()
        );
        return Ok(ExitCode::from(2));
    }
    let key = key_state(&config, key_check.as_deref())?;
    let kept = replace(from, &db)?;
    println!(
        "restored {} ({accounts} account{}) into {}",
        from.display(),
        if accounts == 1 { "" } else { "s" },
        db.display()
    );
    if let Some(kept) = kept {
        println!(
            "the database it replaced is kept as {} (with its -wal, if it had one); delete it once the restore is right",
            kept.display()
        );
    }
    println!("{key}");
    Ok(ExitCode::SUCCESS)
}

/// SQLite's integrity check, then the account count and the key check value it holds.
async fn inspect(copy: &Store) -> anyhow::Result<(i64, Option<String>)> {
    if let Some(problem) = copy.integrity_problem().await? {
        anyhow::bail!("SQLite finds it damaged: {problem}");
    }
    let accounts = copy.accounts().count_accounts().await?;
    let key_check = copy.meta().value(crate::server::KEY_CHECK).await?;
    Ok((accounts, key_check))
}

/// Whether the data folder's `secret.key` is the backup's: what to tell the operator, or
/// an error when it is another database's key (the server could not start with it).
fn key_state(config: &Config, key_check: Option<&str>) -> anyhow::Result<String> {
    let path = config.secret_key_path();
    let Some(secret) = crate::crypto::read_secret(&path)? else {
        return Ok(format!(
            "now copy the secret.key that was backed up with this database to {} (mode 0600) before starting the server",
            path.display()
        ));
    };
    let check = crate::crypto::Keys::derive(secret.as_slice()).check_value();
    match key_check {
        Some(c) if c != check => anyhow::bail!(
            "{} is not the key of this backup; put the secret.key backed up with it there first (nothing was changed)",
            path.display()
        ),
        Some(_) => Ok(format!("{} is the key of this backup", path.display())),
        None => Ok(format!(
            "the backup holds no check value of its key, so {} could not be checked; the server checks it when it starts",
            path.display()
        )),
    }
}

/// Puts a copy of `from` at `db`: written beside it and flushed, then the old database and
/// its `-wal`/`-shm` are moved aside (`*.before-restore`, so SQLite cannot replay the old
/// journal into the new file and nothing is lost if this fails halfway), then the copy is
/// renamed into place. Returns where the old database went, if there was one.
fn replace(from: &Path, db: &Path) -> anyhow::Result<Option<PathBuf>> {
    let dir = db.parent().unwrap_or(Path::new("."));
    let staging = Staging(dir.join(".twofold-restore.db"));
    std::fs::copy(from, &staging.0)
        .with_context(|| format!("copying {} to {}", from.display(), staging.0.display()))?;
    std::fs::File::open(&staging.0)?.sync_all()?;
    let mut kept = None;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let side = with_suffix(db, suffix);
        let aside = with_suffix(db, &format!("{suffix}.before-restore"));
        match std::fs::rename(&side, &aside) {
            Ok(()) if suffix.is_empty() => kept = Some(aside),
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // No such file now: an older one set aside must not pass for its companion.
                let _ = std::fs::remove_file(&aside);
            }
            Err(e) => {
                return Err(e).with_context(|| format!("moving {} aside", side.display()));
            }
        }
    }
    std::fs::rename(&staging.0, db)
        .with_context(|| format!("moving the restored copy to {}", db.display()))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(kept)
}

fn with_suffix(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The copy being written; removed if the restore stops before it is moved into place.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
