//! The one budget every outgoing text message spends from — codes and notices alike — per
//! account, per destination number, per country calling code and for the whole server, each
//! charged atomically in the database before anything is sent (SMS pumping and bombing,
//! OWASP ASVS 4.0.3 V2.7.x, NIST SP 800-63B §5.2.2). Security notices are also coalesced:
//! at most one per account and kind of change per quarter hour; the login activity has all.

use super::{Auth, AuthError};
use crate::domain::{AccountId, PhoneNumber, UnixTime};
use crate::sms::SmsError;
use crate::store::{Bucket, Spend};

/// How many texts may go out (0 switches a limit off). Windows are fixed: an hour or a day.
#[derive(Clone, Debug)]
pub struct TextBudget {
    /// Texts per account per hour.
    pub per_account_hour: i64,
    /// Texts per account per day.
    pub per_account_day: i64,
    /// Texts per destination number per hour, whichever accounts they are for.
    pub per_number_hour: i64,
    /// Texts per destination number per day.
    pub per_number_day: i64,
    /// Texts per country calling code per hour.
    pub per_country_hour: i64,
    /// Texts for the whole installation per hour.
    pub global_hour: i64,
    /// At most one security notice per account and kind of change this often.
    pub notice_every_secs: i64,
}

impl Default for TextBudget {
    fn default() -> Self {
        Self {
            per_account_hour: 10,
            per_account_day: 30,
            per_number_hour: 10,
            per_number_day: 20,
            per_country_hour: 500,
            global_hour: 2000,
            notice_every_secs: 900,
        }
    }
}

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// What one text was charged: the buckets and when (refunds stay in that window).
#[derive(Clone, Debug)]
pub(crate) struct Charge {
    buckets: Vec<Bucket>,
    at: UnixTime,
}

impl Charge {
    /// What was spent from `buckets` at `at`.
    pub(crate) fn new(buckets: Vec<Bucket>, at: UnixTime) -> Self {
        Self { buckets, at }
    }
}

/// Whether a bucket counts the account's own texts (as opposed to a number's, a country's,
/// the installation's).
fn is_account_bucket(b: &Bucket) -> bool {
    b.key.starts_with("sms:account:")
}

impl Auth {
    /// The buckets one text to `phone` for `account` spends from.
    fn text_buckets(&self, account: &AccountId, phone: &PhoneNumber) -> Vec<Bucket> {
        let b = &self.budget;
        let to = self.keys.limit_key("sms destination", phone.e164());
        let bucket = |key: String, window_secs, limit| Bucket {
            key,
            window_secs,
            limit,
        };
        vec![
            bucket(format!("sms:account:{account}:h"), HOUR, b.per_account_hour),
            bucket(format!("sms:account:{account}:d"), DAY, b.per_account_day),
            bucket(format!("sms:to:{to}:h"), HOUR, b.per_number_hour),
            bucket(format!("sms:to:{to}:d"), DAY, b.per_number_day),
            bucket(
                format!("sms:country:{}:h", phone.country_code()),
                HOUR,
                b.per_country_hour,
            ),
            bucket("sms:all:h".to_owned(), HOUR, b.global_hour),
        ]
    }

    /// Charges one text to `phone` for `account` before it is sent; returns what to refund
    /// if the provider refuses it.
    ///
    /// # Errors
    /// [`AuthError::RateLimited`] with the wait when a budget is spent (nothing charged).
    pub(crate) async fn charge_text(
        &self,
        account: &AccountId,
        phone: &PhoneNumber,
    ) -> Result<Charge, AuthError> {
        let buckets = self.text_buckets(account, phone);
        let at = self.now();
        match self.store.limits().spend(&buckets, at).await? {
            Spend::Spent => Ok(Charge { buckets, at }),
            Spend::Refused { key, retry_after } => {
                tracing::warn!(account = %account, to = %phone.masked(), budget = %key.split(':').take(2).collect::<Vec<_>>().join(":"), "text message budget spent");
                Err(AuthError::RateLimited { retry_after })
            }
        }
    }

    /// Gives a charge back: the text was not sent after all.
    ///
    /// # Errors
    /// On a database failure.
    pub(crate) async fn refund(&self, charge: &Charge) -> Result<(), AuthError> {
        Ok(self
            .store
            .limits()
            .refund(&charge.buckets, charge.at)
            .await?)
    }

    /// Gives back all but the account's own buckets: a phone-number check that found the
    /// number taken sent nothing, and must not let anyone spend that number's budget (its
    /// owner's login codes) or the installation's — only the asking account's.
    ///
    /// # Errors
    /// On a database failure.
    pub(crate) async fn refund_all_but_account(&self, charge: &Charge) -> Result<(), AuthError> {
        let others: Vec<Bucket> = charge
            .buckets
            .iter()
            .filter(|b| !is_account_bucket(b))
            .cloned()
            .collect();
        Ok(self.store.limits().refund(&others, charge.at).await?)
    }

    /// Sends a text already charged with [`Auth::charge_text`]. A text the provider refused
    /// never left and is refunded; one that timed out or whose connection broke may have
    /// left and stays charged.
    pub(crate) async fn send_charged(
        &self,
        charge: &Charge,
        phone: &PhoneNumber,
        body: &str,
        what: &'static str,
    ) -> Result<(), SmsError> {
        let result = self.sms.send(phone, body, what).await;
        if let Err(SmsError::Refused(_)) = &result
            && let Err(db) = self.refund(charge).await
        {
            tracing::warn!(error = %db, "could not refund a text that was not sent");
        }
        result
    }

    /// The number's, the country's and the installation's budgets (not the account's):
    /// what a security notice spends.
    pub(crate) fn notice_text_buckets(
        &self,
        account: &AccountId,
        phone: &PhoneNumber,
    ) -> Vec<Bucket> {
        self.text_buckets(account, phone)
            .into_iter()
            .filter(|b| !is_account_bucket(b))
            .collect()
    }

    /// Charges a sign-up from this client address (at most so many an hour, on every node).
    ///
    /// # Errors
    /// [`AuthError::RateLimited`] when the address has signed up enough for now.
    pub(crate) async fn charge_sign_up(&self, address: &str) -> Result<(), AuthError> {
        let bucket = Bucket {
            key: format!("signup:{address}"),
            window_secs: HOUR,
            limit: self.policy.sign_ups_per_address_hour,
        };
        match self.store.limits().spend(&[bucket], self.now()).await? {
            Spend::Spent => Ok(()),
            Spend::Refused { retry_after, .. } => Err(AuthError::RateLimited { retry_after }),
        }
    }
}
