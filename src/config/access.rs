//! `[access_control]` from the TOML file and `--cookie-domain`: the settings of forward
//! authentication, checked at start so that a mistake stops the server with a message that
//! names the line, instead of letting a request through later.

use serde::Deserialize;

use crate::domain::{AccessControl, AccessRule, DomainPattern, Policy};

/// `[access_control]` in the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileAccess {
    default_policy: Option<toml::Spanned<String>>,
    #[serde(default)]
    rules: Vec<toml::Spanned<FileRule>>,
}

/// One `[[access_control.rules]]`: every key is a string or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRule {
    domain: OneOrMany,
    #[serde(default)]
    resources: OneOrMany,
    #[serde(default)]
    methods: OneOrMany,
    #[serde(default)]
    subject: OneOrMany,
    policy: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(self) -> Vec<String> {
        match self {
            Self::None => Vec::new(),
            Self::One(s) => vec![s],
            Self::Many(v) => v,
        }
    }
}

const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
];

/// The line (1-based) a byte offset of `text` falls on.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |head| head.bytes().filter(|b| *b == b'\n').count())
        + 1
}

impl FileAccess {
    /// The rules, checked: every domain, regex, method, subject and policy parses.
    ///
    /// # Errors
    /// A message naming the rule, its line in `text` and what is wrong.
    pub(super) fn resolve(self, text: &str) -> anyhow::Result<AccessControl> {
        let default_policy = match self.default_policy {
            None => Policy::Deny,
            Some(p) => Policy::parse(p.get_ref()).map_err(|e| {
                anyhow::anyhow!(
                    "access_control.default_policy (line {}): {e}",
                    line_of(text, p.span().start)
                )
            })?,
        };
        let mut rules = Vec::new();
        for (i, spanned) in self.rules.into_iter().enumerate() {
            let line = line_of(text, spanned.span().start);
            let at = format!("access_control.rules[{i}] (line {line})");
            rules.push(rule(spanned.into_inner(), line).map_err(|e| anyhow::anyhow!("{at}: {e}"))?);
        }
        Ok(AccessControl {
            default_policy,
            rules,
        })
    }
}

