//! The WebAuthn relying party (issue 24): options for the browser or authenticator, and the
//! verification of what comes back, by webauthn-rs-core — every CBOR map, COSE key,
//! signature and attestation statement is parsed and checked there, never here.
//!
//! Why webauthn-rs-core and not its friendly `webauthn-rs` layer: that layer fixes user
//! verification to "required" for passkeys and to "discouraged" for security keys, while
//! `[webauthn] user_verification` chooses, and a login without a password must say whether
//! the user was verified (`amr` `["hwk","user","mfa"]` or `["hwk"]`). The traps the core's
//! documentation warns of are handled here: the state is kept server-side (the database,
//! used once), the credential id is unique across accounts (a unique index), the user
//! handle of a discoverable login must name the credential's owner, and the signature
//! counter is raised by a conditional statement in the login's transaction.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;
use webauthn_rs_core::WebauthnCore;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, AuthenticationState, Credential, PublicKeyCredential,
    RegisterPublicKeyCredential, RegistrationState, ResidentKeyRequirement, UserVerificationPolicy,
};

use super::AuthError;

/// The largest credential (the `credential` field as JSON) looked at: an attestation with
/// its certificate chain fits well within it.
pub const MAX_CREDENTIAL_BYTES: usize = 16 * 1024;

/// How passkeys and security keys are used, from the configuration.
#[derive(Clone, Debug)]
pub struct PasskeyPolicy {
    /// The relying party id: the public URL's host or a registrable suffix of it.
    pub rp_id: String,
    /// The origin browsers report: the public URL (`http://localhost` without one).
    pub origin: url::Url,
    /// Accept the origin on any port (only without a public URL: development).
    pub any_port: bool,
    /// Require user verification (a PIN or biometric) for every passkey; else preferred.
    pub user_verification_required: bool,
    /// Ask authenticators for a signed attestation (`direct`) instead of none.
    pub attestation_direct: bool,
    /// Only these authenticator models (AAGUIDs, lowercase with dashes); empty: any.
    pub allowed_aaguids: Vec<String>,
    /// Never these authenticator models.
    pub denied_aaguids: Vec<String>,
    /// Passkeys one account may have (10).
    pub max_per_account: i64,
    /// A registration or login flow lives this long (5 minutes).
    pub flow_secs: i64,
}

/// What is wrong with a `credential` field, before anything is verified or counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialProblem {
    /// Not a WebAuthn credential in the Level 3 JSON form.
    Malformed,
    /// Larger than [`MAX_CREDENTIAL_BYTES`].
    TooLarge,
}

/// A verified registration, ready to store.
pub(super) struct Registered {
    pub credential: String,
    pub credential_id: String,
    pub aaguid: String,
    pub user_verified: bool,
}

/// How an assertion was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Signed by the passkey for this flow: the counter it signed, and whether the user was
    /// verified.
    Signed { counter: i64, user_verified: bool },
    /// The counter should have grown and did not: a copy of the passkey may exist.
    Cloned,
    /// Anything else (another challenge, origin or relying party, a bad signature, user
    /// verification missing where required).
    Refused,
}

/// The relying party: webauthn-rs-core set up from the [`PasskeyPolicy`].
pub(super) struct RelyingParty {
    core: WebauthnCore,
    policy: PasskeyPolicy,
}

impl RelyingParty {
    pub(super) fn new(policy: PasskeyPolicy) -> Self {
        let core = WebauthnCore::new_unsafe_experts_only(
            &policy.rp_id,
            &policy.rp_id,
            vec![policy.origin.clone()],
            std::time::Duration::from_secs(u64::try_from(policy.flow_secs).unwrap_or(300)),
            Some(false),
            Some(policy.any_port),
        );
        Self { core, policy }
    }

    pub(super) fn policy(&self) -> &PasskeyPolicy {
        &self.policy
    }

    fn user_verification(&self) -> UserVerificationPolicy {
        if self.policy.user_verification_required {
            UserVerificationPolicy::Required
        } else {
            UserVerificationPolicy::Preferred
        }
    }

