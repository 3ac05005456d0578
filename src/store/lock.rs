//! The SQLite database's lock file (`twofold.db.lock` beside `twofold.db`): every process
//! that opens the database — servers, admin commands, backups — holds it shared for as
//! long as its [`Store`](super::Store) lives; `twofold restore` needs it alone, so a
//! database is never replaced under anyone who has it open. An advisory `flock`: the
//! kernel lets go when the process ends, even by `kill -9`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A held lock; let go when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct DbLock {
    _file: Arc<std::fs::File>,
}

/// The SQLite file a `sqlite:` URL names; `None` for PostgreSQL or an in-memory database.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

impl DbLock {
    /// Takes the lock of the database at `db` shared, waiting while a restore holds it.
    ///
    /// # Errors
    /// When the lock file cannot be opened or locked.
    pub fn shared(db: &Path) -> std::io::Result<Self> {
        let file = open(db)?;
        flock(&file, libc::LOCK_SH)?;
        Ok(Self {
            _file: Arc::new(file),
        })
    }

    /// Takes the lock alone, or `None` at once when anyone holds it.
    ///
    /// # Errors
    /// When the lock file cannot be opened or locked for another reason.
    pub fn exclusive(db: &Path) -> std::io::Result<Option<Self>> {
        let file = open(db)?;
        match flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(()) => Ok(Some(Self {
                _file: Arc::new(file),
            })),
            Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn open(db: &Path) -> std::io::Result<std::fs::File> {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(PathBuf::from(name))
}

fn flock(file: &std::fs::File, how: libc::c_int) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock takes a file descriptor this File owns and keeps open.
    if unsafe { libc::flock(file.as_raw_fd(), how) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
