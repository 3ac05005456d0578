//! The `twilio` provider: the Twilio Messages API
//! (`POST {base}/2010-04-01/Accounts/{sid}/Messages.json`, form fields `To`, `From`, `Body`,
//! HTTP basic auth with the account SID and auth token). The base URL is configurable so it
//! can be tested against a local server.

use super::{SmsError, SmsSender};
use crate::domain::PhoneNumber;

/// Sends through Twilio.
pub struct TwilioSender {
    client: reqwest::Client,
    base_url: String,
    account_sid: String,
    auth_token: String,
    from: String,
}

impl TwilioSender {
    /// A Twilio sender.
    pub fn new(
        client: reqwest::Client,
        base_url: String,
        account_sid: String,
        auth_token: String,
        from: String,
    ) -> Self {
        Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            account_sid,
            auth_token,
            from,
        }
    }
}

#[async_trait::async_trait]
impl SmsSender for TwilioSender {
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<(), SmsError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url, self.account_sid
        );
        let res = self
            .client
            .post(url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&[
                ("To", to.e164()),
                ("From", self.from.as_str()),
                ("Body", body),
            ])
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
