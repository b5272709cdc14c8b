//! What the engine answers: views of payments, refunds and captures, each a record in domain types plus what the
//! caller needs around it (a payment's refunded and captured totals; the ids of the payment a refund or capture
//! belongs to; a retry hint when the outcome is merely not final yet).
//!
//! An outcome that is not final is an answer, not an error: when Alipay's result is still unknown after the bounded
//! retries, the record exists, the reconciler owns it, and the caller gets the PROCESSING view with `retry_after`
//! set. Only when there is nothing to show yet (a duplicate whose original call is still in flight: no row, or a
//! CREATED one) is the engine's answer [`EngineError::Unavailable`].

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use store::captures::Capture;
use store::card_facts::{CardFacts, PaymentCardFacts};
use store::payments::{Payment, PaymentFilter};
use store::refunds::Refund;
use store::{Page, PageRequest, StoreError, Wallet};

use crate::commands::{CaptureCommand, PayCommand, RefundCommand};
use crate::error::EngineError;
use crate::records::{CaptureRecord, PaymentRecord, RefundRecord};
use crate::settle::Tracked;
use crate::{Engine, events};

pub use store::payments::PaymentTotals;

/// A payment with what has been refunded and captured of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentView {
    /// The payment.
    pub payment: PaymentRecord,
    /// Sums of its SUCCESS refunds and captures.
    pub totals: PaymentTotals,
    /// Set when the outcome is not final yet: the reconciler is establishing it; read again after this long.
    pub retry_after: Option<Duration>,
}

/// The ids a caller knows a payment by, carried by the refunds and captures of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIds {
    /// The caller's payment request id.
    pub payment_request_id: String,
    /// Alipay's `paymentId`, once known.
    pub alipay_payment_id: Option<String>,
}

/// A refund with the payment it refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundView {
    /// The refund.
    pub refund: RefundRecord,
    /// The refunded payment.
    pub payment: PaymentIds,
    /// Set when the outcome is not final yet (see [`PaymentView::retry_after`]).
    pub retry_after: Option<Duration>,
}

/// A capture with the payment it captures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureView {
    /// The capture.
    pub capture: CaptureRecord,
    /// The captured payment.
    pub payment: PaymentIds,
    /// Set when the outcome is not final yet (see [`PaymentView::retry_after`]).
    pub retry_after: Option<Duration>,
}

impl PaymentIds {
    fn of(payment: &Payment) -> Self {
        Self {
            payment_request_id: payment.payment_request_id.clone(),
            alipay_payment_id: payment.alipay_payment_id.clone(),
        }
    }
}

impl PaymentView {
    /// The view of `payment` as it was at one of its events: its totals were zero then (refunds and captures only
    /// follow a SUCCESS payment, and SUCCESS is final, so no payment event comes after them).
    pub(crate) fn at_event(payment: &Payment) -> Self {
        Self {
            payment: payment.into(),
            totals: PaymentTotals::default(),
            retry_after: None,
        }
    }
}

impl RefundView {
    pub(crate) fn new(refund: &Refund, payment: &Payment, retry_after: Option<Duration>) -> Self {
        Self {
            refund: refund.into(),
            payment: PaymentIds::of(payment),
            retry_after,
        }
    }
}

impl CaptureView {
    pub(crate) fn new(capture: &Capture, payment: &Payment, retry_after: Option<Duration>) -> Self {
        Self {
            capture: capture.into(),
            payment: PaymentIds::of(payment),
            retry_after,
        }
    }
}

/// `result` as an answer: the row on success; on "outcome pending" the row as it stands (read by `read`) with the
/// engine's retry hint once Alipay has been asked (PROCESSING: the reconciler owns it), or the pending error itself
/// while there is nothing to show yet (no row, or a CREATED row whose original call is still in flight: a retry
/// never sees CREATED).
async fn or_pending<T, F, Fut>(
    result: Result<T, EngineError>,
    read: F,
) -> Result<(T, Option<Duration>), EngineError>
where
    T: Tracked,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Option<T>, StoreError>>,
{
    match result {
        Ok(row) => Ok((row, None)),
        Err(EngineError::Unavailable { retry_after }) => match read().await {
            Ok(Some(row)) if !row.in_flight() => Ok((row, Some(retry_after))),
            _ => Err(EngineError::Unavailable { retry_after }),
        },
        Err(e) => Err(e),
    }
}

