//! Backup codes (issue 4): view, get new codes, downloads, logging in with one exactly
//! once however many requests race, and the codes-only-once mode.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_code_logs_in_exactly_once_even_under_a_race() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (_, codes) = app.enable_totp(&token).await;
    let mut challenges = Vec::new();
    for _ in 0..8 {
        challenges.push(app.challenge(&user).await);
    }
    let tasks: Vec<_> = challenges
        .into_iter()
        .map(|c| {
            let http = app.http.clone();
            let url = app.url("/api/v1/sessions/two-factor");
            let code = codes[3].clone();
            tokio::spawn(async move {
                http.post(url)
                    .json(&json!({"challenge": c["challenge"], "method": "backup_code", "code": code}))
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
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        7,
        "{statuses:?}"
    );

    let c = app.challenge(&user).await;
    let body = assert_error(
        app.second_step(&c, "backup_code", &codes[3]).await,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already been used"),
        "{body}"
    );
    let res = app
        .second_step(&c, "backup_code", &codes[4].replace(' ', "-"))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let t: Value = res.json().await.unwrap();
    assert_eq!(t["backup_codes_remaining"], 8);
    let events: Value = app
        .get("/api/v1/me/activity", t["token"].as_str())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(events["events"][0]["kind"], "login_backup_code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn view_and_get_new_codes() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (_, first) = app.enable_totp(&token).await;
    let c = app.challenge(&user).await;
    assert_eq!(
        app.second_step(&c, "backup_code", &first[0]).await.status(),
        StatusCode::CREATED
    );

    let view: Value = app
        .get("/api/v1/me/backup-codes", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<(String, bool)> = view["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["code"].as_str().unwrap().to_owned(),
                c["used"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>(),
        first,
        "the same batch, in order"
    );
    assert_eq!(listed.iter().filter(|(_, used)| *used).count(), 1);
    assert!(listed[0].1);
    assert_eq!(view["remaining"], 9);
    assert!(view["generated_at"].as_str().unwrap().ends_with('Z'));

    let res = app
        .post("/api/v1/me/backup-codes", Some(&token), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let fresh: Value = res.json().await.unwrap();
    let new_codes: Vec<String> = fresh["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(new_codes.len(), 10);
    assert_eq!(fresh["remaining"], 10);
    assert!(
        fresh["codes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["used"] == false)
    );
    // Every old code stopped working; the new ones work.
    let c = app.challenge(&user).await;
    if !new_codes.contains(&first[5]) {
        let body = assert_error(
            app.second_step(&c, "backup_code", &first[5]).await,
            StatusCode::UNAUTHORIZED,
            "invalid_code",
        )
        .await;
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("isn't right"),
            "{body}"
        );
    }
    assert_eq!(
        app.second_step(&c, "backup_code", &new_codes[0])
            .await
            .status(),
        StatusCode::CREATED
    );
    let status: Value = app
        .get("/api/v1/me/two-factor", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["backup_codes"]["remaining"], 9);
    let events: Value = app
        .get("/api/v1/me/activity", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "backup_codes_regenerated")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_download_as_text_and_image() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (_, codes) = app.enable_totp(&token).await;
    let c = app.challenge(&user).await;
    app.second_step(&c, "backup_code", &codes[1]).await;

    let res = app.get("/api/v1/me/backup-codes.txt", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(
        res.headers()["content-disposition"],
        format!(
            "attachment; filename=\"twofold-backup-codes-{}.txt\"",
            user.username
        )
        .as_str()
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), codes.len(), "one code a line: {text}");
    for (i, (line, code)) in lines.iter().zip(&codes).enumerate() {
        let expected = if i == 1 {
            format!("{code} (used)")
        } else {
            code.clone()
        };
        assert_eq!(*line, expected);
    }

    let res = app.get("/api/v1/me/backup-codes.png", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(
        res.headers()["content-disposition"],
        format!(
            "attachment; filename=\"twofold-backup-codes-{}.png\"",
            user.username
        )
        .as_str()
    );
    let png = res.bytes().await.unwrap();
    let img = tiny_skia::Pixmap::decode_png(&png).unwrap();
    assert!(img.width() >= 600 && img.height() >= 400);
    // Not blank: a good share of the pixels are ink (the title and the ten codes).
    let dark = img
        .pixels()
        .iter()
        .filter(|p| p.red() < 100 && p.green() < 100 && p.blue() < 100)
        .count();
    let total = (img.width() * img.height()) as usize;
    assert!(dark * 100 > total, "only {dark} of {total} pixels are dark");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_can_be_shown_only_once_when_configured() {
    let app = TestApp::spawn_with(|c| {
        c.backup_codes_viewable = false;
        c.backup_codes_count = 12;
    })
    .await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (_, codes) = app.enable_totp(&token).await;
    assert_eq!(codes.len(), 12, "the batch size is configurable");
    let view: Value = app
        .get("/api/v1/me/backup-codes", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert!(view["codes"].is_null(), "{view}");
    assert_eq!(view["remaining"], 12);
    assert!(view["generated_at"].is_string());
    assert_error(
        app.get("/api/v1/me/backup-codes.txt", Some(&token)).await,
        StatusCode::CONFLICT,
        "codes_not_viewable",
    )
    .await;
    let fresh: Value = app
        .post("/api/v1/me/backup-codes", Some(&token), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        fresh["codes"].as_array().unwrap().len(),
        12,
        "shown at creation"
    );
    let c = app.challenge(&user).await;
    let code = fresh["codes"][0]["code"].as_str().unwrap();
    assert_eq!(
        app.second_step(&c, "backup_code", code).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_code_login_sends_a_notice_to_the_phone() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let codes = app
        .enable_sms(&token, "+1 415 555 2671", "+14155552671")
        .await;
    let c = app.challenge(&user).await;
    assert_eq!(
        app.second_step(&c, "backup_code", &codes[0]).await.status(),
        StatusCode::CREATED
    );
    let last = app.outbox().pop().unwrap();
    assert_eq!(last["to"], "+14155552671");
    assert!(
        last["body"]
            .as_str()
            .unwrap()
            .contains("backup code was used to log in"),
        "{last}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_codes_while_2fa_is_off() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    assert_error(
        app.get("/api/v1/me/backup-codes", Some(&token)).await,
        StatusCode::NOT_FOUND,
        "no_backup_codes",
    )
    .await;
    assert_error(
        app.post("/api/v1/me/backup-codes", Some(&token), json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "no_backup_codes",
    )
    .await;
}
