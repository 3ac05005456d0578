//! The store: the only place that writes SQL, for SQLite and PostgreSQL alike.
//!
//! One set of statements serves both engines through sqlx's `Any` driver: every column is
//! an integer (Unix seconds, counters) or text (ids, hashes), which both engines decode the
//! same way, and `$1`-style parameters work in both. Each engine has its own migrations
//! (`migrations/sqlite`, `migrations/postgres`). The one behaviour that differs, how a write
//! transaction starts, stays inside this module.
//!
//! Must not: know about HTTP, hash passwords or decide policy; callers pass `now`.

mod accounts;
mod backup;
mod backup_codes;
mod challenges;
mod checkpoint;
mod console;
mod email;
mod events;
mod groups;
mod invitations;
mod lifecycle;
mod limits;
mod lock;
mod meta;
mod notices;
mod oidc;
mod oidc_devices;
mod oidc_grants;
mod oidc_logouts;
mod passkeys;
mod recovery;
mod second_step;
mod seed;
mod sessions;
mod two_factor;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Executor, Transaction};

pub use accounts::AccountRecord;
pub use backup_codes::{BackupUse, BatchRecord, CodeRecord, NewBatch};
pub use challenges::{ChallengeRecord, ChallengeSms, ChallengeState, NewChallenge};
pub use checkpoint::Checkpoint;
pub use console::{AdminChange, NewAudit, PersonQuery, PersonRecord};
pub use email::{EmailConfirm, NewEmailCode};
pub use events::{EventRecord, NewEvent};
pub use invitations::{InvitedAccount, InvitedOutcome, NewInvitation};
pub use lifecycle::{Ended, Ending};
pub use limits::{Bucket, Failure, Spend, Throttle, ThrottleState};
pub use lock::{DbLock, sqlite_path};
pub use notices::{NoticeOutcome, NoticeRecord};
pub use oidc::{ClientRecord, ConsentRecord, SigningKeyRecord};
pub use oidc_devices::{DevicePoll, DeviceRequestRecord, NewDeviceRequest};
pub use oidc_grants::{
    GrantRecord, GrantTx, NewGrant, NewToken, Redeemed, Redemption, SessionClock, TokenRecord,
};
pub use oidc_logouts::LogoutRecord;
pub use passkeys::{FlowKind, FlowRecord, NewFlow, NewPasskey, PasskeyAdded, PasskeyRecord};
pub use recovery::{ChargedCode, NewRecovery, RecoveryChannel, RecoveryRecord};
pub use second_step::{Attempt, AttemptLimits, Proof, Refusal, SecondStepAttempt};
pub use seed::SeedAccount;
pub use sessions::{NewSession, PasswordProof, SessionRecord};
pub use two_factor::{
    ConfirmSms, NewSmsCode, Removal, SmsConfirm, SmsPending, TotpRecord, TwoFactorRecord,
};

/// Errors from the store. Their text may name tables or constraints but never values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (a username already taken, say).
    #[error("a unique constraint refused the write")]
    Conflict,
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (a corrupt row).
    #[error("unexpected stored value in {0}")]
    Corrupt(&'static str),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Which engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Embedded SQLite (one node).
    Sqlite,
    /// PostgreSQL (one or many nodes).
    Postgres,
}

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
    /// A SQLite file's lock, held shared while this store lives (`lock.rs`).
    _lock: Option<DbLock>,
}

