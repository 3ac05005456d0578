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
pub fn test_overrides() -> Overrides {
    Overrides {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        argon2_memory_kib: Some(1024),
        argon2_iterations: Some(1),
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
