//! The declaration is the only one: every setting is set by its flag, its variable and its
//! TOML key, in that order over its default; `--help` shows each default and key; a typo
//! in any table is named; and the names are those of before (issue 22).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{CommandFactory, Parser};

use super::{FileConfig, Location, Overrides, Settings};
use crate::config::LogFormat;

/// `twofold` as `src/cli` declares it, for `serve` (the config layer cannot name the CLI).
#[derive(Debug, Parser)]
#[command(name = "twofold")]
struct Cli {
    #[command(flatten)]
    location: Location,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Run the server.
    Serve(Overrides),
}

/// One value of a setting, as a flag or variable writes it, as TOML writes it, and as the
/// merged setting shows it (`Debug`).
#[derive(Clone, Debug)]
pub(super) struct Value {
    cli: String,
    toml: String,
    debug: String,
}

/// A setting with a TOML key, for setting it each way (made by `settings!`).
pub(super) struct Probe {
    long: &'static str,
    env: &'static str,
    key: &'static str,
    values: Vec<Value>,
    read: fn(&Settings) -> String,
}

impl Probe {
    pub(super) fn new<T: Sample>(
        long: &'static str,
        env: &'static str,
        key: &'static str,
        read: fn(&Settings) -> String,
    ) -> Self {
        let values = T::samples()
            .into_iter()
            .map(|(cli, toml, value)| Value {
                cli: cli.to_owned(),
                toml,
                debug: format!("{value:?}"),
            })
            .collect();
        Self {
            long,
            env,
            key,
            values,
            read,
        }
    }

    /// Three values, each unlike the one it must beat: for the file (unlike the default), for
    /// the variable (unlike the file's) and for the flag (unlike the variable's).
    fn layers(&self, default: &str) -> [Value; 3] {
        let unlike = |other: &str| {
            self.values
                .iter()
                .find(|v| v.debug != other)
                .cloned()
                .unwrap()
        };
        let file = unlike(default);
        let env = unlike(&file.debug);
        let flag = unlike(&env.debug);
        [file, env, flag]
    }
}

