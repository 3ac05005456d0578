//! The `http` provider: POSTs `{"to","body"}` as JSON with a bearer token to a configured
//! URL — the generic webhook most SMS gateways and self-hosted bridges accept.

use super::{SmsError, SmsSender};
use crate::domain::PhoneNumber;

/// Sends through a JSON webhook.
pub struct HttpSender {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl HttpSender {
    /// A sender posting to `url`, with `Authorization: Bearer <token>` when given.
    pub fn new(client: reqwest::Client, url: String, token: Option<String>) -> Self {
        Self { client, url, token }
    }
}

#[async_trait::async_trait]
impl SmsSender for HttpSender {
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<(), SmsError> {
        let mut req = self
            .client
            .post(&self.url)
            .json(&serde_json::json!({"to": to.e164(), "body": body}));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let res = req
            .send()
            .await
            .map_err(|e| SmsError::Unreachable(e.without_url().to_string()))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(SmsError::Refused(res.status().as_u16()))
        }
    }
}
