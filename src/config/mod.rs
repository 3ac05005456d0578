//! Configuration: command-line flags, `TWOFOLD_*` environment variables and an optional TOML
//! file, in that order of precedence, over built-in defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

mod access;

use anyhow::Context;
use serde::Deserialize;

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

/// `[mail]` in the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMail {
    provider: Option<String>,
    smtp_url: Option<String>,
    from: Option<String>,
    timeout_secs: Option<u64>,
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

/// `[sms]` in the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSms {
    provider: Option<String>,
    timeout_secs: Option<u64>,
    host: Option<String>,
    default_region: Option<String>,
    http_url: Option<String>,
    http_token: Option<String>,
    twilio_account_sid: Option<String>,
    twilio_auth_token: Option<String>,
    twilio_from: Option<String>,
    twilio_base_url: Option<String>,
    #[serde(default)]
    budget: FileSmsBudget,
}

/// `[sms.budget]` in the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSmsBudget {
    per_account_hour: Option<i64>,
    per_account_day: Option<i64>,
    per_number_hour: Option<i64>,
    per_number_day: Option<i64>,
    per_country_hour: Option<i64>,
    global_hour: Option<i64>,
}

/// `[oidc]` in the TOML file: token lifetimes in seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOidc {
    code_secs: Option<i64>,
    access_token_secs: Option<i64>,
    id_token_secs: Option<i64>,
    refresh_token_secs: Option<i64>,
    refresh_absolute_secs: Option<i64>,
}

/// `[backup_codes]` in the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBackupCodes {
    count: Option<usize>,
    viewable: Option<bool>,
}

/// `[totp]` in the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTotp {
    issuer: Option<String>,
}

/// The optional TOML file; every key is optional and named like the flag.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    listen: Option<SocketAddr>,
    log_format: Option<LogFormat>,
    metrics_listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    db_max_connections: Option<u32>,
    public_url: Option<String>,
    behind_proxy: Option<bool>,
    argon2_memory_kib: Option<u32>,
    argon2_iterations: Option<u32>,
    argon2_parallelism: Option<u32>,
    session_idle_secs: Option<i64>,
    session_absolute_secs: Option<i64>,
    activity_retention_days: Option<i64>,
    recent_auth_secs: Option<i64>,
    trusted_proxies: Option<Vec<String>>,
    max_connections: Option<usize>,
    header_timeout_secs: Option<u64>,
    request_timeout_secs: Option<u64>,
    hash_queue: Option<usize>,
    logins_per_address_minute: Option<u32>,
    sign_ups_per_address_hour: Option<i64>,
    operator_contact: Option<String>,
    cookie_domain: Option<String>,
    #[serde(default)]
    access_control: access::FileAccess,
    #[serde(default)]
    sms: FileSms,
    #[serde(default)]
    mail: FileMail,
    #[serde(default)]
    oidc: FileOidc,
    #[serde(default)]
    backup_codes: FileBackupCodes,
    #[serde(default)]
    totp: FileTotp,
}