impl Store {
    /// Connects to `url` (`sqlite:…` or `postgres://…`) and brings the schema up to date.
    ///
    /// # Errors
    /// When the URL is not SQLite or PostgreSQL, the database cannot be reached, or a
    /// migration fails.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        install_default_drivers();
        let engine = if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Engine::Postgres
        } else {
            return Err(StoreError::Database(sqlx::Error::Configuration(
                "the database URL must start with sqlite: or postgres://".into(),
            )));
        };
        // Shared with every other process that has the file open; a restore waits for
        // all of them, and they wait for a restore.
        let lock = match lock::sqlite_path(url) {
            Some(db) if db.exists() || url.contains("mode=rwc") => Some(
                tokio::task::spawn_blocking(move || DbLock::shared(&db))
                    .await
                    .map_err(|e| StoreError::Database(sqlx::Error::Io(std::io::Error::other(e))))?
                    .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?,
            ),
            _ => None,
        };
        let options = sqlx::any::AnyConnectOptions::from_str(url)?;
        let mut pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10));
        if engine == Engine::Sqlite {
            pool = pool.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers run beside the writer; synchronous=FULL means a
                    // committed write is on disk before we answer that it is saved.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    // The server checkpoints from a task of its own (checkpoint.rs).
                    conn.execute(checkpoint::AUTO_CHECKPOINT).await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect_with(options).await?;
        let store = Self {
            pool,
            engine,
            _lock: lock,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        match self.engine {
            Engine::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.pool).await?,
            Engine::Postgres => {
                sqlx::migrate!("migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// Which engine this store talks to.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Answers when the database does (`/healthz`).
    ///
    /// # Errors
    /// When the database does not answer.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The pool now: connections open, of which idle, and the most it opens.
    pub fn pool_usage(&self) -> (u32, usize, u32) {
        (
            self.pool.size(),
            self.pool.num_idle(),
            self.pool.options().get_max_connections(),
        )
    }

    /// Closes every connection (at shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction that holds the account's row lock from its first statement,
    /// so that every change to one account's second factor is serialized on every engine
    /// (PostgreSQL's row lock; SQLite's `BEGIN IMMEDIATE` already serializes writers).
    async fn account_tx(
        &self,
        account: &crate::domain::AccountId,
    ) -> StoreResult<Transaction<'static, Any>> {
        let mut tx = self.write_tx().await?;
        self.lock_account(&mut tx, account).await?;
        Ok(tx)
    }

    /// Takes the account's row lock for the rest of the transaction — PostgreSQL
    /// `SELECT … FOR UPDATE`; on SQLite the transaction's `BEGIN IMMEDIATE` already holds the
    /// database's write lock — and reads whether two-factor authentication is on. `None`
    /// when there is no such account.
    async fn lock_account(
        &self,
        tx: &mut Transaction<'static, Any>,
        account: &crate::domain::AccountId,
    ) -> StoreResult<Option<Option<crate::domain::UnixTime>>> {
        let sql = match self.engine {
            Engine::Sqlite => "SELECT two_factor_since FROM accounts WHERE id = $1",
            Engine::Postgres => "SELECT two_factor_since FROM accounts WHERE id = $1 FOR UPDATE",
        };
        let since: Option<Option<i64>> = sqlx::query_scalar(sql)
            .bind(account.as_str())
            .fetch_optional(&mut **tx)
            .await?;
        Ok(since.map(|s| s.map(crate::domain::UnixTime)))
    }

    /// Starts a transaction that will write. SQLite takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of one failing
    /// when it upgrades from reading; PostgreSQL's row locks need nothing special.
    async fn write_tx(&self) -> StoreResult<Transaction<'static, Any>> {
        Ok(match self.engine {
            Engine::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Engine::Postgres => self.pool.begin().await?,
        })
    }
}

/// Declares the per-feature repositories: each is a borrowed view of the [`Store`] that
/// holds one feature's statements, reached as `store.<feature>()`, so that a call names
/// the table family it touches. Each derefs to the core (pool, engine, transactions).
macro_rules! repositories {
    ($($(#[doc = $doc:literal])+ $accessor:ident: $name:ident;)+) => {
        $(
            $(#[doc = $doc])+
            #[derive(Clone, Copy, Debug)]
            pub struct $name<'s>(&'s Store);

            impl std::ops::Deref for $name<'_> {
                type Target = Store;
                fn deref(&self) -> &Store {
                    self.0
                }
            }
        )+

        impl Store {
            $(
                $(#[doc = $doc])+
                pub fn $accessor(&self) -> $name<'_> {
                    $name(self)
                }
            )+
        }
    };
}

repositories! {
    /// Accounts: creation, look-up, password hashes, disabling, the bulk seed.
    accounts: Accounts;
    /// Backup-code batches: regeneration and the batch on record.
    backup_codes: BackupCodes;
    /// Login and recovery challenges of the second step.
    challenges: Challenges;
    /// The operator console: admins, finding people, deleting accounts, the audit trail.
    console: Console;
    /// Groups and their members.
    groups: Groups;
    /// Invitations and the sign-ups that use them.
    invitations: Invitations;
    /// Email addresses and their confirmation codes.
    email: Emails;
    /// Security events (login activity).
    events: Events;
    /// Counters and throttles: the buckets of every limit, wrong-password pauses.
    limits: Limits;
    /// Server meta values and the devices an account has logged in from.
    meta: Meta;
    /// The durable queue of security notices.
    notices: Notices;
    /// OpenID Connect clients, consents and signing keys.
    oidc: OidcRecords;
    /// OpenID Connect grants: codes, tokens, refresh and `prompt=login` requests.
    grants: Grants;
    /// The back-channel logouts still to send to apps.
    logouts: Logouts;
    /// The device authorization grant's requests.
    devices: Devices;
    /// Passkeys and security keys, and the WebAuthn flows in progress.
    passkeys: Passkeys;
    /// Account recoveries: links, codes and the password chosen.
    recovery: Recoveries;
    /// A second-step attempt, counted and used once in one transaction.
    second_step: SecondStep;
    /// Sessions: login, touch, recent authentication, password change, ends.
    sessions: Sessions;
    /// Two-factor methods: the authenticator app, the phone, turning 2FA off.
    two_factor: TwoFactor;
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`].
fn conflict_or(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Database(e),
    }
}
