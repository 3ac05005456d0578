//! What an app's registration must be (contract v3), for `twofold client add` and the
//! console's `/admin/apps` alike: a name, redirect URIs a browser cannot be tricked with,
//! post-logout and back-channel logout URIs under the same rule, scopes that include
//! `openid`, PKCE for every public app.
//!
//! Owns: the rules and the typed [`ClientProblem`] naming the field and what is wrong. Must
//! not: word the refusal (`http::error::client_message` does, for the pages and the CLI).

use super::{NewClient, SCOPES};

/// The most URIs of one kind an app may register.
pub const MAX_URIS: usize = 20;

/// Which part of an app's registration a problem is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientField {
    /// The name people see on the consent page.
    Name,
    /// The redirect URIs.
    RedirectUris,
    /// The post-logout redirect URIs.
    PostLogoutRedirectUris,
    /// The back-channel logout URI.
    BackchannelLogoutUri,
    /// The scopes it may receive.
    Scopes,
    /// Sending no PKCE.
    AllowNoPkce,
}

/// What is wrong with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientFault {
    /// Empty, over 100 characters, or holding control characters.
    NameLength,
    /// No redirect URI at all.
    NoRedirectUri,
    /// More than [`MAX_URIS`].
    TooManyUris,
    /// Not a URI: too long, spaces, control characters, a backslash.
    UriUnusable,
    /// Not an absolute URI.
    UriNotAbsolute,
    /// A fragment (`#…`; RFC 6749 §3.1.2).
    UriFragment,
    /// User-info (`…@`).
    UriUserInfo,
    /// A wildcard (`*`).
    UriWildcard,
    /// `http` to a host that is not one of the exact loopback hosts.
    UriPlainHttp,
    /// Neither `https` nor loopback `http`.
    UriScheme,
    /// The scopes leave out `openid`.
    NoOpenid,
    /// A scope that is not a scope name (quotes, backslashes, over 100 bytes).
    ScopeMalformed,
    /// A scope Twofold does not know (the console only: the CLI keeps such names).
    ScopeUnknown,
    /// A public app that would send no PKCE: it would have no proof at all.
    PublicWithoutPkce,
}

/// A refused registration: the field, what is wrong, and the value at fault (shown back as
/// typed, control characters replaced, at most 200 characters; never a secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientProblem {
    /// The field.
    pub field: ClientField,
    /// What is wrong.
    pub fault: ClientFault,
    /// The URI or scope at fault.
    pub value: Option<String>,
}

impl ClientProblem {
    fn new(field: ClientField, fault: ClientFault) -> Self {
        Self {
            field,
            fault,
            value: None,
        }
    }

    fn at(field: ClientField, fault: ClientFault, value: &str) -> Self {
        let mut shown: String = value
            .chars()
            .take(200)
            .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
            .collect();
        if value.chars().count() > 200 {
            shown.push('…');
        }
        Self {
            field,
            fault,
            value: Some(shown),
        }
    }
}

/// Whether `uri` may be registered (contract v3): `https`, or `http` only to the exact
/// loopback hosts `127.0.0.1`, `[::1]` and `localhost` (any port: native apps, RFC 8252
/// §7.3); never user-info, a fragment (RFC 6749 §3.1.2) or a wildcard. Read by the `url`
/// crate as a browser reads it, so `http://localhost:80@evil.example/cb` is a URI with
/// user-info for `evil.example`, and `http://evil.example\.localhost/cb` one for
/// `evil.example`: both refused (ASVS 5.0 10.4.1).
pub(crate) fn acceptable_uri(uri: &str) -> Result<(), ClientFault> {
    if uri.len() > 2000
        || uri
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return Err(ClientFault::UriUnusable);
    }
    let Ok(parsed) = url::Url::parse(uri) else {
        return Err(ClientFault::UriNotAbsolute);
    };
    if parsed.fragment().is_some() || uri.contains('#') {
        return Err(ClientFault::UriFragment);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || uri.contains('@') {
        return Err(ClientFault::UriUserInfo);
    }
    if uri.contains('*') {
        return Err(ClientFault::UriWildcard);
    }
    let host = parsed.host_str().unwrap_or("");
    match parsed.scheme() {
        "https" if !host.is_empty() => Ok(()),
        "http" if ["127.0.0.1", "[::1]", "localhost"].contains(&host) => Ok(()),
        "http" => Err(ClientFault::UriPlainHttp),
        _ => Err(ClientFault::UriScheme),
    }
}

/// A registration that passed: the trimmed name and the scopes, sorted, without repeats.
pub(super) struct Checked {
    pub(super) name: String,
    pub(super) scopes: Vec<String>,
}

