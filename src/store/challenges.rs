//! Login challenges: the second step after a right password. A challenge finishes at most
//! once, in the same transaction that uses up the proof (SMS code, authenticator step or
//! backup code) and creates the session; failures are counted in the database, per
//! challenge and per account, so limits hold across nodes.

use sqlx::{Any, Transaction};

use super::backup_codes::{BackupUse, use_backup_code};
use super::recovery::finish_recovery;
use super::sessions::after_right_password;
use super::{NewEvent, NewSession, PasswordProof, Store, StoreError, StoreResult};
use crate::domain::{AccountId, ClientInfo, EventKind, SessionKind, UnixTime};

/// A challenge to create.
#[derive(Clone, Debug)]
pub struct NewChallenge<'a> {
    /// The keyed hash of the token the client holds.
    pub id: &'a str,
    /// Whose login.
    pub account_id: &'a AccountId,
    /// The session to create at the end.
    pub kind: SessionKind,
    /// Now.
    pub now: UnixTime,
    /// When it dies.
    pub expires_at: UnixTime,
    /// From where.
    pub client: &'a ClientInfo,
    /// The keyed hash of the SMS code sent with it, and when that code expires.
    pub sms: Option<(String, UnixTime)>,
}

/// A stored challenge.
#[derive(Clone, Debug)]
pub struct ChallengeRecord {
    /// Whose login.
    pub account_id: AccountId,
    /// The session to create.
    pub kind: SessionKind,
    /// When it dies.
    pub expires_at: UnixTime,
    /// Wrong codes so far.
    pub failures: i64,
    /// When it was finished (a session made), if it was.
    pub finished_at: Option<UnixTime>,
    /// Whether an SMS code is pending.
    pub sms_pending: bool,
    /// When the SMS code expires.
    pub sms_expires_at: Option<UnixTime>,
    /// When the last SMS was sent.
    pub sms_sent_at: Option<UnixTime>,
    /// How many SMS were sent.
    pub sms_sends: i64,
    /// The recovery this second step finishes ("Forgot password?"), if it is one.
    pub recovery_id: Option<String>,
    /// Text messages are refused as its second factor (the recovery came by text).
    pub sms_refused: bool,
}

impl ChallengeRecord {
    /// Whether codes may still be tried on it.
    pub fn is_alive(&self, now: UnixTime, max_failures: i64) -> bool {
        self.finished_at.is_none() && now < self.expires_at && self.failures < max_failures
    }
}

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
}

/// How an attempt at the second step went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Logged in; with a backup code, how many codes are left.
    Done {
        /// Unused backup codes left, after a backup-code login.
        backup_remaining: Option<i64>,
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
    /// The challenge's id (the keyed hash of its token).
    pub challenge_id: &'a str,
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

/// A `challenges` row as the database returns it.
#[derive(sqlx::FromRow)]
struct ChallengeRow {
    account_id: String,
    kind: String,
    expires_at: i64,
    failures: i64,
    finished_at: Option<i64>,
    sms_code_mac: Option<String>,
    sms_expires_at: Option<i64>,
    sms_sent_at: Option<i64>,
    sms_sends: i64,
    recovery_id: Option<String>,
    sms_refused: i64,
}

impl TryFrom<ChallengeRow> for ChallengeRecord {
    type Error = StoreError;

    fn try_from(r: ChallengeRow) -> StoreResult<Self> {
        Ok(Self {
            account_id: AccountId::from_stored(r.account_id),
            kind: SessionKind::parse(&r.kind)
                .map_err(|_| StoreError::Corrupt("challenges.kind"))?,
            expires_at: UnixTime(r.expires_at),
            failures: r.failures,
            finished_at: r.finished_at.map(UnixTime),
            sms_pending: r.sms_code_mac.is_some(),
            sms_expires_at: r.sms_expires_at.map(UnixTime),
            sms_sent_at: r.sms_sent_at.map(UnixTime),
            sms_sends: r.sms_sends,
            recovery_id: r.recovery_id,
            sms_refused: r.sms_refused != 0,
        })
    }
}

/// A fresh SMS code for a challenge ("Resend code").
#[derive(Clone, Copy, Debug)]
pub struct ChallengeSms<'a> {
    /// The challenge's id.
    pub id: &'a str,
    /// The keyed hash of the new code.
    pub code_mac: &'a str,
    /// Now.
    pub now: UnixTime,
    /// When the new code stops working.
    pub expires_at: UnixTime,
    /// Seconds that must pass between two codes.
    pub cooldown: i64,
    /// Codes one challenge may send.
    pub max_sends: i64,
    /// Wrong codes after which the challenge is dead (a dead one sends nothing).
    pub max_failures: i64,
}

