//! Configuration: command-line flags, `TWOFOLD_*` environment variables and an optional TOML
//! file, in that order of precedence, over built-in defaults. Each setting is declared once,
//! in `settings.rs` (its flag, variable, TOML key, default and help); [`Config::resolve`]
//! checks the merged settings and adds the rules a default cannot say.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

mod access;
mod settings;
mod webauthn;

use anyhow::Context;
use serde::Deserialize;

use settings::{FileConfig, Settings};
pub use settings::{Location, Overrides};

use crate::crypto::Argon2Params;

/// Everything `twofold serve` needs, resolved.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on (`127.0.0.1:8080`; port 0 picks a free port).
    pub listen: SocketAddr,
    /// A separate address for `/metrics` (then it is served only there); `None`: on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// Folder for the SQLite database, the secret key and the SMS outbox.
    pub data_dir: PathBuf,
    /// `sqlite:…` or `postgres://…`; defaults to `sqlite:<data_dir>/twofold.db`.
    pub database_url: String,
    /// Largest number of pooled database connections.
    pub db_max_connections: u32,
    /// The public origin users reach (`https://auth.example.com`); `https` turns on
    /// `Secure` cookies.
    pub public_url: Option<String>,
    /// Twofold sits behind a TLS-terminating proxy: trust `X-Forwarded-For` for client
    /// addresses and mark cookies `Secure`.
    pub behind_proxy: bool,
    /// argon2id parameters.
    pub argon2: Argon2Params,
    /// A session unused for this long ends.
    pub session_idle_secs: i64,
    /// A session ends this long after login, used or not.
    pub session_absolute_secs: i64,
    /// Login activity older than this many days is purged.
    pub activity_retention_days: i64,
    /// How long a password confirmation counts as recent.
    pub recent_auth_secs: i64,
    /// The issuer authenticator apps show.
    pub totp_issuer: String,
    /// Text messages.
    pub sms: SmsConfig,
    /// Email.
    pub mail: MailConfig,
    /// Backup codes per batch (5–20).
    pub backup_codes_count: usize,
    /// Keep an encrypted copy of backup codes so they can be viewed again.
    pub backup_codes_viewable: bool,
    /// Peers whose `X-Forwarded-For` is believed (with `behind_proxy`): loopback by default.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Open connections at most; more are closed at once.
    pub max_connections: usize,
    /// A request's headers must arrive within this many seconds.
    pub header_timeout_secs: u64,
    /// A whole request (body included) must be answered within this many seconds.
    pub request_timeout_secs: u64,
    /// Password hashes waiting or running at most (0: 32 per core); beyond, `503`.
    pub hash_queue: usize,
    /// Login and password-confirmation requests per client address per minute (0: off).
    pub logins_per_address_minute: u32,
    /// Sign-ups per client address per hour (0: off).
    pub sign_ups_per_address_hour: i64,
    /// Who may make an account (`--sign-up`).
    pub sign_up: crate::domain::SignUpMode,
    /// How many text messages may go out.
    pub sms_budget: crate::auth::TextBudget,
    /// OpenID Connect lifetimes (the issuer is filled in when the address is known).
    pub oidc: crate::auth::oidc::OidcPolicy,
    /// Who people who lost every factor should contact (an email address or a URL), shown
    /// under "Try another way".
    pub operator_contact: Option<String>,
    /// Forward authentication: which policy each protected site's requests meet.
    pub access_control: crate::domain::AccessControl,
    /// The parent domain the session cookie covers, so that every site under it shares one
    /// login (forward authentication); `None`: the cookie stays on Twofold's own host.
    pub cookie_domain: Option<String>,
    /// Passkeys and security keys (`[webauthn]`).
    pub webauthn: crate::auth::PasskeyPolicy,
}

/// Which SMS provider, and its settings. (`Debug` hides the tokens.)
#[derive(Clone, PartialEq, Eq)]
pub enum SmsProvider {
    /// Append to `<data-dir>/sms-outbox.jsonl` (development and tests).
    Outbox,
    /// POST `{"to","body"}` to a webhook.
    Http {
        /// The webhook URL.
        url: String,
        /// Bearer token, if any.
        token: Option<String>,
    },
    /// The Twilio Messages API.
    Twilio {
        /// API base URL (`https://api.twilio.com`).
        base_url: String,
        /// Account SID.
        account_sid: String,
        /// Auth token.
        auth_token: String,
        /// Sender number or messaging service.
        from: String,
    },
}

