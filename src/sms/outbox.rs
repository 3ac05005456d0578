//! The `outbox` provider (development and tests): each message is appended as one JSON line
//! `{"to","body","sent_at"}` to `<data-dir>/sms-outbox.jsonl`.

use std::path::PathBuf;

use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::{SmsError, SmsSender};
use crate::clock::Clock;
use crate::domain::PhoneNumber;

/// Appends messages to a JSON-lines file.
pub struct OutboxSender {
    path: PathBuf,
    clock: std::sync::Arc<dyn Clock>,
    lock: Mutex<()>,
}

impl OutboxSender {
    /// An outbox at `path`.
    pub fn new(path: PathBuf, clock: std::sync::Arc<dyn Clock>) -> Self {
        Self {
            path,
            clock,
            lock: Mutex::new(()),
        }
    }
}

#[async_trait::async_trait]
impl SmsSender for OutboxSender {
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<(), SmsError> {
        let line = serde_json::json!({"to": to.e164(), "body": body, "sent_at": self.clock.now().rfc3339()});
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        let _guard = self.lock.lock().await;
        let mut f = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(|e| SmsError::Unreachable(format!("outbox {}: {e}", self.path.display())))?;
        f.write_all(&bytes)
            .await
            .map_err(|e| SmsError::Unreachable(e.to_string()))?;
        f.flush()
            .await
            .map_err(|e| SmsError::Unreachable(e.to_string()))?;
        Ok(())
    }
}
