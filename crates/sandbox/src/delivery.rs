//! Notification delivery, as Alipay does it: POST the JSON body to the merchant's notify URL, signed with the
//! sandbox's key over `POST <path of the URL>\n<client-id>.<request-time>.<exact body bytes>`; only HTTP 200 with
//! the fixed acknowledgement counts; anything else is redelivered on Alipay's schedule (scaled, on the sandbox
//! clock) unless redelivery is switched off.
//!
//! API handlers only record a delivery and put its id on a bounded queue; a background task sends, so an answer
//! never waits for a merchant's server. Every attempt is kept for `GET /sandbox/notifications`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rsa::RsaPrivateKey;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc, watch};

use crate::clock::Clock;
use crate::error::SandboxError;
use crate::shutdown::stopped;
use crate::signature;
use crate::state::iso;

/// Alipay's redelivery schedule: the wait before attempt 1, 2, … 8, each counted from the previous attempt.
pub(crate) const SCHEDULE: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_secs(2 * 60),
    Duration::from_secs(10 * 60),
    Duration::from_secs(10 * 60),
    Duration::from_secs(3600),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(15 * 3600),
];
/// Deliveries waiting for the sender; beyond this a new notification is recorded as DROPPED.
const QUEUE_CAPACITY: usize = 1024;
/// Attempts in flight at once (each may wait for the full timeout of a slow merchant).
const CONCURRENCY: usize = 16;
/// A merchant that has not answered by then has not acknowledged.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Which notification API a delivery is (listed as `notifyPayment`, `notifyCapture`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum Kind {
    #[serde(rename = "notifyPayment")]
    Payment,
    #[serde(rename = "notifyCapture")]
    Capture,
    #[serde(rename = "notifyRefund")]
    Refund,
    #[serde(rename = "notifyAuthorization")]
    Authorization,
}

/// A notification to deliver.
#[derive(Debug, Clone)]
pub(crate) struct Notice {
    pub kind: Kind,
    /// The merchant's client id (the `client-id` header).
    pub client_id: String,
    pub url: String,
    pub body: Value,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum Status {
    /// Not acknowledged yet; another scheduled attempt will come.
    Pending,
    /// Acknowledged.
    Delivered,
    /// Not acknowledged and no attempt left (all 8 used, or redelivery is off).
    Failed,
    /// Never sent: the queue was full.
    Dropped,
}

/// How `POST /sandbox/notifications/{id}/resend?tamper=…` breaks a resend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Tamper {
    /// One byte of the body changes after signing.
    Body,
    /// The signature is computed over other content (well-formed, never verifies).
    Signature,
}

/// One POST to the merchant.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Attempt {
    /// Sandbox time the attempt was sent (ISO-8601 UTC, to the microsecond, so a scaled schedule is visible).
    pub time: String,
    /// True for `resend`s, false for the schedule's attempts.
    pub resend: bool,
    pub tamper: Option<Tamper>,
    /// The HTTP status, when the merchant answered.
    pub status_code: Option<u16>,
    /// Whether the answer was the exact acknowledgement.
    pub ack: bool,
    /// Why no answer was read (connection refused, timeout, ...).
    pub error: Option<String>,
    #[serde(skip)]
    at: DateTime<Utc>,
}

/// A notification and its attempts, as listed by `GET /sandbox/notifications`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Delivery {
    pub id: u64,
    pub kind: Kind,
    pub url: String,
    pub client_id: String,
    pub created_at: String,
    pub status: Status,
    /// When the next scheduled attempt is due (sandbox time), while PENDING.
    pub next_attempt_at: Option<String>,
    pub body: Value,
    pub attempts: Vec<Attempt>,
    /// The exact bytes sent (every attempt sends the same bytes).
    #[serde(skip)]
    raw: Arc<[u8]>,
    /// The path of `url`: the signed path.
    #[serde(skip)]
    path: String,
}

impl Delivery {
    fn scheduled_attempts(&self) -> usize {
        self.attempts.iter().filter(|a| !a.resend).count()
    }
}

/// The notification settings, copied out of the configuration.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub default_url: Option<String>,
    pub time_scale: f64,
    pub redelivery: bool,
    pub agreement_payments: bool,
}

#[derive(Debug, Default)]
struct Deliveries {
    last_id: u64,
    by_id: BTreeMap<u64, Delivery>,
}