/// Checks a registration. `public` is the app's kind (for an edit, the stored one);
/// `registered` the scopes it has now, which an edit may keep even when Twofold does not
/// know them (only with `known_scopes_only`).
pub(super) fn check(
    c: &NewClient,
    public: bool,
    registered: &[String],
) -> Result<Checked, ClientProblem> {
    use ClientFault as F;
    use ClientField as W;
    let name = c.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ClientProblem::new(W::Name, F::NameLength));
    }
    if c.redirect_uris.is_empty() {
        return Err(ClientProblem::new(W::RedirectUris, F::NoRedirectUri));
    }
    // The back-channel logout URI follows the redirect URIs' rule (contract v3).
    for (field, uris) in [
        (W::RedirectUris, c.redirect_uris.as_slice()),
        (
            W::PostLogoutRedirectUris,
            c.post_logout_redirect_uris.as_slice(),
        ),
        (W::BackchannelLogoutUri, c.backchannel_logout_uri.as_slice()),
    ] {
        if uris.len() > MAX_URIS {
            return Err(ClientProblem::new(field, F::TooManyUris));
        }
        for uri in uris {
            acceptable_uri(uri).map_err(|fault| ClientProblem::at(field, fault, uri))?;
        }
    }
    if c.allow_no_pkce && public {
        return Err(ClientProblem::new(W::AllowNoPkce, F::PublicWithoutPkce));
    }
    let mut scopes: Vec<String> = match &c.scopes {
        Some(s) => s.clone(),
        None => super::DEFAULT_CLIENT_SCOPES
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    };
    scopes.sort_unstable();
    scopes.dedup();
    if let Some(bad) = scopes.iter().find(|s| {
        s.len() > 100
            || !s
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    }) {
        return Err(ClientProblem::at(W::Scopes, F::ScopeMalformed, bad));
    }
    // Names Twofold does not know are kept from the CLI (the operator may be ahead of it)
    // and never granted; the console offers only the known ones and those already there.
    if c.known_scopes_only
        && let Some(bad) = scopes
            .iter()
            .find(|s| !SCOPES.contains(&s.as_str()) && !registered.contains(s))
    {
        return Err(ClientProblem::at(W::Scopes, F::ScopeUnknown, bad));
    }
    // At least openid, or the app could log nobody in.
    if !scopes.iter().any(|s| s == "openid") {
        return Err(ClientProblem::new(W::Scopes, F::NoOpenid));
    }
    Ok(Checked {
        name: name.to_owned(),
        scopes,
    })
}

#[cfg(test)]
mod tests {
    use super::{ClientFault, ClientField, NewClient, acceptable_uri, check};

    #[test]
    fn redirect_uris() {
        for ok in [
            "https://app.example.com/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]:9000/cb",
            "http://localhost/cb",
            "http://localhost:51000/cb?x=1",
        ] {
            assert!(acceptable_uri(ok).is_ok(), "{ok}");
        }
        // Issue 21, item 13: look-alikes of a loopback host, and everything else the
        // contract refuses.
        for bad in [
            "http://localhost:80@evil.example/cb",
            "http://127.evil.example/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://evil.example\\.localhost/cb",
            "http://127.0.0.2/cb",
            "http://app.twofold.test:81/cb",
            "http://app.localhost/cb",
            "http://user@127.0.0.1/cb",
            "https://user:pw@app.example.com/cb",
            "https://*.example.com/cb",
            "com.example.app:/cb",
            "http://app.example.com/cb",
            "https://app.example.com/cb#x",
            "/cb",
            "javascript:alert(1)",
        ] {
            assert!(acceptable_uri(bad).is_err(), "{bad}");
        }
    }

    fn app() -> NewClient {
        NewClient {
            name: " Wiki ".into(),
            redirect_uris: vec!["https://wiki.example.com/cb".into()],
            ..NewClient::default()
        }
    }

    #[test]
    fn registrations() {
        let ok = check(&app(), false, &[]).unwrap();
        assert_eq!(ok.name, "Wiki");
        assert_eq!(ok.scopes, ["email", "openid", "phone", "profile"]);
        let problem = |c: &NewClient, public| check(c, public, &[]).err().unwrap();
        let p = problem(
            &NewClient {
                post_logout_redirect_uris: vec!["http://wiki.example.com/\u{7}bye".into()],
                ..app()
            },
            false,
        );
        assert_eq!(p.field, ClientField::PostLogoutRedirectUris);
        assert_eq!(p.fault, ClientFault::UriUnusable);
        assert_eq!(
            p.value.as_deref(),
            Some("http://wiki.example.com/\u{FFFD}bye")
        );
        let p = problem(
            &NewClient {
                allow_no_pkce: true,
                ..app()
            },
            true,
        );
        assert_eq!(p.fault, ClientFault::PublicWithoutPkce);
        let strict = NewClient {
            scopes: Some(vec!["openid".into(), "wallet".into()]),
            known_scopes_only: true,
            ..app()
        };
        assert_eq!(problem(&strict, false).fault, ClientFault::ScopeUnknown);
        // A name it had already is kept by an edit; the CLI keeps any name.
        assert!(check(&strict, false, &["wallet".into()]).is_ok());
        let loose = NewClient {
            known_scopes_only: false,
            ..strict
        };
        assert!(check(&loose, false, &[]).is_ok());
        let p = problem(
            &NewClient {
                scopes: Some(vec!["profile".into()]),
                ..app()
            },
            false,
        );
        assert_eq!(p.fault, ClientFault::NoOpenid);
        let p = problem(
            &NewClient {
                redirect_uris: vec!["https://a.example/cb".into(); 21],
                ..app()
            },
            false,
        );
        assert_eq!(p.fault, ClientFault::TooManyUris);
    }
}
