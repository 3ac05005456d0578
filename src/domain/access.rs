//! Access rules for the sites a reverse proxy puts behind Twofold (forward authentication):
//! which policy a request to `https://host/path?query` meets. Ordered rules, the first that
//! matches wins, and the default policy (deny unless the operator says otherwise) when none
//! does.
//!
//! Owns: the rule vocabulary and the matching, pure and fast (the proxy asks for every
//! request). Must not: read files or sessions — the config layer builds the rules, `auth`
//! applies them to a session.

use std::fmt;

/// What a matching rule asks of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Let it through without a session.
    Bypass,
    /// A logged-in user (password, with the second factor if the account has one).
    OneFactor,
    /// A user whose login used a second factor.
    TwoFactor,
    /// Never.
    Deny,
}

/// A policy name that is not one of the four.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy {0:?}: use bypass, one_factor, two_factor or deny")]
pub struct UnknownPolicy(pub String);

impl Policy {
    /// Reads `bypass`, `one_factor`, `two_factor` or `deny`.
    ///
    /// # Errors
    /// [`UnknownPolicy`] for anything else.
    pub fn parse(s: &str) -> Result<Self, UnknownPolicy> {
        match s {
            "bypass" => Ok(Self::Bypass),
            "one_factor" => Ok(Self::OneFactor),
            "two_factor" => Ok(Self::TwoFactor),
            "deny" => Ok(Self::Deny),
            other => Err(UnknownPolicy(other.to_owned())),
        }
    }

    /// The name as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bypass => "bypass",
            Self::OneFactor => "one_factor",
            Self::TwoFactor => "two_factor",
            Self::Deny => "deny",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A domain pattern: `app.example.com` exactly, or `*.example.com` for any name under
/// `example.com` (not `example.com` itself). Lowercase, without a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainPattern {
    /// This host exactly.
    Exact(String),
    /// Any host ending in `.suffix`.
    Under(String),
}

impl DomainPattern {
    /// Reads `host` or `*.host`.
    ///
    /// # Errors
    /// A message naming the pattern when it is empty, has a port or a wildcard elsewhere.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim().trim_end_matches('.').to_ascii_lowercase();
        let (wild, host) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest.to_owned()),
            None => (false, s.clone()),
        };
        let ok = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !host.starts_with('.')
            && !host.contains("..");
        if !ok {
            return Err(format!(
                "domain {s:?} is not a host name or *.host name (no scheme, port or path)"
            ));
        }
        Ok(if wild {
            Self::Under(host)
        } else {
            Self::Exact(host)
        })
    }

    /// Whether `host` (lowercase, no port) matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            Self::Exact(h) => host == h,
            Self::Under(suffix) => host
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        }
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(h) => f.write_str(h),
            Self::Under(h) => write!(f, "*.{h}"),
        }
    }
}

/// One `[[access_control.rules]]` entry. An empty list means "any".
#[derive(Clone, Debug)]
pub struct AccessRule {
    /// The line of the config file it starts on (for messages), 0 when not from a file.
    pub line: usize,
    /// Hosts it covers; at least one.
    pub domains: Vec<DomainPattern>,
    /// Regexes on the path and query; any one matching is enough.
    pub resources: Vec<regex::Regex>,
    /// Upper-case HTTP methods.
    pub methods: Vec<String>,
    /// Usernames (`user:NAME`), lowercase.
    pub users: Vec<String>,
    /// Groups (`group:NAME`, issue 25): a member of any one matches.
    pub groups: Vec<String>,
    /// What it asks.
    pub policy: Policy,
}

/// The request a proxy asks about.
#[derive(Clone, Debug)]
pub struct AccessTarget {
    /// Lowercase host, without port.
    pub host: String,
    /// Path and query, as sent (`/admin?x=1`).
    pub path_and_query: String,
    /// Upper-case method.
    pub method: String,
}

