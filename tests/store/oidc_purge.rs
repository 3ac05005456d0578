//! Sign in with Twofold's housekeeping statements on both engines: expired tokens go, a
//! grant goes once its code is old and its tokens are gone (a used code is kept an hour so
//! that its reuse is still recognised), and retired signing keys go once nothing they
//! signed is valid — the current key never.

use twofold::domain::{AccountId, SessionId, UnixTime};
use twofold::store::{
    ClientRecord, NewGrant, NewToken, Redeemed, Redemption, SessionClock, SigningKeyRecord, Store,
};

use super::{NOW, account, on_both, session_at, throttle};

const CLIENT: &str = "tf_purge";
const REDIRECT: &str = "https://app.example.test/cb";

async fn client(store: &Store) {
    store
        .oidc()
        .add_client(&ClientRecord {
            id: CLIENT.into(),
            name: "Purge app".into(),
            secret_hash: Some("00".repeat(32)),
            redirect_uris: vec![REDIRECT.into()],
            post_logout_uris: vec![],
            require_two_factor: false,
            skip_consent: true,
            created_at: NOW,
            scopes: None,
            allow_no_pkce: true,
            backchannel_logout_uri: None,
            device: false,
        })
        .await
        .unwrap();
}

/// A login session of `account` that lives through the whole test (its grants' codes need
/// it alive to be redeemed).
async fn login(store: &Store, account: &AccountId) -> SessionId {
    session_at(
        store,
        account,
        NOW.plus(86_400 - 1000),
        &throttle(account),
        0,
    )
    .await
    .expect("a session")
    .0
}

/// A grant of session `sid` whose code (hash `code`) was issued at `at` for 60 seconds.
async fn grant(
    store: &Store,
    (id, sid): (&str, &SessionId),
    code: &str,
    account: &AccountId,
    at: UnixTime,
) {
    store
        .grants()
        .create_grant(&NewGrant {
            id,
            code_hash: code,
            client_id: CLIENT,
            account_id: account,
            redirect_uri: REDIRECT,
            scope: "offline_access openid",
            nonce: None,
            code_challenge: None,
            auth_time: at,
            first_factor: "pwd",
            second_factor: None,
            acr: None,
            session_id: sid,
            offline: true,
            refresh_until: at.plus(90 * 86_400),
            now: at,
            code_expires_at: at.plus(60),
        })
        .await
        .unwrap();
}

fn redemption(code: &str, now: UnixTime) -> Redemption<'_> {
    Redemption {
        code_hash: code,
        client_id: CLIENT,
        redirect_uri: REDIRECT,
        verifier_challenge: None,
        clock: clock(now),
    }
}

fn clock(now: UnixTime) -> SessionClock {
    SessionClock {
        now,
        idle_before: UnixTime(0),
    }
}

/// Uses the code at `at` and issues an access token for 600 s and a refresh token for
/// `refresh_secs`.
async fn use_code(store: &Store, code: &str, at: UnixTime, refresh_secs: i64) -> (String, String) {
    let Redeemed::Issued(tx) = store
        .grants()
        .redeem_code(&redemption(code, at))
        .await
        .unwrap()
    else {
        panic!("the code works");
    };
    let (access, refresh) = (format!("{code}-access"), format!("{code}-refresh"));
    tx.issue(
        at,
        &[
            NewToken {
                hash: &access,
                kind: "access",
                scope: "offline_access openid",
                expires_at: at.plus(600),
            },
            NewToken {
                hash: &refresh,
                kind: "refresh",
                scope: "offline_access openid",
                expires_at: at.plus(refresh_secs),
            },
        ],
    )
    .await
    .unwrap();
    (access, refresh)
}

