//! Two-factor methods: the verified phone, the authenticator app, pending enrolments, and
//! turning two-factor authentication on and off.
//!
//! The database keeps the rules: a unique index keeps a phone on one account, turning 2FA
//! on and storing the first batch of backup codes happen in the transaction that confirms
//! the first method, and turning it off removes every method and code in one transaction.

use sqlx::{Any, Transaction};

use super::backup_codes::NewBatch;
use super::{NewEvent, StoreError, StoreResult, conflict_or};
use crate::domain::{
    AccountId, ClientInfo, CredentialEvent, EventKind, PhoneNumber, SessionId, UnixTime,
};

/// Everything about an account's second factor, read together.
#[derive(Clone, Debug, Default)]
pub struct TwoFactorRecord {
    /// When 2FA was turned on; `None` when off.
    pub enabled_since: Option<UnixTime>,
    /// The verified phone and when it was added.
    pub phone: Option<(PhoneNumber, UnixTime)>,
    /// The sealed TOTP secret, when it was added, and the last accepted step.
    pub totp: Option<TotpRecord>,
    /// Consecutive wrong second-factor codes.
    pub failures: i64,
    /// The second step is locked until then.
    pub locked_until: Option<UnixTime>,
    /// Passkeys and security keys registered.
    pub passkeys: i64,
}

/// A stored authenticator app.
#[derive(Clone, Debug)]
pub struct TotpRecord {
    /// AES-256-GCM sealed secret.
    pub secret_sealed: String,
    /// When it was set up.
    pub added_at: UnixTime,
    /// The last accepted time step.
    pub last_step: i64,
}

/// A phone waiting for its verification code.
#[derive(Clone, Debug)]
pub struct SmsPending {
    /// The number.
    pub phone: PhoneNumber,
    /// When the code was sent.
    pub sent_at: UnixTime,
    /// When the code stops working.
    pub expires_at: UnixTime,
    /// Codes sent in the current 24-hour window.
    pub send_count: i64,
    /// When that window started.
    pub window_start: UnixTime,
}

/// A phone confirmation to try: the typed code's keyed hash, and what to do if it is right.
#[derive(Clone, Copy, Debug)]
pub struct ConfirmSms<'a> {
    /// Whose phone.
    pub account: &'a AccountId,
    /// The keyed hash of the typed code.
    pub code_mac: &'a str,
    /// Now.
    pub now: UnixTime,
    /// Tries a code takes.
    pub max_attempts: i64,
    /// The first backup codes, if this turns 2FA on.
    pub first_batch: &'a NewBatch,
    /// From where.
    pub client: &'a ClientInfo,
    /// The session that stays when a changed number ends the others.
    pub keep: &'a SessionId,
}

/// How a phone confirmation went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmsConfirm {
    /// Verified; `previous` is the number it replaced; `enabled` says 2FA was just turned on.
    Verified {
        /// The number now verified.
        phone: PhoneNumber,
        /// The number it replaced, if any.
        previous: Option<PhoneNumber>,
        /// Whether this turned 2FA on.
        enabled: bool,
    },
    /// Wrong code (counted).
    WrongCode,
    /// The code expired or took its five tries: a new one must be sent.
    UsedUp,
    /// Another account verified this number first.
    PhoneInUse,
    /// Nothing pending.
    NothingPending,
}

/// What removing a method did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removal {
    /// The method existed and is gone.
    pub removed: bool,
    /// It was the last method, so 2FA is now off.
    pub disabled: bool,
    /// The phone number that was on the account before, if any.
    pub old_phone: Option<PhoneNumber>,
}

/// A phone's verification code to store ("Send code" at enrolment).
#[derive(Clone, Copy, Debug)]
pub struct NewSmsCode<'a> {
    /// Whose enrolment.
    pub account: &'a AccountId,
    /// The number being verified.
    pub phone: &'a PhoneNumber,
    /// The keyed hash of the code sent.
    pub code_mac: &'a str,
    /// Now.
    pub now: UnixTime,
    /// When the code stops working.
    pub expires_at: UnixTime,
    /// Seconds that must pass between two codes.
    pub cooldown: i64,
    /// Codes that may go out in 24 hours.
    pub daily_cap: i64,
}

/// The columns of [`TwoFactorRow`], from `accounts a` left-joined with `sms_phones p` and
/// `totp_factors t` (both keyed by the account, so one row at most).
macro_rules! two_factor_columns {
    () => {
        "a.two_factor_since, a.sf_failures, a.sf_locked_until, \
         p.phone, p.added_at AS phone_added_at, \
         t.secret_sealed, t.added_at AS totp_added_at, t.last_step, \
         (SELECT COUNT(*) FROM passkeys k WHERE k.account_id = a.id) AS passkey_count"
    };
}
pub(super) use two_factor_columns;