impl std::fmt::Debug for SmsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Outbox => f.write_str("Outbox"),
            Self::Http { url, .. } => write!(f, "Http {{ url: {url:?}, token: *** }}"),
            Self::Twilio {
                base_url,
                account_sid,
                from,
                ..
            } => {
                write!(
                    f,
                    "Twilio {{ base_url: {base_url:?}, account_sid: {account_sid:?}, from: {from:?}, auth_token: *** }}"
                )
            }
        }
    }
}

/// Which mail provider, and its settings. (`Debug` hides the SMTP password.)
#[derive(Clone, PartialEq, Eq)]
pub enum MailProvider {
    /// Append to `<data-dir>/mail-outbox.jsonl` (development and tests).
    Outbox,
    /// An SMTP server: `smtp[s]://[user:pass@]host[:port]`.
    Smtp {
        /// The server's URL.
        url: String,
    },
}

impl std::fmt::Debug for MailProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Outbox => f.write_str("Outbox"),
            Self::Smtp { url } => {
                let shown = url::Url::parse(url).map_or_else(
                    |_| "(not a URL)".to_owned(),
                    |mut u| {
                        if u.password().is_some() {
                            let _ = u.set_password(Some("***"));
                        }
                        u.to_string()
                    },
                );
                write!(f, "Smtp {{ url: {shown:?} }}")
            }
        }
    }
}

/// Email settings.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// The provider.
    pub provider: MailProvider,
    /// The sender address (`From:`).
    pub from: String,
    /// Give up sending after this many seconds.
    pub timeout_secs: u64,
}

/// Text-message settings.
#[derive(Clone, Debug)]
pub struct SmsConfig {
    /// The provider.
    pub provider: SmsProvider,
    /// Give up sending after this many seconds.
    pub timeout_secs: u64,
    /// The host in the origin-bound line `@host #123456`.
    pub host: String,
    /// Region for numbers typed without `+` (ISO 3166, e.g. `US`).
    pub default_region: Option<String>,
}

/// How log lines are written (`--log-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line, with the request's span (id, method, path) in each.
    Json,
}

/// The log format: the flag or variable, else the TOML file's `log_format`, else text.
/// Read before the rest of the configuration, so that its errors are logged in that
/// format; a file that cannot be read here is reported when it is read in full.
pub fn log_format(loc: &Location) -> LogFormat {
    let file = loc
        .config
        .as_ref()
        .and_then(|path| read_file(path).ok())
        .map(|(file, _)| file)
        .unwrap_or_default();
    Settings::merge(loc.clone(), Overrides::default(), file).log_format
}

impl Config {
    /// Resolves flags and environment over the TOML file over the defaults.
    ///
    /// # Errors
    /// When the TOML file cannot be read or parsed, or a value is out of range.
    pub fn resolve(loc: &Location, o: &Overrides) -> anyhow::Result<Self> {
        let (mut file, text) = match &loc.config {
            Some(path) => read_file(path)?,
            None => (FileConfig::default(), String::new()),
        };
        let in_file = |e: anyhow::Error| match &loc.config {
            Some(path) => e.context(format!("in the configuration file {}", path.display())),
            None => e,
        };
        let access_control = std::mem::take(&mut file.access_control)
            .resolve(&text)
            .map_err(in_file)?;
        let cfg = Self::from_settings(
            Settings::merge(loc.clone(), o.clone(), file),
            access_control,
        )?;
        cfg.check()?;
        Ok(cfg)
    }