/// Why a forwarded path cannot be decided on: the protected site might read it otherwise
/// than the rules would.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathRefusal {
    /// `%2F`, `%5C` or `%3B`: an encoded `/`, `\` or `;`.
    #[error("the path holds an encoded /, \\ or ; (%2F, %5C, %3B)")]
    EncodedSeparator,
    /// `%25`: a double encoding.
    #[error("the path holds a double encoding (%25)")]
    DoubleEncoding,
    /// A `%` not followed by two hex digits.
    #[error("the path holds a % that is not followed by two hex digits")]
    BadPercent,
    /// A `;` parameter.
    #[error("the path holds a ; parameter")]
    Parameter,
    /// A backslash.
    #[error("the path holds a backslash")]
    Backslash,
    /// `//` inside the path.
    #[error("the path holds an empty segment (//)")]
    EmptySegment,
    /// A `.` or `..` segment.
    #[error("the path holds a . or .. segment")]
    DotSegment,
    /// Not starting with `/`, or holding a control character, a space or a `#`.
    #[error("the path is not an absolute path of visible characters")]
    NotAPath,
}

/// The one canonical form of a forwarded path, or why there is none (contract v3,
/// "Forward-auth decides on one canonical URL"). Percent-encoded unreserved characters
/// (RFC 3986 §2.3: `%61`, `%2E`) are decoded first, since every server reads them as the
/// character; then anything a server may decode, split or resolve differently from the rules
/// is refused rather than guessed at: an encoded `/`, `\` or `;`, a double encoding, a `;`
/// parameter, a backslash, an empty segment inside the path, a `.` or `..` segment. The
/// path-trick family (Authelia CVE-2021-32637, the Traefik and oauth2-proxy advisories)
/// lives in exactly those differences.
///
/// # Errors
/// [`PathRefusal`] naming what was found.
pub fn canonical_path(raw: &str) -> Result<String, PathRefusal> {
    if !raw.starts_with('/')
        || raw
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ' || b == b'#' || b >= 0x80)
    {
        return Err(PathRefusal::NotAPath);
    }
    let mut out = String::with_capacity(raw.len());
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = raw.get(i + 1..i + 3).ok_or(PathRefusal::BadPercent)?;
            let v = u8::from_str_radix(hex, 16).map_err(|_| PathRefusal::BadPercent)?;
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return Err(PathRefusal::BadPercent);
            }
            match v {
                b'/' | b'\\' | b';' => return Err(PathRefusal::EncodedSeparator),
                b'%' => return Err(PathRefusal::DoubleEncoding),
                v if v.is_ascii_alphanumeric() || b"-._~".contains(&v) => out.push(char::from(v)),
                // Anything else stays encoded, in upper case (RFC 3986 §6.2.2.1).
                _ => {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
            }
            i += 3;
            continue;
        }
        match b {
            b';' => return Err(PathRefusal::Parameter),
            b'\\' => return Err(PathRefusal::Backslash),
            _ => out.push(char::from(b)),
        }
        i += 1;
    }
    let segments: Vec<&str> = out[1..].split('/').collect();
    let last = segments.len() - 1;
    for (n, s) in segments.iter().enumerate() {
        if *s == "." || *s == ".." {
            return Err(PathRefusal::DotSegment);
        }
        // A trailing `/` is fine (`/admin/`), and so is the root `/`.
        if s.is_empty() && n != last {
            return Err(PathRefusal::EmptySegment);
        }
    }
    Ok(out)
}

impl AccessTarget {
    /// The target of a request for `url`: `None` unless it is `http(s)://host/…` without
    /// credentials. The host is lowercase and without a trailing dot; the path must
    /// already be canonical ([`canonical_path`]).
    pub fn from_url(url: &url::Url, method: &str) -> Option<Self> {
        let host = url.host_str()?;
        if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() {
            return None;
        }
        Some(Self {
            host: host.trim_end_matches('.').to_ascii_lowercase(),
            path_and_query: match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            },
            method: method.to_ascii_uppercase(),
        })
    }
}

/// The ordered rules and the default.
#[derive(Clone, Debug)]
pub struct AccessControl {
    /// When no rule matches.
    pub default_policy: Policy,
    /// First match wins.
    pub rules: Vec<AccessRule>,
}

