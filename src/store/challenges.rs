//! Login challenges: the second step after a right password. A challenge finishes at most
//! once, in the same transaction that uses up the proof (SMS code, authenticator step or
//! backup code) and creates the session; failures are counted in the database, per
//! challenge and per account, so limits hold across nodes.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::backup_codes::{BackupUse, use_backup_code};
use super::sessions::clear_login_failures;
use super::{NewEvent, NewSession, SessionKind, Store, StoreResult};
use crate::domain::{AccountId, ClientInfo, EventKind, UnixTime};

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
    /// The authenticator time step the typed code matched.
    Totp(i64),
    /// The keyed hash of the typed backup code.
    Backup(&'a str),
}

/// How finishing went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// Logged in; with a backup code, how many codes are left.
    Done {
        /// Unused backup codes left, after a backup-code login.
        backup_remaining: Option<i64>,
    },
    /// The proof did not match (wrong or expired SMS code, unknown backup code).
    Wrong,
    /// A backup code of the current batch that was used before.
    BackupAlreadyUsed,
    /// An authenticator step that was accepted before.
    Replayed,
    /// The challenge is finished, expired or out of attempts.
    Gone,
}

/// What a recorded wrong code led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecondFactorFailure {
    /// Wrong codes on this challenge so far.
    pub challenge_failures: i64,
    /// When the account's second step was locked by this failure, if it was.
    pub locked_until: Option<UnixTime>,
}

