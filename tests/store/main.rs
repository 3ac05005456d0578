//! Store tests, run on SQLite always and on PostgreSQL when `TWOFOLD_TEST_DATABASE_URL` is
//! set: the same statements must behave the same on both engines.

#[path = "../common/mod.rs"]
mod common;

mod oidc_purge;
mod passkeys;
mod schema;
mod second_step;

use std::future::Future;

use twofold::crypto::Token;
use twofold::domain::{
    AccountId, ClientInfo, EventKind, FirstFactor, SessionId, SessionKind, UnixTime, Username,
};
use twofold::store::{
    Bucket, Failure, NewEvent, NewSession, PasswordProof, Spend, Store, StoreError, Throttle,
    ThrottleState,
};

const NOW: UnixTime = UnixTime(1_800_000_000);

/// Runs `test` against a fresh SQLite store and, when configured, a fresh PostgreSQL one.
async fn on_both<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    test(connect_twice(&sqlite).await).await;
    common::warn_if_postgres_skipped();
    if common::postgres_url().is_some() {
        let url = common::fresh_database(dir.path()).await;
        test(connect_twice(&url).await).await;
    }
}

/// Connects, closes and connects again: the second start must find the schema in place and
/// run no migration twice.
async fn connect_twice(url: &str) -> Store {
    Store::connect(url, 5).await.unwrap().close().await;
    Store::connect(url, 5).await.unwrap()
}

async fn account(store: &Store, name: &str) -> AccountId {
    let id = AccountId::generate();
    store
        .accounts()
        .create_account(&id, &Username::parse(name).unwrap(), "$argon2id$hash", NOW)
        .await
        .unwrap();
    id
}

async fn session(store: &Store, account: &AccountId) -> (SessionId, Token) {
    session_at(store, account, NOW, &throttle(account), 0)
        .await
        .expect("not locked")
}

/// The throttle of a login from an unknown device at 10.0.0.1.
fn throttle(account: &AccountId) -> Throttle {
    Throttle {
        subject: account.as_str().to_owned(),
        total_key: format!("total:{account}"),
        cap: 90,
        keys: vec![
            (format!("addr:{account}:10.0.0.1"), 5),
            (format!("unknown-device:{account}"), 10),
        ],
    }
}

