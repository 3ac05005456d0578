//! Throttling wrong passwords so that an attacker cannot turn it against the owner
//! (OWASP "device cookies", NIST SP 800-63B §5.2.2, OWASP ASVS 4.0.3 V2.2.1):
//!
//! - a browser that logged in to the account before (a valid device cookie) is throttled
//!   on its own: 5 wrong passwords pause that browser, nobody else;
//! - everyone else is throttled per (account, client address) — 5 — and per account from
//!   unknown devices — 10 — each pause 1 minute, doubling, at most an hour;
//! - the account's consecutive failures are counted too: at 90 unknown devices are refused
//!   until the owner acts (a login from a known browser, the operator's `user enable`), and
//!   at 100 every password is (never more than 100 in a row, §5.2.2);
//! - a username without an account has the same counters under a keyed hash of the name
//!   (shadow counters): same answers, the same statements but for the activity row a real
//!   account gets, the same argon2id work.
//!
//! Re-authentication inside a session counts toward the account's total and pauses the
//! session after 5.

use super::{Auth, AuthError};
use crate::domain::{AccountId, ClientInfo, SessionId};
use crate::store::{Failure, NewEvent, Throttle, ThrottleState};

/// The numbers of the throttle (see the module documentation).
#[derive(Clone, Debug)]
pub struct LoginLimits {
    /// Wrong passwords per (account, client address) before a pause.
    pub per_address: i64,
    /// Wrong passwords per account from unknown devices before a pause.
    pub per_unknown_device: i64,
    /// Wrong passwords per known device before that device pauses.
    pub per_known_device: i64,
    /// Wrong passwords per session at re-authentication before it pauses.
    pub per_session: i64,
    /// Failures in a row after which unknown devices are refused until the owner acts.
    pub unknown_device_cap: i64,
    /// Failures in a row after which every password is refused until the owner acts.
    pub cap: i64,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_address: 5,
            per_unknown_device: 10,
            per_known_device: 5,
            per_session: 5,
            unknown_device_cap: 90,
            cap: 100,
        }
    }
}

/// How long a counter pauses at its `round`-th threshold: one minute, doubling, at most an
/// hour.
pub fn pause_for(round: i64) -> i64 {
    (60_i64 << (round.clamp(1, 7) - 1)).min(3600)
}

/// Who a password attempt is about: an account, or a name that has none.
pub(crate) fn subject_of(auth: &Auth, account: Option<&AccountId>, typed_name: &str) -> String {
    match account {
        Some(id) => id.as_str().to_owned(),
        None => {
            // The canonical name when it is one (so `Kate` and `kate` share a counter, as
            // they share an account); otherwise the bytes as typed — never a Unicode fold,
            // which could map a name that is not one onto a real account's name.
            let name = crate::domain::Username::parse(typed_name)
                .map(|u| u.as_str().to_owned())
                .unwrap_or_else(|_| typed_name.to_owned());
            format!("name:{}", auth.keys.limit_key("username", &name))
        }
    }
}

/// The client address a counter is kept for: IPv4 as is, IPv6 by its /64 (one household or
/// server usually holds a whole /64).
pub(crate) fn address_key(client: &ClientInfo) -> String {
    match client.ip.as_deref().map(str::parse::<std::net::IpAddr>) {
        Some(Ok(std::net::IpAddr::V6(v6))) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(Ok(v4)) => v4.to_string(),
        _ => "unknown".to_owned(),
    }
}

impl Auth {
    /// The throttle of a login attempt: by known device, or by address and unknown device.
    pub(crate) fn login_throttle(
        &self,
        subject: String,
        client: &ClientInfo,
        known_device: bool,
    ) -> Throttle {
        let l = &self.policy.login;
        let total_key = format!("total:{subject}");
        let (cap, keys) = match (&client.device, known_device) {
            (Some(device), true) => (
                l.cap,
                vec![(format!("device:{subject}:{device}"), l.per_known_device)],
            ),
            _ => (
                l.unknown_device_cap,
                vec![
                    (
                        format!("addr:{subject}:{}", address_key(client)),
                        l.per_address,
                    ),
                    (format!("unknown-device:{subject}"), l.per_unknown_device),
                ],
            ),
        };
        Throttle {
            subject,
            total_key,
            cap,
            keys,
        }
    }

