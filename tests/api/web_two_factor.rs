//! The two-factor pages over HTTP: the challenge cookie, the code page, "Try another way",
//! recent-password gates and the backup-codes page headers. Chromium drives the same pages
//! in `tests/browser`.

use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::web::{browser, csrf_of};

async fn get(
    b: &reqwest::Client,
    app: &TestApp,
    path: &str,
) -> (StatusCode, String, Option<String>) {
    let res = b.get(app.url(path)).send().await.unwrap();
    let loc = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (res.status(), res.text().await.unwrap(), loc)
}

pub(crate) async fn post(
    b: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    b.post(app.url(path)).form(form).send().await.unwrap()
}

async fn password_step(
    b: &reqwest::Client,
    app: &TestApp,
    user: &crate::helpers::TestUser,
) -> reqwest::Response {
    let (_, html, _) = get(b, app, "/login").await;
    post(
        b,
        app,
        "/login",
        &[
            ("csrf", &csrf_of(&html)),
            ("username", &user.username),
            ("password", &user.password),
            ("next", "/settings/security"),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_login_with_the_app_through_the_code_page() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (secret, _) = app.enable_totp(&token).await;
    let b = browser();
    let res = password_step(&b, &app, &user).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        "/login/two-factor?method=totp&next=%2Fsettings%2Fsecurity"
    );
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("twofold_challenge=")
            && cookie.contains("Path=/login")
            && cookie.contains("HttpOnly")
            && cookie.contains("Max-Age=600"),
        "{cookie}"
    );
    assert!(
        !res.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("twofold_session=")),
        "no session yet"
    );

    let (status, html, _) = get(
        &b,
        &app,
        "/login/two-factor?method=totp&next=%2Fsettings%2Fsecurity",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Enter the 6-digit code")
            && html.contains("Try another way")
            && html.contains("autocomplete=\"one-time-code\"")
    );
    let csrf = csrf_of(&html);
    let wrong = if app.totp(&secret, 0) == "111111" {
        "222222"
    } else {
        "111111"
    };
    let res = post(
        &b,
        &app,
        "/login/two-factor",
        &[
            ("csrf", &csrf),
            ("method", "totp"),
            ("code", wrong),
            ("next", "/settings/security"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("isn")
            && html.contains("right; check it and try again")
            && html.contains("id=\"code-error\"")
    );
    assert!(!html.contains(wrong), "the code typed is not echoed");
    let res = post(
        &b,
        &app,
        "/login/two-factor",
        &[
            ("csrf", &csrf),
            ("method", "totp"),
            ("code", &app.totp(&secret, 0)),
            ("next", "/settings/security"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/settings/security");
    let (status, html, _) = get(&b, &app, "/settings/security").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Logged in with the authentication app"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_challenge_belongs_to_the_browser_that_started_it() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_totp(&token).await;
    let b = browser();
    password_step(&b, &app, &user).await;
    let stranger = browser();
    let (status, _, loc) = get(&stranger, &app, "/login/two-factor?method=totp").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/login?done=challenge_expired"));
    let (_, html, _) = get(&stranger, &app, "/login?done=challenge_expired").await;
    assert!(html.contains("Your login attempt expired. Log in again."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_another_way_and_a_backup_code_through_the_pages() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let codes = app
        .enable_sms(&token, "+1 415 555 2671", "+14155552671")
        .await;
    app.enable_totp(&token).await;
    let b = browser();
    let res = password_step(&b, &app, &user).await;
    // The strongest method first: the app; no text goes out unless asked for.
    assert_eq!(
        res.headers()["location"],
        "/login/two-factor?method=totp&next=%2Fsettings%2Fsecurity"
    );
    let (_, html, _) = get(
        &b,
        &app,
        "/login/two-factor?method=sms&next=%2Fsettings%2Fsecurity",
    )
    .await;
    assert!(
        html.contains(
            "We'll text a security code to <span class=\"nowrap\">+1 *** *** **71</span>"
        ) && html.contains("Text me a code"),
        "{html}"
    );
    let res = post(
        &b,
        &app,
        "/login/two-factor/resend",
        &[("csrf", &csrf_of(&html)), ("next", "/settings/security")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    let (_, html, _) = get(&b, &app, &to).await;
    assert!(
        html.contains("We sent a security code to <span class=\"nowrap\">+1 *** *** **71</span>")
            && html.contains("Resend code"),
        "{html}"
    );
    let (_, html, _) = get(
        &b,
        &app,
        "/login/two-factor/methods?next=%2Fsettings%2Fsecurity",
    )
    .await;
    assert!(
        html.contains("Text message")
            && html.contains("Authentication app")
            && html.contains("Backup code")
    );
    let (_, html, _) = get(
        &b,
        &app,
        "/login/two-factor?method=backup_code&next=%2Fsettings%2Fsecurity",
    )
    .await;
    assert!(html.contains("Enter a backup code"));
    let res = post(
        &b,
        &app,
        "/login/two-factor",
        &[
            ("csrf", &csrf_of(&html)),
            ("method", "backup_code"),
            ("code", &codes[0]),
            ("next", "/"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/?backup_left=9");
    let (_, html, _) = get(&b, &app, "/?backup_left=9").await;
    assert!(html.contains("You logged in with a backup code. You have 9 left."));
    let (_, html, _) = get(&b, &app, "/?backup_left=2").await;
    assert!(html.contains("Only 2 backup codes left") && html.contains("Get new codes"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resend_on_the_page_waits_its_turn() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_sms(&token, "+1 415 555 2671", "+14155552671")
        .await;
    let b = browser();
    password_step(&b, &app, &user).await;
    let (_, html, _) = get(&b, &app, "/login/two-factor?method=sms").await;
    let res = post(
        &b,
        &app,
        "/login/two-factor/resend",
        &[("csrf", &csrf_of(&html)), ("next", "/")],
    )
    .await;
    let loc = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(loc.contains("wait="), "{loc}");
    let (_, html, _) = get(&b, &app, &loc).await;
    assert!(html.contains("You can ask for a new code in"), "{html}");
    // Issue 10: the wait comes from the address bar, so a link with an absurd one shows none.
    let (_, forged, _) = get(&b, &app, "/login/two-factor?method=sms&wait=99999999").await;
    assert!(
        !forged.contains("You can ask for a new code in"),
        "{forged}"
    );
    app.clock.advance(31);
    let res = post(
        &b,
        &app,
        "/login/two-factor/resend",
        &[("csrf", &csrf_of(&html)), ("next", "/")],
    )
    .await;
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .contains("sent=1")
    );
    let code = app.last_code_to("+14155552671");
    let res = post(
        &b,
        &app,
        "/login/two-factor",
        &[
            ("csrf", &csrf_of(&html)),
            ("method", "sms"),
            ("code", &code),
            ("next", "/"),
        ],
    )
    .await;
    assert_eq!(res.headers()["location"], "/");
}

async fn web_session(app: &TestApp, user: &crate::helpers::TestUser) -> reqwest::Client {
    let b = browser();
    let (_, html, _) = get(&b, app, "/login").await;
    let res = post(
        &b,
        app,
        "/login",
        &[
            ("csrf", &csrf_of(&html)),
            ("username", &user.username),
            ("password", &user.password),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_factor_settings_ask_for_the_password_when_it_is_not_recent() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let b = web_session(&app, &user).await;
    let (status, html, _) = get(&b, &app, "/settings/two-factor").await;
    assert_eq!(status, StatusCode::OK, "recent right after login");
    assert!(html.contains("Two-factor authentication") && html.contains("Off"));
    app.clock.advance(601);
    let (status, _, loc) = get(&b, &app, "/settings/two-factor").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        loc.as_deref(),
        Some("/reauth?next=%2Fsettings%2Ftwo-factor")
    );
    // A form posted from the page goes back to the page after confirming.
    let res = b
        .post(app.url("/settings/two-factor/sms"))
        .header("referer", app.url("/settings/two-factor"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("phone", "+1 415 555 2671"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["location"],
        "/reauth?next=%2Fsettings%2Ftwo-factor"
    );
    let (_, html, _) = get(&b, &app, "/reauth?next=%2Fsettings%2Ftwo-factor").await;
    let res = post(
        &b,
        &app,
        "/reauth",
        &[
            ("csrf", &csrf_of(&html)),
            ("password", &user.password),
            ("next", "/settings/two-factor"),
        ],
    )
    .await;
    assert_eq!(res.headers()["location"], "/settings/two-factor");
    let (status, _, _) = get(&b, &app, "/settings/two-factor").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_2fa_on_in_the_pages_shows_the_codes_and_the_codes_page_is_not_cached() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let b = web_session(&app, &user).await;
    let (_, html, _) = get(&b, &app, "/settings/two-factor").await;
    let res = post(
        &b,
        &app,
        "/settings/two-factor/sms",
        &[("csrf", &csrf_of(&html)), ("phone", "415 555 2671")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"phone-error\"")
            && html.contains("country code")
            && html.contains("value=\"415 555 2671\"")
    );
    let res = post(
        &b,
        &app,
        "/settings/two-factor/sms",
        &[("csrf", &csrf_of(&html)), ("phone", "+1 415 555 2671")],
    )
    .await;
    assert_eq!(res.headers()["location"], "/settings/two-factor/sms/verify");
    let (_, html, _) = get(&b, &app, "/settings/two-factor/sms/verify").await;
    assert!(html.contains("+1 *** *** **71"));
    let code = app.last_code_to("+14155552671");
    let res = post(
        &b,
        &app,
        "/settings/two-factor/sms/verify",
        &[("csrf", &csrf_of(&html)), ("code", &code)],
    )
    .await;
    // Post/redirect/get: the codes are shown by a page that reads them back.
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        "/settings/two-factor/backup-codes/save?made=on"
    );
    let res = b
        .get(app.url("/settings/two-factor/backup-codes/save?made=on"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Two-factor authentication is on.") && html.contains("Save these codes now")
    );
    assert_eq!(html.matches("<span class=\"code\">").count(), 10);

    let res = b
        .get(app.url("/settings/two-factor/backup-codes"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Copy codes")
            && html.contains("Save as image")
            && html.contains("Download")
            && html.contains("Print")
    );
    assert!(html.contains(&format!(
        "download=\"twofold-backup-codes-{}.png\"",
        user.username
    )));
    let res = b
        .get(app.url("/settings/two-factor/backup-codes.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "image/png");
    let res = b
        .get(app.url("/settings/two-factor/backup-codes.txt"))
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".txt")
    );
}

/// Issue 11 (the pages): the code page keeps what was typed when it was not a code (so it
/// can be corrected) but never sends back a code that was checked; its title is its heading, the backup-code field is not offered the texted code, and "Try another way"
/// ends with a way out for people who have lost everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_pages_help_people_who_are_stuck() {
    let app = TestApp::spawn_with(|c| c.operator_contact = Some("help@example.com".into())).await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_totp(&token).await;
    let b = browser();
    password_step(&b, &app, &user).await;
    let (_, html, _) = get(&b, &app, "/login/two-factor?method=backup_code&next=/").await;
    assert!(
        html.contains("<title>Enter a backup code · Twofold</title>"),
        "{html}"
    );
    assert!(html.contains("autocomplete=\"off\""), "{html}");
    let csrf = csrf_of(&html);
    let attempt = |code: &'static str| {
        let (b, csrf) = (b.clone(), csrf.clone());
        let url = app.url("/login/two-factor");
        async move {
            let form = [
                ("csrf", csrf.as_str()),
                ("method", "backup_code"),
                ("code", code),
                ("next", "/"),
            ];
            b.post(url).form(&form).send().await.unwrap()
        }
    };
    let res = attempt("1234 567").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("value=\"1234 567\""),
        "a code one digit short stays: {html}"
    );
    let res = attempt("8765 4321").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let html = res.text().await.unwrap();
    assert!(
        !html.contains("8765 4321"),
        "a checked code is never sent back"
    );
    let (_, html, _) = get(&b, &app, "/login/two-factor/methods?next=/").await;
    assert!(
        html.contains("Contact help@example.com")
            && html.contains("turn two-factor authentication off"),
        "{html}"
    );
}

/// Issue 11 (the pages): the app set-up page opens the app on the same phone, the home page
/// warns while two or fewer backup codes are left, and pages have an icon.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_up_and_running_low_are_easy_to_see() {
    let app = TestApp::spawn().await;
    let b = browser();
    let user = crate::helpers::TestUser::generate();
    let (_, html, _) = get(&b, &app, "/signup").await;
    let res = post(
        &b,
        &app,
        "/signup",
        &[
            ("csrf", &csrf_of(&html)),
            ("username", &user.username),
            ("password", &user.password),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html, _) = get(&b, &app, "/settings/two-factor/totp").await;
    assert!(html.contains("href=\"otpauth://totp/"), "{html}");
    assert!(html.contains("id=\"copy-key\""), "{html}");
    assert!(html.contains("href=\"/assets/favicon.svg\""));
    let fav = app.get("/assets/favicon.svg", None).await;
    assert_eq!(fav.headers()["content-type"], "image/svg+xml");

    // Turn 2FA on through the API with the same account, then use up 8 of the 10 codes.
    let token = app.login(&user).await;
    let (_, codes) = app.enable_totp(&token).await;
    let (_, home, _) = get(&b, &app, "/").await;
    assert!(!home.contains("backup codes left"), "ten left: no warning");
    for code in &codes[..8] {
        let c = app.challenge(&user).await;
        assert_eq!(
            app.second_step(&c, "backup_code", code).await.status(),
            StatusCode::CREATED
        );
    }
    let (_, home, _) = get(&b, &app, "/").await;
    assert!(home.contains("Only 2 backup codes left."), "{home}");
}

/// The codes of a list of `<span class="code">` elements, in order.
fn codes_in(html: &str) -> Vec<String> {
    html.split("<span class=\"code\">")
        .skip(1)
        .map(|rest| rest[..rest.find('<').unwrap()].to_owned())
        .collect()
}

/// Issue "The house and the pages": a form that makes codes answers with a redirect, so a
/// reload shows the same codes and never makes another batch (post/redirect/get).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_new_codes_redirects_to_a_page_that_reads_them_back() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let b = web_session(&app, &user).await;
    let token = app.login(&user).await;
    let (_, first) = app.enable_totp(&token).await;
    let (_, html, _) = get(&b, &app, "/settings/two-factor/backup-codes").await;
    assert_eq!(codes_in(&html), first);
    // "Get new codes" asks first; its confirmation page holds the form.
    let (_, html, _) = get(&b, &app, "/settings/two-factor/backup-codes/new").await;
    assert!(html.contains("Your 10 current codes will stop working."));
    let res = post(
        &b,
        &app,
        "/settings/two-factor/backup-codes",
        &[("csrf", &csrf_of(&html))],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, "/settings/two-factor/backup-codes/save?made=new");
    let (status, html, _) = get(&b, &app, &to).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Here are your new backup codes. The old ones no longer work."));
    let shown = codes_in(&html);
    assert_eq!(shown.len(), 10);
    assert!(shown.iter().all(|c| !first.contains(c)), "a new batch");
    // Reloading is a GET: the same codes, and no other batch was made.
    let (_, again, _) = get(&b, &app, &to).await;
    assert_eq!(codes_in(&again), shown);
    let made = app
        .get("/api/v1/me/activity", Some(&token))
        .await
        .text()
        .await
        .unwrap()
        .matches("backup_codes_regenerated")
        .count();
    assert_eq!(made, 1, "one batch made, however often the page is loaded");

    // The page is for a batch just made: once the batch is older than the recent-password
    // window, the link leads to the codes page, even with the password confirmed again.
    app.clock.advance(601);
    let (_, html, _) = get(&b, &app, "/reauth").await;
    let res = post(
        &b,
        &app,
        "/reauth",
        &[("csrf", &csrf_of(&html)), ("password", &user.password)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, _, loc) = get(&b, &app, &to).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/settings/two-factor/backup-codes"));
}

/// With codes shown only once nothing can read a batch back, so the answer to the form is
/// the page with the codes (as before post/redirect/get), and the save page leads away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_shown_once_are_shown_by_the_answer_to_the_form() {
    let app = TestApp::spawn_with(|c| c.backup_codes_viewable = false).await;
    let user = app.signup().await;
    let b = web_session(&app, &user).await;
    let token = app.login(&user).await;
    app.enable_totp(&token).await;
    let (_, html, _) = get(&b, &app, "/settings/two-factor/backup-codes").await;
    assert!(codes_in(&html).is_empty());
    let (_, html, _) = get(&b, &app, "/settings/two-factor/backup-codes/new").await;
    let res = post(
        &b,
        &app,
        "/settings/two-factor/backup-codes",
        &[("csrf", &csrf_of(&html))],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    assert_eq!(codes_in(&html).len(), 10);
    assert!(html.contains("they won't be shown again"));
    let (status, _, loc) = get(&b, &app, "/settings/two-factor/backup-codes/save?made=new").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/settings/two-factor/backup-codes"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_page_says_how_many_tries_are_left_and_when_codes_are_paused() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (_, codes) = app.enable_totp(&token).await;
    let wrong = (0..)
        .map(|i| format!("{:08}", 30_000_000 + i))
        .filter(|g| !codes.contains(g))
        .take(10)
        .collect::<Vec<_>>();
    // Two attempts of five wrong backup codes each: the second ends in the account's pause.
    for round in 0..2 {
        let b = browser();
        password_step(&b, &app, &user).await;
        let page = "/login/two-factor?method=backup_code&next=%2Fsettings%2Fsecurity";
        for (i, guess) in wrong[round * 5..round * 5 + 5].iter().enumerate() {
            let (_, html, _) = get(&b, &app, page).await;
            if i > 0 && round == 0 {
                let left = 5 - i;
                let tries = if left == 1 { "try" } else { "tries" };
                assert!(
                    html.contains(&format!(
                        "{left} {tries} left before you have to log in again"
                    )),
                    "{html}"
                );
            }
            let res = post(
                &b,
                &app,
                "/login/two-factor",
                &[
                    ("csrf", &csrf_of(&html)),
                    ("method", "backup_code"),
                    ("code", guess),
                    ("next", "/settings/security"),
                ],
            )
            .await;
            let body = res.text().await.unwrap();
            if round == 0 && i == 4 {
                assert!(
                    body.contains("has ended"),
                    "the fifth says the attempt ended: {body}"
                );
            }
        }
    }
    // The next login's code page says codes are paused before anything is typed.
    let b = browser();
    password_step(&b, &app, &user).await;
    let (_, html, _) = get(
        &b,
        &app,
        "/login/two-factor?method=backup_code&next=%2Fsettings%2Fsecurity",
    )
    .await;
    assert!(
        html.contains("codes are paused; try again in 15 minutes"),
        "{html}"
    );
}

/// Issue 23: turning two-factor authentication off and removing a method ask first, on a
/// page of their own; those pages need a recent password like the forms behind them, the
/// forms still need their CSRF token, and the result is not reported as a success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_off_asks_first_behind_the_same_gates() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let b = web_session(&app, &user).await;
    let token = app.login(&user).await;
    app.enable_totp(&token).await;
    let on = "<span class=\"tag\">On</span>";
    for (path, title) in [
        (
            "/settings/two-factor/disable",
            "Turn off two-factor authentication?",
        ),
        (
            "/settings/two-factor/totp/remove",
            "Remove your authentication app?",
        ),
    ] {
        let (status, html, _) = get(&b, &app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains(&format!("<h1>{title}</h1>")), "{html}");
        assert!(html.contains(&format!("action=\"{path}\"")), "{html}");
        assert!(html.contains("protected by your password only"), "{html}");
    }
    // No phone: nothing to confirm.
    let (status, _, loc) = get(&b, &app, "/settings/two-factor/sms/remove").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/settings/two-factor"));

    // Without its token the form does nothing.
    let res = post(
        &b,
        &app,
        "/settings/two-factor/disable",
        &[("csrf", "nope")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, html, _) = get(&b, &app, "/settings/two-factor").await;
    assert!(html.contains(on), "still on");

    // An old login confirms the password first, for the page and for the form.
    app.clock.advance(601);
    let (status, _, loc) = get(&b, &app, "/settings/two-factor/disable").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        loc.as_deref(),
        Some("/reauth?next=%2Fsettings%2Ftwo-factor%2Fdisable")
    );
    let csrf = csrf_of(&html);
    let res = post(&b, &app, "/settings/two-factor/disable", &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/reauth?")
    );
    let (_, html, _) = get(&b, &app, "/reauth?next=%2Fsettings%2Ftwo-factor%2Fdisable").await;
    let res = post(
        &b,
        &app,
        "/reauth",
        &[
            ("csrf", &csrf_of(&html)),
            ("password", &user.password),
            ("next", "/settings/two-factor/disable"),
        ],
    )
    .await;
    assert_eq!(res.headers()["location"], "/settings/two-factor/disable");
    let (_, html, _) = get(&b, &app, "/settings/two-factor").await;
    assert!(html.contains(on), "still on after all that");

    let res = post(&b, &app, "/settings/two-factor/disable", &[("csrf", &csrf)]).await;
    assert_eq!(res.headers()["location"], "/settings/two-factor?done=off");
    let (_, html, _) = get(&b, &app, "/settings/two-factor?done=off").await;
    assert!(
        html.contains("<p class=\"notice warn\" role=\"status\">Two-factor authentication is off. Your account is protected by your password only.</p>"),
        "{html}"
    );
    assert!(!html.contains("notice ok"), "{html}");
}