#[derive(sqlx::FromRow)]
/// An account's second-factor columns as the database returns them.
pub(super) struct TwoFactorRow {
    two_factor_since: Option<i64>,
    sf_failures: i64,
    sf_locked_until: Option<i64>,
    phone: Option<String>,
    phone_added_at: Option<i64>,
    secret_sealed: Option<String>,
    totp_added_at: Option<i64>,
    last_step: Option<i64>,
    passkey_count: i64,
}

impl TryFrom<TwoFactorRow> for TwoFactorRecord {
    type Error = StoreError;

    fn try_from(r: TwoFactorRow) -> StoreResult<Self> {
        let phone = match (r.phone, r.phone_added_at) {
            (Some(p), Some(at)) => Some((stored_phone(&p, "sms_phones.phone")?, UnixTime(at))),
            _ => None,
        };
        let totp = match (r.secret_sealed, r.totp_added_at, r.last_step) {
            (Some(secret_sealed), Some(at), Some(last_step)) => Some(TotpRecord {
                secret_sealed,
                added_at: UnixTime(at),
                last_step,
            }),
            _ => None,
        };
        Ok(Self {
            enabled_since: r.two_factor_since.map(UnixTime),
            phone,
            totp,
            failures: r.sf_failures,
            locked_until: r.sf_locked_until.map(UnixTime),
            passkeys: r.passkey_count,
        })
    }
}

/// An `sms_pending` row.
#[derive(sqlx::FromRow)]
struct SmsPendingRow {
    phone: String,
    sent_at: i64,
    expires_at: i64,
    send_count: i64,
    window_start: i64,
}

/// A stored number, parsed again (it was parsed before it was stored).
fn stored_phone(e164: &str, table: &'static str) -> StoreResult<PhoneNumber> {
    PhoneNumber::from_e164(e164).map_err(|_| StoreError::Corrupt(table))
}

impl TryFrom<SmsPendingRow> for SmsPending {
    type Error = StoreError;

    fn try_from(r: SmsPendingRow) -> StoreResult<Self> {
        Ok(Self {
            phone: stored_phone(&r.phone, "sms_pending.phone")?,
            sent_at: UnixTime(r.sent_at),
            expires_at: UnixTime(r.expires_at),
            send_count: r.send_count,
            window_start: UnixTime(r.window_start),
        })
    }
}

