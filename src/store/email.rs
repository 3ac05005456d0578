//! The account's email address: a pending address with the keyed hash of its 6-digit code,
//! the confirmed one, and its removal — each change with its event (and so its notice, to
//! the old address too) in the same transaction.

use super::StoreResult;
use crate::domain::{AccountId, ClientInfo, Email, EventKind, UnixTime};
use crate::store::NewEvent;

/// An address waiting for its code.
#[derive(Clone, Copy, Debug)]
pub struct NewEmailCode<'a> {
    /// Whose.
    pub account: &'a AccountId,
    /// The address.
    pub email: &'a Email,
    /// The keyed hash of the code.
    pub code_mac: &'a str,
    /// When the code stops working.
    pub expires_at: UnixTime,
    /// Now.
    pub now: UnixTime,
}

/// What confirming a code did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailConfirm {
    /// The address is the account's now; `previous` is the one it replaced.
    Confirmed {
        /// The address before, if any.
        previous: Option<Email>,
    },
    /// Wrong code (counted).
    WrongCode,
    /// The code expired or took its 5 wrong tries: start again.
    UsedUp,
    /// No address is waiting.
    NothingPending,
}

impl super::Emails<'_> {
    /// Stores (or replaces) the address waiting for its code.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn start_email(&self, p: &NewEmailCode<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO email_pending (account_id, email, code_hash, expires_at, failures, created_at) \
             VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (account_id) DO UPDATE SET \
             email = excluded.email, code_hash = excluded.code_hash, expires_at = excluded.expires_at, \
             failures = 0, created_at = excluded.created_at",
        )
        .bind(p.account.as_str())
        .bind(p.email.as_str())
        .bind(p.code_mac)
        .bind(p.expires_at.0)
        .bind(p.now.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Confirms the waiting address with its code, in one transaction: a wrong code is
    /// counted (5 end it), the right one makes the address the account's, records
    /// `email_added` and queues its notice to the new and the old address.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn confirm_email(
        &self,
        account: &AccountId,
        code_mac: &str,
        max_failures: i64,
        now: UnixTime,
        client: &ClientInfo,
    ) -> StoreResult<EmailConfirm> {
        let mut tx = self.account_tx(account).await?;
        let pending: Option<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT email, code_hash, expires_at, failures FROM email_pending WHERE account_id = $1",
        )
        .bind(account.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((email, hash, expires_at, failures)) = pending else {
            tx.commit().await?;
            return Ok(EmailConfirm::NothingPending);
        };
        if now.0 >= expires_at || failures >= max_failures {
            sqlx::query("DELETE FROM email_pending WHERE account_id = $1")
                .bind(account.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(EmailConfirm::UsedUp);
        }
        // Keyed hashes of the codes: comparing them in constant time costs nothing and
        // leaks nothing either way.
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            hash.as_bytes(),
            code_mac.as_bytes(),
        )) {
            sqlx::query("UPDATE email_pending SET failures = failures + 1 WHERE account_id = $1")
                .bind(account.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(EmailConfirm::WrongCode);
        }
        let email = Email::from_stored(&email);
        let previous: Option<String> = sqlx::query_scalar(
            "SELECT email FROM accounts WHERE id = $1 AND email_verified_at IS NOT NULL",
        )
        .bind(account.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
        sqlx::query(
            "UPDATE accounts SET email = $2, email_key = $3, email_verified_at = $4 WHERE id = $1",
        )
        .bind(account.as_str())
        .bind(email.as_str())
        .bind(email.normalized())
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM email_pending WHERE account_id = $1")
            .bind(account.as_str())
            .execute(&mut *tx)
            .await?;
        let previous = previous
            .map(|p| Email::from_stored(&p))
            .filter(|p| p.normalized() != email.normalized());
        let event = NewEvent {
            account_id: account,
            kind: EventKind::EmailAdded,
            at: now,
            client,
            detail: previous.as_ref().map(|_| "changed"),
        }
        .insert(&mut tx)
        .await?;
        if let Some(old) = &previous {
            super::notices::also_tell(&mut tx, event, None, Some(old.as_str())).await?;
        }
        tx.commit().await?;
        Ok(EmailConfirm::Confirmed { previous })
    }

    /// Removes the account's address (and any waiting one); records `email_removed`, whose
    /// notice goes to the removed address. Returns whether there was one.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn remove_email(
        &self,
        account: &AccountId,
        now: UnixTime,
        client: &ClientInfo,
    ) -> StoreResult<bool> {
        let mut tx = self.account_tx(account).await?;
        sqlx::query("DELETE FROM email_pending WHERE account_id = $1")
            .bind(account.as_str())
            .execute(&mut *tx)
            .await?;
        let old: Option<String> = sqlx::query_scalar(
            "SELECT email FROM accounts WHERE id = $1 AND email_verified_at IS NOT NULL",
        )
        .bind(account.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
        let Some(old) = old else {
            tx.commit().await?;
            return Ok(false);
        };
        sqlx::query(
            "UPDATE accounts SET email = NULL, email_key = NULL, email_verified_at = NULL WHERE id = $1",
        )
        .bind(account.as_str())
        .execute(&mut *tx)
        .await?;
        let event = NewEvent {
            account_id: account,
            kind: EventKind::EmailRemoved,
            at: now,
            client,
            detail: None,
        }
        .insert(&mut tx)
        .await?;
        super::notices::also_tell(&mut tx, event, None, Some(&old)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The account's confirmed address, and the one waiting for its code.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn email_of(
        &self,
        account: &AccountId,
    ) -> StoreResult<(Option<Email>, Option<Email>)> {
        let confirmed: Option<String> = sqlx::query_scalar(
            "SELECT email FROM accounts WHERE id = $1 AND email_verified_at IS NOT NULL",
        )
        .bind(account.as_str())
        .fetch_optional(&self.pool)
        .await?
        .flatten();
        let pending: Option<String> =
            sqlx::query_scalar("SELECT email FROM email_pending WHERE account_id = $1")
                .bind(account.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok((
            confirmed.map(|e| Email::from_stored(&e)),
            pending.map(|e| Email::from_stored(&e)),
        ))
    }

    /// The accounts whose confirmed address is `key` (the address with its domain in lower
    /// case), at most `limit` of them.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn accounts_with_email(&self, key: &str, limit: i64) -> StoreResult<Vec<AccountId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM accounts WHERE email_key = $1 AND email_verified_at IS NOT NULL ORDER BY created_at LIMIT $2",
        )
        .bind(key)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.iter().map(AccountId::from_stored).collect())
    }
}
