//! Limits on the second step hold under parallel load, and secrets never sit in the
//! database in the clear (regression tests for the review of issues 3 and 4).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common;
use crate::helpers::{TestApp, assert_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_redemptions_of_one_code_make_exactly_one_session() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (_, codes) = app.enable_totp(&token).await;
    let mut challenges = Vec::new();
    for _ in 0..50 {
        challenges.push(app.challenge(&user).await);
    }
    let tasks: Vec<_> = challenges
        .into_iter()
        .map(|c| {
            let http = app.http.clone();
            let url = app.url("/api/v1/sessions/two-factor");
            let code = codes[0].clone();
            tokio::spawn(async move {
                http.post(url).json(&json!({"challenge": c["challenge"], "method": "backup_code", "code": code})).send().await.unwrap().status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [
            StatusCode::CREATED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
        .contains(s)),
        "{statuses:?}"
    );
    let list: Value = app
        .get("/api/v1/me/sessions", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["sessions"].as_array().unwrap().len(),
        2,
        "the enrolling session and exactly one more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_cannot_pass_the_account_limit() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (secret, _) = app.enable_totp(&token).await;
    let wrong = if app.totp(&secret, 0) == "111111" {
        "222222"
    } else {
        "111111"
    };
    let mut challenges = Vec::new();
    for _ in 0..4 {
        challenges.push(app.challenge(&user).await);
    }
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let http = app.http.clone();
            let url = app.url("/api/v1/sessions/two-factor");
            let c = challenges[i % 4]["challenge"].clone();
            tokio::spawn(async move {
                http.post(url)
                    .json(&json!({"challenge": c, "method": "totp", "code": wrong}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    // Each guess is counted before it is answered: nine are told "wrong", the tenth locks,
    // and the rest are refused without being tested.
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        11,
        "{statuses:?}"
    );
    let c = app.challenge(&user).await;
    assert_error(
        app.second_step(&c, "totp", &app.totp(&secret, 0)).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_backup_codes_hit_the_challenge_and_account_limits() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (_, codes) = app.enable_totp(&token).await;
    let guess = |i: u32| format!("{:08}", 10_000_000 + i);
    let c = app.challenge(&user).await;
    for i in 0..5 {
        if codes.contains(&guess(i)) {
            continue;
        }
        assert_error(
            app.second_step(&c, "backup_code", &guess(i)).await,
            StatusCode::UNAUTHORIZED,
            "invalid_code",
        )
        .await;
    }
    assert_error(
        app.second_step(&c, "backup_code", &codes[0]).await,
        StatusCode::GONE,
        "challenge_expired",
    )
    .await;
    let c = app.challenge(&user).await;
    let mut last = StatusCode::OK;
    for i in 5..10 {
        last = app.second_step(&c, "backup_code", &guess(i)).await.status();
    }
    assert_eq!(
        last,
        StatusCode::TOO_MANY_REQUESTS,
        "ten wrong codes in a row lock the second step"
    );
    let c = app.challenge(&user).await;
    assert_error(
        app.second_step(&c, "backup_code", &codes[0]).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    let view: Value = app
        .get("/api/v1/me/backup-codes", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["remaining"], 10, "a locked attempt uses up nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrolment_code_takes_five_tries_then_a_new_one_is_needed() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.post(
        "/api/v1/me/two-factor/sms",
        Some(&token),
        json!({"phone": "+1 415 555 2671"}),
    )
    .await;
    let code = app.last_code_to("+14155552671");
    let wrong = if code == "111111" { "222222" } else { "111111" };
    for _ in 0..5 {
        let res = app
            .post(
                "/api/v1/me/two-factor/sms/confirm",
                Some(&token),
                json!({"code": wrong}),
            )
            .await;
        assert_error(res, StatusCode::UNAUTHORIZED, "invalid_code").await;
    }
    let res = app
        .post(
            "/api/v1/me/two-factor/sms/confirm",
            Some(&token),
            json!({"code": code}),
        )
        .await;
    let body = assert_error(res, StatusCode::UNAUTHORIZED, "invalid_code").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("send a new code"),
        "{body}"
    );
    app.clock.advance(31);
    app.post(
        "/api/v1/me/two-factor/sms",
        Some(&token),
        json!({"phone": "+1 415 555 2671"}),
    )
    .await;
    let res = app
        .post(
            "/api/v1/me/two-factor/sms/confirm",
            Some(&token),
            json!({"code": app.last_code_to("+14155552671")}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_texts_are_capped_per_day() {
    // The sends are spread over more than an hour: keep the session "recent" meanwhile.
    let app = TestApp::spawn_with(|c| c.recent_auth_secs = 86_400).await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    for _ in 0..10 {
        let res = app
            .post(
                "/api/v1/me/two-factor/sms",
                Some(&token),
                json!({"phone": "+1 415 555 2671"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        // Spread over more than an hour, so that the hourly text budgets are not what stops
        // the eleventh.
        app.clock.advance(400);
    }
    let res = app
        .post(
            "/api/v1/me/two-factor/sms",
            Some(&token),
            json!({"phone": "+1 415 555 2671"}),
        )
        .await;
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 3600, "{retry}");
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(app.outbox().len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ends_logins_waiting_for_their_code() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (secret, _) = app.enable_totp(&token).await;
    let c = app.challenge(&user).await;
    let res = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({"current_password": user.password, "new_password": "a brand new password"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.second_step(&c, "totp", &app.totp(&secret, 0)).await,
        StatusCode::GONE,
        "challenge_expired",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_holds_no_code_token_or_secret_in_the_clear() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (secret, codes) = app.enable_totp(&token).await;
    app.enable_sms(&token, "+1 415 555 2671", "+14155552671")
        .await;
    let c = app.challenge(&user).await;
    let sms_code = app.last_code_to("+14155552671");
    let res = app.second_step(&c, "backup_code", &codes[2]).await;
    let new_token = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Every byte the database holds: the SQLite file and its log, or on PostgreSQL a full
    // dump of the database's data (pg_dump, as a thief with a copy would read it).
    let mut bytes = Vec::new();
    match common::engine() {
        common::Engine::Sqlite => {
            for name in ["twofold.db", "twofold.db-wal"] {
                bytes.extend(std::fs::read(app.data_dir.path().join(name)).unwrap_or_default());
            }
        }
        common::Engine::Postgres => {
            let out = std::process::Command::new("pg_dump")
                .args(["--data-only", "--no-owner", &app.config.database_url])
                .output()
                .expect("pg_dump (Debian package postgresql-client)");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            bytes = out.stdout;
        }
    }
    assert!(
        bytes.len() > 1000,
        "the scan read the database ({} bytes)",
        bytes.len()
    );
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    for code in &codes {
        assert!(
            !contains(code.replace(' ', "").as_bytes()),
            "backup code {code} in the clear"
        );
        assert!(!contains(code.as_bytes()));
    }
    let raw_secret = totp_rs::Secret::try_from_base32(&secret).unwrap();
    assert!(
        !contains(secret.as_bytes()),
        "TOTP secret (base32) in the clear"
    );
    assert!(
        !contains(raw_secret.as_ref()),
        "TOTP secret (raw) in the clear"
    );
    assert!(
        !contains(token.as_bytes()) && !contains(new_token.as_bytes()),
        "a session token in the clear"
    );
    assert!(
        !contains(c["challenge"].as_str().unwrap().as_bytes()),
        "a challenge token in the clear"
    );
    assert!(
        !contains(user.password.as_bytes()),
        "the password in the clear"
    );
    // (Message bodies are never stored, so looking for one would prove nothing; the SMS
    // code is a short digit run that random bytes may contain, so it is not searched for.)
    let _ = sms_code;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shown_once_mode_stores_no_encrypted_copy() {
    let app = TestApp::spawn_with(|c| c.backup_codes_viewable = false).await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_totp(&token).await;
    let store = twofold::store::Store::connect(&app.config.database_url, 1)
        .await
        .unwrap();
    let me: Value = app
        .get("/api/v1/me", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let id = twofold::domain::AccountId::from_stored(me["id"].as_str().unwrap());
    let batch = store
        .backup_codes()
        .backup_batch(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(batch.codes.len(), 10);
    assert!(
        batch.codes.iter().all(|c| c.sealed.is_none()),
        "only keyed hashes are kept"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_is_told_to_the_phone() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_sms(&token, "+1 415 555 2671", "+14155552671")
        .await;
    let res = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({"current_password": user.password, "new_password": "a brand new password"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let last = app.outbox().pop().unwrap();
    assert_eq!(last["to"], "+14155552671");
    let body = last["body"].as_str().unwrap();
    assert!(
        body.contains("password was changed") && !body.contains("a brand new password"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_texts_are_capped_per_hour() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let codes = app
        .enable_sms(&token, "+1 415 555 2671", "+14155552671")
        .await;
    // Every text counts toward the hourly budget, the verification code too: start afresh.
    app.clock.advance(3600);
    for _ in 0..10 {
        let c = app.challenge(&user).await;
        assert!(c["sms_sent_to"].is_string(), "{c}");
        app.clock.advance(60);
    }
    let c = app.challenge(&user).await;
    assert!(
        c.get("sms_sent_to").is_none(),
        "the eleventh text in an hour is held back: {c}"
    );
    app.clock.advance(31);
    let res = app
        .post(
            "/api/v1/sessions/two-factor/sms",
            None,
            json!({"challenge": c["challenge"]}),
        )
        .await;
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(
        app.second_step(&c, "backup_code", &codes[0]).await.status(),
        StatusCode::CREATED,
        "other methods still work"
    );
    app.clock.advance(3600);
    let c = app.challenge(&user).await;
    assert!(
        c["sms_sent_to"].is_string(),
        "an hour later texts go out again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_phone_ends_logins_whose_code_went_to_the_old_one() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_sms(&token, "+1 415 555 2671", "+14155552671")
        .await;
    let c = app.challenge(&user).await;
    let old_code = app.last_code_to("+14155552671");
    app.clock.advance(31);
    app.enable_sms(&token, "+44 7911 123456", "+447911123456")
        .await;
    assert_error(
        app.second_step(&c, "sms", &old_code).await,
        StatusCode::GONE,
        "challenge_expired",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_2fa_off_does_not_reset_the_daily_text_cap() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    for _ in 0..10 {
        assert_eq!(
            app.post(
                "/api/v1/me/two-factor/sms",
                Some(&token),
                json!({"phone": "+1 415 555 2671"})
            )
            .await
            .status(),
            StatusCode::ACCEPTED
        );
        app.clock.advance(31);
    }
    assert_eq!(
        app.delete("/api/v1/me/two-factor", Some(&token))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let res = app
        .post(
            "/api/v1/me/two-factor/sms",
            Some(&token),
            json!({"phone": "+1 415 555 2671"}),
        )
        .await;
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_code_says_how_many_tries_are_left_and_the_last_that_the_attempt_ended() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (_, codes) = app.enable_totp(&token).await;
    let c = app.challenge(&user).await;
    let wrong = (0..)
        .map(|i| format!("{:08}", 20_000_000 + i))
        .filter(|g| !codes.contains(g))
        .take(5)
        .collect::<Vec<_>>();
    for (i, guess) in wrong.iter().enumerate() {
        let body = assert_error(
            app.second_step(&c, "backup_code", guess).await,
            StatusCode::UNAUTHORIZED,
            "invalid_code",
        )
        .await;
        let message = body["error"]["message"].as_str().unwrap().to_owned();
        match 4 - i {
            0 => assert!(message.contains("has ended"), "{message}"),
            1 => assert!(message.ends_with("(1 try left)"), "{message}"),
            n => assert!(message.ends_with(&format!("({n} tries left)")), "{message}"),
        }
    }
    let body = assert_error(
        app.second_step(&c, "backup_code", &codes[0]).await,
        StatusCode::GONE,
        "challenge_expired",
    )
    .await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("too many wrong codes"), "{message}");
}