impl super::TwoFactor<'_> {
    /// The account's two-factor state.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn record(&self, account: &AccountId) -> StoreResult<TwoFactorRecord> {
        // One statement: each is a round trip to the database (BENCHMARKS.md, "At a million
        // accounts"); the second step reads the same columns with its challenge.
        sqlx::query_as::<_, TwoFactorRow>(concat!(
            "SELECT ",
            two_factor_columns!(),
            " FROM accounts a \
             LEFT JOIN sms_phones p ON p.account_id = a.id \
             LEFT JOIN totp_factors t ON t.account_id = a.id \
             WHERE a.id = $1"
        ))
        .bind(account.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map_or(Ok(TwoFactorRecord::default()), TwoFactorRecord::try_from)
    }

    /// The account whose verified phone this is, if any.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn phone_owner(&self, phone: &PhoneNumber) -> StoreResult<Option<AccountId>> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT account_id FROM sms_phones WHERE phone = $1")
                .bind(phone.e164())
                .fetch_optional(&self.pool)
                .await?;
        Ok(id.map(AccountId::from_stored))
    }

    /// The phone waiting for verification, if any.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn sms_pending(&self, account: &AccountId) -> StoreResult<Option<SmsPending>> {
        sqlx::query_as::<_, SmsPendingRow>(
            "SELECT phone, sent_at, expires_at, send_count, window_start FROM sms_pending WHERE account_id = $1",
        )
        .bind(account.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map(SmsPending::try_from)
        .transpose()
    }

    /// Stores a phone and the keyed hash of its verification code, replacing any pending
    /// one — unless a code went out less than `c.cooldown` seconds ago, or `c.daily_cap`
    /// codes went out in the last 24 hours (then `false`).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn put_sms_pending(&self, c: &NewSmsCode<'_>) -> StoreResult<bool> {
        let changed = sqlx::query(
            "INSERT INTO sms_pending (account_id, phone, code_mac, expires_at, sent_at, attempts, send_count, window_start) \
             VALUES ($1, $2, $3, $4, $5, 0, 1, $5) \
             ON CONFLICT (account_id) DO UPDATE SET phone = excluded.phone, code_mac = excluded.code_mac, \
             expires_at = excluded.expires_at, sent_at = excluded.sent_at, attempts = 0, \
             send_count = CASE WHEN sms_pending.window_start <= $7 THEN 1 ELSE sms_pending.send_count + 1 END, \
             window_start = CASE WHEN sms_pending.window_start <= $7 THEN excluded.sent_at ELSE sms_pending.window_start END \
             WHERE sms_pending.sent_at <= $6 AND (sms_pending.send_count < $8 OR sms_pending.window_start <= $7)",
        )
        .bind(c.account.as_str())
        .bind(c.phone.e164())
        .bind(c.code_mac)
        .bind(c.expires_at.0)
        .bind(c.now.0)
        .bind(c.now.0 - c.cooldown)
        .bind(c.now.0 - 86_400)
        .bind(c.daily_cap)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    /// Confirms the pending phone with the keyed hash of the typed code. The code is used
    /// up by one conditional `DELETE`; the phone is stored under the unique index (a second
    /// account gets [`SmsConfirm::PhoneInUse`]); the first method turns 2FA on with
    /// `first_batch` — all in one transaction.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn confirm_sms(&self, c: &ConfirmSms<'_>) -> StoreResult<SmsConfirm> {
        let ConfirmSms {
            account,
            code_mac,
            now,
            max_attempts,
            first_batch,
            client,
            keep,
        } = *c;
        let mut tx = self.account_tx(account).await?;
        // Charge the attempt first (this also takes the row lock), then compare: parallel
        // guesses cannot get past the limit.
        let charged = sqlx::query(
            "UPDATE sms_pending SET attempts = attempts + 1 WHERE account_id = $1 AND attempts < $2 AND expires_at > $3",
        )
        .bind(account.as_str())
        .bind(max_attempts)
        .bind(now.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if charged != 1 {
            let pending: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM sms_pending WHERE account_id = $1")
                    .bind(account.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
            tx.commit().await?;
            return Ok(if pending == 1 {
                SmsConfirm::UsedUp
            } else {
                SmsConfirm::NothingPending
            });
        }
        let phone: Option<String> = sqlx::query_scalar(
            "DELETE FROM sms_pending WHERE account_id = $1 AND code_mac = $2 RETURNING phone",
        )
        .bind(account.as_str())
        .bind(code_mac)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(phone) = phone else {
            tx.commit().await?;
            return Ok(SmsConfirm::WrongCode);
        };
        let phone = stored_phone(&phone, "sms_pending.phone")?;
        let previous = verified_phone(&mut tx, account).await?;
        let stored = sqlx::query(
            "INSERT INTO sms_phones (account_id, phone, added_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id) DO UPDATE SET phone = excluded.phone, added_at = excluded.added_at",
        )
        .bind(account.as_str())
        .bind(phone.e164())
        .bind(now.0)
        .execute(&mut *tx)
        .await
        .map_err(conflict_or);
        if let Err(StoreError::Conflict) = stored {
            tx.rollback().await?;
            return Ok(SmsConfirm::PhoneInUse);
        }
        stored?;
        let detail = previous
            .as_ref()
            .filter(|p| **p != phone)
            .map(|_| "changed");
        if detail.is_some() {
            // Codes already sent to the old number must not finish a login, and whoever
            // is logged in elsewhere must log in again with the new number.
            super::lifecycle::end_credentials(
                &mut tx,
                &super::Ending::new(CredentialEvent::MethodRemoved, account, Some(keep), now),
            )
            .await?;
        }
        let event = NewEvent {
            account_id: account,
            kind: EventKind::SmsAdded,
            at: now,
            client,
            detail,
        }
        .insert(&mut tx)
        .await?;
        // A changed number: the old one is told (whoever changed it may not own it).
        if let Some(old) = previous.as_ref().filter(|p| **p != phone) {
            super::notices::also_tell(&mut tx, event, Some(old.e164()), None).await?;
        }
        let enabled = enable_if_off(&mut tx, account, now, first_batch, client).await?;
        tx.commit().await?;
        let previous = previous.filter(|p| *p != phone);
        Ok(SmsConfirm::Verified {
            phone,
            previous,
            enabled,
        })
    }

    /// Stores a new authenticator secret waiting for its first code.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn put_totp_pending(
        &self,
        account: &AccountId,
        sealed: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO totp_pending (account_id, secret_sealed, created_at, attempts) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (account_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, created_at = excluded.created_at, attempts = 0",
        )
        .bind(account.as_str())
        .bind(sealed)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Charges one confirmation attempt to the pending secret `sealed`, before its code is
    /// compared (anti-automation, OWASP ASVS 4.0.3 V2.2.1, counts set-up codes too). Returns `false` when it
    /// has had `max_attempts` already or was replaced.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn charge_totp_confirmation(
        &self,
        account: &AccountId,
        sealed: &str,
        max_attempts: i64,
    ) -> StoreResult<bool> {
        Ok(sqlx::query(
            "UPDATE totp_pending SET attempts = attempts + 1 WHERE account_id = $1 AND secret_sealed = $2 AND attempts < $3",
        )
        .bind(account.as_str())
        .bind(sealed)
        .bind(max_attempts)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// The pending authenticator secret (sealed) and when it was made.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn totp_pending(
        &self,
        account: &AccountId,
    ) -> StoreResult<Option<(String, UnixTime)>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT secret_sealed, created_at FROM totp_pending WHERE account_id = $1",
        )
        .bind(account.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(sealed, at)| (sealed, UnixTime(at))))
    }

    /// Makes the pending secret the account's authenticator app, with `step` (the one its
    /// first code came from) already used; turns 2FA on when it was off. Returns
    /// `None` when the pending secret changed meanwhile, else whether 2FA was just turned on.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn confirm_totp(
        &self,
        account: &AccountId,
        sealed: &str,
        step: i64,
        now: UnixTime,
        first_batch: &NewBatch,
        client: &ClientInfo,
    ) -> StoreResult<Option<bool>> {
        let mut tx = self.account_tx(account).await?;
        let taken =
            sqlx::query("DELETE FROM totp_pending WHERE account_id = $1 AND secret_sealed = $2")
                .bind(account.as_str())
                .bind(sealed)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if taken != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO totp_factors (account_id, secret_sealed, added_at, last_step) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, added_at = excluded.added_at, \
             last_step = excluded.last_step",
        )
        .bind(account.as_str())
        .bind(sealed)
        .bind(now.0)
        .bind(step)
        .execute(&mut *tx)
        .await?;
        NewEvent {
            account_id: account,
            kind: EventKind::TotpAdded,
            at: now,
            client,
            detail: None,
        }
        .insert(&mut tx)
        .await?;
        let enabled = enable_if_off(&mut tx, account, now, first_batch, client).await?;
        tx.commit().await?;
        Ok(Some(enabled))
    }

    /// Removes the phone (`EventKind::SmsRemoved`) or the app (`EventKind::TotpRemoved`);
    /// when it was the last method, turns 2FA off and removes the backup codes too.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn remove_method(
        &self,
        account: &AccountId,
        kind: EventKind,
        now: UnixTime,
        client: &ClientInfo,
        keep: &SessionId,
    ) -> StoreResult<Removal> {
        let mut tx = self.account_tx(account).await?;
        let old_phone = verified_phone(&mut tx, account).await?;
        let sql = match kind {
            EventKind::SmsRemoved => "DELETE FROM sms_phones WHERE account_id = $1",
            _ => "DELETE FROM totp_factors WHERE account_id = $1",
        };
        let removed = sqlx::query(sql)
            .bind(account.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !removed {
            tx.rollback().await?;
            return Ok(Removal {
                old_phone,
                ..Removal::default()
            });
        }
        let event = NewEvent {
            account_id: account,
            kind,
            at: now,
            client,
            detail: None,
        }
        .insert(&mut tx)
        .await?;
        let old = old_phone.as_ref().map(PhoneNumber::e164);
        super::notices::also_tell(&mut tx, event, old, None).await?;
        let disabled = after_removal(&mut tx, account, now, client, keep, old).await?;
        tx.commit().await?;
        Ok(Removal {
            removed,
            disabled,
            old_phone,
        })
    }

    /// Turns 2FA off: every method, pending enrolment and backup code goes, in one
    /// transaction. Returns the phone that was on the account, and whether 2FA was on.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn disable_two_factor(
        &self,
        account: &AccountId,
        kind: EventKind,
        now: UnixTime,
        client: &ClientInfo,
        keep: Option<&SessionId>,
        detail: Option<&str>,
    ) -> StoreResult<(Option<PhoneNumber>, bool)> {
        let mut tx = self.write_tx().await?;
        let was_on = self
            .lock_account(&mut tx, account)
            .await?
            .flatten()
            .is_some();
        let old_phone = verified_phone(&mut tx, account).await?;
        turn_off(&mut tx, account).await?;
        if was_on {
            let what = if kind == EventKind::TwoFactorResetByOperator {
                CredentialEvent::OperatorResetTwoFactor
            } else {
                CredentialEvent::TwoFactorOff
            };
            super::lifecycle::end_credentials(
                &mut tx,
                &super::Ending::new(what, account, keep, now),
            )
            .await?;
            let event = NewEvent {
                account_id: account,
                kind,
                at: now,
                client,
                detail,
            }
            .insert(&mut tx)
            .await?;
            let old = old_phone.as_ref().map(PhoneNumber::e164);
            super::notices::also_tell(&mut tx, event, old, None).await?;
        }
        tx.commit().await?;
        Ok((old_phone, was_on))
    }
}

