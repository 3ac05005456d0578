//! The request id: one per request, in its log line and in the `X-Request-Id` answer header,
//! so an operator can find the log line of the request a user or an app reports.
//!
//! Owns: where the id comes from. A proxy in front that already set one (nginx's
//! `$request_id`, a load balancer's) is kept, so one id follows the request through both
//! logs; anything else, or a value that is not a short plain token, is replaced by 16
//! random bytes in hex (a client must not be able to write odd text into the logs).
//! Must not: log anything itself (the trace layer in `http/mod.rs` logs the request).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngExt;

/// `X-Request-Id`.
pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, put in its extensions for the trace span.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Longest id kept from a proxy.
const MAX_LEN: usize = 64;

/// A proxy's id when it is a plain token of at most 64 characters, else a fresh one.
fn id_for(req: &Request) -> String {
    req.headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= MAX_LEN
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map_or_else(
            || hex::encode(crate::domain::os_rng().random::<[u8; 16]>()),
            str::to_owned,
        )
}

/// Gives the request its id (in its extensions) and puts it in the answer's headers.
pub async fn assign(mut req: Request, next: Next) -> Response {
    let id = id_for(&req);
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
    use axum::extract::Request;

    fn with(v: Option<&str>) -> String {
        let mut b = Request::builder();
        if let Some(v) = v {
            b = b.header("x-request-id", v);
        }
        id_for(&b.body(axum::body::Body::empty()).unwrap())
    }

    #[test]
    fn a_proxys_plain_id_is_kept_and_anything_else_replaced() {
        assert_eq!(with(Some("f3a9c1d2-77.x_y")), "f3a9c1d2-77.x_y");
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