    /// The configuration from the merged settings, with the rules a default cannot say: the
    /// database in the data folder, the SMS host and the sender from the public URL, the
    /// providers and the cookie domain.
    fn from_settings(
        s: Settings,
        access_control: crate::domain::AccessControl,
    ) -> anyhow::Result<Self> {
        let trusted_proxies = parse_cidrs(&s.trusted_proxies)?;
        let oidc = oidc_policy(&s)?;
        let public_host = s.public_url.as_deref().and_then(host_of);
        let sms = sms_config(&s, public_host.clone())?;
        let mail = MailConfig {
            provider: mail_provider(&s)?,
            from: s.mail_from.clone().unwrap_or_else(|| {
                let host = public_host.clone().unwrap_or_else(|| sms.host.clone());
                format!("Twofold <twofold@{host}>")
            }),
            timeout_secs: s.mail_timeout_secs,
        };
        let cookie_domain = match &s.cookie_domain {
            Some(d) => Some(access::cookie_domain(d, public_host.as_deref())?),
            None => None,
        };
        let webauthn = webauthn::webauthn_policy(&s, public_host.as_deref())?;
        let database_url = s
            .database_url
            .clone()
            .unwrap_or_else(|| sqlite_url(&s.data_dir.join("twofold.db")));
        Ok(Self {
            listen: s.listen,
            metrics_listen: s.metrics_listen,
            data_dir: s.data_dir,
            database_url,
            db_max_connections: s.db_max_connections,
            public_url: s.public_url,
            behind_proxy: s.behind_proxy,
            argon2: Argon2Params {
                memory_kib: s.argon2_memory_kib,
                iterations: s.argon2_iterations,
                parallelism: s.argon2_parallelism,
            },
            session_idle_secs: s.session_idle_secs,
            session_absolute_secs: s.session_absolute_secs,
            activity_retention_days: s.activity_retention_days,
            recent_auth_secs: s.recent_auth_secs,
            totp_issuer: s.totp_issuer,
            sms,
            mail,
            backup_codes_count: s.backup_codes_count,
            backup_codes_viewable: s.backup_codes_viewable,
            trusted_proxies,
            max_connections: s.max_connections,
            header_timeout_secs: s.header_timeout_secs,
            request_timeout_secs: s.request_timeout_secs,
            hash_queue: s.hash_queue,
            logins_per_address_minute: s.logins_per_address_minute,
            sign_ups_per_address_hour: s.sign_ups_per_address_hour,
            sign_up: s.sign_up,
            sms_budget: crate::auth::TextBudget {
                per_account_hour: s.sms_budget_per_account_hour,
                per_account_day: s.sms_budget_per_account_day,
                per_number_hour: s.sms_budget_per_number_hour,
                per_number_day: s.sms_budget_per_number_day,
                per_country_hour: s.sms_budget_per_country_hour,
                global_hour: s.sms_budget_global_hour,
                notice_every_secs: crate::auth::TextBudget::default().notice_every_secs,
            },
            oidc,
            operator_contact: s.operator_contact.filter(|c| !c.trim().is_empty()),
            access_control,
            cookie_domain,
            webauthn,
        })
    }

    fn check(&self) -> anyhow::Result<()> {
        for (name, v) in [
            ("session_idle_secs", self.session_idle_secs),
            ("session_absolute_secs", self.session_absolute_secs),
            ("recent_auth_secs", self.recent_auth_secs),
            ("activity_retention_days", self.activity_retention_days),
        ] {
            anyhow::ensure!(
                v > 0,
                "{name} must be a positive number of seconds, not {v}"
            );
        }
        anyhow::ensure!(
            (5..=20).contains(&self.backup_codes_count),
            "backup_codes count must be between 5 and 20, not {}",
            self.backup_codes_count
        );
        anyhow::ensure!(
            self.sms.timeout_secs > 0,
            "the SMS timeout must be at least 1 second"
        );
        anyhow::ensure!(
            self.mail.timeout_secs > 0,
            "the mail timeout must be at least 1 second"
        );
        if let Some(r) = &self.sms.default_region {
            anyhow::ensure!(
                r.parse::<phonenumber::country::Id>().is_ok(),
                "the SMS default region must be a two-letter country code like US or GB, not {r}"
            );
        }
        anyhow::ensure!(
            self.max_connections > 0
                && self.header_timeout_secs > 0
                && self.request_timeout_secs > 0,
            "max_connections, header_timeout_secs and request_timeout_secs must be above 0"
        );
        if let Some(url) = &self.public_url {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "public_url must start with http:// or https://, like https://auth.example.com (got {url})"
            );
        }
        Ok(())
    }

    /// Whether cookies must carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.behind_proxy
            || self
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
    }

    /// The host users reach Twofold at (for the words a password must not be built on).
    pub fn public_host(&self) -> String {
        self.public_url
            .as_deref()
            .and_then(host_of)
            .unwrap_or_else(|| self.sms.host.clone())
    }

    /// The path of the server secret key.
    pub fn secret_key_path(&self) -> PathBuf {
        self.data_dir.join("secret.key")
    }
}

/// The host of `https://host:port/path`.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if host.starts_with('[') {
        host
    } else {
        host.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_owned())
}

/// Parses `10.0.0.0/8` or a bare address (a /32 or /128).
fn parse_cidrs(items: &[String]) -> anyhow::Result<Vec<ipnet::IpNet>> {
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    anyhow::anyhow!(
                        "trusted_proxies: {s:?} is not an address or a CIDR like 10.0.0.0/8"
                    )
                })
        })
        .collect()
}