/// Values of a setting's type: (flag or variable, TOML, the value).
pub(super) trait Sample: Sized + Debug {
    fn samples() -> Vec<(&'static str, String, Self)>;
}

macro_rules! numbers {
    ($($ty:ty),*) => {$(
        impl Sample for $ty {
            fn samples() -> Vec<(&'static str, String, Self)> {
                vec![("7", "7".into(), 7), ("8", "8".into(), 8), ("9", "9".into(), 9)]
            }
        }
    )*};
}

numbers!(u32, u64, i64, usize);

impl Sample for bool {
    fn samples() -> Vec<(&'static str, String, Self)> {
        vec![
            ("true", "true".into(), true),
            ("false", "false".into(), false),
        ]
    }
}

impl Sample for String {
    fn samples() -> Vec<(&'static str, String, Self)> {
        ["one", "two", "three"]
            .into_iter()
            .map(|s| (s, format!("{s:?}"), s.to_owned()))
            .collect()
    }
}

impl Sample for PathBuf {
    fn samples() -> Vec<(&'static str, String, Self)> {
        ["/one", "/two", "/three"]
            .into_iter()
            .map(|s| (s, format!("{s:?}"), PathBuf::from(s)))
            .collect()
    }
}

impl Sample for SocketAddr {
    fn samples() -> Vec<(&'static str, String, Self)> {
        ["10.0.0.1:7", "10.0.0.2:8", "10.0.0.3:9"]
            .into_iter()
            .map(|s| (s, format!("{s:?}"), s.parse().unwrap()))
            .collect()
    }
}

impl Sample for Vec<String> {
    fn samples() -> Vec<(&'static str, String, Self)> {
        vec![
            (
                "10.0.0.1/32,10.0.0.2/32",
                r#"["10.0.0.1/32", "10.0.0.2/32"]"#.into(),
                vec!["10.0.0.1/32".into(), "10.0.0.2/32".into()],
            ),
            (
                "10.0.0.3/32",
                r#"["10.0.0.3/32"]"#.into(),
                vec!["10.0.0.3/32".into()],
            ),
        ]
    }
}

impl Sample for LogFormat {
    fn samples() -> Vec<(&'static str, String, Self)> {
        vec![
            ("json", r#""json""#.into(), LogFormat::Json),
            ("text", r#""text""#.into(), LogFormat::Text),
        ]
    }
}

impl Sample for crate::domain::SignUpMode {
    fn samples() -> Vec<(&'static str, String, Self)> {
        use crate::domain::SignUpMode;
        vec![
            ("invite", r#""invite""#.into(), SignUpMode::Invite),
            ("closed", r#""closed""#.into(), SignUpMode::Closed),
        ]
    }
}

/// Parses `twofold ARGS` (its `serve`) as the binary does.
fn parse(args: &[String]) -> (Location, Overrides) {
    let cli = Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let Command::Serve(o) = cli.command;
    (cli.location, o)
}

/// `twofold serve` with a flag for each setting.
fn serve_with(flags: &[(&Probe, Value)]) -> Vec<String> {
    let mut args = vec!["twofold".to_owned(), "serve".to_owned()];
    args.extend(flags.iter().map(|(p, v)| format!("--{}={}", p.long, v.cli)));
    args
}

/// A TOML file setting each key, its tables written `[sms.budget]` as people write them.
fn file_with(keys: &[(&Probe, Value)]) -> FileConfig {
    let mut tables: BTreeMap<&str, String> = BTreeMap::new();
    for (p, v) in keys {
        let (table, key) = p.key.rsplit_once('.').unwrap_or(("", p.key));
        let body = tables.entry(table).or_default();
        body.push_str(&format!("{key} = {}\n", v.toml));
    }
    let text: String = tables
        .iter()
        .map(|(table, body)| match *table {
            "" => body.clone(),
            _ => format!("[{table}]\n{body}"),
        })
        .collect();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{text}\n{e}"))
}

/// Each setting's default and its three values (file, variable, flag).
fn plan() -> Vec<(Probe, String, [Value; 3])> {
    let defaults = Settings::merge(
        Location::default(),
        Overrides::default(),
        FileConfig::default(),
    );
    Settings::probes()
        .into_iter()
        .map(|p| {
            let default = (p.read)(&defaults);
            let layers = p.layers(&default);
            (p, default, layers)
        })
        .collect()
}

/// Every setting of `s` reads the value of layer `i` (0 file, 1 variable, 2 flag).
fn assert_each(s: &Settings, plan: &[(Probe, String, [Value; 3])], i: usize, what: &str) {
    for (p, _, layers) in plan {
        assert_eq!((p.read)(s), layers[i].debug, "--{} ({what})", p.long);
    }
}

#[test]
fn each_setting_is_set_by_its_key_and_its_flag_over_the_key() {
    let plan = plan();
    assert!(plan.len() > 50, "{} settings", plan.len());
    let layer = |i: usize| -> Vec<(&Probe, Value)> {
        plan.iter().map(|(p, _, l)| (p, l[i].clone())).collect()
    };
    let (loc, o) = parse(&serve_with(&[]));
    let s = Settings::merge(loc.clone(), o.clone(), FileConfig::default());
    for (p, default, _) in &plan {
        assert_eq!(&(p.read)(&s), default, "--{} unset", p.long);
    }
    let s = Settings::merge(loc, o, file_with(&layer(0)));
    assert_each(&s, &plan, 0, "the file's key");
    let (loc, o) = parse(&serve_with(&layer(2)));
    let s = Settings::merge(loc, o, FileConfig::default());
    assert_each(&s, &plan, 2, "the flag");
    // The second value is unlike the file's (the third may be the file's, as for a bool).
    let (loc, o) = parse(&serve_with(&layer(1)));
    let s = Settings::merge(loc, o, file_with(&layer(0)));
    assert_each(&s, &plan, 1, "the flag over the file");
}

/// Set by `each_environment_variable_sets_its_setting` in the process it starts.
const CHILD: &str = "TWOFOLD_SETTINGS_TEST_CHILD";

/// Variables are the process's own: this runs this one test in a process of its own with
/// every `TWOFOLD_*` variable set, rather than change this process's environment under the
/// other tests.
#[test]
fn each_environment_variable_sets_its_setting() {
    let plan = plan();
    let test = format!(
        "{}::environment_variables_in_a_process_of_their_own",
        module_path!().split_once("::").unwrap().1
    );
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test.as_str(), "--exact", "--ignored", "--test-threads=1"])
        .env(CHILD, "1")
        .envs(plan.iter().map(|(p, _, l)| (p.env, l[1].cli.clone())))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "run by each_environment_variable_sets_its_setting, with the variables set"]
fn environment_variables_in_a_process_of_their_own() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let plan = plan();
    let layer = |i: usize| -> Vec<(&Probe, Value)> {
        plan.iter().map(|(p, _, l)| (p, l[i].clone())).collect()
    };
    for (p, _, l) in &plan {
        assert_eq!(
            std::env::var(p.env).ok(),
            Some(l[1].cli.clone()),
            "{}",
            p.env
        );
    }
    let (loc, o) = parse(&serve_with(&[]));
    let s = Settings::merge(loc.clone(), o.clone(), FileConfig::default());
    assert_each(&s, &plan, 1, "the variable");
    let s = Settings::merge(loc, o, file_with(&layer(0)));
    assert_each(&s, &plan, 1, "the variable over the file");
    let (loc, o) = parse(&serve_with(&layer(2)));
    let s = Settings::merge(loc, o, file_with(&layer(0)));
    assert_each(&s, &plan, 2, "the flag over the variable");
}

#[test]
fn the_flags_without_a_key_are_read() {
    let args = [
        "twofold",
        "serve",
        "-c",
        "/etc/t.toml",
        "--worker-threads",
        "3",
    ];
    let (loc, o) = parse(&args.map(String::from));
    assert_eq!(loc.config, Some(PathBuf::from("/etc/t.toml")));
    assert_eq!(o.worker_threads, Some(3));
    let args = ["twofold", "serve", "--config=/x.toml", "--behind-proxy"];
    let (loc, o) = parse(&args.map(String::from));
    assert_eq!(loc.config, Some(PathBuf::from("/x.toml")));
    assert_eq!(
        o.behind_proxy,
        Some(true),
        "--behind-proxy alone means true"
    );
}

/// Every flag, variable and TOML key of `twofold serve` as they were before the settings
/// were declared once (issue 22), with the default `--help` shows. None may change.
#[rustfmt::skip]
const NAMES: [(&str, &str, Option<&str>, Option<&str>); 60] = [
    ("config", "TWOFOLD_CONFIG", None, None),
    ("data-dir", "TWOFOLD_DATA_DIR", Some("data_dir"), Some("./twofold-data")),
    ("database-url", "TWOFOLD_DATABASE_URL", Some("database_url"), Some("sqlite:DATA_DIR/twofold.db")),
    ("log-format", "TWOFOLD_LOG_FORMAT", Some("log_format"), Some("text")),
    ("listen", "TWOFOLD_LISTEN", Some("listen"), Some("127.0.0.1:8080")),
    ("metrics-listen", "TWOFOLD_METRICS_LISTEN", Some("metrics_listen"), Some("on --listen")),
    ("db-max-connections", "TWOFOLD_DB_MAX_CONNECTIONS", Some("db_max_connections"), Some("10")),
    ("public-url", "TWOFOLD_PUBLIC_URL", Some("public_url"), None),
    ("behind-proxy", "TWOFOLD_BEHIND_PROXY", Some("behind_proxy"), Some("false")),
    ("argon2-memory-kib", "TWOFOLD_ARGON2_MEMORY_KIB", Some("argon2_memory_kib"), Some("19456")),
    ("argon2-iterations", "TWOFOLD_ARGON2_ITERATIONS", Some("argon2_iterations"), Some("2")),
    ("argon2-parallelism", "TWOFOLD_ARGON2_PARALLELISM", Some("argon2_parallelism"), Some("1")),
    ("session-idle-secs", "TWOFOLD_SESSION_IDLE_SECS", Some("session_idle_secs"), Some("1209600, 14 days")),
    ("session-absolute-secs", "TWOFOLD_SESSION_ABSOLUTE_SECS", Some("session_absolute_secs"), Some("2592000, 30 days")),
    ("activity-retention-days", "TWOFOLD_ACTIVITY_RETENTION_DAYS", Some("activity_retention_days"), Some("400")),
    ("recent-auth-secs", "TWOFOLD_RECENT_AUTH_SECS", Some("recent_auth_secs"), Some("600")),
    ("worker-threads", "TWOFOLD_WORKER_THREADS", None, Some("half the cores, at least 1")),
    ("trusted-proxies", "TWOFOLD_TRUSTED_PROXIES", Some("trusted_proxies"), Some("127.0.0.0/8,::1/128")),
    ("max-connections", "TWOFOLD_MAX_CONNECTIONS", Some("max_connections"), Some("1024")),
    ("header-timeout-secs", "TWOFOLD_HEADER_TIMEOUT_SECS", Some("header_timeout_secs"), Some("10")),
    ("request-timeout-secs", "TWOFOLD_REQUEST_TIMEOUT_SECS", Some("request_timeout_secs"), Some("30")),
    ("hash-queue", "TWOFOLD_HASH_QUEUE", Some("hash_queue"), Some("32 per core")),
    ("logins-per-address-minute", "TWOFOLD_LOGINS_PER_ADDRESS_MINUTE", Some("logins_per_address_minute"), Some("30")),
    ("sign-ups-per-address-hour", "TWOFOLD_SIGN_UPS_PER_ADDRESS_HOUR", Some("sign_ups_per_address_hour"), Some("10")),
    ("sign-up", "TWOFOLD_SIGN_UP", Some("sign_up"), Some("open")),
    ("operator-contact", "TWOFOLD_OPERATOR_CONTACT", Some("operator_contact"), None),
    ("cookie-domain", "TWOFOLD_COOKIE_DOMAIN", Some("cookie_domain"), Some("Twofold's host only")),
    ("sms-provider", "TWOFOLD_SMS_PROVIDER", Some("sms.provider"), Some("outbox")),
    ("sms-timeout-secs", "TWOFOLD_SMS_TIMEOUT_SECS", Some("sms.timeout_secs"), Some("5")),
    ("sms-host", "TWOFOLD_SMS_HOST", Some("sms.host"), Some("the public URL's host")),
    ("sms-default-region", "TWOFOLD_SMS_DEFAULT_REGION", Some("sms.default_region"), Some("none")),
    ("sms-http-url", "TWOFOLD_SMS_HTTP_URL", Some("sms.http_url"), None),
    ("sms-http-token", "TWOFOLD_SMS_HTTP_TOKEN", Some("sms.http_token"), None),
    ("twilio-account-sid", "TWOFOLD_TWILIO_ACCOUNT_SID", Some("sms.twilio_account_sid"), None),
    ("twilio-auth-token", "TWOFOLD_TWILIO_AUTH_TOKEN", Some("sms.twilio_auth_token"), None),
    ("twilio-from", "TWOFOLD_TWILIO_FROM", Some("sms.twilio_from"), None),
    ("twilio-base-url", "TWOFOLD_TWILIO_BASE_URL", Some("sms.twilio_base_url"), Some("https://api.twilio.com")),
    ("sms-budget-per-account-hour", "TWOFOLD_SMS_BUDGET_PER_ACCOUNT_HOUR", Some("sms.budget.per_account_hour"), Some("10")),
    ("sms-budget-per-account-day", "TWOFOLD_SMS_BUDGET_PER_ACCOUNT_DAY", Some("sms.budget.per_account_day"), Some("30")),
    ("sms-budget-per-number-hour", "TWOFOLD_SMS_BUDGET_PER_NUMBER_HOUR", Some("sms.budget.per_number_hour"), Some("10")),
    ("sms-budget-per-number-day", "TWOFOLD_SMS_BUDGET_PER_NUMBER_DAY", Some("sms.budget.per_number_day"), Some("20")),
    ("sms-budget-per-country-hour", "TWOFOLD_SMS_BUDGET_PER_COUNTRY_HOUR", Some("sms.budget.per_country_hour"), Some("500")),
    ("sms-budget-global-hour", "TWOFOLD_SMS_BUDGET_GLOBAL_HOUR", Some("sms.budget.global_hour"), Some("2000")),
    ("mail-provider", "TWOFOLD_MAIL_PROVIDER", Some("mail.provider"), Some("outbox")),
    ("smtp-url", "TWOFOLD_SMTP_URL", Some("mail.smtp_url"), None),
    ("mail-from", "TWOFOLD_MAIL_FROM", Some("mail.from"), Some("twofold@<public host>")),
    ("mail-timeout-secs", "TWOFOLD_MAIL_TIMEOUT_SECS", Some("mail.timeout_secs"), Some("10")),
    ("oidc-code-secs", "TWOFOLD_OIDC_CODE_SECS", Some("oidc.code_secs"), Some("60")),
    ("oidc-access-token-secs", "TWOFOLD_OIDC_ACCESS_TOKEN_SECS", Some("oidc.access_token_secs"), Some("600")),
    ("oidc-id-token-secs", "TWOFOLD_OIDC_ID_TOKEN_SECS", Some("oidc.id_token_secs"), Some("600")),
    ("oidc-refresh-token-secs", "TWOFOLD_OIDC_REFRESH_TOKEN_SECS", Some("oidc.refresh_token_secs"), Some("2592000, 30 days")),
    ("oidc-refresh-absolute-secs", "TWOFOLD_OIDC_REFRESH_ABSOLUTE_SECS", Some("oidc.refresh_absolute_secs"), Some("7776000, 90 days")),
    ("backup-codes-count", "TWOFOLD_BACKUP_CODES_COUNT", Some("backup_codes.count"), Some("10")),
    ("backup-codes-viewable", "TWOFOLD_BACKUP_CODES_VIEWABLE", Some("backup_codes.viewable"), Some("true")),
    ("totp-issuer", "TWOFOLD_TOTP_ISSUER", Some("totp.issuer"), Some("Twofold")),
    ("webauthn-rp-id", "TWOFOLD_WEBAUTHN_RP_ID", Some("webauthn.rp_id"), Some("the public URL's host, or localhost")),
    ("webauthn-user-verification", "TWOFOLD_WEBAUTHN_USER_VERIFICATION", Some("webauthn.user_verification"), Some("preferred")),
    ("webauthn-attestation", "TWOFOLD_WEBAUTHN_ATTESTATION", Some("webauthn.attestation"), Some("none")),
    ("webauthn-allowed-aaguids", "TWOFOLD_WEBAUTHN_ALLOWED_AAGUIDS", Some("webauthn.allowed_aaguids"), Some("any")),
    ("webauthn-denied-aaguids", "TWOFOLD_WEBAUTHN_DENIED_AAGUIDS", Some("webauthn.denied_aaguids"), Some("none")),
];

/// The secrets, whose variables' values `--help` must not print.
const SECRETS: [&str; 3] = ["sms-http-token", "twilio-auth-token", "smtp-url"];

/// `twofold serve`'s arguments, the global ones included.
fn serve_command() -> clap::Command {
    let mut cli = Cli::command();
    cli.build();
    cli.find_subcommand("serve").cloned().unwrap()
}

#[test]
fn the_names_and_defaults_are_those_of_before() {
    let serve = serve_command();
    let settings: Vec<_> = serve
        .get_arguments()
        .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
        .collect();
    assert_eq!(settings.len(), NAMES.len());
    let keys: BTreeMap<&str, &str> = Settings::probes().iter().map(|p| (p.long, p.key)).collect();
    for (long, env, key, default) in NAMES {
        let arg = settings
            .iter()
            .find(|a| a.get_long() == Some(long))
            .unwrap_or_else(|| panic!("no --{long}"));
        assert_eq!(
            arg.get_env().and_then(|e| e.to_str()),
            Some(env),
            "--{long}"
        );
        assert_eq!(keys.get(long).copied(), key, "--{long}'s TOML key");
        assert_eq!(
            arg.is_hide_env_values_set(),
            SECRETS.contains(&long),
            "--{long}"
        );
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        match default {
            Some(d) => assert!(
                help.contains(&format!("[default: {d}]")),
                "--{long}: {help}"
            ),
            None => assert!(!help.contains("[default:"), "--{long}: {help}"),
        }
        if let Some(key) = key {
            assert!(
                help.ends_with(&format!("[toml: {key}]")),
                "--{long}: {help}"
            );
        }
    }
}

#[test]
fn serve_help_shows_each_default_and_key_and_hides_secrets() {
    let err = Cli::try_parse_from(["twofold", "serve", "--help"]).unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
    let help = err.to_string();
    for (long, env, key, default) in NAMES {
        assert!(help.contains(&format!("--{long}")), "--{long} in\n{help}");
        if let Some(d) = default {
            assert!(help.contains(&format!("[default: {d}]")), "{d} in\n{help}");
        }
        if let Some(k) = key {
            assert!(help.contains(&format!("[toml: {k}]")), "{k} in\n{help}");
        }
        let shown = format!("[env: {env}]");
        assert_eq!(help.contains(&shown), SECRETS.contains(&long), "{shown}");
    }
    for heading in ["Text messages:", "Email:", "OpenID Connect:"] {
        assert!(help.contains(heading), "{heading} in\n{help}");
    }
}

#[test]
fn the_command_line_is_well_formed() {
    // Every id, flag and variable once (clap's own checks: two ids alike would panic here).
    Cli::command().debug_assert();
    let serve = serve_command();
    let mut envs: Vec<_> = serve.get_arguments().filter_map(|a| a.get_env()).collect();
    let all = envs.len();
    envs.sort();
    envs.dedup();
    assert_eq!(envs.len(), all, "a variable named twice");
}

#[test]
fn a_typo_in_any_table_is_named() {
    let mut tables: Vec<&str> = Settings::probes()
        .iter()
        .map(|p| p.key.rsplit_once('.').map_or("", |(t, _)| t))
        .collect();
    tables.sort_unstable();
    tables.dedup();
    assert_eq!(
        tables,
        [
            "",
            "backup_codes",
            "mail",
            "oidc",
            "sms",
            "sms.budget",
            "totp",
            "webauthn"
        ]
    );
    for table in tables {
        let text = match table {
            "" => "tiemout_secs = 5\n".to_owned(),
            _ => format!("[{table}]\ntiemout_secs = 5\n"),
        };
        let err = toml::from_str::<FileConfig>(&text).unwrap_err().to_string();
        assert!(err.contains("tiemout_secs"), "[{table}]: {err}");
    }
}

#[test]
fn the_readme_lists_every_flag() {
    let readme = include_str!("../../../README.md");
    let table: String = readme
        .lines()
        .skip_while(|l| !l.starts_with("| flag | variable | default |"))
        .take_while(|l| l.starts_with('|'))
        .collect::<Vec<_>>()
        .join("\n");
    let serve = serve_command();
    let flags: Vec<_> = serve
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| !matches!(*l, "help" | "version"))
        .collect();
    assert_eq!(flags.len(), NAMES.len());
    for long in flags {
        assert!(
            table.contains(&format!("`--{long}`")),
            "--{long} in the table of README.md's \"Running it\""
        );
    }
}
