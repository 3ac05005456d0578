//! Login challenges: the second step after a right password, created, read and texted
//! here. A challenge finishes at most once, in the transaction of `second_step.rs` that uses
//! up the proof (SMS code, authenticator step or backup code) and creates the session;
//! failures are counted in the database, per challenge and per account, so limits hold
//! across nodes.

use super::accounts::{AccountRow, account_columns};
use super::sessions::after_right_password;
use super::two_factor::{TwoFactorRow, two_factor_columns};
use super::{AccountRecord, PasswordProof, StoreError, StoreResult, TwoFactorRecord};
use crate::domain::{AccountId, ClientInfo, SessionKind, UnixTime};

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
    /// It confirms deleting the account, and nothing else.
    pub for_deletion: bool,
}

impl ChallengeRecord {
    /// Whether codes may still be tried on it.
    pub fn is_alive(&self, now: UnixTime, max_failures: i64) -> bool {
        self.finished_at.is_none() && now < self.expires_at && self.failures < max_failures
    }
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
    for_deletion: i64,
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
            for_deletion: r.for_deletion != 0,
        })
    }
}

/// A challenge with what its second step needs to know of the account.
#[derive(Clone, Debug)]
pub struct ChallengeState {
    /// The challenge.
    pub challenge: ChallengeRecord,
    /// Whose login it is.
    pub account: AccountRecord,
    /// The account's second factors and second-step counters.
    pub two_factor: TwoFactorRecord,
}

/// A challenge joined with its account, as the database returns it.
#[derive(sqlx::FromRow)]
struct ChallengeStateRow {
    #[sqlx(flatten)]
    challenge: ChallengeRow,
    #[sqlx(flatten)]
    account: AccountRow,
    #[sqlx(flatten)]
    two_factor: TwoFactorRow,
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

impl super::Challenges<'_> {
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
            .0
            .sessions()
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

    /// Gives a live challenge a new id (the HMAC of a new token, so the client can be handed
    /// one again: the old token stops working). Its passkey options, made for the old id,
    /// go with it. Returns false when the challenge is gone or finished.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn rekey(&self, id: &str, new_id: &str) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let moved =
            sqlx::query("UPDATE challenges SET id = $2 WHERE id = $1 AND finished_at IS NULL")
                .bind(id)
                .bind(new_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        sqlx::query("DELETE FROM webauthn_flows WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(moved)
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

    /// Marks a fresh challenge as the confirmation of an account's deletion (before its
    /// token is given to anyone): from then on only the deletion takes it.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn mark_for_deletion(&self, id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE challenges SET for_deletion = 1 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The challenge with this id, if it exists, with its account and the account's second
    /// factors: everything a second step reads before its transaction, in one statement.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn challenge_state(&self, id: &str) -> StoreResult<Option<ChallengeState>> {
        sqlx::query_as::<_, ChallengeStateRow>(concat!(
            "SELECT c.account_id, c.kind, c.expires_at, c.failures, c.finished_at, c.sms_code_mac, \
             c.sms_expires_at, c.sms_sent_at, c.sms_sends, c.recovery_id, c.sms_refused, c.for_deletion, ",
            account_columns!("a"),
            ", ",
            two_factor_columns!(),
            " FROM challenges c JOIN accounts a ON a.id = c.account_id \
             LEFT JOIN sms_phones p ON p.account_id = a.id \
             LEFT JOIN totp_factors t ON t.account_id = a.id \
             WHERE c.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| {
            Ok(ChallengeState {
                challenge: r.challenge.try_into()?,
                account: r.account.into(),
                two_factor: r.two_factor.try_into()?,
            })
        })
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