#[tokio::test]
async fn expired_tokens_and_finished_grants_are_purged() {
    on_both(|store| async move {
        let acc = account(&store, "purged").await;
        client(&store).await;
        let sid = login(&store, &acc).await;
        let now = NOW.plus(86_400);
        // Never used, its code expired a day ago: goes.
        grant(&store, ("g-unused", &sid), "c-unused", &acc, NOW).await;
        // Used a day ago, every token expired: the tokens and the grant go.
        grant(&store, ("g-done", &sid), "c-done", &acc, NOW).await;
        use_code(&store, "c-done", NOW, 3600).await;
        // Used a day ago, its refresh token lives a month: only the access token goes.
        grant(&store, ("g-live", &sid), "c-live", &acc, NOW).await;
        let (_, live_refresh) = use_code(&store, "c-live", NOW, 30 * 86_400).await;
        // Used ten minutes ago, tokens expired (short-lived): tokens go, the grant stays
        // an hour so that the code's reuse is still recognised.
        let recent = now.plus(-600);
        grant(&store, ("g-recent", &sid), "c-recent", &acc, recent).await;
        use_code(&store, "c-recent", recent, 60).await;

        // Tokens: done (2), live access (1), recent (2); grants: unused and done.
        assert_eq!(store.grants().purge_grants(now).await.unwrap(), 5 + 2);
        let live = store
            .grants()
            .live_token(&live_refresh, clock(now))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(live.kind, "refresh");
        // Its grant survived: the refresh token still rotates.
        assert!(matches!(
            store
                .grants()
                .refresh(&live_refresh, CLIENT, now)
                .await
                .unwrap(),
            Redeemed::Issued(_)
        ));
        // The recent code used again is still a reuse (and revokes its grant); the purged
        // ones are simply unknown.
        assert!(matches!(
            store
                .grants()
                .redeem_code(&redemption("c-recent", now))
                .await
                .unwrap(),
            Redeemed::Reused
        ));
        for code in ["c-unused", "c-done"] {
            assert!(matches!(
                store
                    .grants()
                    .redeem_code(&redemption(code, now))
                    .await
                    .unwrap(),
                Redeemed::Invalid
            ));
        }
        // Nothing more to do: a second run removes nothing.
        assert_eq!(store.grants().purge_grants(now).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn retired_signing_keys_are_purged_and_the_current_one_never() {
    on_both(|store| async move {
        let key = |kid: &str, created_at: i64| SigningKeyRecord {
            kid: kid.into(),
            alg: "RS256".into(),
            sealed: format!("sealed-{kid}"),
            created_at,
            retired_at: None,
        };
        assert!(
            store
                .oidc()
                .add_first_signing_key(&key("k0", NOW.0))
                .await
                .unwrap()
        );
        // Rotations retire the current key at the new one's creation.
        store
            .oidc()
            .add_signing_key(&key("k1", NOW.0 + 100), true)
            .await
            .unwrap();
        store
            .oidc()
            .add_signing_key(&key("k2", NOW.0 + 200), true)
            .await
            .unwrap();
        let retired = |keys: &[SigningKeyRecord]| {
            keys.iter()
                .map(|k| (k.kid.clone(), k.retired_at))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            retired(&store.oidc().signing_keys().await.unwrap()),
            [
                ("k2".to_owned(), None),
                ("k1".to_owned(), Some(NOW.0 + 200)),
                ("k0".to_owned(), Some(NOW.0 + 100)),
            ]
        );
        // Before k0's retirement: nothing goes.
        assert_eq!(
            store.oidc().purge_signing_keys(NOW.plus(99)).await.unwrap(),
            0
        );
        // k0 retired at +100: it goes, k1 (retired at +200) stays.
        assert_eq!(
            store
                .oidc()
                .purge_signing_keys(NOW.plus(100))
                .await
                .unwrap(),
            1
        );
        // Long after: k1 goes, the current key stays whatever the time.
        assert_eq!(
            store
                .oidc()
                .purge_signing_keys(NOW.plus(365 * 86_400))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            retired(&store.oidc().signing_keys().await.unwrap()),
            [("k2".to_owned(), None)]
        );
    })
    .await;
}
