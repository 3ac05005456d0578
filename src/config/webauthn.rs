//! `[webauthn]`: passkeys and security keys (issue 24) — the relying party id and origin,
//! user verification, attestation and the authenticator models allowed.

use super::settings::Settings;
use crate::auth::PasskeyPolicy;

/// The passkey settings, checked: the relying party id is `--webauthn-rp-id`, else the public
/// URL's host, else `localhost`; it must be the public URL's host or a registrable domain it
/// is under (WebAuthn §5.1.4: browsers refuse anything else, and a public suffix would let
/// other sites' passkeys in). The origin is the public URL, or `http://localhost` on any
/// port without one (development).
pub(super) fn webauthn_policy(
    s: &Settings,
    public_host: Option<&str>,
) -> anyhow::Result<PasskeyPolicy> {
    let host = public_host.map(str::to_ascii_lowercase);
    let rp_id = match &s.webauthn_rp_id {
        Some(raw) => rp_id(raw, host.as_deref())?,
        None => host.clone().unwrap_or_else(|| "localhost".into()),
    };
    let (origin, any_port) = match &s.public_url {
        Some(u) => (url::Url::parse(u.trim_end_matches('/'))?, false),
        None => (url::Url::parse("http://localhost")?, true),
    };
    let user_verification_required = match s.webauthn_user_verification.as_str() {
        "preferred" => false,
        "required" => true,
        other => {
            anyhow::bail!("webauthn user_verification must be preferred or required, not {other:?}")
        }
    };
    let attestation_direct = match s.webauthn_attestation.as_str() {
        "none" => false,
        "direct" => true,
        other => anyhow::bail!("webauthn attestation must be none or direct, not {other:?}"),
    };
    Ok(PasskeyPolicy {
        rp_id,
        origin,
        any_port,
        user_verification_required,
        attestation_direct,
        allowed_aaguids: aaguids(&s.webauthn_allowed_aaguids, "allowed_aaguids")?,
        denied_aaguids: aaguids(&s.webauthn_denied_aaguids, "denied_aaguids")?,
        max_per_account: 10,
        flow_secs: 300,
    })
}

/// A relying party id given by the operator, checked against the public URL's host.
fn rp_id(raw: &str, host: Option<&str>) -> anyhow::Result<String> {
    let d = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    anyhow::ensure!(
        !d.is_empty() && d.split('.').all(|l| !l.is_empty()),
        "webauthn rp_id {raw:?} is not a host name like example.com"
    );
    if psl::suffix(d.as_bytes()).is_some_and(|s| s.as_bytes() == d.as_bytes() && s.is_known()) {
        anyhow::bail!(
            "webauthn rp_id {d:?} is on the Public Suffix List: passkeys for it would belong to no single site; use your own domain under it"
        );
    }
    match host {
        Some(host) => anyhow::ensure!(
            host == d || host.ends_with(&format!(".{d}")),
            "webauthn rp_id {d:?} must be the public URL's host {host:?} or a domain it is under"
        ),
        None => anyhow::ensure!(
            d == "localhost",
            "webauthn rp_id {d:?} needs --public-url too: browsers bind passkeys to the site's own address"
        ),
    }
    Ok(d)
}

/// AAGUIDs as written (`cb69481e-8ff7-4039-93ec-0a2729a154a8`, any case, dashes optional),
/// in the form Twofold compares: lowercase with dashes.
fn aaguids(items: &[String], key: &str) -> anyhow::Result<Vec<String>> {
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            let hex: String = s.chars().filter(|c| *c != '-').collect();
            anyhow::ensure!(
                hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()),
                "webauthn {key}: {s:?} is not an AAGUID like cb69481e-8ff7-4039-93ec-0a2729a154a8"
            );
            let h = hex.to_ascii_lowercase();
            Ok(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rp_id_is_the_host_or_a_domain_above_it() {
        assert_eq!(
            rp_id("Example.com.", Some("auth.example.com")).unwrap(),
            "example.com"
        );
        assert!(rp_id("auth.example.com", Some("auth.example.com")).is_ok());
        assert!(rp_id("other.com", Some("auth.example.com")).is_err());
        assert!(rp_id("com", Some("auth.example.com")).is_err());
        assert!(rp_id("example.com", None).is_err());
        assert!(rp_id("localhost", None).is_ok());
    }

    #[test]
    fn aaguids_are_compared_in_one_form() {
        assert_eq!(
            aaguids(&["CB69481E8FF7403993EC0A2729A154A8".into()], "x").unwrap(),
            ["cb69481e-8ff7-4039-93ec-0a2729a154a8"]
        );
        assert!(aaguids(&["nope".into()], "x").is_err());
    }
}
