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
    /// Password logins were paused after too many wrong passwords.
    LoginLocked,
    /// The operator disabled the account.
    AccountDisabled,
    /// The operator enabled the account again.
    AccountEnabled,
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
            Self::LoginLocked => "login_locked",
            Self::AccountDisabled => "account_disabled",
            Self::AccountEnabled => "account_enabled",
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
            "login_locked" => "Logins paused after too many wrong passwords",
            "account_disabled" => "Account disabled by the operator",
            "account_enabled" => "Account enabled by the operator",
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
        Self { ip, user_agent }
    }
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