/// Completes a login at `now` after a password checked against `version`; `None` when the
/// proof no longer holds (a pause began, or the password changed).
async fn session_at(
    store: &Store,
    account: &AccountId,
    now: UnixTime,
    throttle: &Throttle,
    version: i64,
) -> Option<(SessionId, Token)> {
    let id = SessionId::generate();
    let token = Token::generate();
    let client = ClientInfo::new(Some("10.0.0.1".into()), Some("tests"));
    let hash = token.hash();
    let s = NewSession {
        id: &id,
        token_hash: &hash,
        account_id: account,
        kind: SessionKind::Api,
        now,
        expires_at: now.plus(3600),
        client: &client,
        device: None,
        first_factor: FirstFactor::Password,
        second_factor: None,
        new_device: false,
    };
    let e = NewEvent {
        account_id: account,
        kind: EventKind::Login,
        at: now,
        client: &client,
        detail: None,
    };
    let proof = PasswordProof {
        credential_version: version,
        throttle,
        clear: true,
        rehash: None,
    };
    store
        .sessions()
        .complete_login(&s, &e, Some(&proof))
        .await
        .unwrap()
        .then_some((id, token))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usernames_are_unique() {
    on_both(|store| async move {
        account(&store, "alice").await;
        let err = store
            .accounts()
            .create_account(
                &AccountId::generate(),
                &Username::parse("ALICE").unwrap(),
                "h",
                NOW,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict), "{err:?}");
        assert_eq!(store.accounts().count_accounts().await.unwrap(), 1);
        let found = store
            .accounts()
            .account_by_username(&Username::parse("Alice").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.username, "alice");
        assert_eq!(found.created_at, NOW);
        assert!(found.disabled_at.is_none());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_found_by_token_hash_and_hidden_when_disabled() {
    on_both(|store| async move {
        let a = account(&store, "bob").await;
        let (id, token) = session(&store, &a).await;
        let s = store
            .sessions()
            .session_by_token(&token.hash(), SessionKind::Api)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.id, id);
        assert_eq!(s.username, "bob");
        assert_eq!(s.kind, SessionKind::Api);
        assert_eq!(s.reauth_at, NOW);
        assert_eq!(s.ip.as_deref(), Some("10.0.0.1"));
        assert!(
            store
                .sessions()
                .session_by_token(&Token::generate().hash(), SessionKind::Api)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .accounts()
                .set_disabled(
                    &Username::parse("bob").unwrap(),
                    Some(NOW),
                    NOW,
                    &ClientInfo::default(),
                    None
                )
                .await
                .unwrap()
        );
        assert!(
            store
                .sessions()
                .session_by_token(&token.hash(), SessionKind::Api)
                .await
                .unwrap()
                .is_none(),
            "disabling ends sessions"
        );
        assert!(
            !store
                .accounts()
                .set_disabled(
                    &Username::parse("nobody").unwrap(),
                    Some(NOW),
                    NOW,
                    &ClientInfo::default(),
                    None
                )
                .await
                .unwrap()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_failures_are_all_counted_and_pause_at_each_threshold() {
    on_both(|store| async move {
        let a = account(&store, "carol").await;
        let t = throttle(&a);
        let client = ClientInfo::default();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            let a = a.clone();
            let t = t.clone();
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let e = NewEvent {
                    account_id: &a,
                    kind: EventKind::LoginFailed,
                    at: NOW,
                    client: &client,
                    detail: None,
                };
                store
                    .limits()
                    .record_password_failure(&t, NOW, |round| round * 100, Some(&e))
                    .await
                    .unwrap()
            }));
        }
        let mut counted = Vec::new();
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                Failure::Counted { total, .. } => counted.push(total),
                Failure::AlreadyPaused(Some(until)) => {
                    assert_eq!(until, NOW.plus(100));
                    refused += 1;
                }
                other => panic!("{other:?}"),
            }
        }
        counted.sort_unstable();
        // The address counter pauses at 5: the first five each got their own count, the
        // rest arrived during the pause and were not counted.
        assert_eq!(counted, [1, 2, 3, 4, 5], "no lost update");
        assert_eq!(refused, 3);
        assert_eq!(
            store.limits().throttle_state(&t, NOW).await.unwrap(),
            ThrottleState::Paused(NOW.plus(100))
        );
        let events = store.events().list_events(&a, 100).await.unwrap();
        assert_eq!(
            events.iter().filter(|e| e.kind == "login_failed").count(),
            5
        );
        let paused = events.iter().filter(|e| {
            e.detail
                .as_deref()
                .is_some_and(|d| d.starts_with("logins paused"))
        });
        assert_eq!(paused.count(), 1, "the 5th failure tells of the pause");
        // While paused, even a right password opens no session (checked in the same
        // statement); once the pause is over, a successful login clears the counters.
        assert!(session_at(&store, &a, NOW.plus(99), &t, 0).await.is_none());
        assert!(session_at(&store, &a, NOW.plus(100), &t, 0).await.is_some());
        assert_eq!(
            store
                .limits()
                .throttle_state(&t, NOW.plus(100))
                .await
                .unwrap(),
            ThrottleState::Open { dirty: false }
        );
        assert_eq!(
            store.limits().throttle_total(&t.total_key).await.unwrap(),
            0
        );
    })
    .await;
}