/// Records, queues and sends notifications.
pub(crate) struct Notifier {
    pub settings: Settings,
    key: RsaPrivateKey,
    clock: Clock,
    http: reqwest::Client,
    deliveries: Mutex<Deliveries>,
    queue: mpsc::Sender<u64>,
    shutdown: watch::Receiver<bool>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// What an attempt needs, copied out so the lock is not held across the send.
struct Target {
    url: String,
    path: String,
    client_id: String,
    raw: Arc<[u8]>,
}

impl Notifier {
    /// Checks the settings and starts the background sender (it stops when `shutdown` turns true).
    pub fn start(
        settings: Settings,
        key: RsaPrivateKey,
        clock: Clock,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Arc<Self>, SandboxError> {
        if let Some(url) = &settings.default_url
            && !is_http_url(url)
        {
            return Err(SandboxError::NotifyUrl(url.clone()));
        }
        if !settings.time_scale.is_finite() || settings.time_scale < 0.0 {
            return Err(SandboxError::NotifyTimeScale(settings.time_scale));
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SandboxError::HttpClient(e.to_string()))?;
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let notifier = Arc::new(Self {
            settings,
            key,
            clock,
            http,
            deliveries: Mutex::new(Deliveries::default()),
            queue,
            shutdown,
        });
        tokio::spawn(notifier.clone().dispatch(receiver));
        Ok(notifier)
    }

    fn deliveries(&self) -> MutexGuard<'_, Deliveries> {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The URL a notification goes to: the one the API call carried, else the configured default.
    pub fn url_for(&self, requested: Option<&str>) -> Option<String> {
        requested
            .map(str::to_owned)
            .or_else(|| self.settings.default_url.clone())
    }

    /// Records a notification and queues its first attempt; returns its id. Never waits.
    pub fn enqueue(&self, notice: Notice) -> Option<u64> {
        let Some(path) = url::Url::parse(&notice.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(|u| u.path().to_owned())
        else {
            tracing::warn!(kind = ?notice.kind, "notification not sent: the notify URL is not absolute http(s)");
            return None;
        };
        let now = self.clock.now();
        let raw: Arc<[u8]> = notice.body.to_string().into_bytes().into();
        let id = {
            let mut deliveries = self.deliveries();
            deliveries.last_id += 1;
            let id = deliveries.last_id;
            deliveries.by_id.insert(
                id,
                Delivery {
                    id,
                    kind: notice.kind,
                    url: notice.url,
                    client_id: notice.client_id,
                    created_at: iso(now),
                    status: Status::Pending,
                    next_attempt_at: Some(precise(now)),
                    body: notice.body,
                    attempts: Vec::new(),
                    raw,
                    path,
                },
            );
            id
        };
        tracing::debug!(id, kind = ?notice.kind, "notification queued");
        if self.queue.try_send(id).is_err() {
            tracing::warn!(id, "notification queue full: notification dropped");
            if let Some(d) = self.deliveries().by_id.get_mut(&id) {
                d.status = Status::Dropped;
                d.next_attempt_at = None;
            }
        }
        Some(id)
    }

    /// Every delivery, oldest first.
    pub fn list(&self) -> Vec<Delivery> {
        self.deliveries().by_id.values().cloned().collect()
    }

    /// Sends a delivery once more, now, outside the schedule. A tampered resend is recorded but never changes
    /// the delivery's status; an untampered one that is acknowledged marks it DELIVERED (ending redelivery).
    /// `None` for an unknown id.
    pub async fn resend(&self, id: u64, tamper: Option<Tamper>) -> Option<Attempt> {
        let target = self.target(id, false)?;
        let attempt = self.send(&target, tamper, true).await;
        let mut deliveries = self.deliveries();
        let delivery = deliveries.by_id.get_mut(&id)?;
        if tamper.is_none() && attempt.ack {
            delivery.status = Status::Delivered;
            delivery.next_attempt_at = None;
        }
        delivery.attempts.push(attempt.clone());
        Some(attempt)
    }

    /// The target of a delivery; with `pending_only`, only while it still awaits a scheduled attempt.
    fn target(&self, id: u64, pending_only: bool) -> Option<Target> {
        let deliveries = self.deliveries();
        let d = deliveries.by_id.get(&id)?;
        if pending_only && d.status != Status::Pending {
            return None;
        }
        Some(Target {
            url: d.url.clone(),
            path: d.path.clone(),
            client_id: d.client_id.clone(),
            raw: d.raw.clone(),
        })
    }

    /// Takes queued ids and sends them, at most [`CONCURRENCY`] at a time, until shutdown.
    async fn dispatch(self: Arc<Self>, mut queue: mpsc::Receiver<u64>) {
        let slots = Arc::new(Semaphore::new(CONCURRENCY));
        let mut stop = self.shutdown.clone();
        loop {
            let id = tokio::select! {
                () = stopped(&mut stop) => return,
                id = queue.recv() => match id {
                    Some(id) => id,
                    None => return,
                },
            };
            let slot = tokio::select! {
                () = stopped(&mut stop) => return,
                slot = slots.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => return,
                },
            };
            let notifier = self.clone();
            tokio::spawn(async move {
                let mut stop = notifier.shutdown.clone();
                tokio::select! {
                    () = stopped(&mut stop) => {}
                    () = notifier.scheduled_attempt(id) => {}
                }
                drop(slot);
            });
        }
    }

    /// One attempt of the schedule; on a miss, books the next one (or gives up).
    async fn scheduled_attempt(self: &Arc<Self>, id: u64) {
        let Some(target) = self.target(id, true) else {
            return;
        };
        let attempt = self.send(&target, None, false).await;
        let next = {
            let mut deliveries = self.deliveries();
            let Some(delivery) = deliveries.by_id.get_mut(&id) else {
                return;
            };
            let at = attempt.at;
            let ack = attempt.ack;
            delivery.attempts.push(attempt);
            if delivery.status != Status::Pending {
                // A resend was acknowledged meanwhile.
                None
            } else if ack {
                delivery.status = Status::Delivered;
                delivery.next_attempt_at = None;
                None
            } else {
                let made = delivery.scheduled_attempts();
                match SCHEDULE.get(made).filter(|_| self.settings.redelivery) {
                    Some(wait) => {
                        let due = at + self.scaled(*wait);
                        delivery.next_attempt_at = Some(precise(due));
                        Some(due)
                    }
                    None => {
                        delivery.status = Status::Failed;
                        delivery.next_attempt_at = None;
                        None
                    }
                }
            }
        };
        if let Some(due) = next {
            let notifier = self.clone();
            tokio::spawn(async move {
                let mut stop = notifier.shutdown.clone();
                tokio::select! {
                    () = stopped(&mut stop) => {}
                    () = notifier.clock.sleep_until(due) => {
                        if notifier.queue.send(id).await.is_err() {
                            tracing::debug!(id, "redelivery abandoned: the sandbox is stopping");
                        }
                    }
                }
            });
        }
    }

    /// A schedule interval multiplied by the time scale.
    fn scaled(&self, wait: Duration) -> chrono::Duration {
        Duration::try_from_secs_f64(wait.as_secs_f64() * self.settings.time_scale)
            .ok()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .unwrap_or(chrono::Duration::MAX)
    }

    /// Signs and POSTs the delivery's bytes once (freshly signed with the current sandbox time).
    async fn send(&self, target: &Target, tamper: Option<Tamper>, resend: bool) -> Attempt {
        let at = self.clock.now();
        let request_time = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let mut content = signature::content(
            "POST",
            &target.path,
            &target.client_id,
            &request_time,
            &target.raw,
        );
        if tamper == Some(Tamper::Signature) {
            // A well-formed signature over different bytes: it parses, and never verifies.
            content.extend_from_slice(b"#tampered");
        }
        let signature = signature::header_value(1, &signature::sign(&self.key, &content));
        let mut body = target.raw.to_vec();
        if tamper == Some(Tamper::Body) {
            flip_byte(&mut body);
        }
        let result = self
            .http
            .post(&target.url)
            .header("content-type", "application/json; charset=UTF-8")
            .header("client-id", &target.client_id)
            .header("request-time", &request_time)
            .header("signature", signature)
            .body(body)
            .send()
            .await;
        let (status_code, ack, error) = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(answer) => (Some(status), status == 200 && is_ack(&answer), None),
                    Err(e) => (Some(status), false, Some(e.to_string())),
                }
            }
            Err(e) => (None, false, Some(e.to_string())),
        };
        Attempt {
            time: precise(at),
            resend,
            tamper,
            status_code,
            ack,
            error,
            at,
        }
    }
}

