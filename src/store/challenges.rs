//! Login challenges: the second step after a right password. A challenge finishes at most
//! once, in the same transaction that uses up the proof (SMS code, authenticator step or
//! backup code) and creates the session; failures are counted in the database, per
//! challenge and per account, so limits hold across nodes.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::backup_codes::{BackupUse, use_backup_code};
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
    /// The keyed hash of the typed SMS code.
    Sms(&'a str),
    /// The authenticator time step the typed code matched (if any), and the sealed secret
    /// it was checked against (a secret replaced meanwhile does not count).
    Totp(Option<i64>, &'a str),
    /// The keyed hash of the typed backup code.
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
    /// The proof was refused (and counted); `locked_until` when this failure locked the
    /// account's second step.
    Refused {
        /// Why.
        refusal: Refusal,
        /// The lock this failure set, if it set one.
        locked_until: Option<UnixTime>,
    },
    /// The account's second step is locked until then; nothing was tested.
    Locked(UnixTime),
    /// The account took the most wrong codes in a row it may: refused until the owner or
    /// the operator acts; nothing was tested.
    Capped,
    /// The challenge is finished, expired or out of attempts.
    Gone,
}

/// The account-wide limits of the second step.
#[derive(Clone, Copy, Debug)]
pub struct SecondStepLimits {
    /// Wrong codes in a row at each multiple of which the second step locks for a while.
    pub threshold: i64,
    /// Wrong codes in a row after which it stays locked until a success or the operator.
    pub cap: i64,
}

/// Why a proof was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not the right code (or an authenticator step used before, or an expired SMS code).
    Wrong,
    /// A backup code of the current batch that was used before.
    AlreadyUsed,
}

