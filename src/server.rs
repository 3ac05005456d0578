//! Start-up: data folder, secret key, database, services, router, listener, housekeeping.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::{Auth, AuthParts, LoginLimits, Policy, TwoFactorPolicy};
use crate::clock::Clock;
use crate::config::{Config, SmsProvider};
use crate::crypto::{Keys, PasswordHasher, create_secret, read_secret};
use crate::domain::PasswordContext;
use crate::http::{AppState, WebSettings, router};
use crate::sms::{HttpSender, OutboxSender, Sms, SmsSender, TwilioSender};
use crate::store::Store;

/// A bound, ready-to-run Twofold server.
pub struct Server {
    listener: TcpListener,
    app: axum::Router,
    auth: Auth,
    oidc: crate::auth::oidc::Oidc,
    /// The store itself, for what the composition root runs on it directly (SQLite's
    /// checkpoints): `auth` never hands a store type out.
    store: Store,
    addr: SocketAddr,
    max_connections: usize,
    header_timeout: Duration,
    /// `/metrics` on its own address (`--metrics-listen`), with its router.
    metrics: Option<(TcpListener, axum::Router)>,
    /// How long the notice worker may take to finish its delivery at shutdown: a text and
    /// an email that both run into their time limits, and a little more.
    notice_grace: Duration,
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

/// Who opens the data: the server (which creates what a first start needs) or an admin
/// command (which never creates a folder, a database or a key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opener {
    /// `twofold serve`.
    Server,
    /// `twofold user …` and the other admin commands.
    Admin,
}

/// The name of the key check value in `server_meta`.
pub const KEY_CHECK: &str = "key_check";

/// Loads `secret.key` and proves it is the key this database was sealed with (its check
/// value is stored in the database). A key is created only for a database that holds
/// nothing yet: a missing or different key is refused with what to do, because a new key
/// could open none of the authenticator secrets and backup codes sealed with the old one.
async fn load_key(config: &Config, store: &Store, opener: Opener) -> anyhow::Result<Arc<Keys>> {
    let path = config.secret_key_path();
    let stored = store.meta().value(KEY_CHECK).await?;
    let secret = match read_secret(&path)? {
        Some(s) => s,
        None => {
            let empty = stored.is_none() && store.accounts().count_accounts().await? == 0;
            anyhow::ensure!(
                empty && opener == Opener::Server,
                "{} is missing, but the database ({}) {}. Restore secret.key from your backup (or copy it from another node); a new key could open none of the authenticator secrets and backup codes sealed with the old one",
                path.display(),
                redact_url(&config.database_url),
                if empty {
                    "is new: start `twofold serve` once to create it"
                } else {
                    "already holds accounts"
                },
            );
            create_secret(&path)?
        }
    };
    let keys = Keys::derive(secret.as_slice());
    let check = keys.check_value();
    match stored {
        Some(c) if c != check => anyhow::bail!(
            "{} is not the key this database was created with; restore the right secret.key (every node needs the same file)",
            path.display()
        ),
        Some(_) => {}
        // Databases made before the check value existed learn it now; two nodes racing
        // here agree or one of them stops.
        None => anyhow::ensure!(
            store.meta().value_or_insert(KEY_CHECK, &check).await? == check,
            "{} is not the key this database was created with; every node needs the same secret.key",
            path.display()
        ),
    }
    Ok(Arc::new(keys))
}

