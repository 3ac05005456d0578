//! Every setting of `twofold serve`, declared once: one entry gives its flag, its `TWOFOLD_*`
//! variable, its TOML key, its default and its help, and `settings!` makes of the entries
//! the clap arguments ([`Location`], [`Overrides`]), the TOML tables (`FileConfig` and one
//! struct per `[table]`, unknown keys refused) and the merge ([`Settings::merge`]: the flag
//! or variable, else the file, else the default). `Config::resolve` (in `mod.rs`) turns the
//! merged settings into a `Config`, with the few rules a default cannot say (the SMS host
//! from the public URL, the database in the data folder, the providers).
//!
//! An entry reads:
//!
//! ```text
//! /// Help, as `twofold serve --help` shows it.
//! field: Type, default(EXPR), value "NAME", long "flag", env "TWOFOLD_FLAG", key toml_key;
//! ```
//!
//! `default(EXPR)` is the value when nothing sets it (`--help` shows it);
//! `default(EXPR, shown "TEXT")` shows `TEXT` instead; `unset("TEXT")` has no value when
//! nothing sets it (a rule in `Config::resolve` decides; `--help` shows `TEXT`), `unset()`
//! neither. `key` is the key in the entry's `[table]` (none: a flag only); `clap(…)` adds
//! arguments to `#[arg]`.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::LogFormat;

/// The type a setting resolves to: its own with a default, an `Option` without.
macro_rules! resolved_type {
    (default $args:tt, $ty:ty) => { $ty };
    (unset $args:tt, $ty:ty) => { Option<$ty> };
}

/// A setting once merged: the flag or variable, else the file, else the default.
macro_rules! resolved_value {
    ($merged:expr, default ($default:expr $(, shown $shown:literal)?)) => {
        or_default($merged, || $default)
    };
    ($merged:expr, unset $args:tt) => {
        $merged
    };
}

/// The default `--help` shows, if any.
macro_rules! shown_default {
    (default ($default:expr, shown $shown:literal), $ty:ty) => {
        Some(String::from($shown))
    };
    (default ($default:expr), $ty:ty) => {
        Some(<$ty as Shown>::shown(&$default))
    };
    (unset ($shown:literal), $ty:ty) => {
        Some(String::from($shown))
    };
    (unset (), $ty:ty) => {
        None
    };
}

/// A TOML key written whole: `listen`, `sms.budget.per_account_hour`.
macro_rules! toml_key {
    ([], $key:ident) => { stringify!($key) };
    ([$($table:ident).+], $key:ident) => { concat!($(stringify!($table), ".",)+ stringify!($key)) };
}

/// The TOML key of a setting that may have none.
macro_rules! toml_key_of {
    ($table:tt) => {
        None
    };
    ($table:tt, $key:ident) => {
        Some(toml_key!($table, $key))
    };
}

/// A key's value in the parsed file: `file.sms.budget.per_account_hour`.
macro_rules! file_value {
    ($file:ident, [$($table:ident).*], $key:ident) => { $file$(.$table)*.$key };
}

/// A merged setting written with `Debug`, `None` when unset (for the tests).
#[cfg(test)]
macro_rules! debug_of {
    (default $args:tt, $value:expr) => {
        format!("{:?}", $value)
    };
    (unset $args:tt, $value:expr) => {
        $value
            .as_ref()
            .map_or_else(|| "None".to_owned(), |v| format!("{v:?}"))
    };
}

