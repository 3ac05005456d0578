//! Graceful shutdown (issue 12): SIGTERM in the middle of a burst of logins stops the
//! listener, lets every login in flight finish, and exits 0. No answer is a 5xx, and every
//! session a client was given still works after the restart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cli::serve_with;
use crate::common;

/// Hashing slow enough (tens of milliseconds) that logins are in flight at SIGTERM, and
/// room for a burst from one address.
const SETTINGS: [(&str, &str); 3] = [
    ("TWOFOLD_ARGON2_MEMORY_KIB", "8192"),
    ("TWOFOLD_ARGON2_ITERATIONS", "2"),
    ("TWOFOLD_LOGINS_PER_ADDRESS_MINUTE", "100000"),
];

/// One login's fate: its answer (status, session token) and when it came.
struct Answered {
    status: StatusCode,
    token: Option<String>,
    at: Instant,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_burst_of_logins_finishes_them_and_loses_no_session() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let url = match common::engine() {
        common::Engine::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("twofold.db").display()),
        common::Engine::Postgres => common::fresh_database(tmp.path()).await,
    };
    let mut server = serve_with(&dir, &url, &SETTINGS);
    twofold::install_tls_provider();
    // A new connection for every request: a request is either answered or never reached
    // the server, with no idle keep-alive connection closed under a request being sent.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let password = "a burst of logins at closing time";
    let users: Vec<String> = (0..8).map(|i| format!("burst{i}")).collect();
    for u in &users {
        let res = http
            .post(format!("{}/api/v1/accounts", server.base))
            .json(&json!({"username": u, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }

    // 16 clients log in one after another until the server is gone.
    let answered = Arc::new(std::sync::Mutex::new(Vec::<Answered>::new()));
    let unreached = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..16 {
        let (http, base) = (http.clone(), server.base.clone());
        let username = users[c % users.len()].clone();
        let (answered, unreached) = (Arc::clone(&answered), Arc::clone(&unreached));
        clients.push(tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                let sent = http
                    .post(format!("{base}/api/v1/sessions"))
                    .json(&json!({"username": username, "password": password}))
                    .timeout(Duration::from_secs(15))
                    .send()
                    .await;
                match sent {
                    Ok(res) => {
                        let status = res.status();
                        let body: Value = res.json().await.unwrap_or(Value::Null);
                        answered.lock().unwrap().push(Answered {
                            status,
                            token: body["token"].as_str().map(str::to_owned),
                            at: Instant::now(),
                        });
                    }
                    // Refused (the listener is closed) or reset in the kernel's queue:
                    // the server never read it. The client stops, as it would on a 503.
                    Err(e) => {
                        assert!(!e.is_timeout(), "a login hung past shutdown: {e}");
                        unreached.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        return;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = answered.lock().unwrap().len();
    assert!(before > 0, "logins were answered before the signal");
    let signalled = Instant::now();
    // SAFETY: kill only sends a signal to the child's pid.
    let sent = unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    assert_eq!(sent, 0);
    let status = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(s) = server.child.try_wait().unwrap() {
                return (s, server);
            }
            assert!(Instant::now() < deadline, "no exit 40 s after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    let (exit, stopped) = status;
    for c in clients {
        c.await.unwrap();
    }
    assert!(exit.success(), "exit status {exit:?}");
    let log = stopped.log();
    assert!(log.contains("shutting down"), "{log}");

    let answered = std::mem::take(&mut *answered.lock().unwrap());
    let five = answered
        .iter()
        .filter(|a| a.status.is_server_error())
        .count();
    assert_eq!(five, 0, "no 5xx: {:?}", statuses(&answered));
    assert!(answered.iter().all(|a| a.status == StatusCode::CREATED));
    let finished_after = answered.iter().filter(|a| a.at > signalled).count();
    assert!(
        finished_after > 0,
        "logins in flight at SIGTERM were answered after it ({} before, {} in all)",
        before,
        answered.len()
    );
    assert!(unreached.load(std::sync::atomic::Ordering::Relaxed) > 0);
    drop(stopped);

    // Every session a client was given is in the database and works after a restart.
    let again = serve_with(&dir, &url, &SETTINGS);
    for a in &answered {
        let token = a.token.as_deref().expect("a 201 carries its token");
        let res = http
            .get(format!("{}/api/v1/me", again.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "a session answered before the stop"
        );
    }
}

fn statuses(a: &[Answered]) -> Vec<u16> {
    a.iter().map(|a| a.status.as_u16()).collect()
}