fn challenge_from_row(row: &AnyRow) -> StoreResult<ChallengeRecord> {
    Ok(ChallengeRecord {
        account_id: AccountId::from_stored(row.try_get::<String, _>("account_id")?),
        kind: SessionKind::parse(&row.try_get::<String, _>("kind")?)?,
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
    /// Creates a challenge after a right password, clearing the wrong-password count (and
    /// storing a re-made hash) in the same transaction.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn create_challenge(
        &self,
        c: &NewChallenge<'_>,
        rehash: Option<&str>,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        // Old challenges of this account are dead weight; drop them while we are here.
        sqlx::query("DELETE FROM challenges WHERE account_id = $1 AND expires_at <= $2")
            .bind(c.account_id.as_str())
            .bind(c.now.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO challenges (id, account_id, kind, created_at, expires_at, sms_code_mac, sms_expires_at, sms_sent_at, sms_sends, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
        .execute(&mut *tx)
        .await?;
        clear_login_failures(&mut tx, c.account_id, rehash).await?;
        tx.commit().await?;
        Ok(())
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
        let b = sqlx::query("DELETE FROM sms_pending WHERE expires_at <= $1")
            .bind(now.0 - 3600)
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

    /// Counts a wrong code on the challenge and on the account, atomically; at `threshold`
    /// wrong codes in a row the account's second step locks for `lock_for(lockouts so far)`
    /// seconds and the count starts again. The events are recorded in the same transaction.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn record_second_factor_failure(
        &self,
        challenge_id: &str,
        event: &NewEvent<'_>,
        threshold: i64,
        lock_for: impl Fn(i64) -> i64,
    ) -> StoreResult<SecondFactorFailure> {
        let account = event.account_id;
        let mut tx = self.write_tx().await?;
        let challenge_failures: i64 = sqlx::query_scalar(
            "UPDATE challenges SET failures = failures + 1 WHERE id = $1 RETURNING failures",
        )
        .bind(challenge_id)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or(0);
        let row = sqlx::query("UPDATE accounts SET sf_failures = sf_failures + 1 WHERE id = $1 RETURNING sf_failures, sf_lockouts")
            .bind(account.as_str())
            .fetch_one(&mut *tx)
            .await?;
        let (failures, lockouts): (i64, i64) =
            (row.try_get("sf_failures")?, row.try_get("sf_lockouts")?);
        event.insert(&mut tx).await?;
        let mut locked_until = None;
        if failures >= threshold {
            let until = event.at.plus(lock_for(lockouts));
            sqlx::query("UPDATE accounts SET sf_locked_until = $1, sf_lockouts = sf_lockouts + 1, sf_failures = 0 WHERE id = $2")
                .bind(until.0)
                .bind(account.as_str())
                .execute(&mut *tx)
                .await?;
            NewEvent {
                kind: EventKind::SecondFactorLocked,
                ..*event
            }
            .insert(&mut tx)
            .await?;
            locked_until = Some(until);
        }
        tx.commit().await?;
        Ok(SecondFactorFailure {
            challenge_failures,
            locked_until,
        })
    }

    /// Finishes a challenge with `proof`, in one transaction: the challenge is marked
    /// finished by a conditional `UPDATE` (so it finishes once), the proof is used up by
    /// another (an SMS code once, an authenticator step once, a backup code once), and the
    /// session, the event and the reset of the failure counts follow. If any step does not
    /// touch exactly one row, nothing happens.
    ///
    /// # Errors
    /// On a database failure (then nothing happened).
    pub async fn finish_challenge(
        &self,
        challenge_id: &str,
        proof: Proof<'_>,
        max_failures: i64,
        session: &NewSession<'_>,
        event: &NewEvent<'_>,
    ) -> StoreResult<Finish> {
        let now = session.now;
        let account = session.account_id;
        let mut tx = self.write_tx().await?;
        // An SMS code is compared by the database against the keyed hash the challenge
        // holds, in the same statement that finishes the challenge: used at most once.
        let finish_sql = match proof {
            Proof::Sms(_) => {
                "UPDATE challenges SET finished_at = $1, sms_code_mac = NULL \
                 WHERE id = $2 AND account_id = $3 AND finished_at IS NULL AND expires_at > $1 AND failures < $4 \
                 AND sms_code_mac = $5 AND sms_expires_at > $1"
            }
            _ => {
                "UPDATE challenges SET finished_at = $1, sms_code_mac = NULL \
                 WHERE id = $2 AND account_id = $3 AND finished_at IS NULL AND expires_at > $1 AND failures < $4 \
                 AND $5 = $5"
            }
        };
        let sms_mac = if let Proof::Sms(mac) = proof { mac } else { "" };
        let finished = sqlx::query(finish_sql)
            .bind(now.0)
            .bind(challenge_id)
            .bind(account.as_str())
            .bind(max_failures)
            .bind(sms_mac)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if finished != 1 {
            let alive: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM challenges WHERE id = $1 AND finished_at IS NULL AND expires_at > $2 AND failures < $3",
            )
            .bind(challenge_id)
            .bind(now.0)
            .bind(max_failures)
            .fetch_one(&mut *tx)
            .await?;
            tx.rollback().await?;
            return Ok(if alive == 1 {
                Finish::Wrong
            } else {
                Finish::Gone
            });
        }
        let mut backup_remaining = None;
        let outcome = match proof {
            Proof::Sms(_) => None,
            Proof::Totp(step) => {
                let ok = sqlx::query("UPDATE totp_factors SET last_step = $1 WHERE account_id = $2 AND last_step < $1")
                    .bind(step)
                    .bind(account.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                (!ok).then_some(Finish::Replayed)
            }
            Proof::Backup(mac) => match use_backup_code(&mut tx, account, mac, now).await? {
                BackupUse::Used { remaining } => {
                    backup_remaining = Some(remaining);
                    None
                }
                BackupUse::AlreadyUsed => Some(Finish::BackupAlreadyUsed),
                BackupUse::Unknown => Some(Finish::Wrong),
            },
        };
        if let Some(refused) = outcome {
            tx.rollback().await?;
            return Ok(refused);
        }
        session.insert(&mut tx).await?;
        event.insert(&mut tx).await?;
        sqlx::query("UPDATE accounts SET sf_failures = 0, sf_lockouts = 0, sf_locked_until = NULL WHERE id = $1")
            .bind(account.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Finish::Done { backup_remaining })
    }
}
