//! The request id: one per request, in its log line and in the `X-Request-Id` answer header,
//! so an operator can find the log line of the request a user or an app reports.
//!
//! Owns: where the id comes from. A proxy in `--trusted-proxies` that already set one
//! (nginx's `$request_id`, a load balancer's) is kept when it is a short plain token, so
//! one id follows the request through both logs; anyone else's, or an odd value, is
//! replaced by 16 random bytes in hex (a client must neither write odd text into the logs
//! nor pass its request off under another request's id).
//! Must not: log anything itself (the trace layer in `http/mod.rs` logs the request).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use super::WebSettings;

/// `X-Request-Id`.
pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, put in its extensions for the trace span.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Longest id kept from a proxy.
const MAX_LEN: usize = 64;

/// A trusted proxy's id when it is a plain token of at most 64 characters, else a fresh one.
fn id_for(req: &Request, trusted: &[ipnet::IpNet]) -> String {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_canonical());
    let from_proxy = peer.is_some_and(|ip| trusted.iter().any(|n| n.contains(&ip)));
    req.headers()
        .get(&HEADER)
        .filter(|_| from_proxy)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= MAX_LEN
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map_or_else(
            || hex::encode(crate::domain::random_bytes::<16>()),
            str::to_owned,
        )
}

/// Gives the request its id (in its extensions) and puts it in the answer's headers.
pub async fn assign(State(web): State<Arc<WebSettings>>, mut req: Request, next: Next) -> Response {
    let id = id_for(&req, &web.trusted_proxies);
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER.clone(), v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::id_for;
    use axum::extract::{ConnectInfo, Request};
    use std::net::SocketAddr;

    fn from(peer: &str, v: Option<&str>) -> String {
        let mut b = Request::builder();
        if let Some(v) = v {
            b = b.header("x-request-id", v);
        }
        let mut req = b.body(axum::body::Body::empty()).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(peer.parse().unwrap(), 40000)));
        id_for(&req, &["10.0.0.0/8".parse().unwrap()])
    }

    fn with(v: Option<&str>) -> String {
        from("10.1.2.3", v)
    }

    #[test]
    fn a_trusted_proxys_plain_id_is_kept_and_anything_else_replaced() {
        assert_eq!(with(Some("f3a9c1d2-77.x_y")), "f3a9c1d2-77.x_y");
        let chosen = from("203.0.113.9", Some("f3a9c1d2-77.x_y"));
        assert_ne!(chosen, "f3a9c1d2-77.x_y", "a client cannot choose its id");
        assert_eq!(chosen.len(), 32);
        for odd in [
            "",
            "two words",
            "quote\"in",
            "a=b",
            &"x".repeat(65),
            "tab\there",
        ] {
            let id = with(Some(odd));
            assert_ne!(id, odd);
            assert_eq!(id.len(), 32, "{id}");
        }
        let fresh = with(None);
        assert_eq!(fresh.len(), 32);
        assert!(fresh.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(fresh, with(None));
    }
}
