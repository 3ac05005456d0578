//! One attempt at the second step, in one transaction: **hold** the account's counters,
//! **consume** the proof, then **finish** (a right code: the challenge, the session, the
//! event) or **refuse** (a wrong one: counted on the challenge and on the account).
//!
//! The hold comes first and queues every attempt on one account behind the one in flight, on
//! however many nodes: SQLite's `BEGIN IMMEDIATE` has taken the database's write lock, and on
//! PostgreSQL the account's row is read `FOR UPDATE`. A locked or capped account is refused
//! there, before any code is tested. So each wrong code is counted before it is answered, and
//! a right one costs no charge to refund (NIST SP 800-63B §5.2.2, RFC 4226 §7.3).

use sqlx::{Any, Transaction};

use super::backup_codes::{BackupUse, use_backup_code};
use super::recovery::finish_recovery;
use super::{Engine, NewEvent, NewSession, StoreResult};
use crate::domain::{EventKind, UnixTime};

/// The proof offered at the second step, already reduced to what the database compares.
#[derive(Clone, Copy, Debug)]
pub enum Proof<'a> {
    /// A texted code: the keyed hash of the typed code (bound to the challenge).
    Sms(&'a str),
    /// An authenticator code.
    Totp {
        /// The time step the typed code matched, if any.
        step: Option<i64>,
        /// The sealed secret it was checked against (a secret replaced meanwhile does not
        /// count).
        sealed: &'a str,
    },
    /// A backup code: the keyed hash of the typed code (bound to the account).
    Backup(&'a str),
    /// A passkey's assertion (issue 24): the flow it answered is taken (used once), and the
    /// passkey's signature counter raised to `counter` (`counter < $new`, or both 0 for an
    /// authenticator that keeps none), so a replayed assertion or a clone's is refused.
    Passkey {
        /// The flow's id (its token's SHA-256, or the challenge's id).
        flow: &'a str,
        /// The passkey that signed.
        passkey: &'a str,
        /// The counter it signed, when the signature verified; `None`: refused.
        counter: Option<i64>,
    },
}

/// How an attempt at the second step went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Logged in; with a backup code, how many codes are left.
    Done {
        /// Unused backup codes left, after a backup-code login.
        backup_remaining: Option<i64>,
        /// A notice of this login (a backup code used, a new device, a recovery) waits for
        /// delivery; one with nowhere to go was done as it was queued.
        notice_waiting: bool,
    },
    /// The proof was refused (and counted).
    Refused {
        /// Why.
        refusal: Refusal,
        /// The lock this failure set, if it set one.
        locked_until: Option<UnixTime>,
        /// Wrong codes the challenge still takes (0: this one ended it).
        tries_left: i64,
    },
    /// The account's second step is locked until then; nothing was tested.
    Locked(UnixTime),
    /// The account took the most wrong codes in a row it may: refused until the owner or
    /// the operator acts; nothing was tested.
    Capped,
    /// The challenge is finished, expired or out of attempts.
    Gone,
}

/// The limits of the second step, per challenge and per account (NIST SP 800-63B §5.2.2,
/// RFC 4226 §7.3).
#[derive(Clone, Copy, Debug)]
pub struct AttemptLimits {
    /// Wrong codes one challenge takes; then it is dead.
    pub per_challenge: i64,
    /// Wrong codes in a row at each multiple of which the account's second step locks.
    pub lock_every: i64,
    /// Wrong codes in a row after which it stays locked until a success or the operator.
    pub cap: i64,
    /// The first lock's length in seconds; each lock in a row doubles it, up to a day.
    pub lock_secs: i64,
}

impl AttemptLimits {
    /// How long the lock after `lockouts` earlier locks in a row lasts.
    pub fn lock_for(&self, lockouts: i64) -> i64 {
        (self.lock_secs << lockouts.clamp(0, 7)).min(24 * 3600)
    }
}

