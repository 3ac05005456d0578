//! Flood benchmark: how long a real user's login takes while junk logins pour in, and how
//! quickly half-sent requests are closed — against the real release binary with its default
//! settings (30 password checks per client address per minute, a hashing queue of 32 per
//! core, a 10-second header timeout).
//!
//! ```sh
//! cargo build --release && cargo run --release --example flood_bench -- [--junk 200]
//! ```
//! Junk logins try other usernames (credential stuffing: each costs a hash, as a real one
//! does), from other loopback addresses than the real user (127.0.0.2 and up; Linux
//! routes all of 127.0.0.0/8 to the loopback device), so the server tells them apart as it
//! would tell apart clients on the internet. Everything stays on 127.0.0.0/8.

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

fn client(from: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(from))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn login(http: &reqwest::Client, base: &str, user: &str, password: &str) -> (u16, Duration) {
    let started = Instant::now();
    let res = http
        .post(format!("{base}/api/v1/sessions"))
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .await;
    let status = match res {
        Ok(r) => {
            let status = r.status().as_u16();
            if status == 429 && std::env::var_os("FLOOD_DEBUG").is_some() {
                eprintln!("{user}: {}", r.text().await.unwrap_or_default());
            }
            status
        }
        Err(_) => 0,
    };
    (status, started.elapsed())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

type Statuses = std::collections::BTreeMap<u16, usize>;

/// The real user's login latencies and answers while `junk` logins arrive at once from
/// `addresses`, and the junk's answers.
async fn under_flood(
    base: &str,
    junk: usize,
    addresses: &[Ipv4Addr],
) -> (Vec<f64>, Statuses, Statuses) {
    let real = client(Ipv4Addr::new(127, 0, 0, 3));
    let tasks: Vec<_> = (0..junk)
        .map(|i| {
            let http = client(addresses[i % addresses.len()]);
            let base = base.to_owned();
            tokio::spawn(
                // Credential stuffing: names that may or may not exist, each costing a hash.
                async move {
                    login(&http, &base, &format!("stuffed{i}"), "password123456")
                        .await
                        .0
                },
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut latencies = Vec::new();
    let mut answers = Statuses::new();
    // Five logins of the real user, each as a person (or app) does it: a `503 busy` is
    // retried after its `Retry-After` (1 s); the time is until the session is there.
    for _ in 0..5 {
        let started = Instant::now();
        loop {
            let (status, _) = login(&real, base, "alice", "alice's real password").await;
            *answers.entry(status).or_insert(0) += 1;
            match status {
                201 => break,
                503 => tokio::time::sleep(Duration::from_secs(1)).await,
                other => panic!("real login: {other}"),
            }
        }
        latencies.push(ms(started.elapsed()));
    }
    let mut statuses = Statuses::new();
    for t in tasks {
        *statuses.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    (latencies, answers, statuses)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut junk = 200;
    let mut bin = "target/release/twofold".to_owned();
    let mut unprotected = false;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--junk" => junk = value.parse().expect("--junk N"),
            "--bin" => bin = value,
            // The same server with the per-address limit and the queue bound lifted: how a
            // flood hurt before they existed.
            "--unprotected" => unprotected = value == "true",
            other => panic!("unknown flag {other}; use --junk, --bin, --unprotected true"),
        }
    }
    twofold::install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let mut child = Command::new(&bin)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(if unprotected {
            &[
                "--logins-per-address-minute",
                "0",
                "--hash-queue",
                "1000000",
            ][..]
        } else {
            &[][..]
        })
        .arg("--data-dir")
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e} (run `cargo build --release` first)"));
    let started = Instant::now();
    let addr = loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if let Some(at) = log.find("listening on http://") {
            break log[at + 20..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect::<String>();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not start:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let base = format!("http://{addr}");
    let real = client(Ipv4Addr::new(127, 0, 0, 3));
    let res = real
        .post(format!("{base}/api/v1/accounts"))
        .json(&serde_json::json!({"username": "alice", "password": "alice's real password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    let mut quiet = Vec::new();
    for _ in 0..5 {
        let (status, took) = login(&real, &base, "alice", "alice's real password").await;
        assert_eq!(status, 201);
        quiet.push(ms(took));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    quiet.sort_by(f64::total_cmp);
    println!(
        "a real login, quiet server:             median {:.1} ms, worst {:.1} ms",
        quiet[2], quiet[4]
    );

    // 1. One address floods (the common case: a script, a botnet node).
    let (mut lat, real_answers, statuses) =
        under_flood(&base, junk, &[Ipv4Addr::new(127, 0, 0, 2)]).await;
    lat.sort_by(f64::total_cmp);
    println!(
        "{junk} junk logins from one address:       real login median {:.1} ms, worst {:.1} ms, answers {real_answers:?}; junk answers {statuses:?}",
        lat[2], lat[4]
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    // 2. Junk from as many addresses as logins (a wide botnet): the hashing queue's bound
    //    is what holds; beyond it, 503 with Retry-After.
    let many: Vec<Ipv4Addr> = (0..junk)
        .map(|i| Ipv4Addr::new(127, 0, 1 + (i / 250) as u8, 1 + (i % 250) as u8))
        .collect();
    let (mut lat, real_answers, statuses) = under_flood(&base, junk, &many).await;
    lat.sort_by(f64::total_cmp);
    println!(
        "{junk} junk logins from {junk} addresses:     real login median {:.1} ms, worst {:.1} ms, answers {real_answers:?}; junk answers {statuses:?}",
        lat[2], lat[4]
    );

    // 3. Half-sent requests: 100 connections that never finish their headers.
    let mut slow = Vec::new();
    for i in 0..100u8 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind((Ipv4Addr::new(127, 0, 2, 1 + i), 0).into())
            .unwrap();
        let mut s = socket.connect(addr.parse().unwrap()).await.unwrap();
        s.write_all(b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(s);
    }
    let opened = Instant::now();
    let (status, took) = login(&real, &base, "alice", "alice's real password").await;
    println!(
        "a real login beside 100 half-sent requests: {status} in {:.1} ms",
        ms(took)
    );
    let mut closed = Vec::new();
    for mut s in slow {
        let mut buf = [0u8; 256];
        let _ = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::io::AsyncReadExt::read(&mut s, &mut buf),
        )
        .await;
        closed.push(opened.elapsed().as_secs_f64());
    }
    closed.sort_by(f64::total_cmp);
    println!(
        "half-sent requests closed by the server after {:.1}–{:.1} s (header timeout 10 s)",
        closed[0],
        closed[closed.len() - 1]
    );
    let _ = child.kill();
    let _ = child.wait();
}
