//! The `smtp` mail provider against a real SMTP server (Python's aiosmtpd, which
//! `scripts/test` installs): a code delivered and confirmed, a server that refuses the
//! message, one that hangs past the timeout, and one that is down for a while — the notices
//! wait in the queue and arrive when it is back.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, first_six_digits};

/// A real SMTP server: aiosmtpd on 127.0.0.1:`port`, that stores each message it accepts
/// as one JSON line in `spool` (`mode = "accept"`), or answers `550` to every message
/// (`mode = "refuse"`).
const SERVER: &str = r#"
import asyncio, json, sys
from aiosmtpd.controller import Controller
port, mode, spool = int(sys.argv[1]), sys.argv[2], sys.argv[3]
host = sys.argv[4] if len(sys.argv) > 4 else "127.0.0.1"
class Handler:
    async def handle_DATA(self, server, session, envelope):
        if mode == "refuse":
            return "550 5.7.1 message refused by policy"
        with open(spool, "a") as f:
            f.write(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                                "data": envelope.content.decode("utf8", "replace")}) + "\n")
        return "250 OK"
c = Controller(Handler(), hostname=host, port=port)
c.start()
print("READY", flush=True)
try:
    asyncio.get_event_loop().run_forever()
except KeyboardInterrupt:
    pass
"#;

struct SmtpServer {
    child: Child,
    spool: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    fn start(port: u16, mode: &str) -> Self {
        Self::start_on("127.0.0.1", port, mode)
    }

    /// The server (it offers no STARTTLS) on `host`, a loopback address.
    fn start_on(host: &str, port: u16, mode: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("smtpd.py");
        std::fs::write(&script, SERVER).unwrap();
        let spool = dir.path().join("spool.jsonl");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(port.to_string())
            .arg(mode)
            .arg(&spool)
            .arg(host)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/test installs it: pip install aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "READY",
            "aiosmtpd did not start (is it installed?)"
        );
        Self {
            child,
            spool,
            _dir: dir,
        }
    }

    fn messages(&self) -> Vec<Value> {
        read_spool(&self.spool)
    }
}

