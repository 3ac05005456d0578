//! Issue 10, Medium 3 — anyone could keep anyone's login paused, and the pause told which
//! usernames exist. Failures now count per (account, address) and per account from unknown
//! devices; a browser that logged in before keeps logging in; unknown usernames behave like
//! real ones; and no account takes more than 100 wrong passwords in a row.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, TestUser};
use crate::web::{browser, csrf_of, page};

/// A JSON login attempt from `address` (the app runs behind a trusted proxy).
async fn attempt(
    app: &TestApp,
    username: &str,
    password: &str,
    address: &str,
) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/sessions"))
        .header("x-forwarded-for", address)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

/// A login through the page, in a browser that keeps its cookies.
async fn web_login(
    b: &reqwest::Client,
    app: &TestApp,
    user: &TestUser,
    address: &str,
) -> StatusCode {
    let (_, html) = page(b, app, "/login").await;
    b.post(app.url("/login"))
        .header("x-forwarded-for", address)
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", user.username.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

/// Logs the browser out through the home page's form.
async fn web_logout(b: &reqwest::Client, app: &TestApp) {
    let (status, html) = page(b, app, "/").await;
    if status != StatusCode::OK {
        return; // the session ended already (it expired)
    }
    let res = b
        .post(app.url("/logout"))
        .form(&[("csrf", csrf_of(&html).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

/// Attack: 10 wrong guesses from anywhere paused the owner's logins too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attacker_cannot_keep_the_owner_out() {
    let app = TestApp::spawn_with(|c| c.behind_proxy = true).await;
    let user = app.signup().await;
    let owner = browser();
    assert_eq!(
        web_login(&owner, &app, &user, "198.51.100.7").await,
        StatusCode::SEE_OTHER
    );
    web_logout(&owner, &app).await;
    for i in 0..30 {
        let res = attempt(
            &app,
            &user.username,
            "not the password",
            &format!("203.0.113.{i}"),
        )
        .await;
        assert!(
            matches!(
                res.status(),
                StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
            ),
            "{}",
            res.status()
        );
    }
    // Strangers are paused now...
    assert_eq!(
        attempt(&app, &user.username, &user.password, "203.0.113.200")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // ...but the owner's browser, which logged in before, is not.
    assert_eq!(
        web_login(&owner, &app, &user, "198.51.100.7").await,
        StatusCode::SEE_OTHER
    );
}

/// Attack: the pause revealed which usernames exist (unknown names were never paused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_usernames_answer_like_real_ones() {
    let app = TestApp::spawn_with(|c| c.behind_proxy = true).await;
    let real = app.signup().await;
    let mut answers = Vec::new();
    for name in [real.username.as_str(), "nobody_by_this_name"] {
        let mut seen = Vec::new();
        for i in 0..14 {
            let res = attempt(&app, name, "wrong guess here", &format!("192.0.2.{i}")).await;
            let retry = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let body: serde_json::Value = res.json().await.unwrap();
            seen.push((
                body["error"]["code"].clone(),
                retry,
                body["error"]["message"].clone(),
            ));
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1]);
    assert!(
        answers[0].iter().any(|(code, ..)| code == "rate_limited"),
        "the real account was paused: {:?}",
        answers[0]
    );
}

/// NIST SP 800-63B §5.2.2: no more than 100 consecutive failed attempts on one account.
/// Before, waiting out each pause allowed guessing without end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_account_takes_more_than_100_wrong_passwords_in_a_row() {
    let app = TestApp::spawn_with(|c| c.behind_proxy = true).await;
    let user = app.signup().await;
    let owner = browser();
    assert_eq!(
        web_login(&owner, &app, &user, "198.51.100.7").await,
        StatusCode::SEE_OTHER
    );
    let mut wrong = 0;
    for i in 0..400 {
        let res = attempt(
            &app,
            &user.username,
            "guess",
            &format!("10.{}.{}.1", i / 200, i % 200),
        )
        .await;
        match res.status() {
            StatusCode::UNAUTHORIZED => wrong += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let retry: i64 = res.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                app.clock.advance(retry + 1);
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!(wrong, 90, "strangers stop at 90 wrong passwords in a row");
    // Even the right password from a stranger waits for the owner now...
    assert_eq!(
        attempt(&app, &user.username, &user.password, "10.9.9.9")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(30 * 86_400);
    assert_eq!(
        attempt(&app, &user.username, &user.password, "10.9.9.9")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS,
        "time alone does not lift it"
    );
    // ...who logs in from a browser used before, which resets the count.
    web_logout(&owner, &app).await;
    assert_eq!(
        web_login(&owner, &app, &user, "198.51.100.7").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        attempt(&app, &user.username, &user.password, "10.9.9.9")
            .await
            .status(),
        StatusCode::CREATED
    );
}

/// Review of issue 10: a Unicode fold must not map a name that is not one (`K`, the Kelvin
/// sign) onto a real name's counter — that told real names from unknown ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alike_names_do_not_share_a_counter_with_real_ones() {
    let app = TestApp::spawn_with(|c| c.behind_proxy = true).await;
    let res = app
        .post(
            "/api/v1/accounts",
            None,
            json!({"username": "kilo", "password": "a fine long password"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let mut after = Vec::new();
    for (name, address) in [("kilo", "192.0.2.10"), ("kappa", "192.0.2.11")] {
        let look_alike = name.replacen('k', "\u{212A}", 1);
        for _ in 0..5 {
            attempt(&app, &look_alike, "wrong guess", address).await;
        }
        after.push(attempt(&app, name, "wrong guess", address).await.status());
    }
    assert_eq!(after, [StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED]);
}

/// Review of issue 10: parallel guesses at "Confirm your password" (a stolen session) — a
/// right password whose hash finished after a pause began must open nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_password_confirmations_cannot_outrun_the_pause() {
    let app = TestApp::spawn_with(|c| {
        c.argon2 = twofold::crypto::Argon2Params {
            memory_kib: 16_384,
            iterations: 4,
            parallelism: 1,
        };
    })
    .await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let send = |password: String| {
        let http = app.http.clone();
        let url = app.url("/api/v1/me/reauth");
        let token = token.clone();
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&json!({"password": password}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    // Sixteen wrong guesses queue for the two hashing threads; the right one is sent once
    // they have, so it reads an open throttle but is hashed after the fifth wrong one
    // paused the session.
    let wrong: Vec<_> = (0..16).map(|i| send(format!("wrong guess {i}"))).collect();
    tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    let right = send(user.password.clone());
    let statuses: Vec<StatusCode> = {
        let mut v = Vec::new();
        for t in wrong {
            v.push(t.await.unwrap());
        }
        v
    };
    let right = right.await.unwrap();
    let counted = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert!(counted <= 5, "{statuses:?}");
    assert_eq!(
        right,
        StatusCode::TOO_MANY_REQUESTS,
        "the right password, hashed after the pause began, must not confirm: {statuses:?}"
    );
}
