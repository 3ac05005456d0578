//! A software passkey whose every field is under the caller's control (issue 24): a P-256
//! key that writes WebAuthn Level 3 JSON as a browser would (clientDataJSON, authenticator
//! data, a "none" attestation, ES256 signatures). The passkey API tests use it for what
//! Kanidm's `SoftPasskey` cannot do (discoverable credentials, clones, another origin), and
//! the passkey benchmark (`examples/scale_bench.rs`, mode `passkeys`) to log in without a
//! password. Included by both with `#[path]`.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use crypto_glue::ecdsa_p256::{
    self, EcdsaP256PrivateKey, EcdsaP256PublicSec1Point, EcdsaP256Signature, EcdsaP256SigningKey,
};
use crypto_glue::traits::Signer;
use serde_cbor_2::Value as Cbor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The origin a server accepts without a public URL (`http://localhost`, any port).
pub const ORIGIN: &str = "http://localhost:8080";

/// A passkey the test controls: user verification, counter, origin, relying party; a clone
/// is `.clone()` (the same private key and counter).
#[derive(Clone)]
pub struct TestKey {
    secret: EcdsaP256PrivateKey,
    pub cred_id: Vec<u8>,
    pub user_handle: Vec<u8>,
    pub counter: u32,
    /// Whether the user is verified (the UV flag).
    pub uv: bool,
    /// The origin written into clientDataJSON.
    pub origin: String,
    /// A relying party id to sign for instead of the one asked for.
    pub rp_id: Option<String>,
}

impl TestKey {
    pub fn new(uv: bool) -> Self {
        let id: [u8; 16] = rand::random();
        Self {
            secret: ecdsa_p256::new_key(),
            cred_id: id.to_vec(),
            user_handle: Vec::new(),
            counter: 0,
            uv,
            origin: ORIGIN.to_owned(),
            rp_id: None,
        }
    }

    fn client_data(&self, kind: &str, challenge: &Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        }))
        .unwrap()
    }

    fn auth_data(&self, rp_id: &str, attested: Option<Vec<u8>>) -> Vec<u8> {
        let rp_id = self.rp_id.as_deref().unwrap_or(rp_id);
        let mut flags = 0x01u8; // user present
        if self.uv {
            flags |= 0x04;
        }
        if attested.is_some() {
            flags |= 0x40;
        }
        let mut data = Sha256::digest(rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        data.extend(attested.unwrap_or_default());
        data
    }

    /// The COSE key (EC2, ES256, P-256) of the public key.
    fn cose_key(&self) -> Vec<u8> {
        let point = EcdsaP256PublicSec1Point::from(self.secret.public_key());
        let mut map = BTreeMap::new();
        map.insert(Cbor::Integer(1), Cbor::Integer(2));
        map.insert(Cbor::Integer(3), Cbor::Integer(-7));
        map.insert(Cbor::Integer(-1), Cbor::Integer(1));
        map.insert(Cbor::Integer(-2), Cbor::Bytes(point.x().unwrap().to_vec()));
        map.insert(Cbor::Integer(-3), Cbor::Bytes(point.y().unwrap().to_vec()));
        serde_cbor_2::to_vec(&Cbor::Map(map)).unwrap()
    }

    /// Answers `navigator.credentials.create` ("none" attestation).
    pub fn create(&mut self, public_key: &Value) -> Value {
        self.user_handle = B64
            .decode(public_key["user"]["id"].as_str().unwrap())
            .unwrap();
        let rp_id = public_key["rp"]["id"].as_str().unwrap();
        let mut attested = vec![0u8; 16]; // AAGUID: none given
        attested.extend_from_slice(&u16::try_from(self.cred_id.len()).unwrap().to_be_bytes());
        attested.extend_from_slice(&self.cred_id);
        attested.extend(self.cose_key());
        let mut object = BTreeMap::new();
        object.insert(Cbor::Text("fmt".into()), Cbor::Text("none".into()));
        object.insert(Cbor::Text("attStmt".into()), Cbor::Map(BTreeMap::new()));
        object.insert(
            Cbor::Text("authData".into()),
            Cbor::Bytes(self.auth_data(rp_id, Some(attested))),
        );
        let object = serde_cbor_2::to_vec(&Cbor::Map(object)).unwrap();
        let client_data = self.client_data("webauthn.create", &public_key["challenge"]);
        json!({
            "id": B64.encode(&self.cred_id),
            "rawId": B64.encode(&self.cred_id),
            "type": "public-key",
            "response": {
                "attestationObject": B64.encode(object),
                "clientDataJSON": B64.encode(client_data),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        })
    }

    /// Answers `navigator.credentials.get`: the counter goes up by one, the signature covers
    /// the authenticator data and the hash of clientDataJSON.
    pub fn get(&mut self, public_key: &Value) -> Value {
        self.counter += 1;
        let data = self.auth_data(public_key["rpId"].as_str().unwrap(), None);
        let client_data = self.client_data("webauthn.get", &public_key["challenge"]);
        let mut signed = data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: EcdsaP256Signature = EcdsaP256SigningKey::from(&self.secret)
            .try_sign(&signed)
            .unwrap();
        json!({
            "id": B64.encode(&self.cred_id),
            "rawId": B64.encode(&self.cred_id),
            "type": "public-key",
            "response": {
                "authenticatorData": B64.encode(data),
                "clientDataJSON": B64.encode(client_data),
                "signature": B64.encode(signature.to_der().as_bytes()),
                "userHandle": B64.encode(&self.user_handle),
            },
            "clientExtensionResults": {},
        })
    }
}