fn read_spool(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn spawn_with_smtp(port: u16, timeout_secs: u64) -> TestApp {
    TestApp::spawn_with(move |c| {
        c.mail.provider = twofold::config::MailProvider::Smtp {
            url: format!("smtp://127.0.0.1:{port}"),
        };
        c.mail.from = "Twofold <twofold@auth.example.com>".into();
        c.mail.timeout_secs = timeout_secs;
        c.public_url = Some("https://auth.example.com".into());
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_goes_out_by_smtp_with_text_and_html() {
    let port = free_port();
    let smtp = SmtpServer::start(port, "accept");
    let app = spawn_with_smtp(port, 5).await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let res = app
        .post(
            "/api/v1/me/email",
            Some(&token),
            json!({"email": "ann@example.com"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let m = smtp.messages();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["to"], json!(["ann@example.com"]));
    assert_eq!(m[0]["from"], "twofold@auth.example.com");
    let data = m[0]["data"].as_str().unwrap();
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(
        data.contains("text/plain") && data.contains("text/html"),
        "{data}"
    );
    assert!(data.contains("Subject: "), "{data}");
    let code = first_six_digits(data);
    let res = app
        .post(
            "/api/v1/me/email/confirm",
            Some(&token),
            json!({"code": code}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_or_hanging_server_is_a_clear_error_and_twofold_keeps_serving() {
    let port = free_port();
    let _smtp = SmtpServer::start(port, "refuse");
    let app = spawn_with_smtp(port, 5).await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let res = app
        .post(
            "/api/v1/me/email",
            Some(&token),
            json!({"email": "ann@example.com"}),
        )
        .await;
    let body = assert_error(res, StatusCode::BAD_GATEWAY, "mail_failed").await;
    assert!(
        !body.to_string().contains("550"),
        "the server's words stay in the log"
    );

    // A server that accepts the connection and never says a word.
    let hang = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hang.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for c in hang.incoming().take(2).flatten() {
            open.push(c);
            std::thread::sleep(Duration::from_secs(6));
        }
    });
    let app = spawn_with_smtp(port, 2).await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let started = std::time::Instant::now();
    let res = app
        .post(
            "/api/v1/me/email",
            Some(&token),
            json!({"email": "ann@example.com"}),
        )
        .await;
    assert_error(res, StatusCode::BAD_GATEWAY, "mail_failed").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "gave up after the 2 s timeout, not {:?}",
        started.elapsed()
    );
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_wait_while_the_mail_server_is_down_and_none_is_lost() {
    let port = free_port();
    let smtp = SmtpServer::start(port, "accept");
    let app = spawn_with_smtp(port, 2).await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let res = app
        .post(
            "/api/v1/me/email",
            Some(&token),
            json!({"email": "ann@example.com"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let code = first_six_digits(smtp.messages()[0]["data"].as_str().unwrap());
    let res = app
        .post(
            "/api/v1/me/email/confirm",
            Some(&token),
            json!({"code": code}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let spool = smtp.spool.clone();
    drop(smtp); // the mail server goes down

    let res = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({"current_password": user.password, "new_password": "another fine passphrase"}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::NO_CONTENT,
        "the change does not wait for mail"
    );
    let told = |path: &Path| {
        read_spool(path)
            .iter()
            .filter(|m| m["data"].as_str().unwrap().contains("password was changed"))
            .count()
    };
    assert_eq!(told(&spool), 0);

    // Back up, on the same port: the retry (due after the back-off) delivers it, once.
    let smtp = SmtpServer::start(port, "accept");
    app.clock.advance(300);
    for _ in 0..100 {
        if told(&smtp.spool) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(told(&smtp.spool), 1, "{:?}", smtp.messages());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(told(&smtp.spool), 1, "delivered once");
}

/// This machine's own name when it resolves to a loopback address (it does on Debian, where
/// `/etc/hosts` maps it to 127.0.0.1 or 127.0.1.1), with that address: a name that is
/// neither `localhost` nor an IP literal, so Twofold counts it as a remote host.
fn remote_looking_name_for_loopback() -> Option<(String, String)> {
    use std::net::ToSocketAddrs;
    let out = Command::new("hostname").output().ok()?;
    let name = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    if name.is_empty() || name.eq_ignore_ascii_case("localhost") {
        return None;
    }
    let ip = (name.as_str(), 25)
        .to_socket_addrs()
        .ok()?
        .map(|a| a.ip())
        .find(|ip| ip.is_loopback() && ip.is_ipv4())?;
    Some((name, ip.to_string()))
}

/// Issue 21, item 7: mail to a host other than loopback goes only over TLS. A server that
/// offers no STARTTLS, reached by a name that is not loopback's, gets nothing (the code
/// would have crossed the network in clear); the same server reached as 127.0.0.1 is this
/// machine's own relay and gets the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_without_starttls_is_refused_to_a_remote_host() {
    let (name, ip) = remote_looking_name_for_loopback().expect(
        "this test needs the machine's hostname to resolve to a loopback address (/etc/hosts)",
    );
    let port = free_port();
    let smtp = SmtpServer::start_on(&ip, port, "accept");
    let app = TestApp::spawn_with(move |c| {
        c.mail.provider = twofold::config::MailProvider::Smtp {
            url: format!("smtp://{name}:{port}"),
        };
        c.mail.from = "Twofold <twofold@auth.example.com>".into();
        c.mail.timeout_secs = 5;
        c.public_url = Some("https://auth.example.com".into());
    })
    .await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let res = app
        .post(
            "/api/v1/me/email",
            Some(&token),
            json!({"email": "ann@example.com"}),
        )
        .await;
    let body = assert_error(res, StatusCode::BAD_GATEWAY, "mail_failed").await;
    assert!(
        smtp.messages().is_empty(),
        "sent in clear: {:?}",
        smtp.messages()
    );
    assert!(!body.to_string().contains(&user.password));
    // Twofold keeps serving.
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK
    );
}