/// The OpenID Connect lifetimes, each within its range.
fn oidc_policy(s: &Settings) -> anyhow::Result<crate::auth::oidc::OidcPolicy> {
    let pick = |v: i64, name: &str, max: i64| {
        if !(1..=max).contains(&v) {
            anyhow::bail!("oidc {name} must be between 1 and {max} seconds (got {v})");
        }
        Ok(v)
    };
    Ok(crate::auth::oidc::OidcPolicy {
        issuer: crate::auth::oidc::OidcPolicy::default().issuer,
        code_secs: pick(s.oidc_code_secs, "code_secs", 600)?,
        access_token_secs: pick(s.oidc_access_token_secs, "access_token_secs", 86_400)?,
        id_token_secs: pick(s.oidc_id_token_secs, "id_token_secs", 86_400)?,
        refresh_token_secs: pick(
            s.oidc_refresh_token_secs,
            "refresh_token_secs",
            365 * 86_400,
        )?,
        refresh_absolute_secs: pick(
            s.oidc_refresh_absolute_secs,
            "refresh_absolute_secs",
            3 * 365 * 86_400,
        )?,
    })
}

/// An SMS gateway's URL: `https`, or `http` only to this machine (the texts carry codes;
/// OWASP ASVS 4.0.3 9.2.2).
fn tls_unless_loopback(url: String, flag: &str) -> anyhow::Result<String> {
    let parsed = url::Url::parse(&url).map_err(|_| {
        anyhow::anyhow!("{flag} is not a URL; write it like https://sms.example.com/send")
    })?;
    match parsed.scheme() {
        "https" => Ok(url),
        "http"
            if parsed
                .host_str()
                .is_some_and(crate::domain::is_loopback_host) =>
        {
            Ok(url)
        }
        "http" => anyhow::bail!(
            "{flag} must use https: the texts carry login codes (http is accepted only for a gateway on this machine: localhost or 127.0.0.1)"
        ),
        other => anyhow::bail!("{flag} must start with https://, not {other}://"),
    }
}

/// The SMS settings: the provider, and the host of the `@host #123456` line (the flag, else
/// the public URL's host; a real gateway needs one).
fn sms_config(s: &Settings, public_host: Option<String>) -> anyhow::Result<SmsConfig> {
    let host = s.sms_host.clone().or(public_host);
    let provider = sms_provider(s)?;
    // A real gateway texts real phones: the `@host #123456` line must name the site its
    // users see, or phones will offer the code to no site (and a phishing page cannot be
    // told apart).
    anyhow::ensure!(
        host.is_some() || provider == SmsProvider::Outbox,
        "the http and twilio SMS providers send real texts: set --sms-host (or --public-url) to the host name users log in at, like auth.example.com"
    );
    Ok(SmsConfig {
        provider,
        timeout_secs: s.sms_timeout_secs,
        host: host.unwrap_or_else(|| "localhost".into()),
        default_region: s.sms_default_region.clone(),
    })
}

fn sms_provider(s: &Settings) -> anyhow::Result<SmsProvider> {
    let name = &s.sms_provider;
    let need = |v: &Option<String>, what: &str| {
        v.clone()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| anyhow::anyhow!("the {name} SMS provider needs {what}"))
    };
    Ok(match name.as_str() {
        "outbox" => SmsProvider::Outbox,
        "http" => SmsProvider::Http {
            url: tls_unless_loopback(
                need(&s.sms_http_url, "--sms-http-url (TWOFOLD_SMS_HTTP_URL)")?,
                "--sms-http-url",
            )?,
            token: s.sms_http_token.clone(),
        },
        "twilio" => SmsProvider::Twilio {
            base_url: tls_unless_loopback(s.twilio_base_url.clone(), "--twilio-base-url")?,
            account_sid: need(&s.twilio_account_sid, "--twilio-account-sid")?,
            auth_token: need(&s.twilio_auth_token, "--twilio-auth-token")?,
            from: need(&s.twilio_from, "--twilio-from")?,
        },
        other => anyhow::bail!("unknown SMS provider {other:?}: use outbox, http or twilio"),
    })
}

fn mail_provider(s: &Settings) -> anyhow::Result<MailProvider> {
    Ok(match s.mail_provider.as_str() {
        "outbox" => MailProvider::Outbox,
        "smtp" => MailProvider::Smtp {
            url: s
                .smtp_url
                .clone()
                .filter(|u| !u.is_empty())
                .ok_or_else(|| {
                    anyhow::anyhow!("the smtp mail provider needs --smtp-url (TWOFOLD_SMTP_URL), like smtp://mail.example.com:587")
                })?,
        },
        other => anyhow::bail!("unknown mail provider {other:?}: use outbox or smtp"),
    })
}

fn read_file(path: &Path) -> anyhow::Result<(FileConfig, String)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the configuration file {}", path.display()))?;
    let file = toml::from_str(&text)
        .with_context(|| format!("in the configuration file {}", path.display()))?;
    Ok((file, text))
}

