//! The test harness: a real Twofold server on port 0 with a fresh database, a pinned clock
//! and a recording of what it sends; helpers to sign up and log in.

use std::sync::Arc;

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use twofold::clock::ManualClock;
use twofold::config::{Config, Location, Overrides};
use twofold::domain::UnixTime;
use twofold::server::Server;

use crate::common;

/// A running server.
pub struct TestApp {
    pub base: String,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    pub config: Config,
    pub data_dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// A user the test knows the password of.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub username: String,
    pub password: String,
}

impl TestUser {
    /// A fresh random user.
    pub fn generate() -> Self {
        let n: u64 = rand_u64();
        Self {
            username: format!("user_{:x}", n & 0xffff_ffff_ffff),
            password: format!("correct horse {n:x} staple"),
        }
    }
}

pub fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// Cheap argon2 so the suite stays fast; the parameters themselves are tested separately.
/// Every test client is 127.0.0.1, so the per-address request limits are off here; the tests
/// of those limits turn them on (`spawn_with`).
pub fn test_overrides() -> Overrides {
    Overrides {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        argon2_memory_kib: Some(1024),
        argon2_iterations: Some(1),
        logins_per_address_minute: Some(0),
        sign_ups_per_address_hour: Some(0),
        ..Default::default()
    }
}

pub const START: UnixTime = UnixTime(1_800_000_000);

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns a server, letting the test adjust the configuration first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let url = common::fresh_database(data_dir.path()).await;
        Self::spawn_on(data_dir, url, adjust).await
    }

    /// Spawns a server on an existing data folder and database (restarts).
    pub async fn spawn_on(
        data_dir: tempfile::TempDir,
        url: String,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let loc = Location {
            config: None,
            data_dir: Some(data_dir.path().to_owned()),
            database_url: Some(url),
            log_format: None,
        };
        let mut config = Config::resolve(&loc, &test_overrides()).unwrap();
        adjust(&mut config);
        let clock = ManualClock::new(START);
        let server = Server::build(&config, Arc::new(clock.clone()))
            .await
            .unwrap();
        let base = format!("http://{}", server.local_addr());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .run(async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            base,
            clock,
            http,
            config,
            data_dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// A second Twofold node on the same database and secret key (and the same pinned
    /// clock), as operators run several nodes on one PostgreSQL database.
    pub async fn second_node(&self) -> TestApp {
        let server = Server::build(&self.config, Arc::new(self.clock.clone()))
            .await
            .unwrap();
        let base = format!("http://{}", server.local_addr());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .run(async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        // The folder stays owned by the first node; this one gets an empty one it never uses.
        Self {
            base,
            clock: self.clock.clone(),
            http,
            config: self.config.clone(),
            data_dir: tempfile::tempdir().unwrap(),
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server and hands back its data folder and database URL.
    pub async fn stop(mut self) -> (tempfile::TempDir, String) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        let url = self.config.database_url.clone();
        let dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().unwrap());
        (dir, url)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A JSON request, with a bearer token when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.call(Method::DELETE, path, token, None).await
    }

    /// Signs up a fresh user.
    pub async fn signup(&self) -> TestUser {
        let user = TestUser::generate();
        let res = self
            .post(
                "/api/v1/accounts",
                None,
                json!({"username": user.username, "password": user.password}),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        user
    }

    /// Logs in and returns the bearer token.
    pub async fn login(&self, user: &TestUser) -> String {
        let res = self.try_login(user, &user.password).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn try_login(&self, user: &TestUser, password: &str) -> Response {
        self.post(
            "/api/v1/sessions",
            None,
            json!({"username": user.username, "password": password}),
        )
        .await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Asserts the fixed error shape with this status and code; returns the body.
pub async fn assert_error(res: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(res.status(), status, "expected {status} {code}");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "only `error` at the top: {body}"
    );
    body
}

/// Two-factor helpers.
impl TestApp {
    /// Every message in the SMS outbox.
    pub fn outbox(&self) -> Vec<Value> {
        std::fs::read_to_string(self.data_dir.path().join("sms-outbox.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The code in the newest message to `e164`.
    pub fn last_code_to(&self, e164: &str) -> String {
        let msg = self
            .outbox()
            .into_iter()
            .rev()
            .find(|m| m["to"] == e164)
            .expect("a message to that number");
        first_six_digits(msg["body"].as_str().unwrap())
    }

    /// The authenticator code for `secret` (base32) at the clock's time plus `offset` steps.
    pub fn totp(&self, secret: &str, offset: i64) -> String {
        let bytes = totp_rs::Secret::try_from_base32(secret).unwrap();
        let s = twofold::crypto::TotpSecret::from_bytes(bytes.as_ref());
        s.code_at_step(twofold::crypto::step_of(self.clock.now_time()) + offset, 6)
    }

    /// Sets up the authentication app; returns the secret and the first backup codes.
    pub async fn enable_totp(&self, token: &str) -> (String, Vec<String>) {
        let res = self
            .post("/api/v1/me/two-factor/totp", Some(token), json!({}))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        let secret = body["secret"].as_str().unwrap().to_owned();
        let res = self
            .post(
                "/api/v1/me/two-factor/totp/confirm",
                Some(token),
                json!({"code": self.totp(&secret, 0)}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        let codes = body["backup_codes"]
            .as_array()
            .map(|a| a.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        // The enrolment code's step is used up: move on so the next code is fresh.
        self.clock.advance(30);
        (secret, codes)
    }

    /// Verifies a phone; returns the first backup codes (empty when 2FA was already on).
    pub async fn enable_sms(&self, token: &str, phone: &str, e164: &str) -> Vec<String> {
        let res = self
            .post(
                "/api/v1/me/two-factor/sms",
                Some(token),
                json!({"phone": phone}),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::ACCEPTED,
            "{}",
            res.text().await.unwrap()
        );
        let res = self
            .post(
                "/api/v1/me/two-factor/sms/confirm",
                Some(token),
                json!({"code": self.last_code_to(e164)}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        body["backup_codes"]
            .as_array()
            .map(|a| a.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    }

    /// Logs in with the password on a 2FA account; returns the 202 challenge body.
    pub async fn challenge(&self, user: &TestUser) -> Value {
        let res = self.try_login(user, &user.password).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        res.json().await.unwrap()
    }

    /// The second step.
    pub async fn second_step(&self, challenge: &Value, method: &str, code: &str) -> Response {
        self.post(
            "/api/v1/sessions/two-factor",
            None,
            json!({"challenge": challenge["challenge"], "method": method, "code": code}),
        )
        .await
    }
}

/// The first run of exactly six digits in a message.
pub fn first_six_digits(body: &str) -> String {
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 6 {
                return chars[start..i].iter().collect();
            }
        } else {
            i += 1;
        }
    }
    panic!("no 6-digit code in {body:?}")
}

pub trait NowTime {
    fn now_time(&self) -> UnixTime;
}

impl NowTime for ManualClock {
    fn now_time(&self) -> UnixTime {
        use twofold::clock::Clock;
        self.now()
    }
}