/// Why a proof was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not the right code (or an authenticator step used before, or an expired SMS code).
    Wrong,
    /// A backup code of the current batch that was used before.
    AlreadyUsed,
}

/// One attempt at the second step, everything the transaction needs.
#[derive(Clone, Copy, Debug)]
pub struct SecondStepAttempt<'a> {
    /// The challenge's id (the keyed hash of its token); `None` for a passkey login without
    /// a password, which has no challenge (its wrong assertions count on the account only).
    pub challenge_id: Option<&'a str>,
    /// The code, reduced to what the database compares.
    pub proof: Proof<'a>,
    /// The limits that hold.
    pub limits: AttemptLimits,
    /// The session a right code creates (its `now` is the attempt's).
    pub session: &'a NewSession<'a>,
    /// The event a right code records.
    pub success: &'a NewEvent<'a>,
    /// The event a wrong code records.
    pub failure: &'a NewEvent<'a>,
    /// The recovery a right code finishes (its held password is set), if any.
    pub recovery: Option<&'a str>,
}

impl super::SecondStep<'_> {
    /// One attempt at the second step (see the module's comment): `hold → consume → finish |
    /// refuse`, each a step of `SecondStepTx`.
    ///
    /// # Errors
    /// On a database failure (then nothing happened).
    pub async fn attempt_second_factor(&self, a: &SecondStepAttempt<'_>) -> StoreResult<Attempt> {
        let mut step = match self.hold_second_step(a).await? {
            Ok(step) => step,
            Err(refused) => return Ok(refused),
        };
        match step.consume(a).await? {
            Ok(backup_remaining) => step.finish(a, backup_remaining).await,
            Err(refusal) => step.refuse(a, refusal).await,
        }
    }

    /// **Hold**: reads the account's second-step counters under the write lock and refuses a
    /// locked or capped account before any code is tested.
    async fn hold_second_step(
        &self,
        a: &SecondStepAttempt<'_>,
    ) -> StoreResult<Result<SecondStepTx, Attempt>> {
        let (now, account, limits) = (a.session.now, a.session.account_id, a.limits);
        let mut tx = self.write_tx().await?;
        let held: Option<(i64, i64, Option<i64>)> = sqlx::query_as(match self.engine {
            Engine::Sqlite => {
                "SELECT sf_failures, sf_lockouts, sf_locked_until FROM accounts WHERE id = $1"
            }
            Engine::Postgres => {
                "SELECT sf_failures, sf_lockouts, sf_locked_until FROM accounts WHERE id = $1 FOR UPDATE"
            }
        })
        .bind(account.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let refused = match held {
            None => Some(Attempt::Gone),
            Some((_, _, Some(until))) if until > now.0 => Some(Attempt::Locked(UnixTime(until))),
            // NIST SP 800-63B §5.2.2: never more than `cap` wrong codes in a row; a lock does
            // not reset the count, only a success (or the operator) does.
            Some((failures, _, _)) if failures >= limits.cap => Some(Attempt::Capped),
            Some(_) => None,
        };
        match (held, refused) {
            (Some((failures, lockouts, locked_until)), None) => Ok(Ok(SecondStepTx {
                tx,
                failures,
                lockouts,
                lock_set: locked_until.is_some(),
            })),
            (_, refused) => {
                tx.rollback().await?;
                Ok(Err(refused.unwrap_or(Attempt::Gone)))
            }
        }
    }
}

/// An attempt at the second step between its hold and its end: the transaction holds the
/// write lock (SQLite) or the account's row (PostgreSQL). Dropped without an end, it rolls
/// back (nothing happened).
pub struct SecondStepTx {
    tx: Transaction<'static, Any>,
    /// The account's wrong codes in a row before this attempt.
    failures: i64,
    /// The account's locks in a row so far.
    lockouts: i64,
    /// A lock (expired by now) is still recorded on the account.
    lock_set: bool,
}

