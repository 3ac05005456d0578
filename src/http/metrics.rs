//! `GET /metrics` (Prometheus, OpenMetrics text) and the layer that times every request by
//! the route it matched.
//!
//! Owns: when the gauges are read (at each scrape) and which label a request gets: the
//! router's pattern (`/api/v1/sessions/{id}`), never the raw path, which can carry tokens.
//! Must not: decide what is counted elsewhere (that is `auth`'s and the senders').

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use crate::metrics::Format;

/// `/metrics`, to merge into the main router.
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// `/metrics` alone, served on its own address (`--metrics-listen`).
pub fn router(state: AppState) -> Router {
    routes().with_state(state)
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

/// Times the request and counts it under its method, matched route and status.
pub(super) async fn time_request(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let res = next.run(req).await;
    state.auth.metrics().request(
        method.as_str(),
        &route,
        res.status().as_u16(),
        started.elapsed(),
    );
    res
}
