//! Authenticators for the passkey tests (issue 24).
//!
//! `SoftPasskey` is Kanidm's software authenticator (webauthn-authenticator-rs): an
//! independent implementation of the client and the authenticator, used for the ordinary
//! ways (adding a key, the second step). It cannot do what some tests need — it refuses
//! discoverable credentials and returns no user handle (no login without a username), keeps
//! one counter it cannot copy (no clone), and refuses an origin that does not match the
//! relying party (no "another origin") — so [`TestKey`] does those: a P-256 key that writes
//! WebAuthn Level 3 JSON as a browser would (clientDataJSON, authenticator data, a "none"
//! attestation, ES256 signatures), with every field under the test's control.

use reqwest::StatusCode;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use super::helpers::TestApp;

#[path = "../../examples/common/test_key.rs"]
mod test_key;
pub use test_key::{ORIGIN, TestKey};

/// Kanidm's software passkey (no user verification: the server prefers it, never needs it).
pub struct Soft(SoftPasskey);

impl Soft {
    pub fn new() -> Self {
        Self(SoftPasskey::new(false))
    }

    /// Answers `navigator.credentials.create` with these `publicKey` options.
    pub fn create(&mut self, public_key: &Value) -> Value {
        let options: CreationChallengeResponse =
            serde_json::from_value(json!({ "publicKey": public_key })).unwrap();
        let made = self
            .0
            .do_registration(Url::parse(ORIGIN).unwrap(), options)
            .unwrap();
        serde_json::to_value(made).unwrap()
    }

    /// Answers `navigator.credentials.get` with these `publicKey` options.
    pub fn get(&mut self, public_key: &Value) -> Value {
        let options: RequestChallengeResponse =
            serde_json::from_value(json!({ "publicKey": public_key })).unwrap();
        let signed = self
            .0
            .do_authentication(Url::parse(ORIGIN).unwrap(), options)
            .unwrap();
        serde_json::to_value(signed).unwrap()
    }
}

/// Something that answers `navigator.credentials`.
pub trait Authenticator {
    fn create(&mut self, public_key: &Value) -> Value;
    fn get(&mut self, public_key: &Value) -> Value;
}

impl Authenticator for Soft {
    fn create(&mut self, public_key: &Value) -> Value {
        Soft::create(self, public_key)
    }
    fn get(&mut self, public_key: &Value) -> Value {
        Soft::get(self, public_key)
    }
}

impl Authenticator for TestKey {
    fn create(&mut self, public_key: &Value) -> Value {
        TestKey::create(self, public_key)
    }
    fn get(&mut self, public_key: &Value) -> Value {
        TestKey::get(self, public_key)
    }
}

impl TestApp {
    /// `POST /api/v1/me/passkeys/options` (201): the flow and `publicKey`.
    pub async fn passkey_options(&self, token: &str) -> Value {
        let res = self
            .post("/api/v1/me/passkeys/options", Some(token), json!({}))
            .await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        res.json().await.unwrap()
    }

    /// Adds a passkey made by `key`; returns the answer as it came.
    pub async fn try_add_passkey(
        &self,
        token: &str,
        key: &mut impl Authenticator,
        name: &str,
    ) -> reqwest::Response {
        let options = self.passkey_options(token).await;
        let credential = key.create(&options["publicKey"]);
        self.post(
            "/api/v1/me/passkeys",
            Some(token),
            json!({"flow": options["flow"], "name": name, "credential": credential}),
        )
        .await
    }

    /// Adds a passkey made by `key` (201); returns the body (`id`, `name`, `backup_codes`).
    pub async fn add_passkey(
        &self,
        token: &str,
        key: &mut impl Authenticator,
        name: &str,
    ) -> Value {
        let res = self.try_add_passkey(token, key, name).await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        res.json().await.unwrap()
    }

    /// The second step's `publicKey` options for this challenge.
    pub async fn webauthn_options(&self, challenge: &Value) -> Value {
        let res = self
            .post(
                "/api/v1/sessions/two-factor/webauthn",
                None,
                json!({"challenge": challenge["challenge"]}),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{}",
            res.text().await.unwrap()
        );
        res.json::<Value>().await.unwrap()["publicKey"].clone()
    }

    /// The second step answered with `credential`.
    pub async fn webauthn_step(&self, challenge: &Value, credential: &Value) -> reqwest::Response {
        self.post(
            "/api/v1/sessions/two-factor",
            None,
            json!({"challenge": challenge["challenge"], "method": "webauthn", "credential": credential}),
        )
        .await
    }

    /// `POST /api/v1/sessions/passkey/options` (201): the flow and `publicKey`.
    pub async fn passwordless_options(&self) -> Value {
        let res = self
            .post("/api/v1/sessions/passkey/options", None, json!({}))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    /// A login with `key` and no password; returns the answer as it came.
    pub async fn passwordless(&self, key: &mut impl Authenticator) -> reqwest::Response {
        let options = self.passwordless_options().await;
        let credential = key.get(&options["publicKey"]);
        self.post(
            "/api/v1/sessions/passkey",
            None,
            json!({"flow": options["flow"], "credential": credential}),
        )
        .await
    }
}