impl Store {
    /// Creates a challenge after a right password — only while `proof` holds (the password
    /// is unchanged and no pause began meanwhile, checked by the insert itself) — clearing
    /// the throttle and storing a re-made hash in the same transaction. Returns `false`,
    /// changing nothing, when the proof no longer holds.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn create_challenge(
        &self,
        c: &NewChallenge<'_>,
        proof: &PasswordProof<'_>,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        if !self
            .hold_credential(&mut tx, c.account_id, proof.credential_version)
            .await?
        {
            tx.rollback().await?;
            return Ok(false);
        }
        // Old challenges of this account are dead weight; drop those that ended over an hour
        // ago while we are here.
        sqlx::query("DELETE FROM challenges WHERE account_id = $1 AND expires_at <= $2")
            .bind(c.account_id.as_str())
            .bind(c.now.0 - 3600)
            .execute(&mut *tx)
            .await?;
        let [k1, k2, k3] = proof.throttle.guard_keys();
        let inserted = sqlx::query(
            "INSERT INTO challenges (id, account_id, kind, created_at, expires_at, sms_code_mac, sms_expires_at, sms_sent_at, sms_sends, ip, user_agent) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
             WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $2 AND credential_version = $12) \
             AND NOT EXISTS (SELECT 1 FROM login_throttle WHERE (key IN ($13, $14, $15) AND locked_until > $4) \
             OR (key = $13 AND failures >= $16))",
        )
        .bind(c.id)
        .bind(c.account_id.as_str())
        .bind(c.kind.as_str())
        .bind(c.now.0)
        .bind(c.expires_at.0)
        .bind(c.sms.as_ref().map(|(mac, _)| mac.as_str()))
        .bind(c.sms.as_ref().map(|(_, exp)| exp.0))
        .bind(c.sms.as_ref().map(|_| c.now.0))
        .bind(i64::from(c.sms.is_some()))
        .bind(c.client.ip.as_deref())
        .bind(c.client.user_agent.as_deref())
        .bind(proof.credential_version)
        .bind(k1)
        .bind(k2)
        .bind(k3)
        .bind(proof.throttle.cap)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        after_right_password(&mut tx, c.account_id, proof).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Creates the second step of a recovery (no password was typed: the recovery's link or
    /// code stands for it), replacing the recovery's earlier second steps — the account's
    /// own count of wrong codes carries over, so starting again buys no guesses.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn create_recovery_challenge(
        &self,
        c: &NewChallenge<'_>,
        recovery_id: &str,
        sms_refused: bool,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM challenges WHERE recovery_id = $1")
            .bind(recovery_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO challenges (id, account_id, kind, created_at, expires_at, sms_code_mac, sms_expires_at, sms_sent_at, sms_sends, ip, user_agent, recovery_id, sms_refused) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(c.id)
        .bind(c.account_id.as_str())
        .bind(c.kind.as_str())
        .bind(c.now.0)
        .bind(c.expires_at.0)
        .bind(c.sms.as_ref().map(|(mac, _)| mac.as_str()))
        .bind(c.sms.as_ref().map(|(_, exp)| exp.0))
        .bind(c.sms.as_ref().map(|_| c.now.0))
        .bind(i64::from(c.sms.is_some()))
        .bind(c.client.ip.as_deref())
        .bind(c.client.user_agent.as_deref())
        .bind(recovery_id)
        .bind(i64::from(sms_refused))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The id of the recovery's live second step, if one was started.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn recovery_challenge_id(
        &self,
        recovery_id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM challenges WHERE recovery_id = $1 AND finished_at IS NULL AND expires_at > $2",
        )
        .bind(recovery_id)
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Deletes login challenges that ended more than an hour ago and SMS enrolments whose
    /// code expired (housekeeping; lookups check both anyway). Returns how many went.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn purge_challenges(&self, now: UnixTime) -> StoreResult<u64> {
        let a = sqlx::query("DELETE FROM challenges WHERE expires_at <= $1")
            .bind(now.0 - 3600)
            .execute(&self.pool)
            .await?
            .rows_affected();
        let b =
            sqlx::query("DELETE FROM sms_pending WHERE expires_at <= $1 AND window_start <= $2")
                .bind(now.0 - 3600)
                .bind(now.0 - 86_400)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(a + b)
    }

    /// The challenge with this id, if it exists.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn challenge(&self, id: &str) -> StoreResult<Option<ChallengeRecord>> {
        sqlx::query_as::<_, ChallengeRow>(
            "SELECT account_id, kind, expires_at, failures, finished_at, sms_code_mac, sms_expires_at, sms_sent_at, sms_sends, recovery_id, sms_refused \
             FROM challenges WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(ChallengeRecord::try_from)
        .transpose()
    }

    /// Replaces the challenge's SMS code ("Resend code"), unless the last one went out less
    /// than `c.cooldown` seconds ago or `c.max_sends` went out already. Returns whether it
    /// did.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn set_challenge_sms(&self, c: &ChallengeSms<'_>) -> StoreResult<bool> {
        let changed = sqlx::query(
            "UPDATE challenges SET sms_code_mac = $1, sms_expires_at = $2, sms_sent_at = $3, sms_sends = sms_sends + 1 \
             WHERE id = $4 AND finished_at IS NULL AND expires_at > $3 AND failures < $7 AND sms_sends < $5 \
             AND (sms_sent_at IS NULL OR sms_sent_at <= $6)",
        )
        .bind(c.code_mac)
        .bind(c.expires_at.0)
        .bind(c.now.0)
        .bind(c.id)
        .bind(c.max_sends)
        .bind(c.now.0 - c.cooldown)
        .bind(c.max_failures)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    /// One attempt at the second step, in one transaction that first **charges** the
    /// attempt and only then tests the proof — `charge → consume → finish | refuse`, each a
    /// step of [`SecondStepTx`]. However many guesses run in parallel, on however many
    /// nodes, each is counted before it is answered (NIST SP 800-63B §5.2.2, RFC 4226 §7.3).
    ///
    /// # Errors
    /// On a database failure (then nothing happened).
    pub async fn attempt_second_factor(&self, a: &SecondStepAttempt<'_>) -> StoreResult<Attempt> {
        let mut step = match self.charge_second_step(a).await? {
            Ok(step) => step,
            Err(refused) => return Ok(refused),
        };
        match step.consume(a).await? {
            Ok(backup_remaining) => step.finish(a, backup_remaining).await,
            Err(refusal) => step.refuse(a, refusal).await,
        }
    }

    /// **Charge**: counts the attempt against the account (a locked or capped account is
    /// refused before any code is tested, and the row lock makes concurrent attempts on one
    /// account queue) and against the challenge (a dead one is refused).
    async fn charge_second_step(
        &self,
        a: &SecondStepAttempt<'_>,
    ) -> StoreResult<Result<SecondStepTx, Attempt>> {
        let (now, account, limits) = (a.session.now, a.session.account_id, a.limits);
        let mut tx = self.write_tx().await?;
        // NIST SP 800-63B §5.2.2: never more than `cap` wrong codes in a row; the count is not
        // reset by a lock, only by a success (or the operator).
        let charged: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE accounts SET sf_failures = sf_failures + 1 \
             WHERE id = $1 AND (sf_locked_until IS NULL OR sf_locked_until <= $2) AND sf_failures < $3 \
             RETURNING sf_failures, sf_lockouts",
        )
        .bind(account.as_str())
        .bind(now.0)
        .bind(limits.cap)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((failures, lockouts)) = charged else {
            let row: Option<(Option<i64>, i64)> =
                sqlx::query_as("SELECT sf_locked_until, sf_failures FROM accounts WHERE id = $1")
                    .bind(account.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            tx.rollback().await?;
            let (until, failures) = row.unwrap_or((None, 0));
            if failures >= limits.cap && until.is_none_or(|u| u <= now.0) {
                return Ok(Err(Attempt::Capped));
            }
            return Ok(Err(Attempt::Locked(UnixTime(until.unwrap_or(now.0 + 1)))));
        };
        let challenge_failures: Option<i64> = sqlx::query_scalar(
            "UPDATE challenges SET failures = failures + 1 \
             WHERE id = $1 AND account_id = $2 AND finished_at IS NULL AND expires_at > $3 AND failures < $4 \
             RETURNING failures",
        )
        .bind(a.challenge_id)
        .bind(account.as_str())
        .bind(now.0)
        .bind(limits.per_challenge)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(challenge_failures) = challenge_failures else {
            tx.rollback().await?;
            return Ok(Err(Attempt::Gone));
        };
        Ok(Ok(SecondStepTx {
            tx,
            failures,
            lockouts,
            challenge_failures,
        }))
    }

    /// Forgets an SMS code that could not be sent, so that "Resend code" is not held back by a
    /// message that never left.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn unsend_challenge_sms(&self, id: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE challenges SET sms_code_mac = NULL, sms_expires_at = NULL, sms_sent_at = NULL, \
             sms_sends = CASE WHEN sms_sends > 0 THEN sms_sends - 1 ELSE 0 END WHERE id = $1",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// An attempt at the second step between its charge and its end: the transaction holds the