/// The conditions under which a challenge still takes a code: unfinished, unexpired, and
/// short of its wrong codes (`$1` its id, `$2` the account, `$3` now, `$4` the limit).
macro_rules! challenge_alive {
    () => {
        "id = $1 AND account_id = $2 AND finished_at IS NULL AND expires_at > $3 AND failures < $4"
    };
}

impl SecondStepTx {
    /// **Consume**: uses up the proof by a conditional statement that must touch one row —
    /// the SMS code (compared by the database against its keyed hash, while unexpired), the
    /// authenticator step (`last_step < $step`, under the secret it was checked against), or
    /// the backup code (`used_at IS NULL`). Right: the backup codes left, for a backup code.
    async fn consume(
        &mut self,
        a: &SecondStepAttempt<'_>,
    ) -> StoreResult<Result<Option<i64>, Refusal>> {
        let wrong = |ok: bool| if ok { Ok(None) } else { Err(Refusal::Wrong) };
        let (now, account) = (a.session.now, a.session.account_id);
        let tx = &mut self.tx;
        Ok(match a.proof {
            Proof::Sms(mac) => wrong(
                sqlx::query(
                    "UPDATE challenges SET sms_code_mac = NULL WHERE id = $1 AND sms_code_mac = $2 AND sms_expires_at > $3",
                )
                .bind(a.challenge_id.unwrap_or_default())
                .bind(mac)
                .bind(now.0)
                .execute(&mut **tx)
                .await?
                .rows_affected()
                    == 1,
            ),
            Proof::Totp { step: Some(step), sealed } => wrong(
                sqlx::query(
                    "UPDATE totp_factors SET last_step = $1 WHERE account_id = $2 AND last_step < $1 AND secret_sealed = $3",
                )
                .bind(step)
                .bind(account.as_str())
                .bind(sealed)
                .execute(&mut **tx)
                .await?
                .rows_affected()
                    == 1,
            ),
            Proof::Totp { step: None, .. } => Err(Refusal::Wrong),
            Proof::Backup(mac) => match use_backup_code(tx, account, mac, now).await? {
                BackupUse::Used { remaining } => Ok(Some(remaining)),
                BackupUse::AlreadyUsed => Err(Refusal::AlreadyUsed),
                BackupUse::Unknown => Err(Refusal::Wrong),
            },
            Proof::Passkey {
                flow,
                passkey,
                counter,
            } => wrong(use_assertion(tx, flow, passkey, counter, a).await?),
        })
    }

    /// **Finish** (a right code): the challenge is finished — only while it still takes a
    /// code, else all rolls back — the account's count of wrong codes is reset, and the
    /// session and the event are inserted, all committed together.
    async fn finish(
        mut self,
        a: &SecondStepAttempt<'_>,
        backup_remaining: Option<i64>,
    ) -> StoreResult<Attempt> {
        let (now, account, limits) = (a.session.now, a.session.account_id, a.limits);
        if let Some(challenge) = a.challenge_id {
            let finished = sqlx::query(concat!(
                "UPDATE challenges SET finished_at = $3, sms_code_mac = NULL WHERE ",
                challenge_alive!()
            ))
            .bind(challenge)
            .bind(account.as_str())
            .bind(now.0)
            .bind(limits.per_challenge)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
            if finished != 1 {
                self.tx.rollback().await?;
                return Ok(Attempt::Gone);
            }
        }
        // OWASP ASVS 4.0.3 V2.2.1: a success ends the run of wrong codes (nothing to write
        // when there was none).
        if self.failures != 0 || self.lockouts != 0 || self.lock_set {
            sqlx::query("UPDATE accounts SET sf_failures = 0, sf_lockouts = 0, sf_locked_until = NULL WHERE id = $1")
                .bind(account.as_str())
                .execute(&mut *self.tx)
                .await?;
        }
        if let Some(recovery) = a.recovery
            && !finish_recovery(&mut self.tx, recovery, account, now).await?
        {
            // The recovery was used, expired or outlived its password meanwhile.
            self.tx.rollback().await?;
            return Ok(Attempt::Gone);
        }
        let device_notice = a.session.insert(&mut self.tx).await?;
        let (_, login_notice) = a.success.record(&mut self.tx).await?;
        self.tx.commit().await?;
        Ok(Attempt::Done {
            backup_remaining,
            notice_waiting: device_notice || login_notice || a.recovery.is_some(),
        })
    }

