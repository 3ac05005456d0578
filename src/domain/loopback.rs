//! Whether a host named in a URL is this machine's loopback: the one place where Twofold
//! lets a secret travel without TLS (OWASP ASVS 4.0.3 9.2.2: connections to external
//! systems are encrypted; a relay or gateway on the same host is not external).

/// `localhost`, or a loopback IP literal (`127.0.0.0/8`, `::1`, bracketed or not). Decided
/// by the name as written, never by what it resolves to: a name that resolves to loopback
/// today may not tomorrow.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn only_localhost_and_loopback_literals_are_loopback() {
        for yes in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.9.9.9",
            "[::1]",
            "::1",
        ] {
            assert!(is_loopback_host(yes), "{yes}");
        }
        for no in [
            "mail.example.com",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "10.0.0.1",
            "[::2]",
            "",
        ] {
            assert!(!is_loopback_host(no), "{no}");
        }
    }
}