/// A SQLite URL for a file path that creates the file when missing.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::resolve(&Location::default(), &Overrides::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://twofold-data/twofold.db?mode=rwc");
        assert_eq!(c.recent_auth_secs, 600);
        assert!(!c.secure_cookies());
        assert_eq!(c.sms.provider, SmsProvider::Outbox);
        assert_eq!(c.sms.host, "localhost");
        assert_eq!(c.backup_codes_count, 10);
        assert!(c.backup_codes_viewable);
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!(c.sms_budget.per_number_day, 20);
    }

    #[test]
    fn budgets_and_proxies_come_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("twofold.toml");
        std::fs::write(
            &path,
            "trusted_proxies = [\"10.0.0.0/8\", \"192.0.2.1\"]\n[sms.budget]\nper_number_day = 3\n",
        )
        .unwrap();
        let loc = Location {
            config: Some(path.clone()),
            ..Default::default()
        };
        let c = Config::resolve(&loc, &Overrides::default()).unwrap();
        assert_eq!(c.sms_budget.per_number_day, 3);
        assert!(
            c.trusted_proxies
                .iter()
                .any(|n| n.contains(&"10.1.2.3".parse::<std::net::IpAddr>().unwrap()))
        );
        std::fs::write(&path, "trusted_proxies = [\"not an address\"]\n").unwrap();
        let err = format!(
            "{:#}",
            Config::resolve(&loc, &Overrides::default()).unwrap_err()
        );
        assert!(err.contains("not an address"), "{err}");
    }

    #[test]
    fn nested_tables_and_providers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("twofold.toml");
        std::fs::write(
            &path,
            "public_url = \"https://auth.example.com:8443/x\"\n[backup_codes]\nviewable = false\ncount = 12\n\
             [sms]\nprovider = \"twilio\"\ntwilio_account_sid = \"AC1\"\ntwilio_auth_token = \"t\"\ntwilio_from = \"+15550001111\"\n",
        )
        .unwrap();
        let loc = Location {
            config: Some(path),
            ..Default::default()
        };
        let c = Config::resolve(&loc, &Overrides::default()).unwrap();
        assert!(!c.backup_codes_viewable);
        assert_eq!(c.backup_codes_count, 12);
        assert_eq!(c.sms.host, "auth.example.com");
        assert!(
            matches!(c.sms.provider, SmsProvider::Twilio { ref base_url, .. } if base_url == "https://api.twilio.com")
        );
        assert!(
            !format!("{:?}", c.sms.provider).contains("\"t\""),
            "Debug hides the auth token"
        );
        let o = Overrides {
            sms_provider: Some("http".into()),
            ..Default::default()
        };
        let err = Config::resolve(&loc, &o).unwrap_err().to_string();
        assert!(err.contains("sms-http-url"), "{err}");
        // Issue 10: a real gateway without a real host for the `@host #code` line is refused.
        let o = Overrides {
            sms_provider: Some("http".into()),
            sms_http_url: Some("http://127.0.0.1:9/sms".into()),
            ..Default::default()
        };
        let bare = Location::default();
        let err = Config::resolve(&bare, &o).unwrap_err().to_string();
        assert!(err.contains("--sms-host"), "{err}");
        let o = Overrides {
            sms_host: Some("auth.example.com".into()),
            ..o
        };
        assert!(Config::resolve(&bare, &o).is_ok());
        let o = Overrides {
            backup_codes_count: Some(3),
            ..Default::default()
        };
        assert!(Config::resolve(&loc, &o).is_err());
    }

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("twofold.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\nrecent_auth_secs = 300\npublic_url = \"https://a.example\"\n").unwrap();
        let loc = Location {
            config: Some(path),
            ..Default::default()
        };
        let c = Config::resolve(&loc, &Overrides::default()).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(c.recent_auth_secs, 300);
        assert!(c.secure_cookies());
        let o = Overrides {
            recent_auth_secs: Some(60),
            ..Default::default()
        };
        assert_eq!(Config::resolve(&loc, &o).unwrap().recent_auth_secs, 60);
    }

    #[test]
    fn a_typo_in_the_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("twofold.toml");
        std::fs::write(&path, "lisen = \"0.0.0.0:9000\"\n").unwrap();
        let loc = Location {
            config: Some(path),
            ..Default::default()
        };
        let err = format!(
            "{:#}",
            Config::resolve(&loc, &Overrides::default()).unwrap_err()
        );
        assert!(err.contains("lisen"), "{err}");
    }
}