/// Values given as flags or environment variables (clap fills these); `None` means unset.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// Address to listen on.
    #[arg(long, env = "TWOFOLD_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Serve /metrics on this address only (e.g. 127.0.0.1:9090) [default: on --listen].
    #[arg(long, env = "TWOFOLD_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Largest number of pooled database connections [default: 10].
    #[arg(long, env = "TWOFOLD_DB_MAX_CONNECTIONS", value_name = "N")]
    pub db_max_connections: Option<u32>,
    /// Public origin, e.g. https://auth.example.com (https makes cookies Secure).
    #[arg(long, env = "TWOFOLD_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Trust X-Forwarded-For from a TLS-terminating proxy and mark cookies Secure.
    #[arg(long, env = "TWOFOLD_BEHIND_PROXY", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub behind_proxy: Option<bool>,
    /// argon2id memory in KiB [default: 19456].
    #[arg(long, env = "TWOFOLD_ARGON2_MEMORY_KIB", value_name = "KIB")]
    pub argon2_memory_kib: Option<u32>,
    /// argon2id iterations [default: 2].
    #[arg(long, env = "TWOFOLD_ARGON2_ITERATIONS", value_name = "N")]
    pub argon2_iterations: Option<u32>,
    /// argon2id parallelism [default: 1].
    #[arg(long, env = "TWOFOLD_ARGON2_PARALLELISM", value_name = "N")]
    pub argon2_parallelism: Option<u32>,
    /// A session unused this many seconds ends [default: 1209600, 14 days].
    #[arg(long, env = "TWOFOLD_SESSION_IDLE_SECS", value_name = "SECS")]
    pub session_idle_secs: Option<i64>,
    /// A session ends this many seconds after login [default: 2592000, 30 days].
    #[arg(long, env = "TWOFOLD_SESSION_ABSOLUTE_SECS", value_name = "SECS")]
    pub session_absolute_secs: Option<i64>,
    /// Login activity (and the security events) older than this many days is deleted
    /// [default: 400].
    #[arg(long, env = "TWOFOLD_ACTIVITY_RETENTION_DAYS", value_name = "DAYS")]
    pub activity_retention_days: Option<i64>,
    /// A password confirmation counts as recent this many seconds [default: 600].
    #[arg(long, env = "TWOFOLD_RECENT_AUTH_SECS", value_name = "SECS")]
    pub recent_auth_secs: Option<i64>,
    /// Issuer shown in authenticator apps [default: Twofold].
    #[arg(long, env = "TWOFOLD_TOTP_ISSUER", value_name = "NAME")]
    pub totp_issuer: Option<String>,
    /// SMS provider: outbox, http or twilio [default: outbox].
    #[arg(long, env = "TWOFOLD_SMS_PROVIDER", value_name = "NAME")]
    pub sms_provider: Option<String>,
    /// Give up sending a text message after this many seconds [default: 5].
    #[arg(long, env = "TWOFOLD_SMS_TIMEOUT_SECS", value_name = "SECS")]
    pub sms_timeout_secs: Option<u64>,
    /// Host in the origin-bound SMS line `@host #123456` [default: the public URL's host].
    #[arg(long, env = "TWOFOLD_SMS_HOST", value_name = "HOST")]
    pub sms_host: Option<String>,
    /// Region for phone numbers typed without + (ISO 3166 code like US) [default: none].
    #[arg(long, env = "TWOFOLD_SMS_DEFAULT_REGION", value_name = "CC")]
    pub sms_default_region: Option<String>,
    /// Webhook URL for the http SMS provider.
    #[arg(long, env = "TWOFOLD_SMS_HTTP_URL", value_name = "URL")]
    pub sms_http_url: Option<String>,
    /// Bearer token for the http SMS provider.
    #[arg(
        long,
        env = "TWOFOLD_SMS_HTTP_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub sms_http_token: Option<String>,
    /// Twilio account SID.
    #[arg(long, env = "TWOFOLD_TWILIO_ACCOUNT_SID", value_name = "SID")]
    pub twilio_account_sid: Option<String>,
    /// Twilio auth token.
    #[arg(
        long,
        env = "TWOFOLD_TWILIO_AUTH_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub twilio_auth_token: Option<String>,
    /// Twilio sender (phone number or messaging service SID).
    #[arg(long, env = "TWOFOLD_TWILIO_FROM", value_name = "FROM")]
    pub twilio_from: Option<String>,
    /// Twilio API base URL [default: https://api.twilio.com].
    #[arg(long, env = "TWOFOLD_TWILIO_BASE_URL", value_name = "URL")]
    pub twilio_base_url: Option<String>,
    /// Async worker threads [default: half the cores, at least 1].
    #[arg(long, env = "TWOFOLD_WORKER_THREADS", value_name = "N")]
    pub worker_threads: Option<usize>,
    /// Backup codes per batch, 5 to 20 [default: 10].
    #[arg(long, env = "TWOFOLD_BACKUP_CODES_COUNT", value_name = "N")]
    pub backup_codes_count: Option<usize>,
    /// Keep an encrypted copy so backup codes can be viewed again [default: true].
    #[arg(long, env = "TWOFOLD_BACKUP_CODES_VIEWABLE", value_name = "BOOL")]
    pub backup_codes_viewable: Option<bool>,
    /// Proxies whose X-Forwarded-For is believed, as CIDRs [default: 127.0.0.0/8,::1/128].
    #[arg(
        long,
        env = "TWOFOLD_TRUSTED_PROXIES",
        value_name = "CIDRS",
        value_delimiter = ','
    )]
    pub trusted_proxies: Option<Vec<String>>,
    /// Open connections at most; more are closed at once [default: 1024].
    #[arg(long, env = "TWOFOLD_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Seconds a client has to send a request's headers [default: 10].
    #[arg(long, env = "TWOFOLD_HEADER_TIMEOUT_SECS", value_name = "SECS")]
    pub header_timeout_secs: Option<u64>,
    /// Seconds a whole request may take [default: 30].
    #[arg(long, env = "TWOFOLD_REQUEST_TIMEOUT_SECS", value_name = "SECS")]
    pub request_timeout_secs: Option<u64>,
    /// Password hashes waiting or running at most; beyond, 503 [default: 32 per core].
    #[arg(long, env = "TWOFOLD_HASH_QUEUE", value_name = "N")]
    pub hash_queue: Option<usize>,
    /// Logins and password confirmations per client address per minute, 0 for no limit [default: 30].
    #[arg(long, env = "TWOFOLD_LOGINS_PER_ADDRESS_MINUTE", value_name = "N")]
    pub logins_per_address_minute: Option<u32>,
    /// Sign-ups per client address per hour, 0 for no limit [default: 10].
    #[arg(long, env = "TWOFOLD_SIGN_UPS_PER_ADDRESS_HOUR", value_name = "N")]
    pub sign_ups_per_address_hour: Option<i64>,
    /// Who to contact after losing every second factor, shown under "Try another way" (an
    /// email address or a URL).
    #[arg(long, env = "TWOFOLD_OPERATOR_CONTACT", value_name = "TEXT")]
    pub operator_contact: Option<String>,
    /// Parent domain the session cookie covers, so protected sites under it share the login
    /// (e.g. example.com; needs --public-url under it) [default: Twofold's host only].
    #[arg(long, env = "TWOFOLD_COOKIE_DOMAIN", value_name = "DOMAIN")]
    pub cookie_domain: Option<String>,
    /// Mail provider: outbox or smtp [default: outbox].
    #[arg(long, env = "TWOFOLD_MAIL_PROVIDER", value_name = "NAME")]
    pub mail_provider: Option<String>,
    /// SMTP server for the smtp provider: smtp://host:587 (STARTTLS required unless the server is on this machine) or
    /// smtps://host:465, with user:password@ to log in.
    #[arg(
        long,
        env = "TWOFOLD_SMTP_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,
    /// The sender of Twofold's emails [default: twofold@<public host>].
    #[arg(long, env = "TWOFOLD_MAIL_FROM", value_name = "ADDRESS")]
    pub mail_from: Option<String>,
    /// Give up sending an email after this many seconds [default: 10].
    #[arg(long, env = "TWOFOLD_MAIL_TIMEOUT_SECS", value_name = "SECS")]
    pub mail_timeout_secs: Option<u64>,
    /// Text messages per account per hour [default: 10].
    #[arg(long, env = "TWOFOLD_SMS_BUDGET_PER_ACCOUNT_HOUR", value_name = "N")]
    pub sms_budget_per_account_hour: Option<i64>,
    /// Text messages per account per day [default: 30].
    #[arg(long, env = "TWOFOLD_SMS_BUDGET_PER_ACCOUNT_DAY", value_name = "N")]
    pub sms_budget_per_account_day: Option<i64>,
    /// Text messages per destination number per hour [default: 10].
    #[arg(long, env = "TWOFOLD_SMS_BUDGET_PER_NUMBER_HOUR", value_name = "N")]
    pub sms_budget_per_number_hour: Option<i64>,
    /// Text messages per destination number per day [default: 20].
    #[arg(long, env = "TWOFOLD_SMS_BUDGET_PER_NUMBER_DAY", value_name = "N")]
    pub sms_budget_per_number_day: Option<i64>,
    /// Text messages per country calling code per hour [default: 500].
    #[arg(long, env = "TWOFOLD_SMS_BUDGET_PER_COUNTRY_HOUR", value_name = "N")]
    pub sms_budget_per_country_hour: Option<i64>,
    /// Text messages per hour for the whole installation [default: 2000].
    #[arg(long, env = "TWOFOLD_SMS_BUDGET_GLOBAL_HOUR", value_name = "N")]
    pub sms_budget_global_hour: Option<i64>,
    /// OpenID Connect authorization codes live this long [default: 60].
    #[arg(long, env = "TWOFOLD_OIDC_CODE_SECS", value_name = "SECS")]
    pub oidc_code_secs: Option<i64>,
    /// OpenID Connect access tokens live this long [default: 600].
    #[arg(long, env = "TWOFOLD_OIDC_ACCESS_TOKEN_SECS", value_name = "SECS")]
    pub oidc_access_token_secs: Option<i64>,
    /// OpenID Connect ID tokens live this long [default: 600].
    #[arg(long, env = "TWOFOLD_OIDC_ID_TOKEN_SECS", value_name = "SECS")]
    pub oidc_id_token_secs: Option<i64>,
    /// OpenID Connect refresh tokens live this long [default: 2592000, 30 days].
    #[arg(long, env = "TWOFOLD_OIDC_REFRESH_TOKEN_SECS", value_name = "SECS")]
    pub oidc_refresh_token_secs: Option<i64>,
    /// OpenID Connect refresh tokens end this long after the login that granted them,
    /// however often they are rotated [default: 7776000, 90 days].
    #[arg(long, env = "TWOFOLD_OIDC_REFRESH_ABSOLUTE_SECS", value_name = "SECS")]
    pub oidc_refresh_absolute_secs: Option<i64>,
}

