//! Passkeys' statements on both engines (issue 24): at most the account's limit, one
//! credential id in the whole database, a flow taken once, and an assertion used up by the
//! second step's transaction — its flow taken, the counter raised only upwards (or kept at 0
//! by an authenticator without one), with or without a login challenge.

use twofold::crypto::Token;
use twofold::domain::{
    AccountId, BatchId, ClientInfo, EventKind, FirstFactor, PasskeyId, SessionId, SessionKind,
    UnixTime,
};
use twofold::store::{
    Attempt, AttemptLimits, FlowKind, NewBatch, NewChallenge, NewEvent, NewFlow, NewPasskey,
    NewSession, PasskeyAdded, PasswordProof, Proof, Refusal, SecondStepAttempt, Store,
};

use super::{NOW, account, on_both, throttle};

const LIMITS: AttemptLimits = AttemptLimits {
    per_challenge: 5,
    lock_every: 10,
    cap: 100,
    lock_secs: 900,
};

fn client() -> ClientInfo {
    ClientInfo::new(Some("10.0.0.1".into()), Some("store tests"))
}

fn batch() -> NewBatch {
    NewBatch {
        id: BatchId::generate(),
        created_at: NOW,
        codes: (0..10).map(|i| (format!("mac-{i}"), None)).collect(),
    }
}

/// Adds a passkey with this credential id; the account may have `max`.
async fn add(
    store: &Store,
    account: &AccountId,
    credential_id: &str,
    max: i64,
) -> (PasskeyId, PasskeyAdded) {
    let id = PasskeyId::generate();
    let c = client();
    let b = batch();
    let added = store
        .passkeys()
        .add(&NewPasskey {
            id: &id,
            account,
            name: "Key",
            credential_id,
            credential: "{}",
            aaguid: "00000000-0000-0000-0000-000000000000",
            user_verified: true,
            now: NOW,
            client: &c,
            first_batch: &b,
            max,
        })
        .await
        .unwrap();
    (id, added)
}

async fn flow(store: &Store, id: &str, kind: FlowKind, account: &AccountId, expires_at: UnixTime) {
    store
        .passkeys()
        .put_flow(&NewFlow {
            id,
            kind,
            account: Some(account),
            session: None,
            state: "{}",
            expires_at,
        })
        .await
        .unwrap();
}

async fn challenge(store: &Store, account: &AccountId) -> String {
    let id = Token::generate().reveal().to_owned();
    let t = throttle(account);
    let c = client();
    assert!(
        store
            .challenges()
            .create_challenge(
                &NewChallenge {
                    id: &id,
                    account_id: account,
                    kind: SessionKind::Api,
                    now: NOW,
                    expires_at: NOW.plus(600),
                    client: &c,
                    sms: None,
                },
                &PasswordProof {
                    credential_version: 0,
                    throttle: &t,
                    clear: false,
                    rehash: None,
                },
            )
            .await
            .unwrap()
    );
    id
}

/// One assertion: the flow `flow`, the passkey, the counter it signed (`None`: refused).
async fn assertion(
    store: &Store,
    account: &AccountId,
    challenge: Option<&str>,
    flow: &str,
    passkey: &PasskeyId,
    counter: Option<i64>,
) -> Attempt {
    let c = client();
    let sid = SessionId::generate();
    let hash = Token::generate().hash();
    let session = NewSession {
        id: &sid,
        token_hash: &hash,
        account_id: account,
        kind: SessionKind::Api,
        now: NOW,
        expires_at: NOW.plus(3600),
        client: &c,
        device: None,
        first_factor: FirstFactor::Password,
        second_factor: None,
        new_device: false,
    };
    let success = NewEvent {
        account_id: account,
        kind: EventKind::LoginPasskey,
        at: NOW,
        client: &c,
        detail: None,
    };
    let failure = NewEvent {
        kind: EventKind::SecondFactorFailed,
        ..success
    };
    store
        .second_step()
        .attempt_second_factor(&SecondStepAttempt {
            challenge_id: challenge,
            proof: Proof::Passkey {
                flow,
                passkey: passkey.as_str(),
                counter,
            },
            limits: LIMITS,
            session: &session,
            success: &success,
            failure: &failure,
            recovery: None,
        })
        .await
        .unwrap()
}

const DONE: Attempt = Attempt::Done {
    backup_remaining: None,
    notice_waiting: false,
};

