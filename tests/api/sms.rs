//! The SMS providers against a real local HTTP server: the `http` webhook, Twilio's
//! Messages API, and what the user sees when sending fails or hangs.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxStatus, Uri};
use axum::routing::post;
use reqwest::StatusCode;
use serde_json::{Value, json};
use twofold::config::SmsProvider;

use crate::helpers::{TestApp, first_six_digits};

/// A recorded request.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: String,
}

/// A local gateway that records requests and answers with `status` after `delay_ms`.
#[derive(Clone, Default)]
struct Gateway {
    seen: Arc<Mutex<Vec<Seen>>>,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
}

impl Gateway {
    async fn start() -> (Self, String) {
        let g = Gateway::default();
        g.status.store(201, Ordering::SeqCst);
        let app = Router::new().fallback(post(record)).with_state(g.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (g, format!("http://{addr}"))
    }

    fn last(&self) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a request reached the gateway")
    }
}

async fn record(State(g): State<Gateway>, uri: Uri, headers: HeaderMap, body: Bytes) -> AxStatus {
    let delay = g.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    g.seen.lock().unwrap().push(Seen {
        path: uri.path().to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into(),
    });
    AxStatus::from_u16(g.status.load(Ordering::SeqCst)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_provider_posts_json_with_a_bearer_token() {
    let (gw, base) = Gateway::start().await;
    let url = format!("{base}/send");
    let app = TestApp::spawn_with(|c| {
        c.sms.provider = SmsProvider::Http {
            url,
            token: Some("gw-token".into()),
        }
    })
    .await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let res = app
        .post(
            "/api/v1/me/two-factor/sms",
            Some(&token),
            json!({"phone": "+1 415 555 2671"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let seen = gw.last();
    assert_eq!(seen.path, "/send");
    assert_eq!(seen.headers["authorization"], "Bearer gw-token");
    assert!(
        seen.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(body["to"], "+14155552671");
    let code = first_six_digits(body["body"].as_str().unwrap());
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    let res = app
        .post(
            "/api/v1/me/two-factor/sms/confirm",
            Some(&token),
            json!({"code": code}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        app.outbox().is_empty(),
        "the outbox is not used with another provider"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_twilio_provider_calls_the_messages_api() {
    let (gw, base) = Gateway::start().await;
    let app = TestApp::spawn_with(|c| {
        c.sms.provider = SmsProvider::Twilio {
            base_url: base,
            account_sid: "AC0123".into(),
            auth_token: "secret-token".into(),
            from: "+15005550006".into(),
        };
    })
    .await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let res = app
        .post(
            "/api/v1/me/two-factor/sms",
            Some(&token),
            json!({"phone": "+44 7911 123456"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let seen = gw.last();
    assert_eq!(seen.path, "/2010-04-01/Accounts/AC0123/Messages.json");
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("AC0123:secret-token");
    assert_eq!(
        seen.headers["authorization"],
        format!("Basic {basic}").as_str()
    );
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&seen.body).unwrap();
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("To"), "+447911123456");
    assert_eq!(get("From"), "+15005550006");
    let code = first_six_digits(&get("Body"));
    assert_eq!(
        app.post(
            "/api/v1/me/two-factor/sms/confirm",
            Some(&token),
            json!({"code": code})
        )
        .await
        .status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_or_hung_send_is_reported_and_other_methods_still_work() {
    let (gw, base) = Gateway::start().await;
    let url = format!("{base}/send");
    let app = TestApp::spawn_with(|c| {
        c.sms.provider = SmsProvider::Http { url, token: None };
        c.sms.timeout_secs = 1;
    })
    .await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.post(
        "/api/v1/me/two-factor/sms",
        Some(&token),
        json!({"phone": "+1 415 555 2671"}),
    )
    .await;
    let code = first_six_digits(
        serde_json::from_str::<Value>(&gw.last().body).unwrap()["body"]
            .as_str()
            .unwrap(),
    );
    let res = app
        .post(
            "/api/v1/me/two-factor/sms/confirm",
            Some(&token),
            json!({"code": code}),
        )
        .await;
    let backup: Vec<String> = res.json::<Value>().await.unwrap()["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();

    // The gateway refuses: the login still gets its challenge, without sms_sent_to.
    gw.status.store(500, Ordering::SeqCst);
    let c = app.challenge(&user).await;
    assert!(c.get("sms_sent_to").is_none(), "{c}");
    assert!(
        c["sms_error"].as_str().unwrap().contains("try another way"),
        "{c}"
    );
    app.clock.advance(31);
    let res = app
        .post(
            "/api/v1/sessions/two-factor/sms",
            None,
            json!({"challenge": c["challenge"]}),
        )
        .await;
    let res_status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(res_status, StatusCode::BAD_GATEWAY, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["code"], "sms_failed");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another way")
    );
    assert_eq!(
        app.second_step(&c, "backup_code", &backup[0])
            .await
            .status(),
        StatusCode::CREATED
    );

    // The gateway hangs: the request gives up after the timeout instead of hanging too.
    gw.status.store(201, Ordering::SeqCst);
    gw.delay_ms.store(5_000, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let c = app.challenge(&user).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(c.get("sms_sent_to").is_none());
    assert_eq!(
        app.second_step(&c, "backup_code", &backup[1])
            .await
            .status(),
        StatusCode::CREATED
    );
}

/// Issue 21, item 7: the `http` SMS provider needs `https` except to this machine (the
/// texts carry login codes): `serve` refuses to start with a message naming the flag, and
/// the same for a Twilio base URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_sms_gateway_needs_https() {
    let tmp = tempfile::tempdir().unwrap();
    for (flags, what) in [
        (
            vec![
                "--sms-provider",
                "http",
                "--sms-http-url",
                "http://sms.example.com/send",
            ],
            "--sms-http-url",
        ),
        (
            vec![
                "--sms-provider",
                "http",
                "--sms-http-url",
                "http://127.0.0.1.example.com/send",
            ],
            "--sms-http-url",
        ),
        (
            vec![
                "--sms-provider",
                "twilio",
                "--twilio-account-sid",
                "AC1",
                "--twilio-auth-token",
                "t",
                "--twilio-from",
                "+14155550100",
                "--twilio-base-url",
                "http://api.twilio.example",
            ],
            "--twilio-base-url",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_twofold"))
            .env_clear()
            .env("TWOFOLD_DATA_DIR", tmp.path())
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(&flags)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flags:?} started");
        assert!(err.contains(what) && err.contains("https"), "{err}");
    }
}