/// Attempt times to the microsecond (`iso` stops at the second, as Alipay's API fields do).
fn precise(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn is_http_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// The one answer that counts as delivered, compared as JSON (whitespace and key order do not matter; any other
/// field, code or message does).
fn is_ack(answer: &[u8]) -> bool {
    serde_json::from_slice::<Value>(answer).is_ok_and(|v| {
        v == json!({"result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success"}})
    })
}

/// Changes one byte after signing: the case of the first letter of the first key, so the body stays valid JSON
/// (a receiver must reject it for its signature, not for its syntax).
fn flip_byte(body: &mut [u8]) {
    if let Some(b) = body
        .iter_mut()
        .skip_while(|b| **b != b'"')
        .find(|b| b.is_ascii_alphabetic())
    {
        *b ^= 0x20;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_acknowledgement_counts() {
        assert!(is_ack(
            br#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#
        ));
        assert!(is_ack(
            b"{ \"result\" : {\"resultStatus\":\"S\",\n \"resultMessage\":\"success\",\"resultCode\":\"SUCCESS\"} }"
        ));
        for wrong in [
            r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S"}}"#,
            r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"Success"}}"#,
            r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success","x":1}}"#,
            r#"{"result":{"resultCode":"PROCESS_FAIL","resultStatus":"F","resultMessage":"failure"}}"#,
            r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"},"ok":true}"#,
            "success",
            "",
        ] {
            assert!(!is_ack(wrong.as_bytes()), "{wrong}");
        }
    }

    #[test]
    fn a_flipped_body_stays_json_and_differs_in_one_byte() {
        let original = br#"{"notifyType":"PAYMENT_RESULT","a":"b"}"#.to_vec();
        let mut body = original.clone();
        flip_byte(&mut body);
        assert_eq!(
            body.iter().zip(&original).filter(|(a, b)| a != b).count(),
            1
        );
        assert!(serde_json::from_slice::<Value>(&body).is_ok());
    }

    #[test]
    fn the_schedule_is_alipays_and_sums_to_about_a_day() {
        let total: Duration = SCHEDULE.iter().sum();
        assert_eq!(SCHEDULE.len(), 8);
        // 2 + 10 + 10 minutes, then 1 + 2 + 6 + 15 hours: "8 times within about 24 h".
        assert_eq!(total, Duration::from_secs(24 * 3600 + 22 * 60));
    }
}