fn refused(tries_left: i64) -> Attempt {
    Attempt::Refused {
        refusal: Refusal::Wrong,
        locked_until: None,
        tries_left,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_are_limited_per_account_and_unique_across_accounts() {
    on_both(|store| async move {
        let alice = account(&store, "alice").await;
        let bob = account(&store, "bob").await;
        let (_, first) = add(&store, &alice, "cred-1", 2).await;
        assert_eq!(first, PasskeyAdded::Added { enabled_now: true });
        let (_, second) = add(&store, &alice, "cred-2", 2).await;
        assert_eq!(second, PasskeyAdded::Added { enabled_now: false });
        assert_eq!(
            add(&store, &alice, "cred-3", 2).await.1,
            PasskeyAdded::TooMany
        );
        assert_eq!(
            add(&store, &bob, "cred-1", 2).await.1,
            PasskeyAdded::Duplicate
        );
        assert_eq!(store.passkeys().count(&alice).await.unwrap(), 2);
        assert_eq!(store.passkeys().count(&bob).await.unwrap(), 0);
        let tf = store.two_factor().record(&alice).await.unwrap();
        assert_eq!(tf.passkeys, 2);
        assert!(tf.enabled_since.is_some());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_is_taken_once_and_not_after_it_expires() {
    on_both(|store| async move {
        let alice = account(&store, "alice").await;
        flow(&store, "f1", FlowKind::Register, &alice, NOW.plus(300)).await;
        let p = store.passkeys();
        assert!(
            p.flow("f1", FlowKind::Passwordless, NOW)
                .await
                .unwrap()
                .is_none(),
            "its own kind only"
        );
        assert!(
            p.take_flow("f1", FlowKind::Register, NOW)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            p.take_flow("f1", FlowKind::Register, NOW)
                .await
                .unwrap()
                .is_none()
        );
        flow(&store, "f2", FlowKind::Register, &alice, NOW.plus(300)).await;
        assert!(
            p.take_flow("f2", FlowKind::Register, NOW.plus(300))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(p.purge_flows(NOW.plus(300)).await.unwrap(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assertion_takes_its_flow_and_raises_the_counter_only_upwards() {
    on_both(|store| async move {
        let alice = account(&store, "alice").await;
        let (key, _) = add(&store, &alice, "cred-1", 10).await;
        let c1 = challenge(&store, &alice).await;
        flow(&store, &c1, FlowKind::SecondStep, &alice, NOW.plus(300)).await;
        assert_eq!(
            assertion(&store, &alice, Some(&c1), &c1, &key, Some(5)).await,
            DONE
        );

        // The same counter again (a replay, or a clone): refused and counted; the flow is gone.
        let c2 = challenge(&store, &alice).await;
        flow(&store, &c2, FlowKind::SecondStep, &alice, NOW.plus(300)).await;
        assert_eq!(
            assertion(&store, &alice, Some(&c2), &c2, &key, Some(5)).await,
            refused(4)
        );
        assert!(
            store
                .passkeys()
                .flow(&c2, FlowKind::SecondStep, NOW)
                .await
                .unwrap()
                .is_none()
        );
        // A higher counter, but the flow was used: refused.
        assert_eq!(
            assertion(&store, &alice, Some(&c2), &c2, &key, Some(6)).await,
            refused(3)
        );
        // A fresh flow and a higher counter: in.
        flow(&store, &c2, FlowKind::SecondStep, &alice, NOW.plus(300)).await;
        assert_eq!(
            assertion(&store, &alice, Some(&c2), &c2, &key, Some(6)).await,
            DONE
        );
        // A signature that did not verify: refused, its flow taken all the same.
        let c3 = challenge(&store, &alice).await;
        flow(&store, &c3, FlowKind::SecondStep, &alice, NOW.plus(300)).await;
        assert_eq!(
            assertion(&store, &alice, Some(&c3), &c3, &key, None).await,
            refused(4)
        );
        assert!(
            store
                .passkeys()
                .flow(&c3, FlowKind::SecondStep, NOW)
                .await
                .unwrap()
                .is_none()
        );

        // Without a challenge (no password): counted on the account only.
        flow(&store, "pw", FlowKind::Passwordless, &alice, NOW.plus(300)).await;
        assert_eq!(
            assertion(&store, &alice, None, "pw", &key, Some(7)).await,
            DONE
        );
        flow(&store, "pw2", FlowKind::Passwordless, &alice, NOW.plus(300)).await;
        assert!(matches!(
            assertion(&store, &alice, None, "pw2", &key, Some(7)).await,
            Attempt::Refused { .. }
        ));
        assert_eq!(store.two_factor().record(&alice).await.unwrap().failures, 1);
        let listed = store.passkeys().list(&alice).await.unwrap();
        assert_eq!(listed[0].counter, 7);
        assert_eq!(listed[0].last_used_at, Some(NOW));

        // An authenticator that keeps no counter (always 0) is let in each time.
        let (zero, _) = add(&store, &alice, "cred-0", 10).await;
        for f in ["z1", "z2"] {
            flow(&store, f, FlowKind::Passwordless, &alice, NOW.plus(300)).await;
            assert_eq!(
                assertion(&store, &alice, None, f, &zero, Some(0)).await,
                DONE
            );
        }
    })
    .await;
}
