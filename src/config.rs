//! Configuration: command-line flags, `TWOFOLD_*` environment variables and an optional TOML
//! file, in that order of precedence, over built-in defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::crypto::Argon2Params;

/// Everything `twofold serve` needs, resolved.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on (`127.0.0.1:8080`; port 0 picks a free port).
    pub listen: SocketAddr,
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
    /// How long a password confirmation counts as recent.
    pub recent_auth_secs: i64,
}

/// The optional TOML file; every key is optional and named like the flag.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    listen: Option<SocketAddr>,
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
    recent_auth_secs: Option<i64>,
}

/// Values given as flags or environment variables (clap fills these); `None` means unset.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// Address to listen on.
    #[arg(long, env = "TWOFOLD_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
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
    /// A password confirmation counts as recent this many seconds [default: 600].
    #[arg(long, env = "TWOFOLD_RECENT_AUTH_SECS", value_name = "SECS")]
    pub recent_auth_secs: Option<i64>,
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
}

impl Config {
    /// Resolves flags and environment over the TOML file over the defaults.
    ///
    /// # Errors
    /// When the TOML file cannot be read or parsed, or a value is out of range.
    pub fn resolve(loc: &Location, o: &Overrides) -> anyhow::Result<Self> {
        let file = match &loc.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir = loc
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("twofold-data"));
        let database_url = loc
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| sqlite_url(&data_dir.join("twofold.db")));
        let d = Argon2Params::default();
        let cfg = Self {
            listen: o
                .listen
                .or(file.listen)
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
            data_dir,
            database_url,
            db_max_connections: o
                .db_max_connections
                .or(file.db_max_connections)
                .unwrap_or(10),
            public_url: o.public_url.clone().or(file.public_url),
            behind_proxy: o.behind_proxy.or(file.behind_proxy).unwrap_or(false),
            argon2: Argon2Params {
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
            },
            session_idle_secs: o
                .session_idle_secs
                .or(file.session_idle_secs)
                .unwrap_or(14 * 86_400),
            session_absolute_secs: o
                .session_absolute_secs
                .or(file.session_absolute_secs)
                .unwrap_or(30 * 86_400),
            recent_auth_secs: o.recent_auth_secs.or(file.recent_auth_secs).unwrap_or(600),
        };
        cfg.check()?;
        Ok(cfg)
    }

    fn check(&self) -> anyhow::Result<()> {
        for (name, v) in [
            ("session_idle_secs", self.session_idle_secs),
            ("session_absolute_secs", self.session_absolute_secs),
            ("recent_auth_secs", self.recent_auth_secs),
        ] {
            anyhow::ensure!(
                v > 0,
                "{name} must be a positive number of seconds, not {v}"
            );
        }
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

    /// The path of the server secret key.
    pub fn secret_key_path(&self) -> PathBuf {
        self.data_dir.join("secret.key")
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("in the configuration file {}", path.display()))
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
