//! Backup codes: making a batch, showing it again, getting new codes.
//!
//! NIST SP 800-63B §5.1.2 (look-up secrets): at least 20 bits of entropy from an approved
//! random generator (8 digits ≈ 26.6 bits), stored as a keyed hash, usable once.
//! OWASP ASVS 4.0.3 V2.6.1–V2.6.3.

use super::second_step::CheckedCode;
use super::{AuthError, CurrentSession};
use crate::crypto::{open, seal};
use crate::domain::{AccountId, BackupCode, BatchId, ClientInfo, UnixTime};
use crate::store::NewBatch;

/// A batch as the user sees it.
#[derive(Clone, Debug)]
pub struct BackupCodesView {
    /// When the batch was made.
    pub generated_at: UnixTime,
    /// The codes (`1234 5678`) and whether each was used; `None` when codes are not
    /// viewable after creation (`backup_codes.viewable = false`).
    pub codes: Option<Vec<(String, bool)>>,
    /// Unused codes left.
    pub remaining: usize,
    /// Codes in the batch.
    pub total: usize,
}

impl super::BackupCodes<'_> {
    /// A fresh batch for `account`: the keyed hashes, the sealed codes when viewable, and the
    /// codes themselves to show once.
    pub(crate) fn new_batch(
        &self,
        account: &AccountId,
        now: UnixTime,
    ) -> (NewBatch, Vec<BackupCode>) {
        let id = BatchId::generate();
        let codes = BackupCode::generate_batch(self.tf.backup_code_count);
        let aad = format!("{account}|{id}");
        let stored = codes
            .iter()
            .map(|c| {
                let mac = self.keys.backup_code_mac(account.as_str(), c.digits());
                let sealed = self.tf.backup_codes_viewable.then(|| {
                    seal(
                        self.keys.backup_code_seal(),
                        aad.as_bytes(),
                        c.digits().as_bytes(),
                    )
                });
                (mac, sealed)
            })
            .collect();
        (
            NewBatch {
                id,
                created_at: now,
                codes: stored,
            },
            codes,
        )
    }

    /// A typed backup code as the database compares it at the second step: its keyed hash,
    /// bound to the account (the store then uses it up with `used_at IS NULL`, exactly once
    /// however many nodes race — NIST SP 800-63B §5.1.2.2).
    pub(super) fn backup_proof(
        &self,
        account: &AccountId,
        code: &str,
    ) -> Result<CheckedCode, AuthError> {
        let code = BackupCode::parse(code)?;
        Ok(CheckedCode::Backup {
            mac: self.keys.backup_code_mac(account.as_str(), code.digits()),
        })
    }

    /// The current batch, codes included when viewable.
    ///
    /// # Errors
    /// [`AuthError::NoBackupCodes`] when 2FA is off.
    pub async fn view(&self, session: &CurrentSession) -> Result<BackupCodesView, AuthError> {
        let Some(batch) = self
            .store
            .backup_codes()
            .backup_batch(&session.account_id)
            .await?
        else {
            return Err(AuthError::NoBackupCodes);
        };
        let aad = format!("{}|{}", session.account_id, batch.id);
        let codes = if self.tf.backup_codes_viewable {
            let mut shown = Vec::with_capacity(batch.codes.len());
            for c in &batch.codes {
                let Some(sealed) = &c.sealed else {
                    // Made while codes were not viewable: nothing to show for this batch.
                    shown.clear();
                    break;
                };
                let digits =
                    open(self.keys.backup_code_seal(), aad.as_bytes(), sealed).map_err(|e| {
                        AuthError::Internal(anyhow::anyhow!(
                            "backup code of {}: {e}",
                            session.account_id
                        ))
                    })?;
                let code = BackupCode::parse(&String::from_utf8_lossy(&digits)).map_err(|_| {
                    AuthError::Internal(anyhow::anyhow!("a stored backup code is malformed"))
                })?;
                shown.push((code.display(), c.used_at.is_some()));
            }
            (!shown.is_empty()).then_some(shown)
        } else {
            None
        };
        Ok(BackupCodesView {
            generated_at: batch.created_at,
            codes,
            remaining: batch.remaining(),
            total: batch.codes.len(),
        })
    }

    /// "Get new codes": a fresh batch replaces the old one in one transaction.
    ///
    /// # Errors
    /// [`AuthError::NoBackupCodes`] when 2FA is off.
    pub async fn regenerate_backup_codes(
        &self,
        session: &CurrentSession,
        client: &ClientInfo,
    ) -> Result<(BackupCodesView, Vec<BackupCode>), AuthError> {
        let now = self.now();
        let (batch, codes) = self.new_batch(&session.account_id, now);
        if !self
            .store
            .backup_codes()
            .regenerate_backup_codes(&session.account_id, &batch, client)
            .await?
        {
            return Err(AuthError::NoBackupCodes);
        }
        tracing::info!(account = %session.account_id, "new backup codes replaced the old batch");
        self.notices().notify(&session.account_id).await;
        let view = BackupCodesView {
            generated_at: now,
            codes: Some(codes.iter().map(|c| (c.display(), false)).collect()),
            remaining: codes.len(),
            total: codes.len(),
        };
        Ok((view, codes))
    }
}
