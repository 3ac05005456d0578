//! Login activity: what happened to an account, when, and from where.

/// The kinds of login-activity event, with the fixed names the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Logged in with the password alone.
    Login,
    /// A wrong password for this account.
    LoginFailed,
    /// Logged out.
    Logout,
    /// The password was changed.
    PasswordChanged,
    /// A session was logged out from the sessions list.
    SessionRevoked,
    /// Two-factor authentication was turned on.
    TwoFactorEnabled,
    /// Two-factor authentication was turned off.
    TwoFactorDisabled,
    /// A phone was verified for text-message codes (added or changed).
    SmsAdded,
    /// The phone was removed.
    SmsRemoved,
    /// An authenticator app was set up.
    TotpAdded,
    /// The authenticator app was removed.
    TotpRemoved,
    /// A wrong code at the second step.
    SecondFactorFailed,
    /// The second step was locked after too many wrong codes.
    SecondFactorLocked,
    /// Logged in with a text-message code.
    LoginSms,
    /// Logged in with an authenticator code.
    LoginTotp,
    /// Logged in with a backup code.
    LoginBackupCode,
    /// A new batch of backup codes replaced the old one.
    BackupCodesRegenerated,
    /// The operator turned two-factor authentication off.
    TwoFactorResetByOperator,
    /// The owner allowed an app to sign them in with Twofold (OpenID Connect consent).
    AppAuthorized,
    /// The owner disconnected an app: its tokens stopped working.
    AppRevoked,
    /// An email address was confirmed for the account (added or changed).
    EmailAdded,
    /// The email address was removed.
    EmailRemoved,
    /// Someone asked for a password reset link or code ("Forgot password?").
    RecoveryRequested,
    /// The password was reset through "Forgot password?" (every session ended).
    RecoveryCompleted,
    /// A login from a browser or app that had not logged in to the account before.
    LoginNewDevice,
    /// A passkey or security key was added.
    PasskeyAdded,
    /// A passkey or security key was removed.
    PasskeyRemoved,
    /// Logged in with a passkey or security key (the second step, or without a password).
    LoginPasskey,
    /// A passkey's signature counter went back: a copy of it may exist. Refused, counted as
    /// a wrong code, and told (WebAuthn Level 3 §7.2 step 21).
    PasskeyCloned,
    /// An admin or the operator disabled the account (every session ended).
    AccountDisabled,
    /// An admin or the operator enabled the account again.
    AccountEnabled,
    /// An admin or the operator logged the account out everywhere.
    LoggedOutByOperator,
}

