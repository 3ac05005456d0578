//! `GET /metrics` (Prometheus, OpenMetrics text) and the layers that time every request by
//! the route it matched.
//!
//! Owns: when the gauges are read (at each scrape), who may scrape on the main listener,
//! and which labels a request gets: the router's pattern (`/api/v1/sessions/{id}`), never
//! the raw path, which can carry tokens, and a method from a fixed list (any other is
//! `other`), so no client can make new series.
//! Must not: decide what is counted elsewhere (that is `auth`'s and the senders').

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use crate::metrics::{Format, Metrics};

/// `/metrics` on the main listener: answered only to a scraper on this machine.
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(local_metrics))
}

/// `/metrics` alone, served on its own address (`--metrics-listen`) to whoever reaches it.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// The main listener faces users (often through a proxy): its `/metrics` answers only a
/// loopback peer that no proxy forwarded, and is a plain 404 to anyone else, so login
/// rates and lockouts are not published to the internet by default.
async fn local_metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let forwarded = ["x-forwarded-for", "forwarded", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h));
    if !peer.ip().to_canonical().is_loopback() || forwarded {
        return super::error::ApiError::no_route().into_response();
    }
    metrics(State(state), headers).await
}

/// The Prometheus text format, or OpenMetrics when the scraper's `Accept` asks for it.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let format = Format::from_accept(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    state.auth.observe_gauges().await;
    (
        [(header::CONTENT_TYPE, format.content_type())],
        state.auth.metrics().encode(format),
    )
        .into_response()
}

/// Where the router writes the pattern it matched, for [`time_request`] outside it.
#[derive(Clone, Default)]
pub(super) struct RouteSlot(Arc<OnceLock<String>>);

/// Inside the router (where [`MatchedPath`] is known): notes the route in the slot.
pub(super) async fn note_route(req: Request, next: Next) -> Response {
    if let (Some(slot), Some(path)) = (
        req.extensions().get::<RouteSlot>(),
        req.extensions().get::<MatchedPath>(),
    ) {
        let _ = slot.0.set(path.as_str().to_owned());
    }
    next.run(req).await
}

/// Outside every other layer, so requests cut off by the time limit (408) or a panic (500)
/// are counted too: times the request and counts it by method, route and status.
pub(super) async fn time_request(
    State(metrics): State<Metrics>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let slot = RouteSlot::default();
    req.extensions_mut().insert(slot.clone());
    let res = next.run(req).await;
    let route = slot.0.get().cloned().unwrap_or_else(|| "unmatched".into());
    metrics.request(method, route, res.status().as_u16(), started.elapsed());
    res
}

/// The method as one of a fixed few words: hyper accepts any token as a method, and each
/// new label value would be a new series kept forever.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::method_label;
    use axum::http::Method;

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        let odd = Method::from_bytes(b"FOO1").unwrap();
        assert_eq!(method_label(&odd), "other");
    }
}
