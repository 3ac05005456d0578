//! Start-up: data folder, secret key, database, services, router, listener, housekeeping.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::{Auth, AuthParts, Policy, TwoFactorPolicy};
use crate::clock::Clock;
use crate::config::{Config, SmsProvider};
use crate::crypto::{Keys, PasswordHasher, load_or_create_secret};
use crate::http::{AppState, WebSettings, router};
use crate::sms::{HttpSender, OutboxSender, Sms, SmsSender, TwilioSender};
use crate::store::Store;

/// A bound, ready-to-run Twofold server.
pub struct Server {
    listener: TcpListener,
    app: axum::Router,
    auth: Auth,
    addr: SocketAddr,
}

/// Creates the data folder (mode 0700) if needed.
///
/// # Errors
/// When it cannot be created.
pub fn ensure_data_dir(config: &Config) -> anyhow::Result<()> {
    let dir = &config.data_dir;
    if !dir.exists() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data folder {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        tracing::info!(dir = %dir.display(), "created the data folder");
    }
    Ok(())
}

/// Opens the store and the auth service for `config` (shared by `serve` and the admin CLI).
///
/// # Errors
/// When the data folder, the secret key or the database cannot be opened.
pub async fn open(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<(Auth, Arc<Keys>)> {
    ensure_data_dir(config)?;
    let secret = load_or_create_secret(&config.secret_key_path())?;
    let keys = Arc::new(Keys::derive(secret.as_slice()));
    let store = Store::connect(&config.database_url, config.db_max_connections)
        .await
        .with_context(|| {
            format!(
                "opening the database ({})",
                redact_url(&config.database_url)
            )
        })?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let hasher = PasswordHasher::new(config.argon2, cores)?;
    let policy = Policy {
        session_idle_secs: config.session_idle_secs,
        session_absolute_secs: config.session_absolute_secs,
        recent_auth_secs: config.recent_auth_secs,
        login_lock_threshold: 10,
    };
    let sms = Sms::new(
        sms_sender(config, Arc::clone(&clock))?,
        Duration::from_secs(config.sms.timeout_secs),
    );
    let two_factor = TwoFactorPolicy {
        issuer: config.totp_issuer.clone(),
        sms_host: config.sms.host.clone(),
        default_region: config.sms.default_region.clone(),
        backup_code_count: config.backup_codes_count,
        backup_codes_viewable: config.backup_codes_viewable,
        ..TwoFactorPolicy::default()
    };
    let auth = Auth::new(AuthParts {
        store,
        hasher,
        clock,
        policy,
        keys: Arc::clone(&keys),
        sms,
        two_factor,
    });
    Ok((auth, keys))
}

/// The configured SMS provider.
fn sms_sender(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<dyn SmsSender>> {
    crate::install_tls_provider();
    let client = || {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(config.sms.timeout_secs))
            .build()
            .context("building the HTTP client for SMS")
    };
    Ok(match &config.sms.provider {
        SmsProvider::Outbox => Arc::new(OutboxSender::new(
            config.data_dir.join("sms-outbox.jsonl"),
            clock,
        )),
        SmsProvider::Http { url, token } => {
            Arc::new(HttpSender::new(client()?, url.clone(), token.clone()))
        }
        SmsProvider::Twilio {
            base_url,
            account_sid,
            auth_token,
            from,
        } => Arc::new(TwilioSender::new(
            client()?,
            base_url.clone(),
            account_sid.clone(),
            auth_token.clone(),
            from.clone(),
        )),
    })
}

impl Server {
    /// Opens everything and binds the listener (port 0 picks a free port).
    ///
    /// # Errors
    /// When anything it needs cannot be opened or the address cannot be bound.
    pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let (auth, keys) = open(config, clock).await?;
        let state = AppState {
            auth: auth.clone(),
            keys,
            web: Arc::new(WebSettings {
                secure_cookies: config.secure_cookies(),
                behind_proxy: config.behind_proxy,
                session_cookie_secs: config.session_absolute_secs,
                cookies: crate::http::CookieNames::new(config.secure_cookies()),
            }),
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let addr = listener.local_addr()?;
        Ok(Self {
            listener,
            app: router(state),
            auth,
            addr,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    ///
    /// # Errors
    /// When the listener fails.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(addr = %self.addr, engine = ?self.auth.store().engine(), "Twofold is listening on http://{}", self.addr);
        let housekeeping = tokio::spawn(housekeeping(self.auth.clone()));
        let result = axum::serve(
            self.listener,
            self.app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        housekeeping.abort();
        self.auth.store().close().await;
        result.context("serving HTTP")
    }
}

/// Deletes expired sessions and challenges every ten minutes (lookups check expiry anyway).
async fn housekeeping(auth: Auth) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let store = auth.store();
        let purged = async {
            let sessions = store
                .purge_sessions(auth.now(), auth.policy().session_idle_secs)
                .await?;
            let challenges = store.purge_challenges(auth.now()).await?;
            Ok::<_, crate::store::StoreError>((sessions, challenges))
        };
        match purged.await {
            Ok((0, 0)) => {}
            Ok((sessions, challenges)) => tracing::info!(
                sessions,
                challenges,
                "removed expired sessions and login challenges"
            ),
            Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
        }
    }
}

/// A database URL with any password removed, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_removed_from_urls() {
        assert_eq!(
            redact_url("postgres://tf:s3cret@db:5432/tf"),
            "postgres://tf:***@db:5432/tf"
        );
        assert_eq!(redact_url("postgres://tf@db/tf"), "postgres://tf@db/tf");
        assert_eq!(
            redact_url("sqlite://x.db?mode=rwc"),
            "sqlite://x.db?mode=rwc"
        );
    }
}