/// The account's verified phone, read inside a transaction.
async fn verified_phone(
    tx: &mut Transaction<'static, Any>,
    account: &AccountId,
) -> StoreResult<Option<PhoneNumber>> {
    let phone: Option<String> =
        sqlx::query_scalar("SELECT phone FROM sms_phones WHERE account_id = $1")
            .bind(account.as_str())
            .fetch_optional(&mut **tx)
            .await?;
    phone
        .map(|p| stored_phone(&p, "sms_phones.phone"))
        .transpose()
}

/// After a method was removed in `tx`: every other session and login in flight ends (a
/// weaker account is a reason to log in again everywhere else), and when no method is left
/// (phone, app, passkey) 2FA is turned off with its event, told to `old_phone` too (a
/// removed phone hears of it). Returns whether it was.
pub(super) async fn after_removal(
    tx: &mut Transaction<'static, Any>,
    account: &AccountId,
    now: UnixTime,
    client: &ClientInfo,
    keep: &SessionId,
    old_phone: Option<&str>,
) -> StoreResult<bool> {
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM sms_phones WHERE account_id = $1) + (SELECT COUNT(*) FROM totp_factors WHERE account_id = $1) \
         + (SELECT COUNT(*) FROM passkeys WHERE account_id = $1)",
    )
    .bind(account.as_str())
    .fetch_one(&mut **tx)
    .await?;
    let disabled = left == 0;
    super::lifecycle::end_credentials(
        tx,
        &super::Ending::new(CredentialEvent::MethodRemoved, account, Some(keep), now),
    )
    .await?;
    if disabled {
        turn_off(tx, account).await?;
        let event = NewEvent {
            account_id: account,
            kind: EventKind::TwoFactorDisabled,
            at: now,
            client,
            detail: None,
        }
        .insert(tx)
        .await?;
        super::notices::also_tell(tx, event, old_phone, None).await?;
    }
    Ok(disabled)
}

