//! The `outbox` provider (development and tests): each message is appended as one JSON line
//! `{"to","body","sent_at"}` to `<data-dir>/sms-outbox.jsonl`.

use std::path::PathBuf;

use super::{SmsError, SmsSender};
use crate::clock::Clock;
use crate::domain::PhoneNumber;
use crate::outbox::JsonLines;

/// Appends messages to a JSON-lines file.
pub struct OutboxSender {
    file: JsonLines,
    clock: std::sync::Arc<dyn Clock>,
}

impl OutboxSender {
    /// An outbox at `path`.
    pub fn new(path: PathBuf, clock: std::sync::Arc<dyn Clock>) -> Self {
        Self {
            file: JsonLines::new(path),
            clock,
        }
    }
}

#[async_trait::async_trait]
impl SmsSender for OutboxSender {
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<(), SmsError> {
        let line = serde_json::json!({"to": to.e164(), "body": body, "sent_at": self.clock.now().rfc3339()});
        self.file.append(&line).await.map_err(SmsError::Unreachable)
    }
}