impl EventKind {
    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::LoginFailed => "login_failed",
            Self::Logout => "logout",
            Self::PasswordChanged => "password_changed",
            Self::SessionRevoked => "session_revoked",
            Self::TwoFactorEnabled => "two_factor_enabled",
            Self::TwoFactorDisabled => "two_factor_disabled",
            Self::SmsAdded => "sms_added",
            Self::SmsRemoved => "sms_removed",
            Self::TotpAdded => "totp_added",
            Self::TotpRemoved => "totp_removed",
            Self::SecondFactorFailed => "second_factor_failed",
            Self::SecondFactorLocked => "second_factor_locked",
            Self::LoginSms => "login_sms",
            Self::LoginTotp => "login_totp",
            Self::LoginBackupCode => "login_backup_code",
            Self::BackupCodesRegenerated => "backup_codes_regenerated",
            Self::TwoFactorResetByOperator => "two_factor_reset_by_operator",
            Self::AppAuthorized => "app_authorized",
            Self::AppRevoked => "app_revoked",
            Self::EmailAdded => "email_added",
            Self::EmailRemoved => "email_removed",
            Self::RecoveryRequested => "recovery_requested",
            Self::RecoveryCompleted => "recovery_completed",
            Self::LoginNewDevice => "login_new_device",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
            Self::LoginPasskey => "login_passkey",
            Self::PasskeyCloned => "passkey_cloned",
            Self::AccountDisabled => "account_disabled",
            Self::AccountEnabled => "account_enabled",
            Self::LoggedOutByOperator => "logged_out_by_operator",
        }
    }

    /// The security notice this change sends to the owner's phone and email, as the group
    /// notices are coalesced by and the words that say what happened (OWASP ASVS 4.0.3
    /// V2.2.3, V2.5.5: tell the owner of every change to how they log in); `None` for what
    /// only the activity records.
    pub fn notice(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Self::PasswordChanged => ("password", "The password was changed"),
            Self::TwoFactorDisabled => ("two-factor", "Two-factor authentication was turned off"),
            Self::TwoFactorResetByOperator => (
                "two-factor",
                "Two-factor authentication was turned off by the operator",
            ),
            Self::SmsAdded => ("phone", "A phone number was verified for security codes"),
            Self::SmsRemoved => ("phone", "The phone number for security codes was removed"),
            Self::TotpAdded => ("app", "An authentication app was set up"),
            Self::TotpRemoved => ("app", "The authentication app was removed"),
            Self::LoginBackupCode => ("backup-code", "A backup code was used to log in"),
            Self::BackupCodesRegenerated => ("backup-codes", "New backup codes were made"),
            Self::AppAuthorized => ("apps", "An app was allowed to sign you in"),
            Self::AppRevoked => ("apps", "An app was disconnected"),
            Self::EmailAdded => ("email", "An email address was confirmed"),
            Self::EmailRemoved => ("email", "The email address was removed"),
            Self::RecoveryRequested => ("recovery", "A password reset was asked for"),
            Self::RecoveryCompleted => (
                "password",
                "The password was reset with \"Forgot password?\" and every session was logged out",
            ),
            Self::LoginNewDevice => ("new-device", "A new browser or device logged in"),
            Self::PasskeyAdded => ("passkey", "A passkey or security key was added"),
            Self::PasskeyRemoved => ("passkey", "A passkey or security key was removed"),
            Self::PasskeyCloned => (
                "passkey-cloned",
                "A passkey or security key was refused because a copy of it may exist",
            ),
            Self::AccountDisabled => (
                "account",
                "Your account was disabled by the operator and every session was logged out",
            ),
            Self::AccountEnabled => ("account", "Your account was enabled again by the operator"),
            Self::LoggedOutByOperator => (
                "sessions",
                "Every session of your account was logged out by the operator",
            ),
            _ => return None,
        })
    }

    /// What a notice says happened: the [`notice`](Self::notice) sentence `base`, told more
    /// precisely for a changed phone or address (`detail` `changed`) and with the backup
    /// codes left after one was used.
    pub fn notice_what(
        self,
        base: &str,
        detail: Option<&str>,
        codes_left: Option<usize>,
    ) -> String {
        match (self, detail, codes_left) {
            (Self::SmsAdded, Some("changed"), _) => {
                "The phone number for security codes was changed".to_owned()
            }
            (Self::EmailAdded, Some("changed"), _) => "The email address was changed".to_owned(),
            (Self::LoginBackupCode, _, Some(1)) => format!("{base} (1 left: get new codes soon)"),
            (Self::LoginBackupCode, _, Some(left)) => format!("{base} ({left} left)"),
            _ => base.to_owned(),
        }
    }

    /// A sentence for the activity page.
    pub fn describe(kind: &str) -> &'static str {
        match kind {
            "login" => "Logged in",
            "login_failed" => "Wrong password entered",
            "logout" => "Logged out",
            "password_changed" => "Password changed",
            "session_revoked" => "Logged out a session",
            "two_factor_enabled" => "Two-factor authentication turned on",
            "two_factor_disabled" => "Two-factor authentication turned off",
            "sms_added" => "Phone number verified for text-message codes",
            "sms_removed" => "Phone number removed",
            "totp_added" => "Authentication app set up",
            "totp_removed" => "Authentication app removed",
            "second_factor_failed" => "Wrong security code entered",
            "second_factor_locked" => "Security codes paused after too many wrong codes",
            "login_sms" => "Logged in with a text-message code",
            "login_totp" => "Logged in with the authentication app",
            "login_backup_code" => "Logged in with a backup code",
            "backup_codes_regenerated" => "Got new backup codes",
            "two_factor_reset_by_operator" => {
                "Two-factor authentication turned off by the operator"
            }
            "app_authorized" => "Allowed an app to sign you in",
            "app_revoked" => "Disconnected an app",
            "email_added" => "Email address confirmed",
            "email_removed" => "Email address removed",
            "recovery_requested" => "Password reset asked for",
            "recovery_completed" => "Password reset with \"Forgot password?\"",
            "login_new_device" => "Logged in from a new browser or device",
            "passkey_added" => "Passkey or security key added",
            "passkey_removed" => "Passkey or security key removed",
            "login_passkey" => "Logged in with a passkey or security key",
            "passkey_cloned" => "A passkey or security key refused: a copy of it may exist",
            "account_disabled" => "Account disabled by the operator",
            "account_enabled" => "Account enabled by the operator",
            "logged_out_by_operator" => "Logged out everywhere by the operator",
            _ => "Account activity",
        }
    }
}

/// Where a request came from, as shown in sessions and activity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's IP address.
    pub ip: Option<String>,
    /// The User-Agent header, cut to 256 characters.
    pub user_agent: Option<String>,
    /// The SHA-256 (hex) of the browser's device cookie, when it sent one.
    pub device: Option<String>,
}

impl ClientInfo {
    /// Builds client info, cutting an over-long user agent.
    pub fn new(ip: Option<String>, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(256)
                    .collect::<String>()
            })
            .filter(|ua| !ua.is_empty());
        Self {
            ip,
            user_agent,
            device: None,
        }
    }

    /// The admin CLI acting for `os_user` (recorded as the user agent of its events).
    pub fn operator(os_user: &str) -> Self {
        Self::new(
            None,
            Some(&format!("twofold admin CLI (operator {os_user})")),
        )
    }
}

/// When and from where a notice's change was made: "on 2 Dec 2026, 18:20 UTC from
/// 203.0.113.7 (Firefox on Linux)".
pub fn notice_when_where(
    at: super::UnixTime,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> String {
    let mut s = format!("on {}", at.human());
    if let Some(ip) = ip {
        s.push_str(&format!(" from {ip}"));
    }
    if user_agent.is_some() {
        s.push_str(&format!(" ({})", describe_user_agent(user_agent)));
    }
    s
}

/// A short, friendly name for a user agent: "Firefox on Linux", "curl".
pub fn describe_user_agent(ua: Option<&str>) -> String {
    let Some(ua) = ua else {
        return "Unknown device".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("python-requests", "Python"),
        ("reqwest", "an app"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(o)) => o.to_owned(),
        (None, None) => ua.chars().take(40).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_named() {
        let ff = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe_user_agent(Some(ff)), "Firefox on Linux");
        let chrome =
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36";
        assert_eq!(describe_user_agent(Some(chrome)), "Chrome on Android");
        assert_eq!(describe_user_agent(Some("curl/8.5.0")), "curl");
        assert_eq!(describe_user_agent(None), "Unknown device");
    }

    #[test]
    fn client_info_cuts_and_cleans() {
        let c = ClientInfo::new(None, Some(&"a\n".repeat(500)));
        assert_eq!(c.user_agent.unwrap().len(), 256);
        assert_eq!(ClientInfo::new(None, Some("")).user_agent, None);
    }
}