/// Turns 2FA on with its first batch of backup codes, if it was off. Returns whether it did.
pub(super) async fn enable_if_off(
    tx: &mut Transaction<'static, Any>,
    account: &AccountId,
    now: UnixTime,
    first_batch: &NewBatch,
    client: &ClientInfo,
) -> StoreResult<bool> {
    let turned_on = sqlx::query(
        "UPDATE accounts SET two_factor_since = $1 WHERE id = $2 AND two_factor_since IS NULL",
    )
    .bind(now.0)
    .bind(account.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if turned_on {
        first_batch.replace(tx, account).await?;
        NewEvent {
            account_id: account,
            kind: EventKind::TwoFactorEnabled,
            at: now,
            client,
            detail: None,
        }
        .insert(tx)
        .await?;
    }
    Ok(turned_on)
}

/// Removes every method, pending enrolment, backup code and open challenge; 2FA off.
async fn turn_off(tx: &mut Transaction<'static, Any>, account: &AccountId) -> StoreResult<()> {
    for sql in [
        "DELETE FROM sms_phones WHERE account_id = $1",
        // The pending code dies, but the row (with its daily send count) stays.
        "UPDATE sms_pending SET code_mac = '', expires_at = 0 WHERE account_id = $1",
        "DELETE FROM totp_factors WHERE account_id = $1",
        "DELETE FROM totp_pending WHERE account_id = $1",
        "DELETE FROM passkeys WHERE account_id = $1",
        "DELETE FROM webauthn_flows WHERE account_id = $1",
        "DELETE FROM backup_codes WHERE account_id = $1",
        "DELETE FROM backup_batches WHERE account_id = $1",
        "DELETE FROM challenges WHERE account_id = $1",
        "UPDATE accounts SET two_factor_since = NULL, sf_failures = 0, sf_locked_until = NULL, sf_lockouts = 0 WHERE id = $1",
    ] {
        sqlx::query(sql)
            .bind(account.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
