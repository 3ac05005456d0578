//! Two-factor login (issue 3): enrolment of SMS and authenticator apps, the two-step login
//! with "Try another way", replay and expiry, limits, phone uniqueness, bad input.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error};

const PHONE: &str = "+1 415 555 2671";
const E164: &str = "+14155552671";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticator_app_enrolment_shows_a_qr_code_and_turns_2fa_on() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let res = app
        .post("/api/v1/me/two-factor/totp", Some(&token), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let secret = body["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    let uri = body["otpauth_uri"].as_str().unwrap();
    assert_eq!(
        uri,
        format!(
            "otpauth://totp/Twofold:{}?secret={secret}&issuer=Twofold&algorithm=SHA1&digits=6&period=30",
            user.username
        )
    );
    // The QR code decodes to the otpauth URI.
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD
        .decode(body["qr_png"].as_str().unwrap())
        .unwrap();
    let pixmap = tiny_skia::Pixmap::decode_png(&png).unwrap();
    let (w, h) = (pixmap.width() as usize, pixmap.height() as usize);
    let data = pixmap.data().to_vec();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| data[(y * w + x) * 4]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1);
    assert_eq!(grids[0].decode().unwrap().1, uri);

    assert_eq!(
        app.get("/api/v1/me", Some(&token))
            .await
            .json::<Value>()
            .await
            .unwrap()["two_factor"]["enabled"],
        false,
        "pending until confirmed"
    );
    let wrong = app
        .post(
            "/api/v1/me/two-factor/totp/confirm",
            Some(&token),
            json!({"code": "000000"}),
        )
        .await;
    if app.totp(secret, 0) != "000000" {
        assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_code").await;
    }
    let res = app
        .post(
            "/api/v1/me/two-factor/totp/confirm",
            Some(&token),
            json!({"code": app.totp(secret, 0)}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["enabled"], true);
    let codes = body["backup_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    for c in codes {
        let c = c.as_str().unwrap();
        assert!(
            c.len() == 9
                && c.as_bytes()[4] == b' '
                && c.replace(' ', "").bytes().all(|b| b.is_ascii_digit()),
            "{c}"
        );
    }
    assert_eq!(
        app.get("/api/v1/me", Some(&token))
            .await
            .json::<Value>()
            .await
            .unwrap()["two_factor"]["enabled"],
        true
    );
    let status: Value = app
        .get("/api/v1/me/two-factor", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["enabled"], true);
    assert!(status["totp"]["added_at"].is_string());
    assert!(status["sms"].is_null());
    assert_eq!(status["backup_codes"]["remaining"], 10);
    assert_eq!(status["backup_codes"]["total"], 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_the_app_and_no_step_twice() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.clock.advance(5);
    let res = app
        .post("/api/v1/me/two-factor/totp", Some(&token), json!({}))
        .await;
    let secret = res.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let enrol_code = app.totp(&secret, 0);
    let res = app
        .post(
            "/api/v1/me/two-factor/totp/confirm",
            Some(&token),
            json!({"code": enrol_code}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let c = app.challenge(&user).await;
    assert_eq!(c["two_factor_required"], true);
    assert_eq!(c["methods"], json!(["totp", "backup_code"]));
    assert_eq!(c["default_method"], "totp");
    assert!(c.get("sms_sent_to").is_none());
    assert!(c["expires_at"].as_str().unwrap().ends_with('Z'));
    // The code that confirmed enrolment is never accepted again (RFC 6238 §5.2).
    assert_error(
        app.second_step(&c, "totp", &enrol_code).await,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
    )
    .await;
    app.clock.advance(30);
    let code = app.totp(&secret, 0);
    let res = app
        .second_step(&c, "totp", &format!("{} {}", &code[..3], &code[3..]))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let new_token = body["token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/v1/me", Some(new_token)).await.status(),
        StatusCode::OK
    );
    // The finished challenge is gone, and the same step is refused on a new one.
    assert_error(
        app.second_step(&c, "totp", &code).await,
        StatusCode::GONE,
        "challenge_expired",
    )
    .await;
    let c2 = app.challenge(&user).await;
    assert_error(
        app.second_step(&c2, "totp", &code).await,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
    )
    .await;
    // One step either side is accepted (clock drift).
    app.clock.advance(60);
    assert_eq!(
        app.second_step(&c2, "totp", &app.totp(&secret, -1))
            .await
            .status(),
        StatusCode::CREATED
    );
    let c3 = app.challenge(&user).await;
    assert_error(
        app.second_step(&c3, "totp", &app.totp(&secret, 2)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
    )
    .await;
    assert_eq!(
        app.second_step(&c3, "totp", &app.totp(&secret, 1))
            .await
            .status(),
        StatusCode::CREATED
    );

    let events: Value = app
        .get("/api/v1/me/activity", Some(new_token))
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "login_totp",
        "second_factor_failed",
        "totp_added",
        "two_factor_enabled",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_enrolment_and_login_with_the_code_sent_at_once() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let res = app
        .post(
            "/api/v1/me/two-factor/sms",
            Some(&token),
            json!({"phone": PHONE}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(
        res.json::<Value>().await.unwrap()["sms_sent_to"],
        "+1 *** *** **71"
    );
    let msg = app.outbox().pop().unwrap();
    assert_eq!(msg["to"], E164);
    assert!(msg["sent_at"].as_str().unwrap().ends_with('Z'));
    let body = msg["body"].as_str().unwrap();
    let code = crate::helpers::first_six_digits(body);
    assert!(
        body.starts_with(&format!(
            "{code} is your Twofold security code. Don't share it."
        )),
        "{body}"
    );
    assert!(body.ends_with(&format!("@localhost #{code}")), "{body}");
    let res = app
        .post(
            "/api/v1/me/two-factor/sms/confirm",
            Some(&token),
            json!({"code": code}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.unwrap()["backup_codes"]
            .as_array()
            .unwrap()
            .len(),
        10
    );

    let before = app.outbox().len();
    let c = app.challenge(&user).await;
    assert_eq!(c["methods"], json!(["sms", "backup_code"]));
    assert_eq!(c["default_method"], "sms");
    assert_eq!(c["sms_sent_to"], "+1 *** *** **71");
    assert_eq!(app.outbox().len(), before + 1, "the code is sent at once");
    let code = app.last_code_to(E164);
    let res = app
        .second_step(&c, "sms", &format!("{}-{}", &code[..3], &code[3..]))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // Used once: the same code on the same (finished) challenge is refused.
    assert_error(
        app.second_step(&c, "sms", &code).await,
        StatusCode::GONE,
        "challenge_expired",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_another_way_switches_between_every_method() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let codes = app.enable_sms(&token, PHONE, E164).await;
    let (secret, more) = app.enable_totp(&token).await;
    assert!(more.is_empty(), "only the first method makes codes");
    let c = app.challenge(&user).await;
    assert_eq!(c["methods"], json!(["totp", "sms", "backup_code"]));
    assert_eq!(c["default_method"], "totp", "the strongest method first");
    assert!(c.get("sms_sent_to").is_none(), "no text unless asked for");
    assert_eq!(
        app.second_step(&c, "totp", &app.totp(&secret, 0))
            .await
            .status(),
        StatusCode::CREATED
    );
    let c = app.challenge(&user).await;
    let res = app.second_step(&c, "backup_code", &codes[0]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        res.json::<Value>().await.unwrap()["backup_codes_remaining"],
        9
    );
    // Text message, asked for under "Try another way".
    let c = app.challenge(&user).await;
    let res = app
        .post(
            "/api/v1/sessions/two-factor/sms",
            None,
            json!({"challenge": c["challenge"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(
        app.second_step(&c, "sms", &app.last_code_to(E164))
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_replaced_and_reused_sms_codes_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_sms(&token, PHONE, E164).await;
    let c = app.challenge(&user).await;
    let first = app.last_code_to(E164);
    app.clock.advance(301);
    let body = assert_error(
        app.second_step(&c, "sms", &first).await,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
    let res = app
        .post(
            "/api/v1/sessions/two-factor/sms",
            None,
            json!({"challenge": c["challenge"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(
        res.json::<Value>().await.unwrap()["sms_sent_to"],
        "+1 *** *** **71"
    );
    let second = app.last_code_to(E164);
    if second != first {
        assert_error(
            app.second_step(&c, "sms", &first).await,
            StatusCode::UNAUTHORIZED,
            "invalid_code",
        )
        .await;
    }
    assert_eq!(
        app.second_step(&c, "sms", &second).await.status(),
        StatusCode::CREATED
    );
    // A code from a finished login does not open a new one.
    let c2 = app.challenge(&user).await;
    let fresh = app.last_code_to(E164);
    if fresh != second {
        assert_error(
            app.second_step(&c2, "sms", &second).await,
            StatusCode::UNAUTHORIZED,
            "invalid_code",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resend_has_a_cooldown_and_a_cap() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_sms(&token, PHONE, E164).await;
    let c = app.challenge(&user).await;
    let resend = || {
        app.post(
            "/api/v1/sessions/two-factor/sms",
            None,
            json!({"challenge": c["challenge"]}),
        )
    };
    let res = resend().await;
    let wait: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&wait));
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    for _ in 0..4 {
        app.clock.advance(31);
        assert_eq!(resend().await.status(), StatusCode::ACCEPTED);
    }
    app.clock.advance(31);
    assert_error(
        resend().await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    // The challenge still works with the newest code.
    assert_eq!(
        app.second_step(&c, "sms", &app.last_code_to(E164))
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_dies_after_five_wrong_codes_or_ten_minutes() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (secret, _) = app.enable_totp(&token).await;
    let c = app.challenge(&user).await;
    let wrong = if app.totp(&secret, 0) == "111111" {
        "222222"
    } else {
        "111111"
    };
    for _ in 0..5 {
        assert_error(
            app.second_step(&c, "totp", wrong).await,
            StatusCode::UNAUTHORIZED,
            "invalid_code",
        )
        .await;
    }
    assert_error(
        app.second_step(&c, "totp", &app.totp(&secret, 0)).await,
        StatusCode::GONE,
        "challenge_expired",
    )
    .await;
    let c = app.challenge(&user).await;
    app.clock.advance(601);
    assert_error(
        app.second_step(&c, "totp", &app.totp(&secret, 0)).await,
        StatusCode::GONE,
        "challenge_expired",
    )
    .await;
    let fake = json!({"challenge": "A".repeat(43)});
    assert_error(
        app.second_step(&fake, "totp", "123456").await,
        StatusCode::GONE,
        "challenge_expired",
    )
    .await;
    let junk = json!({"challenge": "nope"});
    assert_error(
        app.second_step(&junk, "totp", "123456").await,
        StatusCode::GONE,
        "challenge_expired",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_wrong_codes_in_a_row_lock_the_second_step_and_a_success_resets() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (secret, _) = app.enable_totp(&token).await;
    let wrong = |s: &str| {
        if s == "111111" {
            "222222".to_owned()
        } else {
            "111111".to_owned()
        }
    };
    // Nine wrong across two challenges, then a success: the count starts again.
    let mut c = app.challenge(&user).await;
    for i in 0..9 {
        if i == 5 {
            c = app.challenge(&user).await;
        }
        assert_eq!(
            app.second_step(&c, "totp", &wrong(&app.totp(&secret, 0)))
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.second_step(&c, "totp", &app.totp(&secret, 0))
            .await
            .status(),
        StatusCode::CREATED
    );
    app.clock.advance(30);
    // Ten wrong in a row across challenges lock it.
    let mut statuses = Vec::new();
    let mut c = app.challenge(&user).await;
    for i in 0..10 {
        if i % 5 == 0 {
            c = app.challenge(&user).await;
        }
        statuses.push(
            app.second_step(&c, "totp", &wrong(&app.totp(&secret, 0)))
                .await
                .status(),
        );
    }
    assert_eq!(statuses[..9], [StatusCode::UNAUTHORIZED; 9]);
    assert_eq!(
        statuses[9],
        StatusCode::TOO_MANY_REQUESTS,
        "the tenth locks"
    );
    let c = app.challenge(&user).await;
    let res = app.second_step(&c, "totp", &app.totp(&secret, 0)).await;
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((800..=900).contains(&retry), "{retry}");
    let body = assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("minutes"),
        "{body}"
    );
    app.clock.advance(901);
    let c = app.challenge(&user).await;
    let res = app.second_step(&c, "totp", &app.totp(&secret, 0)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let t: Value = res.json().await.unwrap();
    let events: Value = app
        .get("/api/v1/me/activity", t["token"].as_str())
        .await
        .json()
        .await
        .unwrap();
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "second_factor_locked")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_protects_one_account_only() {
    let app = TestApp::spawn().await;
    let alice = app.signup().await;
    let a = app.login(&alice).await;
    app.enable_sms(&a, PHONE, E164).await;
    let bob = app.signup().await;
    let b = app.login(&bob).await;
    let res = app
        .post(
            "/api/v1/me/two-factor/sms",
            Some(&b),
            json!({"phone": "+1-415-555-2671"}),
        )
        .await;
    let body = assert_error(res, StatusCode::CONFLICT, "phone_in_use").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only one account"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_enrolments_of_one_phone_have_one_winner() {
    let app = TestApp::spawn().await;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let u = app.signup().await;
        let t = app.login(&u).await;
        assert_eq!(
            app.post(
                "/api/v1/me/two-factor/sms",
                Some(&t),
                json!({"phone": PHONE})
            )
            .await
            .status(),
            StatusCode::ACCEPTED
        );
        tokens.push((t, app.last_code_to(E164)));
    }
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|(t, code)| {
            let http = app.http.clone();
            let url = app.url("/api/v1/me/two-factor/sms/confirm");
            tokio::spawn(async move {
                http.post(url)
                    .bearer_auth(t)
                    .json(&json!({"code": code}))
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
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_second_step_input_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (secret, _) = app.enable_totp(&token).await;
    let c = app.challenge(&user).await;
    assert_error(
        app.second_step(&c, "email", "123456").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_method",
    )
    .await;
    assert_error(
        app.second_step(&c, "sms", "123456").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_method",
    )
    .await;
    for bad in [
        "12a456",
        "12345",
        "1234567",
        "",
        "１２３４５６",
        "123456789012",
    ] {
        assert_error(
            app.second_step(&c, "totp", bad).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "malformed_code",
        )
        .await;
    }
    assert_error(
        app.second_step(&c, "backup_code", "1234567").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "malformed_code",
    )
    .await;
    let res = app
        .post(
            "/api/v1/sessions/two-factor",
            None,
            json!({"challenge": c["challenge"], "method": "totp"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request").await;
    // None of that counted: five real wrong codes are still allowed before the challenge dies.
    let wrong = if app.totp(&secret, 0) == "111111" {
        "222222"
    } else {
        "111111"
    };
    for _ in 0..4 {
        assert_error(
            app.second_step(&c, "totp", wrong).await,
            StatusCode::UNAUTHORIZED,
            "invalid_code",
        )
        .await;
    }
    assert_eq!(
        app.second_step(&c, "totp", &app.totp(&secret, 0))
            .await
            .status(),
        StatusCode::CREATED
    );

    for (phone, why) in [
        ("415 555 2671", "country code"),
        ("+1 555", "valid"),
        ("call me", "valid"),
        ("", "phone"),
    ] {
        let res = app
            .post(
                "/api/v1/me/two-factor/sms",
                Some(&token),
                json!({"phone": phone}),
            )
            .await;
        let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_phone").await;
        assert!(
            body["error"]["message"].as_str().unwrap().contains(why),
            "{phone}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_2fa_settings_needs_a_recent_password() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.clock.advance(601);
    for (method, path) in [
        (reqwest::Method::POST, "/api/v1/me/two-factor/totp"),
        (reqwest::Method::POST, "/api/v1/me/two-factor/sms"),
        (reqwest::Method::DELETE, "/api/v1/me/two-factor"),
        (reqwest::Method::DELETE, "/api/v1/me/two-factor/totp"),
        (reqwest::Method::DELETE, "/api/v1/me/two-factor/sms"),
        (reqwest::Method::GET, "/api/v1/me/backup-codes"),
        (reqwest::Method::POST, "/api/v1/me/backup-codes"),
    ] {
        let res = app
            .call(
                method.clone(),
                path,
                Some(&token),
                Some(json!({"phone": PHONE})),
            )
            .await;
        assert_error(res, StatusCode::FORBIDDEN, "reauth_required").await;
    }
    assert_eq!(
        app.post(
            "/api/v1/me/reauth",
            Some(&token),
            json!({"password": user.password})
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.post("/api/v1/me/two-factor/totp", Some(&token), json!({}))
            .await
            .status(),
        StatusCode::CREATED
    );
    app.clock.advance(599);
    assert_eq!(
        app.post("/api/v1/me/two-factor/totp", Some(&token), json!({}))
            .await
            .status(),
        StatusCode::CREATED,
        "still recent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_2fa_off_removes_everything_and_tells_the_old_phone() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let codes = app.enable_sms(&token, PHONE, E164).await;
    app.enable_totp(&token).await;
    assert_eq!(
        app.delete("/api/v1/me/two-factor", Some(&token))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let notice = app.outbox().pop().unwrap();
    assert_eq!(notice["to"], E164);
    assert!(
        notice["body"].as_str().unwrap().contains("turned off"),
        "{notice}"
    );
    let status: Value = app
        .get("/api/v1/me/two-factor", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        status,
        json!({"enabled": false, "sms": null, "totp": null, "backup_codes": null})
    );
    assert_error(
        app.get("/api/v1/me/backup-codes", Some(&token)).await,
        StatusCode::NOT_FOUND,
        "no_backup_codes",
    )
    .await;
    assert_eq!(
        app.try_login(&user, &user.password).await.status(),
        StatusCode::CREATED,
        "password only again"
    );
    let _ = codes;
    // The phone is free for another account now.
    let other = app.signup().await;
    let t = app.login(&other).await;
    assert_eq!(
        app.post(
            "/api/v1/me/two-factor/sms",
            Some(&t),
            json!({"phone": PHONE})
        )
        .await
        .status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_last_method_turns_2fa_off_and_changing_the_phone_tells_the_old_one() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_sms(&token, PHONE, E164).await;
    app.clock.advance(31);
    app.enable_sms(&token, "+44 7911 123456", "+447911123456")
        .await;
    let notice = app
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m["to"] == E164)
        .unwrap();
    assert!(
        notice["body"].as_str().unwrap().contains("changed"),
        "{notice}"
    );
    let status: Value = app
        .get("/api/v1/me/two-factor", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["sms"]["phone"], "+44 *** *** **56");
    assert_eq!(
        app.delete("/api/v1/me/two-factor/sms", Some(&token))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let status: Value = app
        .get("/api/v1/me/two-factor", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["enabled"], false);
    assert_eq!(
        app.delete("/api/v1/me/two-factor/sms", Some(&token))
            .await
            .status(),
        StatusCode::NO_CONTENT,
        "removing is idempotent"
    );
}

/// Issue 10: authenticator set-up confirmations are counted (5 per secret, charged before
/// the comparison) and need a recent password, like every other change to 2FA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticator_confirmations_are_counted_and_need_a_recent_password() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let res = app
        .post("/api/v1/me/two-factor/totp", Some(&token), json!({}))
        .await;
    let secret = res.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let right = app.totp(&secret, 0);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        assert_error(
            app.post(
                "/api/v1/me/two-factor/totp/confirm",
                Some(&token),
                json!({"code": wrong}),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "invalid_code",
        )
        .await;
    }
    let body = assert_error(
        app.post(
            "/api/v1/me/two-factor/totp/confirm",
            Some(&token),
            json!({"code": right}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many times"),
        "the sixth try is refused, even with the right code: {body}"
    );
    // A new secret brings new tries; past the recent window, the password comes first.
    let res = app
        .post("/api/v1/me/two-factor/totp", Some(&token), json!({}))
        .await;
    let secret = res.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(601);
    assert_error(
        app.post(
            "/api/v1/me/two-factor/totp/confirm",
            Some(&token),
            json!({"code": app.totp(&secret, 0)}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "reauth_required",
    )
    .await;
}

/// NIST SP 800-63B §5.2.2: never more than 100 wrong second-factor codes in a row. Before, a
/// lock reset the count, so waiting out each lock allowed guessing without end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_step_takes_at_most_100_wrong_codes_in_a_row() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (secret, _) = app.enable_totp(&token).await;
    let (mut wrong, mut c) = (0, app.challenge(&user).await);
    for _ in 0..400 {
        let right = app.totp(&secret, 0);
        let guess = if right == "123456" {
            "654321"
        } else {
            "123456"
        };
        let res = app.second_step(&c, "totp", guess).await;
        match res.status() {
            StatusCode::UNAUTHORIZED => wrong += 1,
            StatusCode::GONE => c = app.challenge(&user).await,
            StatusCode::TOO_MANY_REQUESTS => {
                let retry: i64 = res.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                app.clock.advance(retry + 1);
                c = app.challenge(&user).await;
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!(wrong + 10, 100, "90 answered wrong, and each tenth locked");
    app.clock.advance(7 * 86_400);
    let c = app.challenge(&user).await;
    let body = assert_error(
        app.second_step(&c, "totp", &app.totp(&secret, 0)).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unlock"),
        "a week later, even the right code waits for the operator: {body}"
    );
}

/// Issue 10 (OWASP ASVS 4.0.3 V2.5.5): a new authentication app is told to the phone, even
/// right after another kind of notice (notices coalesce per kind of change, not across).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_up_an_app_is_told_to_the_phone() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_sms(&token, PHONE, E164).await;
    let res = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({"current_password": user.password, "new_password": "another fine passphrase"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.enable_totp(&token).await;
    let bodies: Vec<String> = app
        .outbox()
        .iter()
        .filter(|m| m["to"] == E164)
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("the password was changed")),
        "{bodies:?}"
    );
    assert!(
        bodies
            .last()
            .unwrap()
            .contains("an authentication app was set up"),
        "{bodies:?}"
    );
}