/// account's row, and both charges stand until [`SecondStepTx::finish`] refunds them.
/// Dropped without an end, it rolls back (nothing happened).
pub struct SecondStepTx {
    tx: Transaction<'static, Any>,
    /// The account's wrong codes in a row, this attempt included.
    failures: i64,
    /// The account's locks in a row so far.
    lockouts: i64,
    /// The challenge's wrong codes, this attempt included.
    challenge_failures: i64,
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
                .bind(a.challenge_id)
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
        })
    }

    /// **Finish** (a right code): the challenge is finished, both charges are refunded, the
    /// session and the event are inserted, all committed together.
    async fn finish(
        mut self,
        a: &SecondStepAttempt<'_>,
        backup_remaining: Option<i64>,
    ) -> StoreResult<Attempt> {
        let (now, account) = (a.session.now, a.session.account_id);
        sqlx::query("UPDATE challenges SET finished_at = $1, failures = failures - 1, sms_code_mac = NULL WHERE id = $2")
            .bind(now.0)
            .bind(a.challenge_id)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("UPDATE accounts SET sf_failures = 0, sf_lockouts = 0, sf_locked_until = NULL WHERE id = $1")
            .bind(account.as_str())
            .execute(&mut *self.tx)
            .await?;
        if let Some(recovery) = a.recovery
            && !finish_recovery(&mut self.tx, recovery, account, now).await?
        {
            // The recovery was used, expired or outlived its password meanwhile.
            self.tx.rollback().await?;
            return Ok(Attempt::Gone);
        }
        a.session.insert(&mut self.tx).await?;
        a.success.insert(&mut self.tx).await?;
        self.tx.commit().await?;
        Ok(Attempt::Done { backup_remaining })
    }

    /// **Refuse** (a wrong code): the charges stay, the failure is recorded and, at every
    /// multiple of `limits.lock_every` in a row, the account's second step locks for
    /// `limits.lock_for(lockouts)` (OWASP ASVS 4.0.3 V2.2.1).
    async fn refuse(mut self, a: &SecondStepAttempt<'_>, refusal: Refusal) -> StoreResult<Attempt> {
        let (now, account, limits) = (a.session.now, a.session.account_id, a.limits);
        a.failure.insert(&mut self.tx).await?;
        let mut locked_until = None;
        if limits.lock_every > 0 && self.failures % limits.lock_every == 0 {
            let until = now.plus(limits.lock_for(self.lockouts));
            sqlx::query("UPDATE accounts SET sf_locked_until = $1, sf_lockouts = sf_lockouts + 1 WHERE id = $2")
                .bind(until.0)
                .bind(account.as_str())
                .execute(&mut *self.tx)
                .await?;
            NewEvent {
                kind: EventKind::SecondFactorLocked,
                ..*a.failure
            }
            .insert(&mut self.tx)
            .await?;
            locked_until = Some(until);
        }
        self.tx.commit().await?;
        Ok(Attempt::Refused {
            refusal,
            locked_until,
            tries_left: (limits.per_challenge - self.challenge_failures).max(0),
        })
    }
}
