//! "Your data" (issue 25): everything Twofold keeps about an account, for its owner, as one
//! JSON document (GDPR art. 15 and 20) — and nothing that is a secret: no password hash, no
//! authenticator secret, no backup code, no token, no passkey's public key.

use serde_json::{Value, json};

use super::{AuthError, CurrentSession};

/// How much activity the export carries at most (everything kept is within the retention
/// rule; this bounds one answer).
const MAX_EVENTS: i64 = 10_000;

impl super::Accounts<'_> {
    /// Everything kept about the session's account.
    ///
    /// # Errors
    /// [`AuthError::Unauthenticated`] when the account is gone; on a database failure.
    pub async fn export(&self, session: &CurrentSession) -> Result<Value, AuthError> {
        let id = &session.account_id;
        let a = self
            .store
            .accounts()
            .account_by_id(id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        let (email, pending) = self.store.email().email_of(id).await?;
        let tf = self.store.two_factor().record(id).await?;
        let backup = self.store.backup_codes().backup_batch(id).await?;
        let t = |t: crate::domain::UnixTime| t.0;
        let passkeys: Vec<Value> = self
            .store
            .passkeys()
            .list(id)
            .await?
            .into_iter()
            .map(|p| json!({"name": p.name, "created_at": p.created_at.0, "last_used_at": p.last_used_at.map(t)}))
            .collect();
        let sessions: Vec<Value> = self
            .sessions()
            .live_sessions(id)
            .await?
            .into_iter()
            .map(|s| json!({"id": s.id, "kind": s.kind.as_str(), "created_at": s.created_at.0, "last_seen_at": s.last_seen_at.0, "ip": s.ip, "user_agent": s.user_agent}))
            .collect();
        let activity: Vec<Value> = self
            .store
            .events()
            .list_events(id, MAX_EVENTS)
            .await?
            .into_iter()
            .map(|e| json!({"kind": e.kind, "at": e.at.0, "ip": e.ip, "user_agent": e.user_agent, "detail": e.detail}))
            .collect();
        let apps: Vec<Value> = self
            .store
            .oidc()
            .consents(id)
            .await?
            .into_iter()
            .map(|c| json!({"client_id": c.client_id, "name": c.name, "scope": c.scope, "allowed_at": c.granted_at}))
            .collect();
        Ok(json!({
            "account": {
                "id": a.id, "username": a.username, "created_at": a.created_at.0,
                "disabled_at": a.disabled_at.map(t),
            },
            "email": email.map(|e| e.as_str().to_owned()),
            "email_pending": pending.map(|e| e.as_str().to_owned()),
            "two_factor": {
                "enabled_since": tf.enabled_since.map(t),
                "phone": tf.phone.as_ref().map(|(p, at)| json!({"number": p.e164(), "added_at": at.0})),
                "authenticator_app": tf.totp.as_ref().map(|r| json!({"added_at": r.added_at.0})),
                "passkeys": passkeys,
                "backup_codes_left": backup.map(|b| b.remaining()),
            },
            "sessions": sessions,
            "apps": apps,
            "groups": self.store.groups().groups_of(id).await?,
            "activity": activity,
        }))
    }
}
