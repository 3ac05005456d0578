//! `/metrics` (issue 12): real output after real logins passes `promtool check metrics`
//! (Prometheus's own linter; scripts/test installs the `prometheus` package), its counters
//! move with what happened, its route labels are patterns, and `--metrics-listen` moves it
//! off the main listener.

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;

use crate::helpers::{TestApp, TestUser};

/// The scrape, checked by promtool.
async fn scrape(app: &TestApp, base: &str) -> String {
    let res = app
        .http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let text = res.text().await.unwrap();
    promtool_accepts(&text);
    text
}

fn promtool_accepts(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; scripts/test installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics refused the output:\n{}{}\n---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of one series (0 when it is not there yet).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_pass_promtool_and_count_logins_codes_and_texts() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let before = scrape(&app, &app.base).await;

    let wrong = app.try_login(&user, "not the password at all").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let token = app.login(&user).await;
    let stranger = TestUser::generate();
    let res = app.try_login(&stranger, &stranger.password).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    app.enable_sms(&token, "+1 415 555 0142", "+14155550142")
        .await;
    let challenge = app.challenge(&user).await;
    let res = app.second_step(&challenge, "totp", "000000").await;
    assert!(res.status().is_client_error());
    let code = app.last_code_to("+14155550142");
    let res = app.second_step(&challenge, "sms", &code).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let res = app.get("/no/such/page-with-a-secret-in-it", None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let after = scrape(&app, &app.base).await;
    let moved = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(
        moved("twofold_logins_total{result=\"invalid_credentials\"}"),
        2.0,
        "a wrong password and an unknown user are both failures:\n{after}"
    );
    assert_eq!(moved("twofold_logins_total{result=\"logged_in\"}"), 1.0);
    assert_eq!(moved("twofold_logins_total{result=\"second_step\"}"), 1.0);
    assert_eq!(
        moved("twofold_second_steps_total{method=\"sms\",result=\"logged_in\"}"),
        1.0
    );
    assert!(
        moved("twofold_texts_total{provider=\"outbox\",result=\"sent\"}") >= 2.0,
        "the enrolment code and the login code:\n{after}"
    );
    assert!(moved("twofold_argon2_wait_seconds_count") >= 3.0);
    assert!(value(&after, "twofold_db_pool_max_connections") >= 1.0);
    assert!(after.contains("twofold_notices_queued "));
    // Requests are timed under their route pattern, never a raw path.
    assert!(
        moved(
            "twofold_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/sessions\",status=\"401\"}"
        ) == 2.0,
        "{after}"
    );
    assert!(after.contains("route=\"unmatched\""), "{after}");
    for secret in [
        token.as_str(),
        &user.username,
        "page-with-a-secret",
        "ses_",
        "acc_",
    ] {
        assert!(!after.contains(secret), "{secret} in the metrics:\n{after}");
    }
}

/// On the main listener `/metrics` answers only a scraper on this machine: a request a
/// proxy forwarded (from the internet, say) gets a plain 404.
#[tokio::test]
async fn the_main_listener_hides_metrics_from_forwarded_requests() {
    let app = TestApp::spawn().await;
    for header in ["x-forwarded-for", "forwarded", "x-real-ip"] {
        let res = app
            .http
            .get(app.url("/metrics"))
            .header(header, "203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{header}");
        assert!(!res.text().await.unwrap().contains("twofold_"));
    }
    // A made-up method is counted under one label, never its own.
    let odd = reqwest::Method::from_bytes(b"FOO1").unwrap();
    app.http
        .request(odd, app.url("/healthz"))
        .send()
        .await
        .unwrap();
    let text = scrape(&app, &app.base).await;
    assert!(!text.contains("FOO1"), "{text}");
    assert!(text.contains("method=\"other\""), "{text}");
}

#[tokio::test]
async fn prometheus_is_answered_in_openmetrics_when_it_asks() {
    let app = TestApp::spawn().await;
    let res = app
        .http
        .get(app.url("/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    assert!(res.text().await.unwrap().ends_with("# EOF\n"));
}

#[tokio::test]
async fn second_step_lockouts_are_counted() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_totp(&token).await;
    // Ten wrong codes in a row lock the second step (two challenges of five tries each).
    for _ in 0..2 {
        let challenge = app.challenge(&user).await;
        for _ in 0..5 {
            app.second_step(&challenge, "backup_code", "00000000").await;
        }
    }
    let text = scrape(&app, &app.base).await;
    assert_eq!(
        value(&text, "twofold_lockouts_total{kind=\"second_step\"}"),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "twofold_second_steps_total{method=\"backup_code\",result=\"invalid_code\"}"
        ) + value(
            &text,
            "twofold_second_steps_total{method=\"backup_code\",result=\"rate_limited\"}"
        ),
        10.0,
        "{text}"
    );
}

#[tokio::test]
async fn metrics_listen_serves_metrics_there_and_only_there() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = free.local_addr().unwrap();
    drop(free);
    let app = TestApp::spawn_with(|c| c.metrics_listen = Some(at)).await;
    let res = app.get("/metrics", None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let user = app.signup().await;
    app.login(&user).await;
    let text = scrape(&app, &format!("http://{at}")).await;
    assert_eq!(
        value(&text, "twofold_logins_total{result=\"logged_in\"}"),
        1.0
    );
    // The metrics listener serves nothing else.
    let res = app
        .http
        .get(format!("http://{at}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