/// Where the data lives; shared by `serve` and the admin commands.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Location {
    /// TOML configuration file.
    #[arg(
        long,
        short = 'c',
        env = "TWOFOLD_CONFIG",
        value_name = "FILE",
        global = true
    )]
    pub config: Option<PathBuf>,
    /// Folder for the SQLite database, the secret key and the SMS outbox [default: ./twofold-data].
    #[arg(long, env = "TWOFOLD_DATA_DIR", value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite:PATH or postgres://… [default: sqlite:DATA_DIR/twofold.db].
    #[arg(long, env = "TWOFOLD_DATABASE_URL", value_name = "URL", global = true)]
    pub database_url: Option<String>,
    /// Log lines as text for people or as JSON objects for log collectors [default: text].
    #[arg(long, env = "TWOFOLD_LOG_FORMAT", value_name = "FORMAT", global = true)]
    pub log_format: Option<LogFormat>,
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
    loc.log_format
        .or_else(|| {
            let path = loc.config.as_ref()?;
            read_file(path).ok()?.0.log_format
        })
        .unwrap_or_default()
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
        let (data_dir, database_url) = place(loc, &file);
        let mut cfg = Self {
            listen: setting(
                o.listen,
                file.listen,
                SocketAddr::from(([127, 0, 0, 1], 8080)),
            ),
            metrics_listen: o.metrics_listen.or(file.metrics_listen),
            data_dir,
            database_url,
            db_max_connections: setting(o.db_max_connections, file.db_max_connections, 10),
            public_url: o.public_url.clone().or(file.public_url.clone()),
            behind_proxy: setting(o.behind_proxy, file.behind_proxy, false),
            argon2: argon2_params(o, &file),
            session_idle_secs: setting(o.session_idle_secs, file.session_idle_secs, 14 * 86_400),
            session_absolute_secs: setting(
                o.session_absolute_secs,
                file.session_absolute_secs,
                30 * 86_400,
            ),
            activity_retention_days: setting(
                o.activity_retention_days,
                file.activity_retention_days,
                400,
            ),
            recent_auth_secs: setting(o.recent_auth_secs, file.recent_auth_secs, 600),
            totp_issuer: o
                .totp_issuer
                .clone()
                .or(file.totp.issuer.clone())
                .unwrap_or_else(|| "Twofold".into()),
            // The providers and the names they use are set below, once the public URL is
            // known.
            sms: SmsConfig {
                provider: SmsProvider::Outbox,
                timeout_secs: setting(o.sms_timeout_secs, file.sms.timeout_secs, 5),
                host: String::new(),
                default_region: o
                    .sms_default_region
                    .clone()
                    .or(file.sms.default_region.clone()),
            },
            mail: MailConfig {
                provider: MailProvider::Outbox,
                from: String::new(),
                timeout_secs: setting(o.mail_timeout_secs, file.mail.timeout_secs, 10),
            },
            backup_codes_count: setting(o.backup_codes_count, file.backup_codes.count, 10),
            backup_codes_viewable: setting(
                o.backup_codes_viewable,
                file.backup_codes.viewable,
                true,
            ),
            trusted_proxies: parse_cidrs(
                o.trusted_proxies
                    .clone()
                    .or(file.trusted_proxies.clone())
                    .unwrap_or_else(|| vec!["127.0.0.0/8".into(), "::1/128".into()]),
            )?,
            max_connections: setting(o.max_connections, file.max_connections, 1024),
            header_timeout_secs: setting(o.header_timeout_secs, file.header_timeout_secs, 10),
            request_timeout_secs: setting(o.request_timeout_secs, file.request_timeout_secs, 30),
            hash_queue: setting(o.hash_queue, file.hash_queue, 0),
            logins_per_address_minute: setting(
                o.logins_per_address_minute,
                file.logins_per_address_minute,
                30,
            ),
            sign_ups_per_address_hour: setting(
                o.sign_ups_per_address_hour,
                file.sign_ups_per_address_hour,
                10,
            ),
            sms_budget: sms_budget(o, &file.sms.budget),
            oidc: oidc_policy(o, &file.oidc)?,
            operator_contact: o
                .operator_contact
                .clone()
                .or(file.operator_contact.clone())
                .filter(|c| !c.trim().is_empty()),
            access_control,
            cookie_domain: None,
        };
        cfg.channels_and_cookies(o, &file)?;
        cfg.check()?;
        Ok(cfg)
    }

    /// The SMS and mail providers with the names they use, and the cookie domain: what
    /// depends on the public URL resolved before.
    fn channels_and_cookies(&mut self, o: &Overrides, file: &FileConfig) -> anyhow::Result<()> {
        let cfg = self;
        let host = o
            .sms_host
            .clone()
            .or(file.sms.host.clone())
            .or_else(|| cfg.public_url.as_deref().and_then(host_of));
        cfg.sms.provider = sms_provider(o, &file.sms)?;
        // A real gateway texts real phones: the `@host #123456` line must name the site its
        // users see, or phones will offer the code to no site (and a phishing page cannot
        // be told apart).
        anyhow::ensure!(
            host.is_some() || cfg.sms.provider == SmsProvider::Outbox,
            "the http and twilio SMS providers send real texts: set --sms-host (or --public-url) to the host name users log in at, like auth.example.com"
        );
        cfg.sms.host = host.unwrap_or_else(|| "localhost".into());
        cfg.mail.provider = mail_provider(o, &file.mail)?;
        cfg.mail.from = o
            .mail_from
            .clone()
            .or(file.mail.from.clone())
            .unwrap_or_else(|| format!("Twofold <twofold@{}>", cfg.public_host()));
        if let Some(d) = o.cookie_domain.clone().or(file.cookie_domain.clone()) {
            let public = cfg.public_url.as_deref().and_then(host_of);
            cfg.cookie_domain = Some(access::cookie_domain(&d, public.as_deref())?);
        }
        Ok(())
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
fn parse_cidrs(items: Vec<String>) -> anyhow::Result<Vec<ipnet::IpNet>> {
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

fn oidc_policy(o: &Overrides, f: &FileOidc) -> anyhow::Result<crate::auth::oidc::OidcPolicy> {
    let d = crate::auth::oidc::OidcPolicy::default();
    let pick = |flag: Option<i64>, file: Option<i64>, default: i64, name: &str, max: i64| {
        let v = flag.or(file).unwrap_or(default);
        if !(1..=max).contains(&v) {
            anyhow::bail!("oidc {name} must be between 1 and {max} seconds (got {v})");
        }
        Ok(v)
    };
    Ok(crate::auth::oidc::OidcPolicy {
        issuer: d.issuer.clone(),
        code_secs: pick(o.oidc_code_secs, f.code_secs, d.code_secs, "code_secs", 600)?,
        access_token_secs: pick(
            o.oidc_access_token_secs,
            f.access_token_secs,
            d.access_token_secs,
            "access_token_secs",
            86_400,
        )?,
        id_token_secs: pick(
            o.oidc_id_token_secs,
            f.id_token_secs,
            d.id_token_secs,
            "id_token_secs",
            86_400,
        )?,
        refresh_token_secs: pick(
            o.oidc_refresh_token_secs,
            f.refresh_token_secs,
            d.refresh_token_secs,
            "refresh_token_secs",
            365 * 86_400,
        )?,
        refresh_absolute_secs: pick(
            o.oidc_refresh_absolute_secs,
            f.refresh_absolute_secs,
            d.refresh_absolute_secs,
            "refresh_absolute_secs",
            3 * 365 * 86_400,
        )?,
    })
}

/// The data folder and the database: the flag or variable, else the file, else
/// `./twofold-data` with its SQLite database.
fn place(loc: &Location, file: &FileConfig) -> (PathBuf, String) {
    let data_dir = loc
        .data_dir
        .clone()
        .or(file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("twofold-data"));
    let database_url = loc
        .database_url
        .clone()
        .or(file.database_url.clone())
        .unwrap_or_else(|| sqlite_url(&data_dir.join("twofold.db")));
    (data_dir, database_url)
}

/// A setting: the flag (or its `TWOFOLD_*` variable), else the file's key, else the default.
fn setting<T>(flag: Option<T>, file: Option<T>, default: T) -> T {
    flag.or(file).unwrap_or(default)
}

/// The argon2id parameters: a flag, else the file, else the defaults.
fn argon2_params(o: &Overrides, file: &FileConfig) -> Argon2Params {
    let d = Argon2Params::default();
    Argon2Params {
        memory_kib: o
            .argon2_memory_kib
            .or(file.argon2_memory_kib)
            .unwrap_or(d.memory_kib),
        iterations: o
            .argon2_iterations
            .or(file.argon2_iterations)
            .unwrap_or(d.iterations),
        parallelism: o
            .argon2_parallelism
            .or(file.argon2_parallelism)
            .unwrap_or(d.parallelism),
    }
}

fn sms_budget(o: &Overrides, f: &FileSmsBudget) -> crate::auth::TextBudget {
    let d = crate::auth::TextBudget::default();
    crate::auth::TextBudget {
        per_account_hour: o
            .sms_budget_per_account_hour
            .or(f.per_account_hour)
            .unwrap_or(d.per_account_hour),
        per_account_day: o
            .sms_budget_per_account_day
            .or(f.per_account_day)
            .unwrap_or(d.per_account_day),
        per_number_hour: o
            .sms_budget_per_number_hour
            .or(f.per_number_hour)
            .unwrap_or(d.per_number_hour),
        per_number_day: o
            .sms_budget_per_number_day
            .or(f.per_number_day)
            .unwrap_or(d.per_number_day),
        per_country_hour: o
            .sms_budget_per_country_hour
            .or(f.per_country_hour)
            .unwrap_or(d.per_country_hour),
        global_hour: o
            .sms_budget_global_hour
            .or(f.global_hour)
            .unwrap_or(d.global_hour),
        notice_every_secs: d.notice_every_secs,
    }
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

fn sms_provider(o: &Overrides, f: &FileSms) -> anyhow::Result<SmsProvider> {
    let name = o
        .sms_provider
        .clone()
        .or(f.provider.clone())
        .unwrap_or_else(|| "outbox".into());
    let need = |v: Option<String>, what: &str| {
        v.filter(|v| !v.is_empty())
            .ok_or_else(|| anyhow::anyhow!("the {name} SMS provider needs {what}"))
    };
    Ok(match name.as_str() {
        "outbox" => SmsProvider::Outbox,
        "http" => SmsProvider::Http {
            url: tls_unless_loopback(
                need(
                    o.sms_http_url.clone().or(f.http_url.clone()),
                    "--sms-http-url (TWOFOLD_SMS_HTTP_URL)",
                )?,
                "--sms-http-url",
            )?,
            token: o.sms_http_token.clone().or(f.http_token.clone()),
        },
        "twilio" => SmsProvider::Twilio {
            base_url: tls_unless_loopback(
                o.twilio_base_url
                    .clone()
                    .or(f.twilio_base_url.clone())
                    .unwrap_or_else(|| "https://api.twilio.com".into()),
                "--twilio-base-url",
            )?,
            account_sid: need(
                o.twilio_account_sid
                    .clone()
                    .or(f.twilio_account_sid.clone()),
                "--twilio-account-sid",
            )?,
            auth_token: need(
                o.twilio_auth_token.clone().or(f.twilio_auth_token.clone()),
                "--twilio-auth-token",
            )?,
            from: need(
                o.twilio_from.clone().or(f.twilio_from.clone()),
                "--twilio-from",
            )?,
        },
        other => anyhow::bail!("unknown SMS provider {other:?}: use outbox, http or twilio"),
    })
}

fn mail_provider(o: &Overrides, f: &FileMail) -> anyhow::Result<MailProvider> {
    let name = o
        .mail_provider
        .clone()
        .or(f.provider.clone())
        .unwrap_or_else(|| "outbox".into());
    Ok(match name.as_str() {
        "outbox" => MailProvider::Outbox,
        "smtp" => MailProvider::Smtp {
            url: o
                .smtp_url
                .clone()
                .or(f.smtp_url.clone())
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
