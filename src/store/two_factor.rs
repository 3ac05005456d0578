//! Two-factor methods: the verified phone, the authenticator app, pending enrolments, and
//! turning two-factor authentication on and off.
//!
//! The database keeps the rules: a unique index keeps a phone on one account, turning 2FA
//! on and storing the first batch of backup codes happen in the transaction that confirms
//! the first method, and turning it off removes every method and code in one transaction.

use sqlx::{Any, Row, Transaction};

use super::backup_codes::NewBatch;
use super::{NewEvent, Store, StoreError, StoreResult, conflict_or};
use crate::domain::{AccountId, ClientInfo, EventKind, SessionId, UnixTime};

/// Everything about an account's second factor, read together.
#[derive(Clone, Debug, Default)]
pub struct TwoFactorRecord {
    /// When 2FA was turned on; `None` when off.
    pub enabled_since: Option<UnixTime>,
    /// The verified phone (E.164) and when it was added.
    pub phone: Option<(String, UnixTime)>,
    /// The sealed TOTP secret, when it was added, and the last accepted step.
    pub totp: Option<TotpRecord>,
    /// Consecutive wrong second-factor codes.
    pub failures: i64,
    /// The second step is locked until then.
    pub locked_until: Option<UnixTime>,
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
    /// The number (E.164).
    pub phone: String,
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
        /// The E.164 number now verified.
        phone: String,
        /// The number it replaced, if any.
        previous: Option<String>,
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
    pub old_phone: Option<String>,
}