    /// **Refuse** (a wrong code): counted on the challenge — unless it no longer takes a
    /// code, then all rolls back — and on the account, with the failure recorded; at every
    /// multiple of `limits.lock_every` in a row the account's second step locks for
    /// `limits.lock_for(lockouts)` (OWASP ASVS 4.0.3 V2.2.1).
    async fn refuse(mut self, a: &SecondStepAttempt<'_>, refusal: Refusal) -> StoreResult<Attempt> {
        let (now, account, limits) = (a.session.now, a.session.account_id, a.limits);
        let challenge_failures: Option<i64> = match a.challenge_id {
            Some(challenge) => {
                sqlx::query_scalar(concat!(
                    "UPDATE challenges SET failures = failures + 1 WHERE ",
                    challenge_alive!(),
                    " RETURNING failures"
                ))
                .bind(challenge)
                .bind(account.as_str())
                .bind(now.0)
                .bind(limits.per_challenge)
                .fetch_optional(&mut *self.tx)
                .await?
            }
            // No challenge (a passkey login without a password): the account counts it.
            None => Some(0),
        };
        let Some(challenge_failures) = challenge_failures else {
            self.tx.rollback().await?;
            return Ok(Attempt::Gone);
        };
        let failures = self.failures + 1;
        let locked_until = (limits.lock_every > 0 && failures % limits.lock_every == 0)
            .then(|| now.plus(limits.lock_for(self.lockouts)));
        match locked_until {
            Some(until) => sqlx::query(
                "UPDATE accounts SET sf_failures = sf_failures + 1, sf_locked_until = $1, sf_lockouts = sf_lockouts + 1 WHERE id = $2",
            )
            .bind(until.0),
            None => sqlx::query("UPDATE accounts SET sf_failures = sf_failures + 1 WHERE id = $1"),
        }
        .bind(account.as_str())
        .execute(&mut *self.tx)
        .await?;
        a.failure.insert(&mut self.tx).await?;
        if locked_until.is_some() {
            NewEvent {
                kind: EventKind::SecondFactorLocked,
                ..*a.failure
            }
            .insert(&mut self.tx)
            .await?;
        }
        self.tx.commit().await?;
        Ok(Attempt::Refused {
            refusal,
            locked_until,
            tries_left: (limits.per_challenge - challenge_failures).max(0),
        })
    }
}

/// Uses up a passkey's assertion in the second step's transaction: the flow it answered is
/// taken, whatever the answer (a refused assertion's flow is gone too), and a verified one
/// raises the passkey's counter — `counter < $new`, or both 0 for an authenticator that
/// keeps no counter (WebAuthn Level 3 §7.2 step 21). `false`: refused.
async fn use_assertion(
    tx: &mut Transaction<'static, Any>,
    flow: &str,
    passkey: &str,
    counter: Option<i64>,
    a: &SecondStepAttempt<'_>,
) -> StoreResult<bool> {
    let (now, account) = (a.session.now, a.session.account_id);
    let taken = sqlx::query("DELETE FROM webauthn_flows WHERE id = $1 AND expires_at > $2")
        .bind(flow)
        .bind(now.0)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    let Some(counter) = counter.filter(|_| taken == 1) else {
        return Ok(false);
    };
    Ok(sqlx::query(
        "UPDATE passkeys SET counter = $1, last_used_at = $2 WHERE id = $3 AND account_id = $4 \
         AND (counter < $1 OR (counter = 0 AND $1 = 0))",
    )
    .bind(counter)
    .bind(now.0)
    .bind(passkey)
    .bind(account.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}