/// Issue 10, High 2: a session is bound to the credential version its password was checked
/// against, and so is a re-made hash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_credential_opens_nothing_and_writes_nothing() {
    on_both(|store| async move {
        let a = account(&store, "hank").await;
        let (keep, _) = session(&store, &a).await;
        let client = ClientInfo::default();
        let e = NewEvent {
            account_id: &a,
            kind: EventKind::PasswordChanged,
            at: NOW,
            client: &client,
            detail: None,
        };
        assert!(
            store
                .sessions()
                .change_password(&keep, 0, "$argon2id$new", &e)
                .await
                .unwrap()
        );
        assert!(
            !store
                .sessions()
                .change_password(&keep, 0, "$argon2id$other", &e)
                .await
                .unwrap(),
            "a second change checked against the old password loses"
        );
        let t = throttle(&a);
        assert!(session_at(&store, &a, NOW, &t, 0).await.is_none());
        assert!(session_at(&store, &a, NOW, &t, 1).await.is_some());
        store
            .accounts()
            .update_password_hash(&a, 0, "$argon2id$stale")
            .await
            .unwrap();
        let acc = store.accounts().account_by_id(&a).await.unwrap().unwrap();
        assert_eq!(
            (acc.password_hash.as_str(), acc.credential_version),
            ("$argon2id$new", 1)
        );
    })
    .await;
}

