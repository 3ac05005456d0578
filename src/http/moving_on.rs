//! The page that moves the browser on by itself (with a link for the rare browser that
//! does not follow it): where an HTTP redirect would end a form's navigation outside this
//! site — after the login form, the consent form, an app's logout. Shared by the pages
//! (`web`) and the OpenID Connect endpoints (`oidc`), so neither names the other for it.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};

use super::error::WebError;

#[derive(Template)]
#[template(path = "oidc_continue.html")]
struct ContinuePage<'a> {
    user: Option<&'a str>,
    csrf: &'a str,
    url: &'a str,
}

/// A page that moves the browser on to `url` by itself (and offers a link): used where an
/// HTTP redirect would end a form's navigation outside this site.
pub(crate) fn continue_page(url: &str) -> Response {
    match (ContinuePage {
        user: None,
        csrf: "",
        url,
    })
    .render()
    {
        Ok(html) => Html(html).into_response(),
        Err(e) => WebError::from(e).into_response(),
    }
}
