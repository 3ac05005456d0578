//! The server secret (`secret.key`, 32 random bytes, mode 0600) and the keys derived from it.
//!
//! Every working key comes from HKDF-SHA-256 with its own label, so one leaked derived key
//! says nothing about the others, and the version in the label leaves room for rotation.

use std::fs;
use std::io::Write;
use std::path::Path;

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

const SECRET_LEN: usize = 32;

/// Reads the server secret; `None` when the file does not exist. The file must be readable
/// by its owner only: a key that others on the machine can read is refused, not used.
///
/// # Errors
/// When the file cannot be read, is readable by group or others, or has the wrong length.
pub fn read_secret(path: &Path) -> anyhow::Result<Option<Zeroizing<[u8; SECRET_LEN]>>> {
    use anyhow::Context;
    let bytes = match fs::read(path) {
        Ok(b) => Zeroizing::new(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("reading the secret key file {}", path.display()));
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)?.permissions().mode();
        anyhow::ensure!(
            mode & 0o077 == 0,
            "{} can be read by other users of this machine (mode {:o}); make it private with `chmod 600 {}` and start again",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    let arr: [u8; SECRET_LEN] = bytes.as_slice().try_into().map_err(|_| {
        anyhow::anyhow!(
            "{} should hold exactly {SECRET_LEN} bytes but holds {}; restore it from a backup (a new key could not open the authenticator secrets and backup codes sealed with the old one)",
            path.display(),
            bytes.len()
        )
    })?;
    Ok(Some(Zeroizing::new(arr)))
}

/// Creates a new server secret (mode 0600). Call it only for a database that holds nothing
/// sealed yet; `server::open` decides.
///
/// # Errors
/// When the file exists already or cannot be written.
pub fn create_secret(path: &Path) -> anyhow::Result<Zeroizing<[u8; SECRET_LEN]>> {
    use anyhow::Context;
    let secret: Zeroizing<[u8; SECRET_LEN]> = Zeroizing::new(crate::domain::random_bytes());
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating the secret key file {}", path.display()))?;
    f.write_all(secret.as_slice())?;
    f.sync_all()?;
    tracing::info!(path = %path.display(), "created a new server secret key");
    Ok(secret)
}

/// The working keys, each derived from the server secret with its own label.
#[derive(Clone)]
pub struct Keys {
    csrf: Zeroizing<[u8; 32]>,
    totp_seal: Zeroizing<[u8; 32]>,
    sms_code_mac: Zeroizing<[u8; 32]>,
    backup_code_mac: Zeroizing<[u8; 32]>,
    backup_code_seal: Zeroizing<[u8; 32]>,
    challenge_mac: Zeroizing<[u8; 32]>,
    limits: Zeroizing<[u8; 32]>,
    key_check: Zeroizing<[u8; 32]>,
    oidc_key_seal: Zeroizing<[u8; 32]>,
    user_code_mac: Zeroizing<[u8; 32]>,
}

impl Keys {
    /// Derives every working key from the server secret.
    pub fn derive(secret: &[u8]) -> Self {
        Self {
            csrf: derive_key(secret, b"twofold csrf v1"),
            totp_seal: derive_key(secret, b"twofold totp seal v1"),
            sms_code_mac: derive_key(secret, b"twofold sms-code mac v1"),
            backup_code_mac: derive_key(secret, b"twofold backup-code mac v1"),
            backup_code_seal: derive_key(secret, b"twofold backup-code seal v1"),
            challenge_mac: derive_key(secret, b"twofold challenge mac v1"),
            limits: derive_key(secret, b"twofold limits v1"),
            key_check: derive_key(secret, b"twofold key check v1"),
            oidc_key_seal: derive_key(secret, b"twofold oidc signing-key seal v1"),
            user_code_mac: derive_key(secret, b"twofold device user-code mac v1"),
        }
    }

    /// The AEAD key for TOTP secrets.
    pub fn totp_seal(&self) -> &[u8; 32] {
        &self.totp_seal
    }

    /// The AEAD key for the OpenID Connect signing keys stored in the database.
    pub fn oidc_key_seal(&self) -> &[u8; 32] {
        &self.oidc_key_seal
    }

    /// The AEAD key for viewable backup codes.
    pub fn backup_code_seal(&self) -> &[u8; 32] {
        &self.backup_code_seal
    }

    /// Keyed hash of an SMS code, bound to what it was sent for (a challenge or an enrolment).
    pub fn sms_code_mac(&self, bound_to: &str, code: &str) -> String {
        hex::encode(hmac_sha256(
            self.sms_code_mac.as_slice(),
            format!("{bound_to}\n{code}").as_bytes(),
        ))
    }

    /// Keyed hash of a backup code, bound to its account: one hash and one indexed lookup
    /// check a code whatever the size of the batch.
    pub fn backup_code_mac(&self, account: &str, code: &str) -> String {
        hex::encode(hmac_sha256(
            self.backup_code_mac.as_slice(),
            format!("{account}\n{code}").as_bytes(),
        ))
    }

    /// Keyed hash of a device flow's user code (RFC 8628): 8 letters, so a plain hash in a
    /// copy of the database would be guessed at once.
    pub fn user_code_mac(&self, code: &str) -> String {
        hex::encode(hmac_sha256(self.user_code_mac.as_slice(), code.as_bytes()))
    }

    /// Keyed hash of a login challenge's token (its stored id).
    pub fn challenge_id(&self, token: &str) -> String {
        hex::encode(hmac_sha256(self.challenge_mac.as_slice(), token.as_bytes()))
    }

    /// A keyed hash naming what a limit counts without storing it: a destination phone
    /// number, or a username that has no account (its shadow counter).
    pub fn limit_key(&self, what: &str, value: &str) -> String {
        let mac = hmac_sha256(
            self.limits.as_slice(),
            format!("{what}\n{value}").as_bytes(),
        );
        hex::encode(&mac[..16])
    }

    /// The check value stored in the database: proves at start-up that `secret.key` is the
    /// key this database was sealed with, without revealing anything about it.
    pub fn check_value(&self) -> String {
        hex::encode(hmac_sha256(self.key_check.as_slice(), b"twofold key check"))
    }

    /// HMAC-SHA-256 under the CSRF key, for signed double-submit tokens.
    pub fn csrf_mac(&self, data: &[u8]) -> [u8; 32] {
        hmac_sha256(self.csrf.as_slice(), data)
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(***)")
    }
}

/// HKDF-SHA-256 (RFC 5869) with an empty salt and `label` as the info string.
fn derive_key(secret: &[u8], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let hk = Hkdf::<Sha256>::new(None, secret);
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA-256's 8160-byte limit, so expand cannot fail.
    if hk.expand(label, out.as_mut_slice()).is_err() {
        unreachable!("HKDF output length is fixed and valid");
    }
    out
}

/// HMAC-SHA-256 of `data` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of any length");
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        assert!(read_secret(&path).unwrap().is_none());
        let a = create_secret(&path).unwrap();
        let b = read_secret(&path).unwrap().unwrap();
        assert_eq!(a.as_slice(), b.as_slice());
        assert!(create_secret(&path).is_err(), "never overwritten");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_truncated_secret_is_refused_with_advice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        create_secret(&path).unwrap();
        let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(5).unwrap();
        let err = read_secret(&path).unwrap_err().to_string();
        assert!(err.contains("exactly 32 bytes"), "{err}");
        assert!(err.contains("restore it from a backup"), "{err}");
        assert!(!err.contains("logs everyone out"), "{err}");
    }

    /// Issue 10: a key others can read is refused, not used.
    #[cfg(unix)]
    #[test]
    fn a_secret_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        create_secret(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_secret(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn labels_give_independent_keys() {
        let s = [7u8; 32];
        assert_ne!(
            derive_key(&s, b"a").as_slice(),
            derive_key(&s, b"b").as_slice()
        );
        assert_eq!(
            derive_key(&s, b"a").as_slice(),
            derive_key(&s, b"a").as_slice()
        );
    }

    #[test]
    fn hkdf_matches_rfc5869_test_case_3() {
        // RFC 5869 A.3: IKM = 0x0b * 22, no salt, no info, L = 42; first 32 bytes checked.
        let ikm = [0x0bu8; 22];
        let out = derive_key(&ikm, b"");
        assert_eq!(
            hex::encode(out.as_slice()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
        );
    }
}
