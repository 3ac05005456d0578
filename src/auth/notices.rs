//! Security notices that always arrive. A change writes its notice into the database's
//! queue in the change's own transaction (`store/notices.rs`); this module delivers it to
//! every channel the account had at that moment — the phone by text, the email address (and
//! an address the change replaced) by email — and records the outcome. A channel that fails
//! is tried again with exponential back-off for two days; one that succeeded is not tried
//! again. The request that made the change delivers its own notices at once; the worker in
//! `server.rs` picks up the rest (a crash, a provider that was down) on every node.
//!
//! Owns: which notice goes where (the words are `domain::EventKind::notice_what`,
//! `domain::notice_when_where`, `sms::notice_message` and `mail::notice_message`), coalescing (one notice
//! per account, kind of change and channel per quarter hour; the activity has all) and
//! the text budget notices spend from. Must not: drop a notice silently.

use crate::domain::{AccountId, Email, EventKind, PhoneNumber, UnixTime, notice_when_where};
use crate::mail::notice_message;
use crate::store::{Bucket, NoticeOutcome, NoticeRecord, Spend};

/// A claimed notice is held this long by its worker before another may take it.
const LEASE_SECS: i64 = 120;
/// The first retry after a failure; each one after waits twice as long, up to an hour.
const FIRST_RETRY_SECS: i64 = 30;
const MAX_RETRY_SECS: i64 = 3600;
/// Past this age a notice is given up (and the failure logged): two days of retries.
const GIVE_UP_SECS: i64 = 2 * 86_400;

/// Every kind that sends a notice, to read a stored kind back.
const NOTICE_KINDS: [EventKind; 19] = [
    EventKind::PasswordChanged,
    EventKind::TwoFactorDisabled,
    EventKind::TwoFactorResetByOperator,
    EventKind::SmsAdded,
    EventKind::SmsRemoved,
    EventKind::TotpAdded,
    EventKind::TotpRemoved,
    EventKind::LoginBackupCode,
    EventKind::BackupCodesRegenerated,
    EventKind::AppAuthorized,
    EventKind::AppRevoked,
    EventKind::EmailAdded,
    EventKind::EmailRemoved,
    EventKind::RecoveryRequested,
    EventKind::RecoveryCompleted,
    EventKind::LoginNewDevice,
    EventKind::AccountDisabled,
    EventKind::AccountEnabled,
    EventKind::LoggedOutByOperator,
];

/// What a channel did with a notice.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// Delivered, coalesced with an earlier one, or nothing to deliver to: done.
    Done,
    /// The provider failed: try again later.
    Failed,
}

/// The words of one notice.
struct Words {
    /// "Your password was changed".
    what: String,
    /// "on 2 Dec 2026, 18:20 UTC from 203.0.113.7 (Firefox on Linux)".
    when_where: String,
}