    /// Wrong passwords in a row on the account (for the admin CLI).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn wrong_passwords_in_a_row(&self, account: &AccountId) -> Result<i64, AuthError> {
        Ok(self
            .store
            .limits()
            .throttle_total(&format!("total:{account}"))
            .await?)
    }

    /// The throttle of a password confirmation inside a session.
    pub(crate) fn reauth_throttle(&self, account: &AccountId, session: &SessionId) -> Throttle {
        let l = &self.policy.login;
        let subject = account.as_str().to_owned();
        Throttle {
            total_key: format!("total:{subject}"),
            keys: vec![(format!("session:{session}"), l.per_session)],
            cap: l.cap,
            subject,
        }
    }

    /// Before a password is checked: refuses while a counter pauses or the cap is reached;
    /// otherwise says whether a success must clear counters.
    pub(crate) async fn check_throttle(&self, t: &Throttle) -> Result<bool, AuthError> {
        let now = self.now();
        match self.store.limits().throttle_state(t, now).await? {
            ThrottleState::Open { dirty } => Ok(dirty),
            ThrottleState::Paused(until) => Err(AuthError::RateLimited {
                retry_after: until.0 - now.0,
            }),
            ThrottleState::Capped => Err(AuthError::LoginBlocked),
        }
    }

    /// Counts a wrong password on every counter of the throttle and gives the answer:
    /// `InvalidCredentials`, or the pause's answer when a counter was already paused (then
    /// the guess is neither counted nor told apart from a right one).
    pub(crate) async fn count_wrong_password(
        &self,
        t: &Throttle,
        event: Option<&NewEvent<'_>>,
    ) -> Result<AuthError, AuthError> {
        let now = self.now();
        match self
            .store
            .limits()
            .record_password_failure(t, now, pause_for, event)
            .await?
        {
            Failure::Counted {
                paused_until,
                total,
            } => {
                if paused_until.is_some() {
                    self.metrics.lockout("password");
                }
                if paused_until.is_some() && event.is_some() {
                    tracing::warn!(subject = %t.subject, total, "password attempts paused after repeated wrong passwords");
                }
                Ok(AuthError::InvalidCredentials)
            }
            Failure::AlreadyPaused(Some(until)) => Ok(AuthError::RateLimited {
                retry_after: (until.0 - now.0).max(1),
            }),
            Failure::AlreadyPaused(None) => Ok(AuthError::LoginBlocked),
        }
    }

    /// The answer for a right password whose proof no longer held at the end: a pause or
    /// the cap began meanwhile (parallel guesses), or the password was changed meanwhile.
    pub(crate) async fn proof_refused(&self, t: &Throttle) -> Result<AuthError, AuthError> {
        Ok(match self.check_throttle(t).await {
            Ok(_) => AuthError::InvalidCredentials,
            Err(e @ (AuthError::RateLimited { .. } | AuthError::LoginBlocked)) => e,
            Err(e) => return Err(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_and_are_capped() {
        assert_eq!(pause_for(1), 60);
        assert_eq!(pause_for(2), 120);
        assert_eq!(pause_for(3), 240);
        assert_eq!(pause_for(7), 3600);
        assert_eq!(pause_for(100), 3600);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a = ClientInfo::new(Some("2001:db8:1:2:aaaa::1".into()), None);
        let b = ClientInfo::new(Some("2001:db8:1:2:bbbb::9".into()), None);
        let c = ClientInfo::new(Some("2001:db8:1:3::1".into()), None);
        assert_eq!(address_key(&a), address_key(&b));
        assert_ne!(address_key(&a), address_key(&c));
        assert_eq!(
            address_key(&ClientInfo::new(Some("192.0.2.7".into()), None)),
            "192.0.2.7"
        );
    }
}