fn rule(r: FileRule, line: usize) -> Result<AccessRule, String> {
    let domains = r
        .domain
        .items()
        .iter()
        .map(|d| DomainPattern::parse(d))
        .collect::<Result<Vec<_>, _>>()?;
    if domains.is_empty() {
        return Err("domain must name at least one host".into());
    }
    let resources = r
        .resources
        .items()
        .iter()
        .map(|re| {
            regex::Regex::new(re)
                .map_err(|e| format!("resources: {re:?} is not a valid regex: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let methods = r
        .methods
        .items()
        .into_iter()
        .map(|m| {
            let up = m.trim().to_ascii_uppercase();
            if METHODS.contains(&up.as_str()) {
                Ok(up)
            } else {
                Err(format!(
                    "methods: {m:?} is not an HTTP method like GET or POST"
                ))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    for s in r.subject.items() {
        match (s.strip_prefix("user:"), s.strip_prefix("group:")) {
            (Some(u), _) if !u.trim().is_empty() => users.push(u.trim().to_ascii_lowercase()),
            (_, Some(g)) => groups.push(
                crate::domain::GroupName::parse(g)
                    .map_err(|e| format!("subject: {s:?}: {e}"))?
                    .as_str()
                    .to_owned(),
            ),
            _ => {
                return Err(format!(
                    "subject: {s:?} must be written user:NAME or group:NAME"
                ));
            }
        }
    }
    let policy = Policy::parse(&r.policy).map_err(|e| e.to_string())?;
    Ok(AccessRule {
        line,
        domains,
        resources,
        methods,
        users,
        groups,
        policy,
    })
}

/// Checks `--cookie-domain`: a host name with a dot that is not itself a public suffix (a
/// cookie for `co.uk` or `github.io` would go to every site under it), and that covers the
/// public URL's host (a browser drops a cookie whose `Domain` does not match the host that
/// set it). Returns it lowercase.
///
/// # Errors
/// A message saying which of these fails.
pub(super) fn cookie_domain(raw: &str, public_host: Option<&str>) -> anyhow::Result<String> {
    let d = raw.trim().trim_start_matches('.').to_ascii_lowercase();
    let DomainPattern::Exact(d) = DomainPattern::parse(&d).map_err(|_| {
        anyhow::anyhow!("cookie_domain {raw:?} is not a host name like example.com")
    })?
    else {
        anyhow::bail!("cookie_domain {raw:?} is not a host name like example.com (no *.)");
    };
    anyhow::ensure!(
        d.contains('.') && d.parse::<std::net::IpAddr>().is_err(),
        "cookie_domain {raw:?} must be a domain with a dot, like example.com"
    );
    // The whole name being its own public suffix (`com`, `co.uk`, `github.io`) means no
    // single owner: refuse (the list is the `psl` crate's, updated with each release).
    if psl::suffix(d.as_bytes()).is_some_and(|s| s.as_bytes() == d.as_bytes() && s.is_known()) {
        anyhow::bail!(
            "cookie_domain {d:?} is on the Public Suffix List: a cookie for it would reach sites run by others; use your own domain under it, like example.{d}"
        );
    }
    let Some(host) = public_host else {
        anyhow::bail!(
            "cookie_domain needs --public-url too: the login page protected sites send people to, like https://auth.{d}"
        );
    };
    let host = host.to_ascii_lowercase();
    anyhow::ensure!(
        host == d || host.ends_with(&format!(".{d}")),
        "cookie_domain {d:?} must cover the public URL's host {host:?} (use its parent domain)"
    );
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<AccessControl> {
        #[derive(Deserialize)]
        struct F {
            access_control: FileAccess,
        }
        let f: F = toml::from_str(text)?;
        f.access_control.resolve(text)
    }

    #[test]
    fn rules_parse_in_order_with_their_lines() {
        let ac = parse(
            "[access_control]\ndefault_policy = \"one_factor\"\n\n[[access_control.rules]]\ndomain = \"app.example.com\"\nresources = [\"^/admin\"]\nmethods = [\"get\"]\nsubject = [\"user:Alice\"]\npolicy = \"two_factor\"\n\n[[access_control.rules]]\ndomain = [\"*.example.com\"]\npolicy = \"bypass\"\n",
        )
        .unwrap();
        assert_eq!(ac.default_policy, Policy::OneFactor);
        assert_eq!(ac.rules.len(), 2);
        assert_eq!(ac.rules[0].methods, ["GET"]);
        assert_eq!(ac.rules[0].users, ["alice"]);
        assert_eq!(ac.rules[0].policy, Policy::TwoFactor);
        assert_eq!(ac.rules[1].policy, Policy::Bypass);
        assert!(ac.rules[1].line > ac.rules[0].line);
    }

    #[test]
    fn a_bad_rule_is_named_with_its_line() {
        let cases = [
            ("policy = \"two-factor\"", "unknown policy"),
            (
                "policy = \"deny\"\nresources = [\"^/(admin\"]",
                "not a valid regex",
            ),
            (
                "policy = \"deny\"\nmethods = [\"FETCH\"]",
                "not an HTTP method",
            ),
            ("policy = \"deny\"\nsubject = [\"alice\"]", "user:NAME"),
            ("policy = \"deny\"\npath = \"/x\"", "unknown field"),
        ];
        for (body, want) in cases {
            let text = format!(
                "[access_control]\n\n[[access_control.rules]]\ndomain = \"a.example.com\"\n{body}\n"
            );
            let err = format!("{:#}", parse(&text).unwrap_err());
            assert!(err.contains(want), "{body}: {err}");
            assert!(err.contains("line"), "{body}: {err}");
        }
    }

    #[test]
    fn cookie_domains_on_the_public_suffix_list_are_refused() {
        for bad in [
            "com",
            "co.uk",
            "github.io",
            "localhost",
            "127.0.0.1",
            "*.example.com",
        ] {
            assert!(
                cookie_domain(bad, Some("auth.example.com")).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            cookie_domain(".Example.com", Some("auth.example.com")).unwrap(),
            "example.com"
        );
        assert!(cookie_domain("example.com", None).is_err());
        assert!(cookie_domain("example.com", Some("auth.example.org")).is_err());
        assert!(cookie_domain("twofold.test", Some("auth.twofold.test")).is_ok());
    }
}