impl Store {
    /// The account's two-factor state.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn two_factor(&self, account: &AccountId) -> StoreResult<TwoFactorRecord> {
        let Some(row) = sqlx::query(
            "SELECT two_factor_since, sf_failures, sf_locked_until FROM accounts WHERE id = $1",
        )
        .bind(account.as_str())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(TwoFactorRecord::default());
        };
        let phone = sqlx::query("SELECT phone, added_at FROM sms_phones WHERE account_id = $1")
            .bind(account.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| Ok::<_, sqlx::Error>((r.try_get("phone")?, UnixTime(r.try_get("added_at")?))))
            .transpose()?;
        let totp = sqlx::query(
            "SELECT secret_sealed, added_at, last_step FROM totp_factors WHERE account_id = $1",
        )
        .bind(account.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map(|r| {
            Ok::<_, sqlx::Error>(TotpRecord {
                secret_sealed: r.try_get("secret_sealed")?,
                added_at: UnixTime(r.try_get("added_at")?),
                last_step: r.try_get("last_step")?,
            })
        })
        .transpose()?;
        Ok(TwoFactorRecord {
            enabled_since: row
                .try_get::<Option<i64>, _>("two_factor_since")?
                .map(UnixTime),
            phone,
            totp,
            failures: row.try_get("sf_failures")?,
            locked_until: row
                .try_get::<Option<i64>, _>("sf_locked_until")?
                .map(UnixTime),
        })
    }

    /// The account whose verified phone this is, if any.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn phone_owner(&self, phone: &str) -> StoreResult<Option<AccountId>> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT account_id FROM sms_phones WHERE phone = $1")
                .bind(phone)
                .fetch_optional(&self.pool)
                .await?;
        Ok(id.map(AccountId::from_stored))
    }

    /// The phone waiting for verification, if any.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn sms_pending(&self, account: &AccountId) -> StoreResult<Option<SmsPending>> {
        Ok(
            sqlx::query("SELECT phone, sent_at, expires_at, send_count, window_start FROM sms_pending WHERE account_id = $1")
                .bind(account.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| {
                    Ok::<_, sqlx::Error>(SmsPending {
                        phone: r.try_get("phone")?,
                        sent_at: UnixTime(r.try_get("sent_at")?),
                        expires_at: UnixTime(r.try_get("expires_at")?),
                        send_count: r.try_get("send_count")?,
                        window_start: UnixTime(r.try_get("window_start")?),
                    })
                })
                .transpose()?,
        )
    }

    /// Stores a phone and the keyed hash of its verification code, replacing any pending
    /// one — unless a code went out less than `cooldown` seconds ago, or `daily_cap` codes
    /// went out in the last 24 hours (then `false`).
    ///
    /// # Errors
    /// On a database failure.
    #[allow(clippy::too_many_arguments)]
    pub async fn put_sms_pending(
        &self,
        account: &AccountId,
        phone: &str,
        code_mac: &str,
        now: UnixTime,
        expires_at: UnixTime,
        cooldown: i64,
        daily_cap: i64,
    ) -> StoreResult<bool> {
        let changed = sqlx::query(
            "INSERT INTO sms_pending (account_id, phone, code_mac, expires_at, sent_at, attempts, send_count, window_start) \
             VALUES ($1, $2, $3, $4, $5, 0, 1, $5) \
             ON CONFLICT (account_id) DO UPDATE SET phone = excluded.phone, code_mac = excluded.code_mac, \
             expires_at = excluded.expires_at, sent_at = excluded.sent_at, attempts = 0, \
             send_count = CASE WHEN sms_pending.window_start <= $7 THEN 1 ELSE sms_pending.send_count + 1 END, \
             window_start = CASE WHEN sms_pending.window_start <= $7 THEN excluded.sent_at ELSE sms_pending.window_start END \
             WHERE sms_pending.sent_at <= $6 AND (sms_pending.send_count < $8 OR sms_pending.window_start <= $7)",
        )
        .bind(account.as_str())
        .bind(phone)
        .bind(code_mac)
        .bind(expires_at.0)
        .bind(now.0)
        .bind(now.0 - cooldown)
        .bind(now.0 - 86_400)
        .bind(daily_cap)
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
        let previous: Option<String> =
            sqlx::query_scalar("SELECT phone FROM sms_phones WHERE account_id = $1")
                .bind(account.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let stored = sqlx::query(
            "INSERT INTO sms_phones (account_id, phone, added_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id) DO UPDATE SET phone = excluded.phone, added_at = excluded.added_at",
        )
        .bind(account.as_str())
        .bind(&phone)
        .bind(now.0)
        .execute(&mut *tx)
        .await
        .map_err(conflict_or);
        match stored {
            Err(StoreError::Conflict) => {
                tx.rollback().await?;
                return Ok(SmsConfirm::PhoneInUse);
            }
            other => {
                other?;
            }
        }
        let detail = previous
            .as_ref()
            .filter(|p| **p != phone)
            .map(|_| "changed");
        if detail.is_some() {
            // Codes already sent to the old number must not finish a login, and whoever
            // is logged in elsewhere must log in again with the new number.
            super::sessions::end_sessions(&mut tx, account, Some(keep)).await?;
        }
        NewEvent {
            account_id: account,
            kind: EventKind::SmsAdded,
            at: now,
            client,
            detail,
        }
        .insert(&mut tx)
        .await?;
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
    /// compared (OWASP ASVS 4.0.3 V2.8.5 counts set-up codes too). Returns `false` when it
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
        Ok(
            sqlx::query("SELECT secret_sealed, created_at FROM totp_pending WHERE account_id = $1")
                .bind(account.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| {
                    Ok::<_, sqlx::Error>((
                        r.try_get("secret_sealed")?,
                        UnixTime(r.try_get("created_at")?),
                    ))
                })
                .transpose()?,
        )
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
        let old_phone: Option<String> =
            sqlx::query_scalar("SELECT phone FROM sms_phones WHERE account_id = $1")
                .bind(account.as_str())
                .fetch_optional(&mut *tx)
                .await?;
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
        NewEvent {
            account_id: account,
            kind,
            at: now,
            client,
            detail: None,
        }
        .insert(&mut tx)
        .await?;
        let left: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM sms_phones WHERE account_id = $1) + (SELECT COUNT(*) FROM totp_factors WHERE account_id = $1)",
        )
        .bind(account.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let disabled = left == 0;
        // A weaker account is a reason to log in again everywhere else.
        super::sessions::end_sessions(&mut tx, account, Some(keep)).await?;
        if disabled {
            turn_off(&mut tx, account).await?;
            NewEvent {
                account_id: account,
                kind: EventKind::TwoFactorDisabled,
                at: now,
                client,
                detail: None,
            }
            .insert(&mut tx)
            .await?;
        }
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
    ) -> StoreResult<(Option<String>, bool)> {
        let mut tx = self.account_tx(account).await?;
        let was_on: Option<Option<i64>> =
            sqlx::query_scalar("SELECT two_factor_since FROM accounts WHERE id = $1")
                .bind(account.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let old_phone: Option<String> =
            sqlx::query_scalar("SELECT phone FROM sms_phones WHERE account_id = $1")
                .bind(account.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let was_on = was_on.flatten().is_some();
        turn_off(&mut tx, account).await?;
        if was_on {
            super::sessions::end_sessions(&mut tx, account, keep).await?;
            NewEvent {
                account_id: account,
                kind,
                at: now,
                client,
                detail,
            }
            .insert(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok((old_phone, was_on))
    }
}

/// Turns 2FA on with its first batch of backup codes, if it was off. Returns whether it did.
async fn enable_if_off(
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