    /// Options to create a credential for `user` (its handle is the account id: no personal
    /// data), excluding those it has; and the state to keep.
    pub(super) fn registration(
        &self,
        handle: &str,
        username: &str,
        exclude: Vec<Vec<u8>>,
    ) -> Result<(Value, String), AuthError> {
        let attestation = if self.policy.attestation_direct {
            AttestationConveyancePreference::Direct
        } else {
            AttestationConveyancePreference::None
        };
        let builder = self
            .core
            .new_challenge_register_builder(handle.as_bytes(), username, username)
            .map_err(internal)?
            .attestation(attestation)
            .user_verification_policy(self.user_verification())
            .exclude_credentials(Some(exclude))
            .require_resident_key(false);
        let (mut options, state) = self
            .core
            .generate_challenge_register(builder)
            .map_err(internal)?;
        // A discoverable credential where the authenticator can keep one (passkeys, for a
        // login without a username), a server-side one where it cannot (older security
        // keys, as a second factor): "preferred", which the core's builder cannot say.
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Preferred);
        }
        Ok((
            serde_json::to_value(&options.public_key).map_err(internal)?,
            serde_json::to_string(&state).map_err(internal)?,
        ))
    }

    /// Verifies a registration against its flow's state; `None` when it does not verify
    /// (another challenge or origin, a bad attestation, a credential already excluded).
    pub(super) fn verify_registration(
        &self,
        credential: &RegisterPublicKeyCredential,
        state: &str,
    ) -> Result<Option<Registered>, AuthError> {
        let state: RegistrationState = serde_json::from_str(state).map_err(internal)?;
        let verified = match self.core.register_credential(credential, &state, None) {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(error = %e, "a passkey registration did not verify");
                return Ok(None);
            }
        };
        let aaguid = aaguid_of(credential).unwrap_or_else(|| uuid_text(&[0; 16]));
        Ok(Some(Registered {
            credential: serde_json::to_string(&verified).map_err(internal)?,
            credential_id: B64.encode(&verified.cred_id),
            aaguid,
            user_verified: verified.user_verified,
        }))
    }

    /// Whether the configuration lets an authenticator of this model be added.
    pub(super) fn allows(&self, aaguid: &str) -> bool {
        let p = &self.policy;
        (p.allowed_aaguids.is_empty() || p.allowed_aaguids.iter().any(|a| a == aaguid))
            && !p.denied_aaguids.iter().any(|a| a == aaguid)
    }

    /// Options to sign in with one of `credentials` (none: any discoverable passkey of this
    /// relying party), and the state to keep.
    pub(super) fn authentication(
        &self,
        credentials: Vec<Credential>,
    ) -> Result<(Value, String), AuthError> {
        let builder = self
            .core
            .new_challenge_authenticate_builder(credentials, Some(self.user_verification()))
            .map_err(internal)?;
        let (options, state) = self
            .core
            .generate_challenge_authenticate(builder)
            .map_err(internal)?;
        Ok((
            serde_json::to_value(&options.public_key).map_err(internal)?,
            serde_json::to_string(&state).map_err(internal)?,
        ))
    }

    /// Judges an assertion by `credential` (stored, with the counter last accepted) against
    /// the flow's `state`.
    pub(super) fn verify_assertion(
        &self,
        assertion: &PublicKeyCredential,
        state: &str,
        stored: &str,
        counter: i64,
    ) -> Result<Verdict, AuthError> {
        let state: AuthenticationState = serde_json::from_str(state).map_err(internal)?;
        let mut credential: Credential = serde_json::from_str(stored).map_err(internal)?;
        credential.counter = u32::try_from(counter).unwrap_or(u32::MAX);
        Ok(
            match self
                .core
                .authenticate_single_credential(assertion, &state, &credential)
            {
                Ok(r) => Verdict::Signed {
                    counter: i64::from(r.counter()),
                    user_verified: r.user_verified(),
                },
                Err(WebauthnError::CredentialPossibleCompromise) => Verdict::Cloned,
                Err(e) => {
                    tracing::info!(error = %e, "a passkey assertion was refused");
                    Verdict::Refused
                }
            },
        )
    }
}

/// The stored credential's id, to exclude or allow it.
pub(super) fn credential_id_of(stored: &str) -> Result<Vec<u8>, AuthError> {
    let c: Credential = serde_json::from_str(stored).map_err(internal)?;
    Ok(c.cred_id)
}

/// A stored credential with the counter last accepted.
pub(super) fn stored_credential(stored: &str, counter: i64) -> Result<Credential, AuthError> {
    let mut c: Credential = serde_json::from_str(stored).map_err(internal)?;
    c.counter = u32::try_from(counter).unwrap_or(u32::MAX);
    Ok(c)
}

/// Reads the `credential` field of a request as `T` (a registration or an assertion in the
/// WebAuthn Level 3 JSON form), refusing what is too large or not of that form; nothing of
/// it is logged.
///
/// # Errors
/// [`AuthError::InvalidCredential`].
pub(super) fn parse_credential<T: serde::de::DeserializeOwned>(
    credential: &Value,
) -> Result<T, AuthError> {
    let size = serde_json::to_vec(credential).map_or(usize::MAX, |v| v.len());
    if size > MAX_CREDENTIAL_BYTES {
        return Err(AuthError::InvalidCredential(CredentialProblem::TooLarge));
    }
    serde_json::from_value(credential.clone())
        .map_err(|_| AuthError::InvalidCredential(CredentialProblem::Malformed))
}

/// The credential id an assertion names, base64url as stored.
pub(super) fn assertion_id(assertion: &PublicKeyCredential) -> String {
    B64.encode(&assertion.raw_id)
}

/// The AAGUID in a registration's authenticator data (all zeros when the authenticator
/// gives none): the attestation object decoded by serde_cbor_2, its `authData` by
/// webauthn-rs-core's own parser.
fn aaguid_of(credential: &RegisterPublicKeyCredential) -> Option<String> {
    use serde_cbor_2::Value as Cbor;
    let Cbor::Map(object) =
        serde_cbor_2::from_slice(&credential.response.attestation_object).ok()?
    else {
        return None;
    };
    let Some(Cbor::Bytes(auth_data)) = object.get(&Cbor::Text("authData".into())) else {
        return None;
    };
    let data = webauthn_rs_core::internals::AuthenticatorData::<
        webauthn_rs_core::proto::Registration,
    >::try_from(auth_data.as_slice())
    .ok()?;
    data.acd.map(|acd| uuid_text(&acd.aaguid))
}

/// 16 bytes as a UUID's text (`8-4-4-4-12`, lowercase).
pub(crate) fn uuid_text(b: &[u8; 16]) -> String {
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn internal(e: impl std::fmt::Display) -> AuthError {
    AuthError::Internal(anyhow::anyhow!("webauthn: {e}"))
}