/// Issue 10, High 1: budgets are spent all or nothing, refilled when their window ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_are_spent_all_or_nothing() {
    on_both(|store| async move {
        let small = Bucket {
            key: "test:small".into(),
            window_secs: 60,
            limit: 2,
        };
        let big = Bucket {
            key: "test:big".into(),
            window_secs: 3600,
            limit: 10,
        };
        let both = [big.clone(), small.clone()];
        assert_eq!(
            store.limits().spend(&both, NOW).await.unwrap(),
            Spend::Spent
        );
        assert_eq!(
            store.limits().spend(&both, NOW.plus(10)).await.unwrap(),
            Spend::Spent
        );
        assert_eq!(
            store.limits().spend(&both, NOW.plus(20)).await.unwrap(),
            Spend::Refused {
                key: "test:small".into(),
                retry_after: 40
            }
        );
        // The refused spend took nothing from the big bucket either: 8 more fit.
        for i in 0..8 {
            assert_eq!(
                store
                    .limits()
                    .spend(std::slice::from_ref(&big), NOW.plus(30 + i))
                    .await
                    .unwrap(),
                Spend::Spent
            );
        }
        assert!(matches!(
            store
                .limits()
                .spend(std::slice::from_ref(&big), NOW.plus(40))
                .await
                .unwrap(),
            Spend::Refused { .. }
        ));
        // A refund of a charge made in the last window gives nothing to this one...
        store
            .limits()
            .refund(std::slice::from_ref(&big), NOW.plus(-1))
            .await
            .unwrap();
        assert!(matches!(
            store
                .limits()
                .spend(std::slice::from_ref(&big), NOW.plus(40))
                .await
                .unwrap(),
            Spend::Refused { .. }
        ));
        // ...one made in this window gives its use back.
        store
            .limits()
            .refund(std::slice::from_ref(&big), NOW.plus(30))
            .await
            .unwrap();
        assert_eq!(
            store
                .limits()
                .spend(std::slice::from_ref(&big), NOW.plus(41))
                .await
                .unwrap(),
            Spend::Spent
        );
        assert_eq!(
            store.limits().spend(&both, NOW.plus(61)).await.unwrap(),
            Spend::Refused {
                key: "test:big".into(),
                retry_after: 3600 - 61
            }
        );
        assert_eq!(
            store.limits().spend(&[small], NOW.plus(61)).await.unwrap(),
            Spend::Spent,
            "a new window"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_can_only_be_ended_by_its_own_account() {
    on_both(|store| async move {
        let a = account(&store, "dave").await;
        let m = account(&store, "mallory").await;
        let (id, token) = session(&store, &a).await;
        let client = ClientInfo::default();
        let by_m = NewEvent {
            account_id: &m,
            kind: EventKind::SessionRevoked,
            at: NOW,
            client: &client,
            detail: None,
        };
        assert!(!store.sessions().end_session(&id, &by_m).await.unwrap());
        assert!(
            store
                .sessions()
                .session_by_token(&token.hash(), SessionKind::Api)
                .await
                .unwrap()
                .is_some()
        );
        let by_a = NewEvent {
            account_id: &a,
            ..by_m
        };
        assert!(store.sessions().end_session(&id, &by_a).await.unwrap());
        assert!(
            store
                .sessions()
                .session_by_token(&token.hash(), SessionKind::Api)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            !store.sessions().end_session(&id, &by_a).await.unwrap(),
            "only once"
        );
        let kinds: Vec<String> = store
            .events()
            .list_events(&a, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, ["session_revoked", "login"], "newest first");
        assert!(store.events().list_events(&m, 10).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_keeps_only_the_current_session() {
    on_both(|store| async move {
        let a = account(&store, "erin").await;
        let (keep, keep_token) = session(&store, &a).await;
        let (_, other_token) = session(&store, &a).await;
        let b = account(&store, "frank").await;
        let (_, b_token) = session(&store, &b).await;
        let client = ClientInfo::default();
        let e = NewEvent {
            account_id: &a,
            kind: EventKind::PasswordChanged,
            at: NOW.plus(5),
            client: &client,
            detail: None,
        };
        assert!(
            store
                .sessions()
                .change_password(&keep, 0, "$argon2id$new", &e)
                .await
                .unwrap()
        );
        let kept = store
            .sessions()
            .session_by_token(&keep_token.hash(), SessionKind::Api)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept.reauth_at, NOW.plus(5));
        assert!(
            store
                .sessions()
                .session_by_token(&other_token.hash(), SessionKind::Api)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .sessions()
                .session_by_token(&b_token.hash(), SessionKind::Api)
                .await
                .unwrap()
                .is_some(),
            "other accounts untouched"
        );
        assert_eq!(
            store
                .accounts()
                .account_by_id(&a)
                .await
                .unwrap()
                .unwrap()
                .password_hash,
            "$argon2id$new"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_are_purged() {
    on_both(|store| async move {
        let a = account(&store, "gina").await;
        let (_, old) = session(&store, &a).await;
        let (fresh_id, fresh) = session(&store, &a).await;
        store
            .sessions()
            .touch_session(&fresh_id, NOW.plus(3000), Some("10.0.0.2"))
            .await
            .unwrap();
        assert_eq!(
            store
                .sessions()
                .purge_sessions(NOW.plus(2000), 1000)
                .await
                .unwrap(),
            1
        );
        assert!(
            store
                .sessions()
                .session_by_token(&old.hash(), SessionKind::Api)
                .await
                .unwrap()
                .is_none()
        );
        let s = store
            .sessions()
            .session_by_token(&fresh.hash(), SessionKind::Api)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.ip.as_deref(), Some("10.0.0.2"));
        assert_eq!(
            store
                .sessions()
                .purge_sessions(NOW.plus(3600), 100_000)
                .await
                .unwrap(),
            1,
            "absolute end"
        );
        store.ping().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_copies_sqlites_log_back_and_is_nothing_on_postgres() {
    on_both(|store| async move {
        for i in 0..20 {
            account(&store, &format!("kim{i}")).await;
        }
        let done = store.checkpoint().await.unwrap();
        match store.engine() {
            twofold::store::Engine::Postgres => assert_eq!(done, None),
            twofold::store::Engine::Sqlite => {
                let c = done.expect("a checkpoint on SQLite");
                assert!(c.log_pages > 0, "twenty accounts are in the log: {c:?}");
                assert_eq!(
                    c.copied_pages, c.log_pages,
                    "no reader holds it back: {c:?}"
                );
            }
        }
        // What was copied back reads the same.
        assert!(
            store
                .accounts()
                .create_account(
                    &AccountId::generate(),
                    &Username::parse("kim3").unwrap(),
                    "$argon2id$hash",
                    NOW
                )
                .await
                .is_err(),
            "kim3 is still taken"
        );
    })
    .await;
}
