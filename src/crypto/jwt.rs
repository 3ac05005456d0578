//! Signed JSON Web Tokens for OpenID Connect: RS256 (RFC 7518 §3.3, mandatory in OIDC Core)
//! signing keys, their JWKs, and checking a token Twofold signed (an `id_token_hint`).
//!
//! Keys are made here and signed with `ring` (constant-time RSA). The `rsa` crate only
//! generates the key pair and reads the public numbers.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::SystemRandom;
use ring::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use zeroize::Zeroizing;

/// An RS256 signing key, ready to sign.
pub struct SigningKey {
    kid: String,
    pair: RsaKeyPair,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The public half of a key, for the JWKS and for checking tokens.
#[derive(Clone, Debug)]
pub struct VerifyingKey {
    kid: String,
    n: Vec<u8>,
    e: Vec<u8>,
}

/// The algorithm every key here signs with.
pub const ALG: &str = "RS256";

/// A fresh 2048-bit RSA key as PKCS#8 DER (to be sealed and stored).
///
/// # Errors
/// When the generator fails.
pub fn generate_rsa_pkcs8() -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let key = rsa::RsaPrivateKey::new(&mut rand_core_06::OsRng, 2048)?;
    Ok(Zeroizing::new(key.to_pkcs8_der()?.as_bytes().to_vec()))
}

impl SigningKey {
    /// Reads a stored PKCS#8 RSA key.
    ///
    /// # Errors
    /// When the bytes are not an RSA key ring accepts.
    pub fn from_pkcs8(kid: &str, der: &[u8]) -> anyhow::Result<Self> {
        let pair = RsaKeyPair::from_pkcs8(der)
            .map_err(|e| anyhow::anyhow!("signing key {kid} is not usable: {e}"))?;
        let parsed = rsa::RsaPrivateKey::from_pkcs8_der(der)?;
        Ok(Self {
            kid: kid.to_owned(),
            pair,
            n: parsed.n().to_bytes_be(),
            e: parsed.e().to_bytes_be(),
        })
    }

    /// Its key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half.
    pub fn verifying(&self) -> VerifyingKey {
        VerifyingKey {
            kid: self.kid.clone(),
            n: self.n.clone(),
            e: self.e.clone(),
        }
    }

    /// A compact JWS (`header.payload.signature`) of `claims`.
    ///
    /// # Errors
    /// When signing fails (it does not, for a key `from_pkcs8` accepted).
    pub fn sign(&self, claims: &Value) -> anyhow::Result<String> {
        self.sign_typed(claims, "JWT")
    }

    /// A compact JWS of `claims` whose header says `typ` (a logout token is `logout+jwt`,
    /// OpenID Connect Back-Channel Logout 1.0 §2.4, so that it is never taken for an ID token).
    ///
    /// # Errors
    /// When signing fails (it does not, for a key `from_pkcs8` accepted).
    pub fn sign_typed(&self, claims: &Value, typ: &str) -> anyhow::Result<String> {
        let header = json!({"alg": ALG, "typ": typ, "kid": self.kid});
        let input = format!(
            "{}.{}",
            B64.encode(serde_json::to_vec(&header)?),
            B64.encode(serde_json::to_vec(claims)?)
        );
        let mut sig = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| anyhow::anyhow!("signing failed"))?;
        Ok(format!("{input}.{}", B64.encode(sig)))
    }
}

impl VerifyingKey {
    /// The JWK (RFC 7517) published in the JWKS.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": ALG,
            "kid": self.kid,
            "n": B64.encode(&self.n),
            "e": B64.encode(&self.e),
        })
    }

    /// Its key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// The `kid` a compact JWS names in its header, unchecked: which key to check it with.
pub fn kid_of(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    if header.len() > 4096 {
        return None;
    }
    let header: Value = serde_json::from_slice(&B64.decode(header).ok()?).ok()?;
    Some(header.get("kid")?.as_str()?.to_owned())
}

/// The claims of a token signed by one of `keys`, when its signature is right (expiry and
/// audience are the caller's to check). Anything malformed is `None`.
pub fn verified_claims(token: &str, keys: &[VerifyingKey]) -> Option<Value> {
    let mut parts = token.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || token.len() > 16 * 1024 {
        return None;
    }
    let header: Value = serde_json::from_slice(&B64.decode(h).ok()?).ok()?;
    if header.get("alg")?.as_str()? != ALG {
        return None;
    }
    let kid = header.get("kid")?.as_str()?;
    let key = keys.iter().find(|k| k.kid == kid)?;
    let sig = B64.decode(s).ok()?;
    RsaPublicKeyComponents {
        n: &key.n,
        e: &key.e,
    }
    .verify(
        &RSA_PKCS1_2048_8192_SHA256,
        format!("{h}.{p}").as_bytes(),
        &sig,
    )
    .ok()?;
    serde_json::from_slice(&B64.decode(p).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_checks_and_refuses_a_changed_token() {
        let der = generate_rsa_pkcs8().unwrap();
        let key = SigningKey::from_pkcs8("k1", &der).unwrap();
        let token = key.sign(&json!({"sub": "a", "n": 1})).unwrap();
        let keys = [key.verifying()];
        assert_eq!(verified_claims(&token, &keys).unwrap()["sub"], "a");
        let (head, _) = token.rsplit_once('.').unwrap();
        let forged = format!("{head}.{}", B64.encode([0u8; 256]));
        assert!(verified_claims(&forged, &keys).is_none());
        let other = SigningKey::from_pkcs8("k1", &generate_rsa_pkcs8().unwrap()).unwrap();
        assert!(verified_claims(&token, &[other.verifying()]).is_none());
        assert!(verified_claims("a.b", &keys).is_none());
        assert!(verified_claims("junk.junk.junk", &keys).is_none());
        assert_eq!(kid_of(&token).as_deref(), Some("k1"));
        assert_eq!(kid_of("junk.junk.junk"), None);
        let jwk = keys[0].jwk();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["e"], "AQAB");
    }
}