/// The declaration below made into structs and a merge; see the module's documentation.
macro_rules! settings {
    (
        $(#[doc = $loc_doc:literal])*
        pub struct $Location:ident {
            $(
                $(#[doc = $l_doc:literal])*
                $l_field:ident : $l_ty:ty, $l_kind:ident $l_args:tt, value $l_value:literal,
                long $l_long:literal, env $l_env:literal $(, key $l_key:ident)?
                $(, clap($($l_clap:tt)*))?;
            )*
        }
        $(#[doc = $over_doc:literal])*
        pub struct $Overrides:ident {
            [] $File:ident { $($t_key:ident : $t_ty:ty),* $(,)? } {
                $(
                    $(#[doc = $r_doc:literal])*
                    $r_field:ident : $r_ty:ty, $r_kind:ident $r_args:tt, value $r_value:literal,
                    long $r_long:literal, env $r_env:literal $(, key $r_key:ident)?
                    $(, clap($($r_clap:tt)*))?;
                )*
            }
            $(
                $s_table:tt $SFile:ident $s_heading:literal { $($st_key:ident : $st_ty:ty),* $(,)? } {
                    $(
                        $(#[doc = $e_doc:literal])*
                        $e_field:ident : $e_ty:ty, $e_kind:ident $e_args:tt, value $e_value:literal,
                        long $e_long:literal, env $e_env:literal $(, key $e_key:ident)?
                        $(, clap($($e_clap:tt)*))?;
                    )*
                }
            )*
        }
    ) => {
        $(#[doc = $loc_doc])*
        #[derive(Debug, Default, Clone, clap::Args)]
        pub struct $Location {
            $(
                $(#[doc = $l_doc])*
                #[arg(
                    id = stringify!($l_field), long = $l_long, env = $l_env,
                    value_name = $l_value, global = true,
                    help = help_text(&[$($l_doc),*], shown_default!($l_kind $l_args, $l_ty), $l_value, toml_key_of!([] $(, $l_key)?))
                    $(, $($l_clap)*)?
                )]
                pub $l_field: Option<$l_ty>,
            )*
        }

        $(#[doc = $over_doc])*
        #[derive(Debug, Default, Clone, clap::Args)]
        pub struct $Overrides {
            $(
                $(#[doc = $r_doc])*
                #[arg(
                    id = stringify!($r_field), long = $r_long, env = $r_env, value_name = $r_value,
                    help = help_text(&[$($r_doc),*], shown_default!($r_kind $r_args, $r_ty), $r_value, toml_key_of!([] $(, $r_key)?))
                    $(, $($r_clap)*)?
                )]
                pub $r_field: Option<$r_ty>,
            )*
            $($(
                $(#[doc = $e_doc])*
                #[arg(
                    id = stringify!($e_field), long = $e_long, env = $e_env, value_name = $e_value,
                    help_heading = $s_heading,
                    help = help_text(&[$($e_doc),*], shown_default!($e_kind $e_args, $e_ty), $e_value, toml_key_of!($s_table $(, $e_key)?))
                    $(, $($e_clap)*)?
                )]
                pub $e_field: Option<$e_ty>,
            )*)*
        }

        /// The optional TOML file; every key is optional.
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct $File {
            $($( pub(super) $l_key: Option<$l_ty>, )?)*
            $($( pub(super) $r_key: Option<$r_ty>, )?)*
            $( #[serde(default)] pub(super) $t_key: $t_ty, )*
        }

        $(
            #[doc = concat!("A table of the TOML file: the \"", $s_heading, "\" settings, each optional.")]
            #[derive(Debug, Default, serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            pub(super) struct $SFile {
                $($( pub(super) $e_key: Option<$e_ty>, )?)*
                $( #[serde(default)] pub(super) $st_key: $st_ty, )*
            }
        )*

        /// Every setting with a TOML key, merged (no `Debug`: it holds the tokens).
        pub(super) struct Settings {
            $($(
                #[doc = concat!("`", toml_key!([], $l_key), "`")]
                pub(super) $l_field: resolved_type!($l_kind $l_args, $l_ty),
            )?)*
            $($(
                #[doc = concat!("`", toml_key!([], $r_key), "`")]
                pub(super) $r_field: resolved_type!($r_kind $r_args, $r_ty),
            )?)*
            $($($(
                #[doc = concat!("`", toml_key!($s_table, $e_key), "`")]
                pub(super) $e_field: resolved_type!($e_kind $e_args, $e_ty),
            )?)*)*
        }

        impl Settings {
            /// Each setting: its flag or variable (clap reads both, the flag first), else its
            /// key in the file, else its default.
            pub(super) fn merge(loc: $Location, o: $Overrides, file: $File) -> Self {
                Self {
                    $($(
                        $l_field: resolved_value!(loc.$l_field.or(file_value!(file, [], $l_key)), $l_kind $l_args),
                    )?)*
                    $($(
                        $r_field: resolved_value!(o.$r_field.or(file_value!(file, [], $r_key)), $r_kind $r_args),
                    )?)*
                    $($($(
                        $e_field: resolved_value!(o.$e_field.or(file_value!(file, $s_table, $e_key)), $e_kind $e_args),
                    )?)*)*
                }
            }

            /// Every setting with a TOML key, for the tests to set each way.
            #[cfg(test)]
            fn probes() -> Vec<tests::Probe> {
                vec![
                    $($(
                        tests::Probe::new::<$l_ty>($l_long, $l_env, toml_key!([], $l_key), |s| debug_of!($l_kind $l_args, s.$l_field)),
                    )?)*
                    $($(
                        tests::Probe::new::<$r_ty>($r_long, $r_env, toml_key!([], $r_key), |s| debug_of!($r_kind $r_args, s.$r_field)),
                    )?)*
                    $($($(
                        tests::Probe::new::<$e_ty>($e_long, $e_env, toml_key!($s_table, $e_key), |s| debug_of!($e_kind $e_args, s.$e_field)),
                    )?)*)*
                ]
            }
        }
    };
}

settings! {
    /// Where the data lives; shared by `serve` and the admin commands (flags before or after
    /// the command).
    pub struct Location {
        /// TOML configuration file.
        config: PathBuf, unset(), value "FILE", long "config", env "TWOFOLD_CONFIG",
            clap(short = 'c');
        /// Folder for the SQLite database, the secret key and the SMS outbox.
        data_dir: PathBuf, default(PathBuf::from("twofold-data"), shown "./twofold-data"), value "DIR",
            long "data-dir", env "TWOFOLD_DATA_DIR", key data_dir;
        /// Database URL: sqlite:PATH or postgres://….
        database_url: String, unset("sqlite:DATA_DIR/twofold.db"), value "URL",
            long "database-url", env "TWOFOLD_DATABASE_URL", key database_url;
        /// Log lines as text for people or as JSON objects for log collectors.
        log_format: LogFormat, default(LogFormat::default()), value "FORMAT",
            long "log-format", env "TWOFOLD_LOG_FORMAT", key log_format;
    }

    /// Values given as flags or environment variables (clap fills these); `None` means unset.
    pub struct Overrides {
        [] FileConfig {
            access_control: super::access::FileAccess,
            sms: FileSms,
            mail: FileMail,
            oidc: FileOidc,
            backup_codes: FileBackupCodes,
            totp: FileTotp,
            webauthn: FileWebauthn,
        } {
            /// Address to listen on.
            listen: SocketAddr, default(SocketAddr::from(([127, 0, 0, 1], 8080))), value "ADDR",
                long "listen", env "TWOFOLD_LISTEN", key listen;
            /// Serve /metrics on this address only (e.g. 127.0.0.1:9090).
            metrics_listen: SocketAddr, unset("on --listen"), value "ADDR",
                long "metrics-listen", env "TWOFOLD_METRICS_LISTEN", key metrics_listen;
            /// Largest number of pooled database connections.
            db_max_connections: u32, default(10), value "N",
                long "db-max-connections", env "TWOFOLD_DB_MAX_CONNECTIONS", key db_max_connections;
            /// Public origin, e.g. https://auth.example.com (https makes cookies Secure).
            public_url: String, unset(), value "URL",
                long "public-url", env "TWOFOLD_PUBLIC_URL", key public_url;
            /// Trust X-Forwarded-For from a TLS-terminating proxy and mark cookies Secure.
            behind_proxy: bool, default(false), value "BOOL",
                long "behind-proxy", env "TWOFOLD_BEHIND_PROXY", key behind_proxy,
                clap(num_args = 0..=1, default_missing_value = "true");
            /// argon2id memory in KiB.
            argon2_memory_kib: u32, default(crate::crypto::Argon2Params::default().memory_kib), value "KIB",
                long "argon2-memory-kib", env "TWOFOLD_ARGON2_MEMORY_KIB", key argon2_memory_kib;
            /// argon2id iterations.
            argon2_iterations: u32, default(crate::crypto::Argon2Params::default().iterations), value "N",
                long "argon2-iterations", env "TWOFOLD_ARGON2_ITERATIONS", key argon2_iterations;
            /// argon2id parallelism.
            argon2_parallelism: u32, default(crate::crypto::Argon2Params::default().parallelism), value "N",
                long "argon2-parallelism", env "TWOFOLD_ARGON2_PARALLELISM", key argon2_parallelism;
            /// A session unused this many seconds ends.
            session_idle_secs: i64, default(14 * 86_400), value "SECS",
                long "session-idle-secs", env "TWOFOLD_SESSION_IDLE_SECS", key session_idle_secs;
            /// A session ends this many seconds after login.
            session_absolute_secs: i64, default(30 * 86_400), value "SECS",
                long "session-absolute-secs", env "TWOFOLD_SESSION_ABSOLUTE_SECS", key session_absolute_secs;
            /// Login activity (and the security events) older than this many days is deleted.
            activity_retention_days: i64, default(400), value "DAYS",
                long "activity-retention-days", env "TWOFOLD_ACTIVITY_RETENTION_DAYS", key activity_retention_days;
            /// A password confirmation counts as recent this many seconds.
            recent_auth_secs: i64, default(600), value "SECS",
                long "recent-auth-secs", env "TWOFOLD_RECENT_AUTH_SECS", key recent_auth_secs;
            /// Async worker threads (a flag or variable only: they start before the file is read).
            worker_threads: usize, unset("half the cores, at least 1"), value "N",
                long "worker-threads", env "TWOFOLD_WORKER_THREADS";
            /// Proxies whose X-Forwarded-For is believed, as CIDRs.
            trusted_proxies: Vec<String>, default(vec!["127.0.0.0/8".to_owned(), "::1/128".to_owned()]), value "CIDRS",
                long "trusted-proxies", env "TWOFOLD_TRUSTED_PROXIES", key trusted_proxies,
                clap(value_delimiter = ',');
            /// Open connections at most; more are closed at once.
            max_connections: usize, default(1024), value "N",
                long "max-connections", env "TWOFOLD_MAX_CONNECTIONS", key max_connections;
            /// Seconds a client has to send a request's headers.
            header_timeout_secs: u64, default(10), value "SECS",
                long "header-timeout-secs", env "TWOFOLD_HEADER_TIMEOUT_SECS", key header_timeout_secs;
            /// Seconds a whole request may take.
            request_timeout_secs: u64, default(30), value "SECS",
                long "request-timeout-secs", env "TWOFOLD_REQUEST_TIMEOUT_SECS", key request_timeout_secs;
            /// Password hashes waiting or running at most; beyond, 503.
            hash_queue: usize, default(0, shown "32 per core"), value "N",
                long "hash-queue", env "TWOFOLD_HASH_QUEUE", key hash_queue;
            /// Logins and password confirmations per client address per minute, 0 for no limit.
            logins_per_address_minute: u32, default(30), value "N",
                long "logins-per-address-minute", env "TWOFOLD_LOGINS_PER_ADDRESS_MINUTE", key logins_per_address_minute;
            /// Sign-ups per client address per hour, 0 for no limit.
            sign_ups_per_address_hour: i64, default(10), value "N",
                long "sign-ups-per-address-hour", env "TWOFOLD_SIGN_UPS_PER_ADDRESS_HOUR", key sign_ups_per_address_hour;
            /// Who may make an account: open (anyone), invite (with an invitation link only) or
            /// closed.
            sign_up: crate::domain::SignUpMode, default(crate::domain::SignUpMode::Open), value "MODE",
                long "sign-up", env "TWOFOLD_SIGN_UP", key sign_up;
            /// Who to contact after losing every second factor, shown under "Try another way"
            /// (an email address or a URL).
            operator_contact: String, unset(), value "TEXT",
                long "operator-contact", env "TWOFOLD_OPERATOR_CONTACT", key operator_contact;
            /// Parent domain the session cookie covers, so protected sites under it share the
            /// login (e.g. example.com; needs --public-url under it).
            cookie_domain: String, unset("Twofold's host only"), value "DOMAIN",
                long "cookie-domain", env "TWOFOLD_COOKIE_DOMAIN", key cookie_domain;
        }

        [sms] FileSms "Text messages" { budget: FileSmsBudget } {
            /// SMS provider: outbox, http or twilio.
            sms_provider: String, default(String::from("outbox")), value "NAME",
                long "sms-provider", env "TWOFOLD_SMS_PROVIDER", key provider;
            /// Give up sending a text message after this many seconds.
            sms_timeout_secs: u64, default(5), value "SECS",
                long "sms-timeout-secs", env "TWOFOLD_SMS_TIMEOUT_SECS", key timeout_secs;
            /// Host in the origin-bound SMS line `@host #123456`.
            sms_host: String, unset("the public URL's host"), value "HOST",
                long "sms-host", env "TWOFOLD_SMS_HOST", key host;
            /// Region for phone numbers typed without + (ISO 3166 code like US).
            sms_default_region: String, unset("none"), value "CC",
                long "sms-default-region", env "TWOFOLD_SMS_DEFAULT_REGION", key default_region;
            /// Webhook URL for the http SMS provider.
            sms_http_url: String, unset(), value "URL",
                long "sms-http-url", env "TWOFOLD_SMS_HTTP_URL", key http_url;
            /// Bearer token for the http SMS provider.
            sms_http_token: String, unset(), value "TOKEN",
                long "sms-http-token", env "TWOFOLD_SMS_HTTP_TOKEN", key http_token,
                clap(hide_env_values = true);
            /// Twilio account SID.
            twilio_account_sid: String, unset(), value "SID",
                long "twilio-account-sid", env "TWOFOLD_TWILIO_ACCOUNT_SID", key twilio_account_sid;
            /// Twilio auth token.
            twilio_auth_token: String, unset(), value "TOKEN",
                long "twilio-auth-token", env "TWOFOLD_TWILIO_AUTH_TOKEN", key twilio_auth_token,
                clap(hide_env_values = true);
            /// Twilio sender (phone number or messaging service SID).
            twilio_from: String, unset(), value "FROM",
                long "twilio-from", env "TWOFOLD_TWILIO_FROM", key twilio_from;
            /// Twilio API base URL.
            twilio_base_url: String, default(String::from("https://api.twilio.com")), value "URL",
                long "twilio-base-url", env "TWOFOLD_TWILIO_BASE_URL", key twilio_base_url;
        }

        [sms.budget] FileSmsBudget "Text-message budget" {} {
            /// Text messages per account per hour.
            sms_budget_per_account_hour: i64, default(crate::auth::TextBudget::default().per_account_hour), value "N",
                long "sms-budget-per-account-hour", env "TWOFOLD_SMS_BUDGET_PER_ACCOUNT_HOUR", key per_account_hour;
            /// Text messages per account per day.
            sms_budget_per_account_day: i64, default(crate::auth::TextBudget::default().per_account_day), value "N",
                long "sms-budget-per-account-day", env "TWOFOLD_SMS_BUDGET_PER_ACCOUNT_DAY", key per_account_day;
            /// Text messages per destination number per hour.
            sms_budget_per_number_hour: i64, default(crate::auth::TextBudget::default().per_number_hour), value "N",
                long "sms-budget-per-number-hour", env "TWOFOLD_SMS_BUDGET_PER_NUMBER_HOUR", key per_number_hour;
            /// Text messages per destination number per day.
            sms_budget_per_number_day: i64, default(crate::auth::TextBudget::default().per_number_day), value "N",
                long "sms-budget-per-number-day", env "TWOFOLD_SMS_BUDGET_PER_NUMBER_DAY", key per_number_day;
            /// Text messages per country calling code per hour.
            sms_budget_per_country_hour: i64, default(crate::auth::TextBudget::default().per_country_hour), value "N",
                long "sms-budget-per-country-hour", env "TWOFOLD_SMS_BUDGET_PER_COUNTRY_HOUR", key per_country_hour;
            /// Text messages per hour for the whole installation.
            sms_budget_global_hour: i64, default(crate::auth::TextBudget::default().global_hour), value "N",
                long "sms-budget-global-hour", env "TWOFOLD_SMS_BUDGET_GLOBAL_HOUR", key global_hour;
        }

        [mail] FileMail "Email" {} {
            /// Mail provider: outbox or smtp.
            mail_provider: String, default(String::from("outbox")), value "NAME",
                long "mail-provider", env "TWOFOLD_MAIL_PROVIDER", key provider;
            /// SMTP server for the smtp provider: smtp://host:587 (STARTTLS required unless the
            /// server is on this machine) or smtps://host:465, with user:password@ to log in.
            smtp_url: String, unset(), value "URL",
                long "smtp-url", env "TWOFOLD_SMTP_URL", key smtp_url,
                clap(hide_env_values = true);
            /// The sender of Twofold's emails.
            mail_from: String, unset("twofold@<public host>"), value "ADDRESS",
                long "mail-from", env "TWOFOLD_MAIL_FROM", key from;
            /// Give up sending an email after this many seconds.
            mail_timeout_secs: u64, default(10), value "SECS",
                long "mail-timeout-secs", env "TWOFOLD_MAIL_TIMEOUT_SECS", key timeout_secs;
        }

        [oidc] FileOidc "OpenID Connect" {} {
            /// OpenID Connect authorization codes live this long.
            oidc_code_secs: i64, default(crate::auth::oidc::OidcPolicy::default().code_secs), value "SECS",
                long "oidc-code-secs", env "TWOFOLD_OIDC_CODE_SECS", key code_secs;
            /// OpenID Connect access tokens live this long.
            oidc_access_token_secs: i64, default(crate::auth::oidc::OidcPolicy::default().access_token_secs), value "SECS",
                long "oidc-access-token-secs", env "TWOFOLD_OIDC_ACCESS_TOKEN_SECS", key access_token_secs;
            /// OpenID Connect ID tokens live this long.
            oidc_id_token_secs: i64, default(crate::auth::oidc::OidcPolicy::default().id_token_secs), value "SECS",
                long "oidc-id-token-secs", env "TWOFOLD_OIDC_ID_TOKEN_SECS", key id_token_secs;
            /// OpenID Connect refresh tokens live this long.
            oidc_refresh_token_secs: i64, default(crate::auth::oidc::OidcPolicy::default().refresh_token_secs), value "SECS",
                long "oidc-refresh-token-secs", env "TWOFOLD_OIDC_REFRESH_TOKEN_SECS", key refresh_token_secs;
            /// OpenID Connect refresh tokens end this long after the login that granted them,
            /// however often they are rotated.
            oidc_refresh_absolute_secs: i64, default(crate::auth::oidc::OidcPolicy::default().refresh_absolute_secs), value "SECS",
                long "oidc-refresh-absolute-secs", env "TWOFOLD_OIDC_REFRESH_ABSOLUTE_SECS", key refresh_absolute_secs;
        }

        [backup_codes] FileBackupCodes "Backup codes" {} {
            /// Backup codes per batch, 5 to 20.
            backup_codes_count: usize, default(10), value "N",
                long "backup-codes-count", env "TWOFOLD_BACKUP_CODES_COUNT", key count;
            /// Keep an encrypted copy so backup codes can be viewed again.
            backup_codes_viewable: bool, default(true), value "BOOL",
                long "backup-codes-viewable", env "TWOFOLD_BACKUP_CODES_VIEWABLE", key viewable;
        }

        [totp] FileTotp "Authenticator apps" {} {
            /// Issuer shown in authenticator apps.
            totp_issuer: String, default(String::from("Twofold")), value "NAME",
                long "totp-issuer", env "TWOFOLD_TOTP_ISSUER", key issuer;
        }

        [webauthn] FileWebauthn "Passkeys and security keys" {} {
            /// WebAuthn relying party id: the public URL's host or a registrable suffix of it
            /// (e.g. the cookie domain). Passkeys are bound to it: changing it later strands them.
            webauthn_rp_id: String, unset("the public URL's host, or localhost"), value "DOMAIN",
                long "webauthn-rp-id", env "TWOFOLD_WEBAUTHN_RP_ID", key rp_id;
            /// User verification (a PIN or biometric on the device): preferred or required.
            webauthn_user_verification: String, default(String::from("preferred")), value "WHEN",
                long "webauthn-user-verification", env "TWOFOLD_WEBAUTHN_USER_VERIFICATION", key user_verification;
            /// Attestation asked of authenticators: none or direct.
            webauthn_attestation: String, default(String::from("none")), value "KIND",
                long "webauthn-attestation", env "TWOFOLD_WEBAUTHN_ATTESTATION", key attestation;
            /// Only these authenticator models (AAGUIDs) may be added.
            webauthn_allowed_aaguids: Vec<String>, default(Vec::new(), shown "any"), value "AAGUIDS",
                long "webauthn-allowed-aaguids", env "TWOFOLD_WEBAUTHN_ALLOWED_AAGUIDS", key allowed_aaguids,
                clap(value_delimiter = ',');
            /// These authenticator models (AAGUIDs) may never be added.
            webauthn_denied_aaguids: Vec<String>, default(Vec::new(), shown "none"), value "AAGUIDS",
                long "webauthn-denied-aaguids", env "TWOFOLD_WEBAUTHN_DENIED_AAGUIDS", key denied_aaguids,
                clap(value_delimiter = ',');
        }
    }
}

/// The value, else the default.
fn or_default<T>(value: Option<T>, default: impl FnOnce() -> T) -> T {
    value.unwrap_or_else(default)
}

/// A default as `--help` writes it.
trait Shown {
    fn shown(&self) -> String;
}

macro_rules! shown_as_displayed {
    ($($ty:ty),*) => {$(
        impl Shown for $ty {
            fn shown(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

shown_as_displayed!(u32, u64, i64, usize, bool, String, SocketAddr);

impl Shown for PathBuf {
    fn shown(&self) -> String {
        self.display().to_string()
    }
}

impl Shown for Vec<String> {
    fn shown(&self) -> String {
        self.join(",")
    }
}

impl Shown for crate::domain::SignUpMode {
    fn shown(&self) -> String {
        self.as_str().to_owned()
    }
}

impl Shown for LogFormat {
    fn shown(&self) -> String {
        clap::ValueEnum::to_possible_value(self)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }
}

/// A setting's help: its doc comment on one line (without the final period), its default
/// (seconds that make whole days say so) and its TOML key.
fn help_text(doc: &[&str], default: Option<String>, value_name: &str, key: Option<&str>) -> String {
    let mut help = doc
        .iter()
        .map(|line| line.trim())
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if help.ends_with('.') {
        help.pop();
    }
    if let Some(default) = default {
        let days = default
            .parse::<i64>()
            .ok()
            .filter(|n| value_name == "SECS" && *n >= 86_400 && n % 86_400 == 0);
        match days {
            Some(n) => help.push_str(&format!(" [default: {n}, {} days]", n / 86_400)),
            None => help.push_str(&format!(" [default: {default}]")),
        }
    }
    if let Some(key) = key {
        help.push_str(&format!(" [toml: {key}]"));
    }
    help
}

#[cfg(test)]
mod tests;
