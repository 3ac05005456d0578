//! The second step's statements on both engines: a challenge is created only while the
//! password proof holds, every wrong code is counted before it is answered, a code (texted,
//! authenticator step or backup code) is used up once, the limits per challenge and per
//! account hold, and a login says whether its notice waits for delivery.

use twofold::crypto::Token;
use twofold::domain::{
    AccountId, BatchId, ClientInfo, EventKind, FirstFactor, PhoneNumber, SessionId, SessionKind,
    UnixTime,
};
use twofold::store::{
    Attempt, AttemptLimits, ChallengeSms, ConfirmSms, NewBatch, NewChallenge, NewEvent, NewSession,
    NewSmsCode, PasswordProof, Proof, Refusal, SecondStepAttempt, SmsConfirm, Store,
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

/// An account with 2FA on: an authenticator secret (sealed text "sealed-1") whose step 100
/// confirmed it, and a batch of backup codes whose keyed hashes are `mac-0` … `mac-9`.
async fn two_factor_account(store: &Store, name: &str) -> AccountId {
    let id = account(store, name).await;
    store
        .two_factor()
        .put_totp_pending(&id, "sealed-1", NOW)
        .await
        .unwrap();
    let batch = NewBatch {
        id: BatchId::generate(),
        created_at: NOW,
        codes: (0..10).map(|i| (format!("mac-{i}"), None)).collect(),
    };
    let enabled = store
        .two_factor()
        .confirm_totp(&id, "sealed-1", 100, NOW, &batch, &client())
        .await
        .unwrap();
    assert_eq!(enabled, Some(true), "the first method turns 2FA on");
    id
}

/// A challenge after a right password, with an SMS code (`sms-mac`, 5 minutes) when asked.
async fn challenge(store: &Store, account: &AccountId, sms: bool) -> String {
    let id = Token::generate().reveal().to_owned();
    let t = throttle(account);
    let c = client();
    let created = store
        .challenges()
        .create_challenge(
            &NewChallenge {
                id: &id,
                account_id: account,
                kind: SessionKind::Api,
                now: NOW,
                expires_at: NOW.plus(600),
                client: &c,
                sms: sms.then(|| ("sms-mac".to_owned(), NOW.plus(300))),
            },
            &PasswordProof {
                credential_version: 0,
                throttle: &t,
                clear: false,
                rehash: None,
            },
        )
        .await
        .unwrap();
    assert!(created);
    id
}

/// One attempt at `now` with `proof`, under `limits`.
async fn attempt(
    store: &Store,
    account: &AccountId,
    challenge_id: &str,
    proof: Proof<'_>,
    now: UnixTime,
    limits: AttemptLimits,
) -> Attempt {
    let c = client();
    let sid = SessionId::generate();
    let hash = Token::generate().hash();
    let session = NewSession {
        id: &sid,
        token_hash: &hash,
        account_id: account,
        kind: SessionKind::Api,
        now,
        expires_at: now.plus(3600),
        client: &c,
        device: None,
        first_factor: FirstFactor::Password,
        second_factor: None,
        new_device: false,
    };
    let success = NewEvent {
        account_id: account,
        kind: EventKind::LoginBackupCode,
        at: now,
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
            challenge_id: Some(challenge_id),
            proof,
            limits,
            session: &session,
            success: &success,
            failure: &failure,
            recovery: None,
        })
        .await
        .unwrap()
}