impl super::Notices<'_> {
    /// Delivers the account's due notices now (after a change, before answering).
    pub(crate) async fn notify(&self, account: &AccountId) {
        self.deliver_notices(Some(account)).await;
    }

    /// Delivers due notices (of one account, or all) until none is left; returns how many
    /// were handled. Database failures are logged: the queue keeps the notice for later.
    pub async fn deliver_notices(&self, account: Option<&AccountId>) -> usize {
        self.deliver_notices_while(account, || true).await
    }

    /// [`deliver_notices`](Self::deliver_notices) that stops before claiming another notice
    /// once `go_on` says no (a server shutting down), so it never stops in the middle of one.
    pub async fn deliver_notices_while(
        &self,
        account: Option<&AccountId>,
        go_on: impl Fn() -> bool,
    ) -> usize {
        let mut handled = 0;
        loop {
            if !go_on() {
                return handled;
            }
            let now = self.now();
            let notice = match self
                .store
                .notices()
                .claim_notice(now, account, LEASE_SECS)
                .await
            {
                Ok(Some(n)) => n,
                Ok(None) => return handled,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the notice queue; it is read again shortly");
                    return handled;
                }
            };
            handled += 1;
            let outcome = self.deliver(&notice, now).await;
            let note = if outcome.finished { "sent" } else { "retrying" };
            self.metrics.notice(
                match (outcome.finished, outcome.sms_done && outcome.email_done) {
                    (true, true) => "sent",
                    (true, false) => "given_up",
                    (false, _) => "retrying",
                },
            );
            if let Err(e) = self
                .store
                .notices()
                .finish_notice(notice.event_id, outcome, now, note)
                .await
            {
                tracing::warn!(error = %e, "could not record a notice's delivery; it may be sent again");
                return handled;
            }
            if handled > 1000 {
                return handled;
            }
        }
    }

    async fn deliver(&self, n: &NoticeRecord, now: UnixTime) -> NoticeOutcome {
        let Some(words) = self.words(n).await else {
            return NoticeOutcome {
                sms_done: true,
                email_done: true,
                finished: true,
                retry_at: now,
            };
        };
        let sms_done = n.sms_done || self.text_notice(n, &words).await == Sent::Done;
        let email_done = n.email_done || self.email_notice(n, &words).await == Sent::Done;
        let finished = (sms_done && email_done) || now.0 - n.at.0 >= GIVE_UP_SECS;
        if finished && !(sms_done && email_done) {
            tracing::error!(account = %n.account_id, kind = %n.kind, "a security notice could not be delivered for two days and was given up; the activity still lists the change");
        }
        let wait = FIRST_RETRY_SECS
            .saturating_mul(1 << n.attempts.clamp(0, 20))
            .min(MAX_RETRY_SECS);
        NoticeOutcome {
            sms_done,
            email_done,
            finished,
            retry_at: UnixTime(now.0 + wait),
        }
    }

    async fn words(&self, n: &NoticeRecord) -> Option<Words> {
        let kind = NOTICE_KINDS.into_iter().find(|k| k.as_str() == n.kind)?;
        let (_, base) = kind.notice()?;
        let codes_left = if kind == EventKind::LoginBackupCode {
            self.store
                .backup_codes()
                .backup_batch(&n.account_id)
                .await
                .ok()
                .flatten()
                .map(|b| b.codes.iter().filter(|c| c.used_at.is_none()).count())
        } else {
            None
        };
        let what = kind.notice_what(base, n.detail.as_deref(), codes_left);
        let when_where = notice_when_where(n.at, n.ip.as_deref(), n.user_agent.as_deref());
        Some(Words { what, when_where })
    }

    /// Where the owner goes to check: the security page of this Twofold, when its address is
    /// known (`--public-url`).
    fn security_page(&self) -> Option<String> {
        self.policy
            .site
            .as_deref()
            .map(|s| format!("{s}/settings/security"))
    }

    async fn text_notice(&self, n: &NoticeRecord, w: &Words) -> Sent {
        let Some(phone) = n
            .phone
            .as_deref()
            .and_then(|p| PhoneNumber::parse(p, None).ok())
        else {
            return Sent::Done;
        };
        // A phone verified for the first time was just proven by its owner with a code: it
        // needs no text about itself (a changed number tells the old one, set at the change).
        if n.kind == EventKind::SmsAdded.as_str() && n.detail.as_deref() != Some("changed") {
            return Sent::Done;
        }
        // Notices spend the number's, the country's and the installation's budgets, not the
        // account's: whoever holds a session must not be able to use up the account's texts
        // (with codes that go nowhere, say) and then turn 2FA off unannounced. Their own
        // bucket, one per kind of change per quarter hour, keeps them from flooding.
        let mut buckets: Vec<Bucket> = self.notice_text_buckets(&n.account_id, &phone);
        buckets.push(Bucket {
            key: format!(
                "notice:{}:{}:{}",
                n.account_id,
                n.kind,
                n.detail.as_deref().unwrap_or("")
            ),
            window_secs: self.budget.notice_every_secs,
            limit: 1,
        });
        let at = self.now();
        match self.store.limits().spend(&buckets, at).await {
            Ok(Spend::Spent) => {
                let body = crate::sms::notice_message(
                    &w.what,
                    &n.username,
                    &w.when_where,
                    self.security_page().as_deref(),
                );
                let charge = super::texts::Charge::new(buckets, at);
                match self.sms.send(&phone, &body, "security notice").await {
                    Ok(()) => Sent::Done,
                    Err(_) => {
                        // Not sent: give the budget back, it is spent again on the retry.
                        if let Err(e) = self.refund(&charge).await {
                            tracing::warn!(error = %e, "could not refund a notice that was not sent");
                        }
                        Sent::Failed
                    }
                }
            }
            Ok(Spend::Refused { key, .. }) if key.starts_with("notice:") => {
                tracing::info!(account = %n.account_id, to = %phone.masked(), "a security notice of the same kind was texted within the quarter hour; this one is in the activity only");
                Sent::Done
            }
            Ok(Spend::Refused { .. }) => {
                tracing::warn!(account = %n.account_id, to = %phone.masked(), "text budget spent: a security notice waits for it");
                Sent::Failed
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not charge a security notice");
                Sent::Failed
            }
        }
    }

    async fn email_notice(&self, n: &NoticeRecord, w: &Words) -> Sent {
        let mut to: Vec<Email> = Vec::new();
        for a in [n.email.as_deref(), n.old_email.as_deref()]
            .into_iter()
            .flatten()
        {
            let e = Email::from_stored(a);
            if !to.iter().any(|t| t.normalized() == e.normalized()) {
                to.push(e);
            }
        }
        if to.is_empty() {
            return Sent::Done;
        }
        // One per account, kind of change and address per quarter hour: a burst of one change
        // mails once, while a change of address still reaches the old one.
        let at = self.now();
        let mut fresh = Vec::new();
        for address in to {
            let key = self.keys.limit_key("notice mail", &address.normalized());
            let bucket = Bucket {
                key: format!(
                    "notice-mail:{}:{}:{}:{key}",
                    n.account_id,
                    n.kind,
                    n.detail.as_deref().unwrap_or("")
                ),
                window_secs: self.budget.notice_every_secs,
                limit: 1,
            };
            match self
                .store
                .limits()
                .spend(std::slice::from_ref(&bucket), at)
                .await
            {
                Ok(Spend::Spent) => fresh.push((address, bucket)),
                Ok(Spend::Refused { .. }) => {} // told within the quarter hour
                Err(e) => {
                    tracing::warn!(error = %e, "could not charge a security notice");
                    return Sent::Failed;
                }
            }
        }
        if fresh.is_empty() {
            return Sent::Done;
        }
        let site = self.policy.site.as_deref().unwrap_or("this Twofold");
        let page = self.security_page();
        let message = notice_message(&w.what, &n.username, &w.when_where, site, page.as_deref());
        let mut failed = false;
        for (address, bucket) in &fresh {
            if self
                .mail
                .send(address, &message, "security notice")
                .await
                .is_err()
            {
                failed = true;
                // Not sent: the retry may spend it again.
                if let Err(e) = self
                    .store
                    .limits()
                    .refund(std::slice::from_ref(bucket), at)
                    .await
                {
                    tracing::warn!(error = %e, "could not refund a notice that was not sent");
                }
            }
        }
        if failed { Sent::Failed } else { Sent::Done }
    }
}