/// Opens the store and the auth service for `config` (shared by `serve` and the admin CLI).
///
/// # Errors
/// When the data folder, the secret key or the database cannot be opened, or the key does
/// not belong to the database.
pub async fn open(
    config: &Config,
    clock: Arc<dyn Clock>,
    opener: Opener,
) -> anyhow::Result<(Auth, Arc<Keys>, Store)> {
    let mut url = config.database_url.clone();
    match opener {
        Opener::Server => ensure_data_dir(config)?,
        Opener::Admin => {
            anyhow::ensure!(
                config.data_dir.is_dir(),
                "there is no Twofold data folder at {}; pass --data-dir (or TWOFOLD_DATA_DIR) pointing at the server's, or start `twofold serve` once to create it",
                config.data_dir.display()
            );
            // An admin command must not create an empty database either.
            url = url.replace("?mode=rwc", "?mode=rw");
        }
    }
    let store = Store::connect(&url, config.db_max_connections)
        .await
        .with_context(|| format!("opening the database ({})", redact_url(&url)))?;
    let keys = load_key(config, &store, opener).await?;
    warn_about_weak_settings(config);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let queue = if config.hash_queue == 0 {
        32 * cores
    } else {
        config.hash_queue
    };
    let a = config.argon2;
    let metrics = crate::metrics::Metrics::new();
    let hasher = PasswordHasher::new(a, cores, queue)?;
    hasher.record_into(metrics.clone());
    let policy = Policy {
        session_idle_secs: config.session_idle_secs,
        session_absolute_secs: config.session_absolute_secs,
        activity_retention_secs: config.activity_retention_days.saturating_mul(86_400),
        recent_auth_secs: config.recent_auth_secs,
        login: LoginLimits::default(),
        logins_per_address_minute: config.logins_per_address_minute,
        sign_ups_per_address_hour: config.sign_ups_per_address_hour,
        password_context: PasswordContext::for_host(&config.public_host()),
        site: config
            .public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/').to_owned()),
        sign_up: config.sign_up,
    };
    let mail = crate::mail::Mail::new(
        mail_sender(config, Arc::clone(&clock))?,
        Duration::from_secs(config.mail.timeout_secs),
        match config.mail.provider {
            crate::config::MailProvider::Outbox => "outbox",
            crate::config::MailProvider::Smtp { .. } => "smtp",
        },
        metrics.clone(),
    );
    let sms = Sms::new(
        sms_sender(config, Arc::clone(&clock))?,
        Duration::from_secs(config.sms.timeout_secs),
        match config.sms.provider {
            SmsProvider::Outbox => "outbox",
            SmsProvider::Http { .. } => "http",
            SmsProvider::Twilio { .. } => "twilio",
        },
        metrics.clone(),
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
        store: store.clone(),
        hasher,
        clock,
        policy,
        keys: Arc::clone(&keys),
        sms,
        mail,
        two_factor,
        text_budget: config.sms_budget.clone(),
        metrics,
        passkeys: config.webauthn.clone(),
    });
    Ok((auth, keys, store))
}

/// Says out loud at start what is allowed but weaker than it should be.
fn warn_about_weak_settings(config: &Config) {
    let a = config.argon2;
    if a.memory_kib < 19_456 || a.iterations < 2 {
        // OWASP ASVS 4.0.3 V2.4.1 (and its cheat sheet): argon2id with at least 19 MiB and
        // two passes. Lower settings are allowed (tests, tiny devices) but said out loud.
        tracing::warn!(
            memory_kib = a.memory_kib,
            iterations = a.iterations,
            "argon2id is set below the recommended minimum (19456 KiB, 2 iterations): stolen password hashes are cheaper to crack"
        );
    }
    if config.public_url.is_none()
        && matches!(
            config.mail.provider,
            crate::config::MailProvider::Smtp { .. }
        )
    {
        tracing::warn!(
            "--public-url is not set: password reset emails carry only the link's path (/recover/…), which people must open on this Twofold themselves; set it to the address people use"
        );
    }
}

/// The OpenID Connect provider: its issuer is `--public-url`, or this node's address.
pub fn oidc_provider(config: &Config, auth: &Auth, addr: SocketAddr) -> crate::auth::oidc::Oidc {
    let issuer = config
        .public_url
        .as_deref()
        .map(|u| u.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| format!("http://{addr}"));
    let oidc = crate::auth::oidc::Oidc::new(
        auth.clone(),
        crate::auth::oidc::OidcPolicy {
            issuer,
            ..config.oidc.clone()
        },
    );
    crate::install_tls_provider();
    // Back-channel logout tokens go where the operator registered them: a short time limit,
    // no redirects (Back-Channel Logout 1.0 §2.5).
    match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => oidc.with_back_channel_client(http),
        Err(e) => {
            tracing::warn!(error = %e, "no HTTP client for back-channel logout; logout tokens wait in the queue");
            oidc
        }
    }
}