impl Default for AccessControl {
    /// No rules, deny: a proxy pointed at a Twofold nobody configured lets nothing through.
    fn default() -> Self {
        Self {
            default_policy: Policy::Deny,
            rules: Vec::new(),
        }
    }
}

/// Which rule decided, and what it asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The index of the rule in the list, `None` for the default policy.
    pub rule: Option<usize>,
    /// The policy to apply.
    pub policy: Policy,
}

/// The outcome for a request whose user is not known yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnonymousDecision {
    /// Decided without knowing who it is.
    Known(Decision),
    /// A rule with subjects could match once the user is known: log in first.
    NeedsIdentity,
}

impl AccessRule {
    /// Whether everything but the subject matches.
    fn matches_request(&self, t: &AccessTarget) -> bool {
        self.domains.iter().any(|d| d.matches(&t.host))
            && (self.resources.is_empty()
                || self.resources.iter().any(|r| r.is_match(&t.path_and_query)))
            && (self.methods.is_empty() || self.methods.contains(&t.method))
    }

    fn matches_user(&self, user: &str, groups: &[String]) -> bool {
        self.names_nobody()
            || self.users.iter().any(|u| u.eq_ignore_ascii_case(user))
            || self.groups.iter().any(|g| groups.contains(g))
    }

    /// Whether it names no subject (anyone matches).
    fn names_nobody(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty()
    }
}

impl AccessControl {
    /// The policy for a request by `user` (a username) who is in no group.
    pub fn decide(&self, t: &AccessTarget, user: &str) -> Decision {
        self.decide_for(t, user, &[])
    }

    /// The policy for a request by `user`, a member of `groups`.
    pub fn decide_for(&self, t: &AccessTarget, user: &str, groups: &[String]) -> Decision {
        self.rules
            .iter()
            .position(|r| r.matches_request(t) && r.matches_user(user, groups))
            .map_or(
                Decision {
                    rule: None,
                    policy: self.default_policy,
                },
                |i| Decision {
                    rule: Some(i),
                    policy: self.rules[i].policy,
                },
            )
    }

    /// The policy for a request whose user is unknown (no session): rules naming users are
    /// skipped only if they cannot match — one that might means the user must log in first,
    /// so that a rule for `user:alice` cannot be passed by not being anyone.
    pub fn decide_anonymous(&self, t: &AccessTarget) -> AnonymousDecision {
        for (i, r) in self.rules.iter().enumerate() {
            if !r.matches_request(t) {
                continue;
            }
            if !r.names_nobody() {
                return AnonymousDecision::NeedsIdentity;
            }
            return AnonymousDecision::Known(Decision {
                rule: Some(i),
                policy: r.policy,
            });
        }
        AnonymousDecision::Known(Decision {
            rule: None,
            policy: self.default_policy,
        })
    }