fn challenge_from_row(row: &AnyRow) -> StoreResult<ChallengeRecord> {
    Ok(ChallengeRecord {
        account_id: AccountId::from_stored(row.try_get::<String, _>("account_id")?),
        kind: SessionKind::parse(&row.try_get::<String, _>("kind")?)
            .map_err(|_| StoreError::Corrupt("challenges.kind"))?,
        expires_at: UnixTime(row.try_get("expires_at")?),
        failures: row.try_get("failures")?,
        finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(UnixTime),
        sms_pending: row.try_get::<Option<String>, _>("sms_code_mac")?.is_some(),
        sms_expires_at: row
            .try_get::<Option<i64>, _>("sms_expires_at")?
            .map(UnixTime),
        sms_sent_at: row.try_get::<Option<i64>, _>("sms_sent_at")?.map(UnixTime),
        sms_sends: row.try_get("sms_sends")?,
    })
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
        sqlx::query(
            "SELECT account_id, kind, expires_at, failures, finished_at, sms_code_mac, sms_expires_at, sms_sent_at, sms_sends \
             FROM challenges WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(challenge_from_row)
        .transpose()
    }

    /// Replaces the challenge's SMS code ("Resend code"), unless the last one went out less
    /// than `cooldown` seconds ago or `max_sends` went out already. Returns whether it did.
    ///
    /// # Errors
    /// On a database failure.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_challenge_sms(
        &self,
        id: &str,
        code_mac: &str,
        now: UnixTime,
        expires_at: UnixTime,
        cooldown: i64,
        max_sends: i64,
        max_failures: i64,
    ) -> StoreResult<bool> {
        let changed = sqlx::query(
            "UPDATE challenges SET sms_code_mac = $1, sms_expires_at = $2, sms_sent_at = $3, sms_sends = sms_sends + 1 \
             WHERE id = $4 AND finished_at IS NULL AND expires_at > $3 AND failures < $7 AND sms_sends < $5 \
             AND (sms_sent_at IS NULL OR sms_sent_at <= $6)",
        )
        .bind(code_mac)
        .bind(expires_at.0)
        .bind(now.0)
        .bind(id)
        .bind(max_sends)
        .bind(now.0 - cooldown)
        .bind(max_failures)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    /// One attempt at the second step, in one transaction that first **charges** the
    /// attempt and only then tests the proof:
    ///
    /// 1. `UPDATE accounts SET sf_failures = sf_failures + 1 … WHERE … not locked RETURNING`
    ///    — a locked account is refused before any code is tested, and the row lock makes
    ///    concurrent attempts on one account queue (on every node);
    /// 2. `UPDATE challenges SET failures = failures + 1 … WHERE … alive RETURNING` — a dead
    ///    challenge is refused;
    /// 3. the proof is used up by a conditional `UPDATE` that must touch one row: the SMS code
    ///    (compared by the database against its keyed hash), the authenticator step
    ///    (`last_step < $s`), or the backup code (`used_at IS NULL`);
    /// 4. right: the challenge is finished, both charges are refunded, the session and the
    ///    event are inserted; wrong: the charges stay, the failure is recorded and, at
    ///    every multiple of `limits.threshold` in a row, the account's second step locks for
    ///    `lock_for(lockouts)`, and at `limits.cap` it stays shut until a success or the
    ///    operator.
    ///
    /// So however many guesses run in parallel, each is counted before it is answered
    /// (NIST SP 800-63B §5.2.2, RFC 4226 §7.3).
    ///
    /// # Errors
    /// On a database failure (then nothing happened).
    #[allow(clippy::too_many_arguments)]
    pub async fn attempt_second_factor(
        &self,
        challenge_id: &str,
        proof: Proof<'_>,
        max_failures: i64,
        limits: SecondStepLimits,
        lock_for: impl Fn(i64) -> i64,
        session: &NewSession<'_>,
        success: &NewEvent<'_>,
        failure: &NewEvent<'_>,
    ) -> StoreResult<Attempt> {
        let now = session.now;
        let account = session.account_id;
        let mut tx = self.write_tx().await?;
        // NIST SP 800-63B §5.2.2: never more than `cap` wrong codes in a row; the count is not
        // reset by a lock, only by a success (or the operator).
        let charged = sqlx::query(
            "UPDATE accounts SET sf_failures = sf_failures + 1 \
             WHERE id = $1 AND (sf_locked_until IS NULL OR sf_locked_until <= $2) AND sf_failures < $3 \
             RETURNING sf_failures, sf_lockouts",
        )
        .bind(account.as_str())
        .bind(now.0)
        .bind(limits.cap)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(charged) = charged else {
            let row =
                sqlx::query("SELECT sf_locked_until, sf_failures FROM accounts WHERE id = $1")
                    .bind(account.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            tx.rollback().await?;
            let (until, failures): (Option<i64>, i64) = match &row {
                Some(r) => (r.try_get("sf_locked_until")?, r.try_get("sf_failures")?),
                None => (None, 0),
            };
            if failures >= limits.cap && until.is_none_or(|u| u <= now.0) {
                return Ok(Attempt::Capped);
            }
            return Ok(Attempt::Locked(UnixTime(until.unwrap_or(now.0 + 1))));
        };
        let (failures, lockouts): (i64, i64) = (
            charged.try_get("sf_failures")?,
            charged.try_get("sf_lockouts")?,
        );
        let alive = sqlx::query(
            "UPDATE challenges SET failures = failures + 1 \
             WHERE id = $1 AND account_id = $2 AND finished_at IS NULL AND expires_at > $3 AND failures < $4",
        )
        .bind(challenge_id)
        .bind(account.as_str())
        .bind(now.0)
        .bind(max_failures)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if alive != 1 {
            tx.rollback().await?;
            return Ok(Attempt::Gone);
        }
        let mut backup_remaining = None;
        let refused = match proof {
            Proof::Sms(mac) => {
                let ok = sqlx::query(
                    "UPDATE challenges SET sms_code_mac = NULL WHERE id = $1 AND sms_code_mac = $2 AND sms_expires_at > $3",
                )
                .bind(challenge_id)
                .bind(mac)
                .bind(now.0)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                (!ok).then_some(Refusal::Wrong)
            }
            Proof::Totp(Some(step), sealed) => {
                let ok = sqlx::query(
                    "UPDATE totp_factors SET last_step = $1 WHERE account_id = $2 AND last_step < $1 AND secret_sealed = $3",
                )
                .bind(step)
                .bind(account.as_str())
                .bind(sealed)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                (!ok).then_some(Refusal::Wrong)
            }
            Proof::Totp(None, _) => Some(Refusal::Wrong),
            Proof::Backup(mac) => match use_backup_code(&mut tx, account, mac, now).await? {
                BackupUse::Used { remaining } => {
                    backup_remaining = Some(remaining);
                    None
                }
                BackupUse::AlreadyUsed => Some(Refusal::AlreadyUsed),
                BackupUse::Unknown => Some(Refusal::Wrong),
            },
        };
        if let Some(refusal) = refused {
            failure.insert(&mut tx).await?;
            let mut locked_until = None;
            if limits.threshold > 0 && failures % limits.threshold == 0 {
                let until = now.plus(lock_for(lockouts));
                sqlx::query("UPDATE accounts SET sf_locked_until = $1, sf_lockouts = sf_lockouts + 1 WHERE id = $2")
                    .bind(until.0)
                    .bind(account.as_str())
                    .execute(&mut *tx)
                    .await?;
                NewEvent {
                    kind: EventKind::SecondFactorLocked,
                    ..*failure
                }
                .insert(&mut tx)
                .await?;
                locked_until = Some(until);
            }
            tx.commit().await?;
            return Ok(Attempt::Refused {
                refusal,
                locked_until,
            });
        }
        sqlx::query("UPDATE challenges SET finished_at = $1, failures = failures - 1, sms_code_mac = NULL WHERE id = $2")
            .bind(now.0)
            .bind(challenge_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE accounts SET sf_failures = 0, sf_lockouts = 0, sf_locked_until = NULL WHERE id = $1")
            .bind(account.as_str())
            .execute(&mut *tx)
            .await?;
        session.insert(&mut tx).await?;
        success.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(Attempt::Done { backup_remaining })
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