fn refused(refusal: Refusal, tries_left: i64) -> Attempt {
    Attempt::Refused {
        refusal,
        locked_until: None,
        tries_left,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_code_is_used_once_and_a_challenge_finishes_once() {
    on_both(|store| async move {
        let alice = two_factor_account(&store, "alice").await;
        let c1 = challenge(&store, &alice, false).await;
        let done = attempt(&store, &alice, &c1, Proof::Backup("mac-3"), NOW, LIMITS).await;
        assert_eq!(
            done,
            Attempt::Done {
                backup_remaining: Some(9),
                notice_waiting: false,
            }
        );
        assert_eq!(
            store.sessions().list_sessions(&alice).await.unwrap().len(),
            1
        );
        // The finished challenge takes nothing more, not even another right code.
        let again = attempt(&store, &alice, &c1, Proof::Backup("mac-4"), NOW, LIMITS).await;
        assert_eq!(again, Attempt::Gone);
        // The used code is refused as used on a new challenge, and counted.
        let c2 = challenge(&store, &alice, false).await;
        let used = attempt(&store, &alice, &c2, Proof::Backup("mac-3"), NOW, LIMITS).await;
        assert_eq!(used, refused(Refusal::AlreadyUsed, 4));
        let unknown = attempt(&store, &alice, &c2, Proof::Backup("nope"), NOW, LIMITS).await;
        assert_eq!(unknown, refused(Refusal::Wrong, 3));
        let batch = store
            .backup_codes()
            .backup_batch(&alice)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(batch.remaining(), 9);
        assert_eq!(
            store.sessions().list_sessions(&alice).await.unwrap().len(),
            1
        );
        // Another account's code is not this account's.
        let bob = two_factor_account(&store, "bob").await;
        let c3 = challenge(&store, &bob, false).await;
        let done = attempt(&store, &bob, &c3, Proof::Backup("mac-3"), NOW, LIMITS).await;
        assert_eq!(
            done,
            Attempt::Done {
                backup_remaining: Some(9),
                notice_waiting: false,
            }
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_attempts_with_one_backup_code_log_in_once() {
    on_both(|store| async move {
        let alice = two_factor_account(&store, "alice").await;
        let mut challenges = Vec::new();
        for _ in 0..12 {
            challenges.push(challenge(&store, &alice, false).await);
        }
        let mut runs = tokio::task::JoinSet::new();
        for c in challenges {
            let (store, alice) = (store.clone(), alice.clone());
            runs.spawn(async move {
                let limits = AttemptLimits {
                    lock_every: 0,
                    ..LIMITS
                };
                attempt(&store, &alice, &c, Proof::Backup("mac-7"), NOW, limits).await
            });
        }
        let results = runs.join_all().await;
        let done = results
            .iter()
            .filter(|r| matches!(r, Attempt::Done { .. }))
            .count();
        assert_eq!(done, 1, "{results:?}");
        assert!(
            results.iter().all(|r| matches!(
                r,
                Attempt::Done { .. }
                    | Attempt::Refused {
                        refusal: Refusal::AlreadyUsed,
                        ..
                    }
            )),
            "{results:?}"
        );
        assert_eq!(
            store.sessions().list_sessions(&alice).await.unwrap().len(),
            1
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticator_step_is_accepted_once_under_its_own_secret() {
    on_both(|store| async move {
        let alice = two_factor_account(&store, "alice").await;
        let c1 = challenge(&store, &alice, false).await;
        // Step 100 confirmed the app: it never works again.
        let old = Proof::Totp {
            step: Some(100),
            sealed: "sealed-1",
        };
        assert_eq!(
            attempt(&store, &alice, &c1, old, NOW, LIMITS).await,
            refused(Refusal::Wrong, 4)
        );
        // A step checked against a secret replaced meanwhile does not count.
        let stale = Proof::Totp {
            step: Some(101),
            sealed: "sealed-0",
        };
        assert_eq!(
            attempt(&store, &alice, &c1, stale, NOW, LIMITS).await,
            refused(Refusal::Wrong, 3)
        );
        let none = Proof::Totp {
            step: None,
            sealed: "sealed-1",
        };
        assert_eq!(
            attempt(&store, &alice, &c1, none, NOW, LIMITS).await,
            refused(Refusal::Wrong, 2)
        );
        let right = Proof::Totp {
            step: Some(101),
            sealed: "sealed-1",
        };
        assert_eq!(
            attempt(&store, &alice, &c1, right, NOW, LIMITS).await,
            Attempt::Done {
                backup_remaining: None,
                notice_waiting: false,
            }
        );
        let c2 = challenge(&store, &alice, false).await;
        assert_eq!(
            attempt(&store, &alice, &c2, right, NOW, LIMITS).await,
            refused(Refusal::Wrong, 4)
        );
        let tf = store.two_factor().record(&alice).await.unwrap();
        assert_eq!(tf.totp.unwrap().last_step, 101);
        assert_eq!(
            tf.failures, 1,
            "the success reset the count; one failure since"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_texted_code_works_once_and_not_after_it_expires() {
    on_both(|store| async move {
        let alice = two_factor_account(&store, "alice").await;
        let c1 = challenge(&store, &alice, true).await;
        let late = NOW.plus(301);
        assert_eq!(
            attempt(&store, &alice, &c1, Proof::Sms("sms-mac"), late, LIMITS).await,
            refused(Refusal::Wrong, 4),
            "an expired code is refused"
        );
        // "Resend code": refused inside the cooldown, then a new code replaces the old.
        let resend = |now: UnixTime, mac: &'static str| ChallengeSms {
            id: &c1,
            code_mac: mac,
            now,
            expires_at: now.plus(300),
            cooldown: 30,
            max_sends: 2,
            max_failures: 5,
        };
        assert!(
            !store
                .challenges()
                .set_challenge_sms(&resend(NOW.plus(10), "sms-2"))
                .await
                .unwrap()
        );
        assert!(
            store
                .challenges()
                .set_challenge_sms(&resend(late, "sms-2"))
                .await
                .unwrap()
        );
        assert!(
            !store
                .challenges()
                .set_challenge_sms(&resend(late.plus(60), "sms-3"))
                .await
                .unwrap(),
            "two codes per challenge at most"
        );
        assert_eq!(
            attempt(&store, &alice, &c1, Proof::Sms("sms-mac"), late, LIMITS).await,
            refused(Refusal::Wrong, 3),
            "the replaced code is dead"
        );
        assert_eq!(
            attempt(&store, &alice, &c1, Proof::Sms("sms-2"), late, LIMITS).await,
            Attempt::Done {
                backup_remaining: None,
                notice_waiting: false,
            }
        );
        let record = store
            .challenges()
            .challenge_state(&c1)
            .await
            .unwrap()
            .unwrap()
            .challenge;
        assert!(record.finished_at.is_some());
        assert!(!record.sms_pending, "the used code is gone");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_end_the_challenge_then_lock_then_cap_the_account() {
    on_both(|store| async move {
        let alice = two_factor_account(&store, "alice").await;
        let limits = AttemptLimits {
            per_challenge: 3,
            lock_every: 4,
            cap: 6,
            lock_secs: 60,
        };
        let wrong = Proof::Backup("wrong");
        let c1 = challenge(&store, &alice, false).await;
        for left in [2, 1, 0] {
            assert_eq!(
                attempt(&store, &alice, &c1, wrong, NOW, limits).await,
                refused(Refusal::Wrong, left)
            );
        }
        assert_eq!(
            attempt(&store, &alice, &c1, wrong, NOW, limits).await,
            Attempt::Gone
        );
        // The 4th wrong code in a row (on a new challenge) locks the account's second step.
        let c2 = challenge(&store, &alice, false).await;
        let locked = attempt(&store, &alice, &c2, wrong, NOW, limits).await;
        assert_eq!(
            locked,
            Attempt::Refused {
                refusal: Refusal::Wrong,
                locked_until: Some(NOW.plus(60)),
                tries_left: 2
            }
        );
        // Locked: even a right code is refused before it is tested, and nothing is used.
        let right = Proof::Backup("mac-0");
        assert_eq!(
            attempt(&store, &alice, &c2, right, NOW.plus(59), limits).await,
            Attempt::Locked(NOW.plus(60))
        );
        assert_eq!(
            store
                .backup_codes()
                .backup_batch(&alice)
                .await
                .unwrap()
                .unwrap()
                .remaining(),
            10
        );
        // After the lock: two more wrong codes reach the cap, which time does not lift.
        let after = NOW.plus(61);
        assert_eq!(
            attempt(&store, &alice, &c2, wrong, after, limits).await,
            refused(Refusal::Wrong, 1)
        );
        assert_eq!(
            attempt(&store, &alice, &c2, wrong, after, limits).await,
            refused(Refusal::Wrong, 0)
        );
        let c3 = challenge(&store, &alice, false).await;
        assert_eq!(
            attempt(&store, &alice, &c3, right, after.plus(86_400), limits).await,
            Attempt::Capped
        );
        let tf = store.two_factor().record(&alice).await.unwrap();
        assert_eq!(tf.failures, 6);
        let events = store.events().list_events(&alice, 50).await.unwrap();
        let count = |k: EventKind| events.iter().filter(|e| e.kind == k.as_str()).count();
        assert_eq!(count(EventKind::SecondFactorFailed), 6);
        assert_eq!(count(EventKind::SecondFactorLocked), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_says_whether_its_notice_waits_for_delivery() {
    on_both(|store| async move {
        // An authenticator app only: the backup code's notice has nowhere to go, so it is
        // done as it is queued and nothing waits.
        let alice = two_factor_account(&store, "alice").await;
        let c1 = challenge(&store, &alice, false).await;
        assert_eq!(
            attempt(&store, &alice, &c1, Proof::Backup("mac-1"), NOW, LIMITS).await,
            Attempt::Done {
                backup_remaining: Some(9),
                notice_waiting: false,
            }
        );
        assert!(
            store
                .notices()
                .claim_notice(NOW, Some(&alice), 60)
                .await
                .unwrap()
                .is_none()
        );
        // With a verified phone the notice waits, and the queue holds it for that number.
        let phone = PhoneNumber::parse("+14155552671", None).unwrap();
        let sent = NewSmsCode {
            account: &alice,
            phone: &phone,
            code_mac: "phone-mac",
            now: NOW,
            expires_at: NOW.plus(300),
            cooldown: 30,
            daily_cap: 10,
        };
        assert!(store.two_factor().put_sms_pending(&sent).await.unwrap());
        let unused = NewBatch {
            id: BatchId::generate(),
            created_at: NOW,
            codes: Vec::new(),
        };
        let confirmed = store
            .two_factor()
            .confirm_sms(&ConfirmSms {
                account: &alice,
                code_mac: "phone-mac",
                now: NOW,
                max_attempts: 5,
                first_batch: &unused,
                client: &client(),
                keep: &SessionId::generate(),
            })
            .await
            .unwrap();
        assert!(matches!(confirmed, SmsConfirm::Verified { .. }));
        while store
            .notices()
            .claim_notice(NOW, Some(&alice), 60)
            .await
            .unwrap()
            .is_some()
        {
            // The phone's own notice ("a phone number was verified") is not this test's.
        }
        let c2 = challenge(&store, &alice, false).await;
        assert_eq!(
            attempt(&store, &alice, &c2, Proof::Backup("mac-2"), NOW, LIMITS).await,
            Attempt::Done {
                backup_remaining: Some(8),
                notice_waiting: true,
            }
        );
        let notice = store
            .notices()
            .claim_notice(NOW, Some(&alice), 60)
            .await
            .unwrap()
            .expect("the backup code's notice waits");
        assert_eq!(notice.kind, "login_backup_code");
        assert_eq!(notice.phone.as_deref(), Some("+14155552671"));
    })
    .await;
}