    /// Why each rule before the decision did not match and why the deciding one did, for
    /// `twofold access check`: one line per rule looked at.
    pub fn explain(&self, t: &AccessTarget, user: Option<&str>) -> Vec<String> {
        let mut lines = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            let n = i + 1;
            let at = if r.line > 0 {
                format!("rule {n} (line {})", r.line)
            } else {
                format!("rule {n}")
            };
            let domain = r.domains.iter().find(|d| d.matches(&t.host));
            let Some(domain) = domain else {
                lines.push(format!(
                    "{at}: no — the host {} is not in its domains",
                    t.host
                ));
                continue;
            };
            let resource = if r.resources.is_empty() {
                Some("any path".to_owned())
            } else {
                r.resources
                    .iter()
                    .find(|re| re.is_match(&t.path_and_query))
                    .map(|re| format!("resource {:?}", re.as_str()))
            };
            let Some(resource) = resource else {
                lines.push(format!(
                    "{at}: no — {} matches none of its resources",
                    t.path_and_query
                ));
                continue;
            };
            if !(r.methods.is_empty() || r.methods.contains(&t.method)) {
                lines.push(format!("{at}: no — the method {} is not listed", t.method));
                continue;
            }
            let who = match user {
                _ if r.names_nobody() => "anyone".to_owned(),
                Some(u) if r.matches_user(u, &[]) => format!("user:{u}"),
                Some(u) => {
                    lines.push(format!("{at}: no — user:{u} is not among its subjects"));
                    continue;
                }
                None => {
                    lines.push(format!(
                        "{at}: names subjects, so an anonymous visitor is sent to log in first"
                    ));
                    return lines;
                }
            };
            lines.push(format!(
                "{at}: MATCH — domain {domain}, {resource}, {who} → policy {}",
                r.policy
            ));
            return lines;
        }
        lines.push(format!(
            "no rule matched → default_policy {}",
            self.default_policy
        ));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str, path: &str, method: &str) -> AccessTarget {
        AccessTarget {
            host: host.into(),
            path_and_query: path.into(),
            method: method.into(),
        }
    }

    fn rule(domains: &[&str], resources: &[&str], users: &[&str], policy: Policy) -> AccessRule {
        AccessRule {
            line: 0,
            domains: domains
                .iter()
                .map(|d| DomainPattern::parse(d).unwrap())
                .collect(),
            resources: resources
                .iter()
                .map(|r| regex::Regex::new(r).unwrap())
                .collect(),
            methods: Vec::new(),
            users: users.iter().map(|u| u.to_string()).collect(),
            groups: Vec::new(),
            policy,
        }
    }

    #[test]
    fn a_group_subject_matches_its_members_only() {
        let mut staff = rule(&["app.example.com"], &[], &[], Policy::OneFactor);
        staff.groups = vec!["staff".into()];
        let ac = AccessControl {
            default_policy: Policy::Deny,
            rules: vec![staff],
        };
        let t = target("app.example.com", "/", "GET");
        assert_eq!(
            ac.decide_for(&t, "ann", &["staff".into()]).policy,
            Policy::OneFactor
        );
        assert_eq!(
            ac.decide_for(&t, "bob", &["other".into()]).policy,
            Policy::Deny
        );
        assert_eq!(
            ac.decide(&t, "staff").policy,
            Policy::Deny,
            "a user named like the group"
        );
        assert_eq!(ac.decide_anonymous(&t), AnonymousDecision::NeedsIdentity);
    }

    #[test]
    fn wildcards_cover_names_under_the_domain_only() {
        let p = DomainPattern::parse("*.Example.com").unwrap();
        assert!(p.matches("app.example.com"));
        assert!(p.matches("a.b.example.com"));
        assert!(!p.matches("example.com"));
        assert!(!p.matches("badexample.com"));
        assert!(!p.matches(".example.com"));
        let e = DomainPattern::parse("app.example.com").unwrap();
        assert!(e.matches("app.example.com") && !e.matches("x.app.example.com"));
        for bad in [
            "",
            "*.",
            "https://a.example",
            "a.example:443",
            "a/b",
            "*.*.a",
            "a..b",
        ] {
            assert!(DomainPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_first_match_wins_and_the_default_applies_last() {
        let ac = AccessControl {
            default_policy: Policy::Deny,
            rules: vec![
                rule(&["app.example.com"], &["^/public/"], &[], Policy::Bypass),
                rule(
                    &["app.example.com"],
                    &["^/admin"],
                    &["alice"],
                    Policy::TwoFactor,
                ),
                rule(&["app.example.com"], &["^/admin"], &[], Policy::Deny),
                rule(&["*.example.com"], &[], &[], Policy::OneFactor),
            ],
        };
        let t = |p: &str| target("app.example.com", p, "GET");
        assert_eq!(ac.decide(&t("/public/x"), "bob").policy, Policy::Bypass);
        assert_eq!(ac.decide(&t("/admin"), "Alice").policy, Policy::TwoFactor);
        assert_eq!(ac.decide(&t("/admin"), "bob").policy, Policy::Deny);
        assert_eq!(ac.decide(&t("/"), "bob").rule, Some(3));
        let other = target("example.org", "/", "GET");
        assert_eq!(
            ac.decide(&other, "bob"),
            Decision {
                rule: None,
                policy: Policy::Deny
            }
        );
        // Anonymous: a rule naming users that could match means "log in first".
        assert_eq!(
            ac.decide_anonymous(&t("/public/x")),
            AnonymousDecision::Known(Decision {
                rule: Some(0),
                policy: Policy::Bypass
            })
        );
        assert_eq!(
            ac.decide_anonymous(&t("/admin")),
            AnonymousDecision::NeedsIdentity
        );
        let lines = ac.explain(&t("/admin"), Some("bob"));
        assert!(lines[1].contains("user:bob is not among"), "{lines:?}");
        assert!(
            lines[2].contains("MATCH") && lines[2].contains("deny"),
            "{lines:?}"
        );
    }

    #[test]
    fn methods_narrow_a_rule() {
        let mut r = rule(&["app.example.com"], &[], &[], Policy::Bypass);
        r.methods = vec!["GET".into()];
        let ac = AccessControl {
            default_policy: Policy::OneFactor,
            rules: vec![r],
        };
        assert_eq!(
            ac.decide(&target("app.example.com", "/", "GET"), "x")
                .policy,
            Policy::Bypass
        );
        assert_eq!(
            ac.decide(&target("app.example.com", "/", "POST"), "x")
                .policy,
            Policy::OneFactor
        );
    }

    #[test]
    fn canonical_paths_decode_unreserved_and_refuse_the_rest() {
        assert_eq!(canonical_path("/%61dmin").unwrap(), "/admin");
        assert_eq!(canonical_path("/%7Euser/%41").unwrap(), "/~user/A");
        assert_eq!(
            canonical_path("/a%2fb%20c").unwrap_err(),
            PathRefusal::EncodedSeparator
        );
        assert_eq!(canonical_path("/a%20c").unwrap(), "/a%20c");
        assert_eq!(canonical_path("/a%c3%a9").unwrap(), "/a%C3%A9");
        assert_eq!(canonical_path("/admin/").unwrap(), "/admin/");
        assert_eq!(canonical_path("/").unwrap(), "/");
        for (bad, why) in [
            ("/static/..%2Fadmin", PathRefusal::EncodedSeparator),
            ("/static/%2E%2E%2Fadmin", PathRefusal::EncodedSeparator),
            ("/static/%2e%2e/admin", PathRefusal::DotSegment),
            ("/static/..;/admin", PathRefusal::Parameter),
            ("/static/../admin", PathRefusal::DotSegment),
            ("/./admin", PathRefusal::DotSegment),
            ("/static/..", PathRefusal::DotSegment),
            ("//admin", PathRefusal::EmptySegment),
            ("///admin", PathRefusal::EmptySegment),
            ("/static//admin", PathRefusal::EmptySegment),
            ("/static\\..\\admin", PathRefusal::Backslash),
            ("/static%5C..%5Cadmin", PathRefusal::EncodedSeparator),
            ("/static%3b/admin", PathRefusal::EncodedSeparator),
            ("/%252e%252e/admin", PathRefusal::DoubleEncoding),
            ("/a%2", PathRefusal::BadPercent),
            ("/a%zz", PathRefusal::BadPercent),
            ("/a%+1", PathRefusal::BadPercent),
            ("admin", PathRefusal::NotAPath),
            ("/a b", PathRefusal::NotAPath),
            ("/a#b", PathRefusal::NotAPath),
        ] {
            assert_eq!(canonical_path(bad), Err(why), "{bad}");
        }
    }

    #[test]
    fn policies_round_trip() {
        for p in [
            Policy::Bypass,
            Policy::OneFactor,
            Policy::TwoFactor,
            Policy::Deny,
        ] {
            assert_eq!(Policy::parse(p.as_str()), Ok(p));
        }
        assert!(Policy::parse("two-factor").is_err());
    }
}