/// The configured mail provider.
fn mail_sender(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<dyn crate::mail::MailSender>> {
    Ok(match &config.mail.provider {
        crate::config::MailProvider::Outbox => Arc::new(crate::mail::OutboxMailer::new(
            config.data_dir.join("mail-outbox.jsonl"),
            clock,
        )),
        crate::config::MailProvider::Smtp { url } => {
            crate::install_tls_provider();
            Arc::new(
                crate::mail::SmtpMailer::new(
                    url,
                    &config.mail.from,
                    Duration::from_secs(config.mail.timeout_secs),
                )
                .map_err(|e| anyhow::anyhow!(e))?,
            )
        }
    })
}

/// The configured SMS provider.
fn sms_sender(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<dyn SmsSender>> {
    crate::install_tls_provider();
    let client = || {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(config.sms.timeout_secs))
            // A redirect could lead the text (and its code) to http or to another host
            // than the one the operator named: gateways are called where they are.
            .redirect(reqwest::redirect::Policy::none())
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
        let (auth, keys, store) = open(config, clock, Opener::Server).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let addr = listener.local_addr()?;
        // The signing key is made on first use (discovery's JWKS or a first token), so a
        // server that never serves an app starts without the cost of an RSA key.
        let oidc = oidc_provider(config, &auth, addr);
        let state = AppState {
            auth: auth.clone(),
            oidc: oidc.clone(),
            keys,
            web: Arc::new(WebSettings {
                secure_cookies: config.secure_cookies(),
                behind_proxy: config.behind_proxy,
                trusted_proxies: config.trusted_proxies.clone(),
                // Served over https, directly or behind a TLS-terminating proxy.
                hsts: config.secure_cookies(),
                request_timeout: Duration::from_secs(config.request_timeout_secs),
                session_cookie_secs: config.session_absolute_secs,
                cookies: crate::http::CookieNames::new(
                    config.secure_cookies(),
                    config.cookie_domain.is_some(),
                ),
                operator_contact: config.operator_contact.clone(),
                public_url: config
                    .public_url
                    .as_deref()
                    .map(|u| u.trim_end_matches('/').to_owned()),
                cookie_domain: config.cookie_domain.clone(),
                metrics_on_main: config.metrics_listen.is_none(),
            }),
            access: crate::auth::Access::new(auth.clone(), config.access_control.clone()),
        };
        let metrics = match config.metrics_listen {
            Some(at) => Some((
                TcpListener::bind(at)
                    .await
                    .with_context(|| format!("listening for /metrics on {at}"))?,
                crate::http::metrics::router(state.clone()),
            )),
            None => None,
        };
        Ok(Self {
            listener,
            metrics,
            app: router(state),
            auth,
            oidc,
            store,
            addr,
            max_connections: config.max_connections,
            header_timeout: Duration::from_secs(config.header_timeout_secs),
            notice_grace: Duration::from_secs(
                config.sms.timeout_secs + config.mail.timeout_secs + 2,
            ),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address `/metrics` is served on when it has its own (`--metrics-listen`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    ///
    /// Each connection must send its request headers within the header timeout (a client
    /// that trickles them is cut off), at most `max_connections` are open at once (more are
    /// closed on arrival), and every request has its own time limit (`http::router`).
    ///
    /// # Errors
    /// When the listener fails.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        use hyper_util::rt::TokioIo;
        use tower::ServiceExt;

        tracing::info!(addr = %self.addr, engine = ?self.store.engine(), "Twofold is listening on http://{}", self.addr);
        let housekeeping = tokio::spawn(housekeeping(self.auth.clone(), self.oidc.clone()));
        let checkpoints = (self.store.engine() == crate::store::Engine::Sqlite)
            .then(|| tokio::spawn(checkpointer(self.store.clone())));
        let (stop_notices, notices_stop) = tokio::sync::watch::channel(false);
        let logouts = tokio::spawn(logout_worker(self.oidc.clone(), notices_stop.clone()));
        let notices = tokio::spawn(notice_worker(self.auth.clone(), notices_stop));
        let metrics = self.metrics.map(serve_metrics);
        let builder = Arc::new(http1_builder(self.header_timeout));
        let slots = Arc::new(tokio::sync::Semaphore::new(self.max_connections));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a moment, keep serving.
                        tracing::warn!(error = %e, "could not accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                tracing::warn!(
                    limit = self.max_connections,
                    "too many open connections; closing a new one"
                );
                drop(stream);
                continue;
            };
            let app = self.app.clone();
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    app.clone().oneshot(req.map(axum::body::Body::new))
                },
            );
            let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                let _ = conn.await;
                drop(slot);
            });
        }
        drop(self.listener);
        // The notice worker finishes the delivery it is in and claims no other, so every
        // notice it claimed is recorded as sent or due again (none waits out its claim
        // after the restart). It gets the time of a text and an email that both time out,
        // while the requests in flight finish beside it.
        let _ = stop_notices.send(true);
        let notices_abort = notices.abort_handle();
        let drained = async {
            tokio::select! {
                () = graceful.shutdown() => {}
                () = tokio::time::sleep(Duration::from_secs(30)) => {
                    tracing::warn!("requests still in flight after 30 seconds; stopping anyway");
                }
            }
        };
        let delivered = async {
            if tokio::time::timeout(self.notice_grace, notices)
                .await
                .is_err()
            {
                tracing::warn!(
                    secs = self.notice_grace.as_secs(),
                    "the notice worker was still delivering; stopping it (that notice is sent again after its claim ends)"
                );
                notices_abort.abort();
            }
        };
        tokio::join!(drained, delivered);
        // A logout token in flight when this stops is sent again after its claim ends.
        logouts.abort();
        housekeeping.abort();
        if let Some(c) = checkpoints {
            c.abort();
        }
        if let Some(m) = metrics {
            m.abort();
        }
        self.auth.close().await;
        tracing::info!("Twofold stopped");
        Ok(())
    }
}

