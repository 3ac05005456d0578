//! Authenticated encryption for secrets the server must read back (TOTP secrets, viewable
//! backup codes): AES-256-GCM, a fresh random 96-bit nonce per message, and the ids the
//! plaintext belongs to as associated data, so a row copied onto another account or batch
//! fails to open. Stored as base64(nonce ‖ ciphertext ‖ tag).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use zeroize::Zeroizing;

/// A stored value could not be opened: wrong key, wrong owner, or tampered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a sealed value could not be opened (wrong key or owner, or corrupted)")]
pub struct SealError;

/// Encrypts `plaintext` under `key`, bound to `aad`.
pub fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> String {
    let Ok(cipher) = Aes256Gcm::new_from_slice(key) else {
        unreachable!("the key is 32 bytes")
    };
    let nonce_bytes: [u8; 12] = crate::domain::random_bytes();
    let nonce = Nonce::from(nonce_bytes);
    let Ok(ct) = cipher.encrypt(
        &nonce,
        Payload {
            msg: plaintext,
            aad,
        },
    ) else {
        unreachable!("AES-GCM encryption of a short message cannot fail")
    };
    let mut out = Vec::with_capacity(12 + ct.len());
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&ct);
    STANDARD_NO_PAD.encode(out)
}

/// Decrypts a value made by [`seal`] with the same key and `aad`.
///
/// # Errors
/// [`SealError`] when the key or `aad` differ or the value was altered.
pub fn open(key: &[u8; 32], aad: &[u8], sealed: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let raw = STANDARD_NO_PAD.decode(sealed).map_err(|_| SealError)?;
    if raw.len() < 12 + 16 {
        return Err(SealError);
    }
    let (nonce_bytes, ct) = raw.split_at(12);
    let nonce_arr: [u8; 12] = nonce_bytes.try_into().map_err(|_| SealError)?;
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| SealError)?;
    cipher
        .decrypt(&Nonce::from(nonce_arr), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| SealError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let key = [9u8; 32];
        let sealed = seal(&key, b"acc_1", b"top secret");
        assert_eq!(
            open(&key, b"acc_1", &sealed).unwrap().as_slice(),
            b"top secret"
        );
        assert_eq!(
            open(&key, b"acc_2", &sealed),
            Err(SealError),
            "another owner cannot open it"
        );
        assert_eq!(
            open(&[8u8; 32], b"acc_1", &sealed),
            Err(SealError),
            "another key cannot open it"
        );
        assert_ne!(
            seal(&key, b"acc_1", b"top secret"),
            sealed,
            "fresh nonce each time"
        );
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            open(&key, b"acc_1", std::str::from_utf8(&tampered).unwrap()),
            Err(SealError)
        );
        assert_eq!(open(&key, b"acc_1", "short"), Err(SealError));
    }
}