impl Engine {
    /// Charges a customer. Answers the payment: SUCCESS; PROCESSING when Alipay accepted it (PAYMENT_IN_PROCESS,
    /// with a `next_action` when the buyer must act); or, when the outcome is unknown after the bounded retries,
    /// the record as it stands with `retry_after` (the reconciler owns it). Errors: `Declined` on Alipay's F
    /// (recorded as FAIL with the code), `Unavailable` while a concurrent original has not recorded anything yet.
    ///
    /// A repeated `payment_request_id` with the same content answers from the store without calling Alipay again
    /// (waiting for an in-flight original); different content is `RequestMismatch`.
    pub async fn pay(&self, cmd: PayCommand) -> Result<PaymentView, EngineError> {
        Ok(self.pay_with_card_facts(cmd).await?.0)
    }

    /// [`Self::pay`], also answering the card facts its view was built from (a card payment's; `None` otherwise), so
    /// AuthorizeCard answers them without reading the payment again.
    pub(crate) async fn pay_with_card_facts(
        &self,
        cmd: PayCommand,
    ) -> Result<(PaymentView, Option<CardFacts>), EngineError> {
        let payments = self.store().payments();
        let id = cmd.payment_request_id.clone();
        let paid = self.pay_row(cmd).await;
        let known = paid.as_ref().ok().and_then(|paid| paid.totals);
        let (payment, retry_after) = or_pending(paid.map(|paid| paid.payment), || {
            payments.get_by_request_id(&id)
        })
        .await?;
        self.view_and_card_facts(&payment, retry_after, known).await
    }

    /// The stored payment.
    pub async fn get_payment(&self, payment_request_id: &str) -> Result<PaymentView, EngineError> {
        let payment = self.stored_payment(payment_request_id).await?;
        self.payment_view(&payment, None).await
    }

    /// Live `inquiryPayment`, whatever the stored status: a PROCESSING payment takes Alipay's final (or newer)
    /// answer; a final payment never moves. An inquiry that learns nothing is `Unreachable` (the stored record is
    /// not a live answer); a CREATED payment is `Unavailable` (its first pay call is in flight).
    pub async fn inquire_payment(
        &self,
        payment_request_id: &str,
    ) -> Result<PaymentView, EngineError> {
        let payment = self.inquire_payment_row(payment_request_id).await?;
        self.payment_view(&payment, None).await
    }

    /// Cancels a payment (retrying while `U`, bounded). S → CANCELLED; F (e.g. CANCEL_WINDOW_EXCEED) → `Declined`
    /// and the payment is left as it is; a SUCCESS or FAIL payment is `IllegalState`.
    pub async fn cancel_payment(
        &self,
        payment_request_id: &str,
    ) -> Result<PaymentView, EngineError> {
        let payment = self.cancel_payment_row(payment_request_id).await?;
        self.payment_view(&payment, None).await
    }

    /// Stored payments matching `filter`, newest first, one page, with their totals and card summaries: at most
    /// three queries whatever the page size (the page, one grouped query for the totals of its payments, one for
    /// the card facts of its card payments).
    pub async fn list_payments(
        &self,
        filter: PaymentFilter,
        page: PageRequest,
    ) -> Result<Page<PaymentView>, EngineError> {
        let payments = self.store().payments();
        let page = payments.list(&filter, &page).await?;
        let ids: Vec<&str> = page.items.iter().map(|p| p.id.as_str()).collect();
        let mut totals = payments.totals(&ids).await?;
        let cards = self.card_facts_of(&page.items).await?;
        let items = page
            .items
            .iter()
            .map(|p| PaymentView {
                payment: PaymentRecord::with_card_facts(p, cards.get(&p.id)),
                totals: totals.remove(&p.id).unwrap_or_default(),
                retry_after: None,
            })
            .collect();
        Ok(Page {
            items,
            next_page_token: page.next_page_token,
        })
    }