/// `/metrics` on its own address (`--metrics-listen`), in a task of its own.
fn serve_metrics((listener, app): (TcpListener, axum::Router)) -> tokio::task::JoinHandle<()> {
    tracing::info!(addr = ?listener.local_addr().ok(), "serving /metrics on its own address");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the /metrics listener failed");
        }
    })
}

/// HTTP/1.1 only (TLS and HTTP/2 are the reverse proxy's job): its header timer runs from
/// the moment a connection waits for a request, so one that sends nothing at all is closed
/// too, and so is an idle keep-alive connection.
fn http1_builder(header_timeout: Duration) -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder
}

/// Delivers the security notices that are due, every two seconds: the ones a crash, a
/// restart or a failing provider left in the queue (a change delivers its own at once).
/// Returns when `stop` turns true, never in the middle of a delivery.
async fn notice_worker(auth: Auth, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        let n = auth
            .notices()
            .deliver_notices_while(None, || !*stop.borrow())
            .await;
        if n > 0 {
            tracing::debug!(n, "notice queue worked through");
        }
    }
}

/// Sends the back-channel logout tokens that are due, every two seconds, on every node.
async fn logout_worker(
    oidc: crate::auth::oidc::Oidc,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        let n = oidc.back_channel().deliver_while(|| !*stop.borrow()).await;
        if n > 0 {
            tracing::debug!(n, "back-channel logout queue worked through");
        }
    }
}

/// Runs the auth service's housekeeping every ten minutes (lookups check expiry anyway).
async fn housekeeping(auth: Auth, oidc: crate::auth::oidc::Oidc) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let oidc_rows = match oidc.keys().housekeeping().await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "OpenID Connect housekeeping failed; it runs again in ten minutes");
                0
            }
        };
        match auth
            .operator()
            .housekeeping()
            .await
            .map(|(s, o)| (s, o + oidc_rows))
        {
            Ok((0, 0)) => {}
            Ok((sessions, other)) => tracing::info!(
                sessions,
                other,
                "removed expired sessions, login challenges, idle counters and app tokens"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "housekeeping failed; it runs again in ten minutes")
            }
        }
    }
}

/// Keeps SQLite's write-ahead log short so that no login's commit has to copy it back
/// (`store/checkpoint.rs`).
async fn checkpointer(store: Store) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        match store.checkpoint().await {
            Ok(done) => {
                if let Some(c) = done.filter(|c| c.log_pages > 0) {
                    tracing::trace!(
                        log_pages = c.log_pages,
                        copied = c.copied_pages,
                        "checkpoint"
                    );
                }
                failing = false;
            }
            // Said once per run of failures; commits checkpoint by themselves meanwhile.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "could not checkpoint the SQLite log; commits will do it themselves");
            }
            Err(_) => {}
        }
    }
}

/// How often the server checkpoints SQLite's log.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

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
