//! One lifecycle for every credential (API contract v3): every credential descends from a
//! login session — browser sessions, API tokens, authorization codes, access and refresh
//! tokens — and **this file alone decides what each event ends**. The store applies the
//! answer in the transaction that records the event (`store/lifecycle.rs`), so a credential
//! kind added later (passkeys, device codes, back-channel logout) is ended by adding it to
//! [`Ends`] and to that one function, never by remembering every caller.
//!
//! Why: tokens an app holds must not outlive the security response that should have ended
//! them (OWASP ASVS 4.0.3 3.3.1 "logout and expiration invalidate the session token",
//! 3.3.3 "terminate all other sessions after a successful change of password"; ASVS 5.0
//! 10.4.9 and 10.4.11 for refresh tokens).

/// Something that happened to an account that ends credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialEvent {
    /// One session ends: logout, revoked from "Where you're logged in", expiry.
    SessionEnded,
    /// The owner logs out every other session ("Log out of all other sessions").
    OthersLoggedOut,
    /// The owner changed the password.
    PasswordChanged,
    /// A "Forgot password?" set a new password.
    RecoveryCompleted,
    /// Two-factor authentication was turned off.
    TwoFactorOff,
    /// A second-factor method was removed or its phone number replaced.
    MethodRemoved,
    /// `twofold user logout`.
    OperatorLogout,
    /// `twofold user disable`.
    OperatorDisable,
    /// `twofold user reset-2fa`.
    OperatorResetTwoFactor,
    /// The owner disconnected one app (`/settings/apps`): that app's grants only.
    AppDisconnected,
    /// The account is deleted (by its owner, an admin or `twofold user delete`): everything.
    AccountDeleted,
}

/// What an event ends. "The session" is the one the event names: the session that ends for
/// [`CredentialEvent::SessionEnded`], else the owner's own session that made the change
/// (which may stay).
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ends {
    /// The session the event names.
    pub the_session: bool,
    /// Every other session of the account (browser and API alike).
    pub other_sessions: bool,
    /// Logins in flight: second steps that a password already opened.
    pub logins_in_flight: bool,
    /// App grants with `offline_access` (refresh tokens) of every session. Grants without it
    /// end with their session whatever the event: they never outlive it.
    pub offline_grants: bool,
    /// Every grant of one named app (its consent goes too).
    pub one_app: bool,
    /// The account's passkeys and security keys (issue 24): they go with two-factor
    /// authentication, as every other method does.
    pub passkeys: bool,
}

impl CredentialEvent {
    /// What this event ends: the one decision of the lifecycle.
    pub fn ends(self) -> Ends {
        let none = Ends {
            the_session: false,
            other_sessions: false,
            logins_in_flight: false,
            offline_grants: false,
            one_app: false,
            passkeys: false,
        };
        // A security event: everything the account holds anywhere, but the session that
        // made the change (the owner's own; the operator's commands name none).
        let security = Ends {
            other_sessions: true,
            logins_in_flight: true,
            offline_grants: true,
            ..none
        };
        match self {
            Self::SessionEnded => Ends {
                the_session: true,
                ..none
            },
            // Not a security event (contract v3): offline grants outlive browser sessions.
            Self::OthersLoggedOut => Ends {
                other_sessions: true,
                logins_in_flight: true,
                ..none
            },
            Self::PasswordChanged | Self::RecoveryCompleted | Self::MethodRemoved => security,
            Self::TwoFactorOff | Self::OperatorResetTwoFactor => Ends {
                passkeys: true,
                ..security
            },
            Self::AccountDeleted => Ends {
                the_session: true,
                passkeys: true,
                ..security
            },
            Self::OperatorLogout | Self::OperatorDisable => Ends {
                the_session: true,
                ..security
            },
            Self::AppDisconnected => Ends {
                one_app: true,
                ..none
            },
        }
    }

    /// Whether this is one of the account's security events (every credential ends).
    pub fn is_security_event(self) -> bool {
        self.ends().offline_grants
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [CredentialEvent; 11] = [
        CredentialEvent::SessionEnded,
        CredentialEvent::OthersLoggedOut,
        CredentialEvent::PasswordChanged,
        CredentialEvent::RecoveryCompleted,
        CredentialEvent::TwoFactorOff,
        CredentialEvent::MethodRemoved,
        CredentialEvent::OperatorLogout,
        CredentialEvent::OperatorDisable,
        CredentialEvent::OperatorResetTwoFactor,
        CredentialEvent::AppDisconnected,
        CredentialEvent::AccountDeleted,
    ];

    #[test]
    fn every_security_event_of_the_contract_ends_offline_grants_and_other_sessions() {
        for e in ALL {
            let ends = e.ends();
            let security = matches!(
                e,
                CredentialEvent::PasswordChanged
                    | CredentialEvent::RecoveryCompleted
                    | CredentialEvent::TwoFactorOff
                    | CredentialEvent::MethodRemoved
                    | CredentialEvent::OperatorLogout
                    | CredentialEvent::OperatorDisable
                    | CredentialEvent::OperatorResetTwoFactor
                    | CredentialEvent::AccountDeleted
            );
            assert_eq!(e.is_security_event(), security, "{e:?}");
            if security {
                assert!(
                    ends.other_sessions && ends.logins_in_flight && ends.offline_grants,
                    "{e:?}"
                );
            }
        }
    }

    #[test]
    fn ordinary_ends_leave_offline_grants_alone() {
        for e in [
            CredentialEvent::SessionEnded,
            CredentialEvent::OthersLoggedOut,
            CredentialEvent::AppDisconnected,
        ] {
            assert!(!e.ends().offline_grants, "{e:?}");
        }
        // The operator's commands name no session of the owner's to keep.
        assert!(CredentialEvent::OperatorLogout.ends().the_session);
        assert!(!CredentialEvent::PasswordChanged.ends().the_session);
    }

    #[test]
    fn passkeys_end_with_two_factor_only() {
        for e in ALL {
            let expected = matches!(
                e,
                CredentialEvent::TwoFactorOff
                    | CredentialEvent::OperatorResetTwoFactor
                    | CredentialEvent::AccountDeleted
            );
            assert_eq!(e.ends().passkeys, expected, "{e:?}");
        }
    }
}