    /// Refunds (part of) a successful payment. Idempotent per `refund_request_id` (same content → the recorded
    /// refund; different → `RequestMismatch`). Checks locally first that the payment is SUCCESS and that the refund
    /// fits in what is not yet refunded (`IllegalState`, without calling Alipay). An outcome still unknown after
    /// the bounded retries is the PROCESSING refund with `retry_after`.
    pub async fn refund(&self, cmd: RefundCommand) -> Result<RefundView, EngineError> {
        let refunds = self.store().refunds();
        let id = cmd.refund_request_id.clone();
        let (refund, retry_after) = or_pending(self.refund_row(cmd).await, || {
            refunds.get_by_request_id(&id)
        })
        .await?;
        let payment = self.payment_of(&refund).await?;
        Ok(RefundView::new(&refund, &payment, retry_after))
    }

    /// Live `inquiryRefund` of a PROCESSING refund (a final refund is answered from the store).
    pub async fn inquire_refund(&self, refund_request_id: &str) -> Result<RefundView, EngineError> {
        let refund = self.inquire_refund_row(refund_request_id).await?;
        let payment = self.payment_of(&refund).await?;
        Ok(RefundView::new(&refund, &payment, None))
    }

    /// Captures (part of) an authorized payment. Idempotent per `capture_request_id`. An outcome still unknown
    /// after the bounded retries is the PROCESSING capture with `retry_after`.
    pub async fn capture(&self, cmd: CaptureCommand) -> Result<CaptureView, EngineError> {
        let captures = self.store().captures();
        let id = cmd.capture_request_id.clone();
        let (capture, retry_after) = or_pending(self.capture_row(cmd).await, || {
            captures.get_by_request_id(&id)
        })
        .await?;
        let payment = self.payment_of(&capture).await?;
        Ok(CaptureView::new(&capture, &payment, retry_after))
    }

    /// The view of one payment (one grouped totals query, and the card facts of a card payment).
    async fn payment_view(
        &self,
        payment: &Payment,
        retry_after: Option<Duration>,
    ) -> Result<PaymentView, EngineError> {
        Ok(self
            .view_and_card_facts(payment, retry_after, None)
            .await?
            .0)
    }

    /// [`Self::payment_view`] and the card facts it was built from, reading the totals only when they are not
    /// `known`.
    pub(crate) async fn view_and_card_facts(
        &self,
        payment: &Payment,
        retry_after: Option<Duration>,
        known: Option<PaymentTotals>,
    ) -> Result<(PaymentView, Option<CardFacts>), EngineError> {
        let facts = self
            .card_facts_of(std::slice::from_ref(payment))
            .await?
            .remove(&payment.id);
        let totals = match known {
            Some(totals) => totals,
            None => self.totals_of(payment).await?,
        };
        let view = PaymentView {
            payment: PaymentRecord::with_card_facts(payment, facts.as_ref()),
            totals,
            retry_after,
        };
        Ok((view, facts))
    }

    /// The card facts of the card payments among `payments`, by payment id: one query, none without a card payment.
    async fn card_facts_of(
        &self,
        payments: &[Payment],
    ) -> Result<HashMap<String, CardFacts>, EngineError> {
        let ids: Vec<&str> = payments
            .iter()
            .filter(|p| p.payment_method_type == Wallet::Card)
            .map(|p| p.id.as_str())
            .collect();
        Ok(PaymentCardFacts::new(self.store()).get_many(&ids).await?)
    }

    /// What has been refunded and captured of `payment`.
    pub(crate) async fn totals_of(&self, payment: &Payment) -> Result<PaymentTotals, EngineError> {
        let mut totals = self.store().payments().totals(&[&payment.id]).await?;
        Ok(totals.remove(&payment.id).unwrap_or_default())
    }
}

/// A committed event as the engine answers it: the subject as it was at the event.
pub(crate) fn event(e: store::events::PaymentEvent) -> events::PaymentEvent {
    use store::events::EventSubject as Stored;
    let subject = match &e.subject {
        Stored::Payment { payment } => {
            events::EventSubject::Payment(Box::new(PaymentView::at_event(payment)))
        }
        Stored::Refund { refund, payment } => {
            events::EventSubject::Refund(RefundView::new(refund, payment, None))
        }
        Stored::Capture { capture, payment } => {
            events::EventSubject::Capture(CaptureView::new(capture, payment, None))
        }
    };
    events::PaymentEvent {
        seq: e.seq,
        event_id: e.event_id,
        cursor: e.cursor,
        at: e.at,
        payment_request_id: e.payment_request_id,
        subject,
    }
}
