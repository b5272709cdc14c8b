//! Paying: write-ahead intent, the pay call with bounded same-id retries, and the mapping of Alipay's answer to the
//! stored payment and to the caller's answer. Also the payment read APIs and explicit cancel.

use std::time::Duration;

use alipay::model::{
    CancelRequest, CaptureMode, PayRequest, PayResponse, PaymentFactor, PaymentMethod, ProductCode,
};
use alipay::{Outcome, ResultCode};
use serde_json::{Map, Value};
use store::card_facts::PaymentCardFacts;
use store::jobs::JobKind;
use store::payments::{NewPayment, Payment, PaymentTotals, PaymentUpdate};
use store::{Inserted, NextAction, PaymentStatus, ResultInfo, ResultStatus, Spelled, Transition};
use tracing::Instrument;

use crate::card::{ReportedBy, card_report};
use crate::commands::{PayCommand, PaySource};
use crate::error::EngineError;
use crate::fingerprint::fingerprint;
use crate::inquiry::Verdict;
use crate::recorder::HeldCalls;
use crate::retry::{Attempted, with_retries};
use crate::settle::{Settled, await_original, settle_recording};
use crate::{Engine, after, parse_alipay_time, reasons, validate};

/// What a Pay answers: the payment, and its refund and capture totals when the Pay knows them without reading them.
pub(crate) struct Paid {
    /// The payment as the Pay left it.
    pub(crate) payment: Payment,
    /// Known (zero) when this Pay's own move wrote the payment's status; `None` for a replay or a lost race.
    pub(crate) totals: Option<PaymentTotals>,
}

impl Paid {
    /// A payment answered from the store (a replay): its totals are read with it.
    fn stored(payment: Payment) -> Self {
        Self {
            payment,
            totals: None,
        }
    }
}

/// Whether Alipay routes the payment's inquiry, cancel and refund to the in-store endpoints.
pub(crate) fn in_store(payment: &Payment) -> bool {
    payment.product_code == store::ProductCode::InStorePayment
}

/// The in-process lock key of a payment request id, shared by pay, cancel and the reconciler's payment jobs so they
/// never work on the same payment at once.
pub(crate) fn pay_lock_key(payment_request_id: &str) -> String {
    format!("pay:{payment_request_id}")
}

/// An authorization whose funds move only when captured: what can be refunded is what was captured.
pub(crate) fn is_manual_authorization(payment: &Payment) -> bool {
    payment.is_authorization && payment.capture_mode == Some(store::CaptureMode::Manual)
}

impl Engine {
    /// Charges a customer. Returns the recorded payment: SUCCESS, or PROCESSING when Alipay accepted it
    /// (PAYMENT_IN_PROCESS; with `next_action` — redirect / challenge — when the buyer must act); `Declined` on F (recorded as FAIL with the code); `Unavailable`
    /// when the outcome is unknown after the bounded retries (recorded as PROCESSING, the reconciler owns it).
    ///
    /// A repeated `payment_request_id` with the same content answers from the store without calling Alipay again
    /// (waiting for an in-flight original); different content is `RequestMismatch`.
    pub(crate) async fn pay_row(&self, cmd: PayCommand) -> Result<Paid, EngineError> {
        validate::pay(&cmd)?;
        let span = tracing::info_span!("pay", payment_request_id = %cmd.payment_request_id);
        self.pay_inner(cmd).instrument(span).await
    }

    async fn pay_inner(&self, cmd: PayCommand) -> Result<Paid, EngineError> {
        let print = fingerprint(&cmd);
        let payments = self.store().payments();
        let Some(_guard) = self
            .inner
            .locks
            .lock_within(
                &pay_lock_key(&cmd.payment_request_id),
                self.config().duplicate_wait,
            )
            .await
        else {
            // The original is still running in this process: answer from what it has recorded so far.
            return match payments.get_by_request_id(&cmd.payment_request_id).await? {
                // The wait for the lock used up the duplicate's patience: answer from the row as it stands.
                Some(existing) => self
                    .replay_payment(existing, &print, Duration::ZERO)
                    .await
                    .map(Paid::stored),
                None => Err(self.pending()),
            };
        };
        // An auto debit reads only its binding before the write-ahead insert, whose unique request id finds a
        // replay anyway (`Inserted::Existing` below), and not even that when the binding is known in memory (the
        // insert then checks its version, see `crate::binding_cache`): no read per fresh Pay. Should the binding no
        // longer be usable, a replay still answers from the store. Other sources look for a replay first, so that nothing about the
        // payment method (a stored card, a payment code) is worked on again for a replay.
        // (Boxed: the replay's future stays off this one, whose size every caller's stack frame carries.)
        let looked_up_first = !matches!(cmd.source, PaySource::Agreement { .. });
        if looked_up_first
            && let Some(replayed) =
                Box::pin(self.replay_stored(&cmd.payment_request_id, &print)).await?
        {
            return Ok(Paid::stored(replayed));
        }
        // Once more after a binding known in memory turned out stale, read from the store then.
        let mut may_reread = true;
        let (intent, method, product, binding, merchant_region) = loop {
            let (method, product, binding) = match self
                .payment_method(&cmd.source, cmd.customer_id.as_deref())
                .await
            {
                Ok(resolved) => resolved,
                Err(error) => {
                    if !looked_up_first
                        && let Some(replayed) =
                            Box::pin(self.replay_stored(&cmd.payment_request_id, &print)).await?
                    {
                        return Ok(Paid::stored(replayed));
                    }
                    return Err(error);
                }
            };
            let customer_id = match (&binding, &cmd.customer_id) {
                (Some(binding), Some(customer)) if **customer != binding.customer_id => {
                    return Err(EngineError::invalid(
                        "customer_id",
                        "must be the customer of the binding (or left empty)",
                    ));
                }
                (Some(binding), _) => Some(binding.customer_id.clone()),
                (None, customer) => customer.clone().map(String::from),
            };
            // An auto debit is made in the region its authorization was granted for, unless the caller says
            // otherwise.
            let merchant_region = cmd
                .merchant_region
                .clone()
                .map(String::from)
                .or_else(|| binding.as_ref().and_then(|b| b.merchant_region.clone()));
            let intent = payments
                .insert_intent(
                    NewPayment {
                        payment_request_id: cmd.payment_request_id.to_string(),
                        product_code: stored_product(product),
                        amount_value: cmd.amount.minor_units(),
                        currency: cmd.amount.currency().to_string(),
                        order_reference_id: Some(cmd.order.reference_order_id.clone()),
                        order_description: Some(cmd.order.order_description.clone()),
                        payment_method_type: wallet_of(&method)?,
                        binding_id: binding.as_ref().map(|b| b.id.clone()),
                        binding_version: binding.as_ref().map(|b| b.version),
                        customer_id,
                        request_fingerprint: print.clone(),
                        is_authorization: cmd.is_authorization,
                        capture_mode: cmd.capture_mode.map(stored_capture_mode),
                        metadata: (*cmd.metadata).clone(),
                        merchant_region: merchant_region.clone(),
                        payment_expiry_time: cmd.payment_expiry_time,
                    },
                    // Write-ahead: the poller commits with the payment, before Alipay hears of it. Its first run is
                    // after the longest possible in-flight call, so it never races the call below; if this process
                    // dies, it resolves the payment.
                    after(self.config().write_ahead_grace),
                )
                .await;
            match (intent, &binding) {
                // The binding known in memory is not the stored one any more (refreshed, revoked or expired here or
                // on another replica): nothing was written; read it from the store and decide again, once.
                (Err(error @ store::StoreError::DependencyChanged { .. }), Some(stale)) => {
                    self.forget_binding(stale);
                    if !may_reread {
                        return Err(error.into());
                    }
                    may_reread = false;
                }
                (intent, _) => break (intent?, method, product, binding, merchant_region),
            }
        };
        let payment = match intent {
            Inserted::Created(p) => p,
            // Another replica wrote the intent between our read and our insert: it owns the call.
            Inserted::Existing(p) => {
                return self
                    .replay_payment(p, &print, self.config().duplicate_wait)
                    .await
                    .map(Paid::stored);
            }
        };
        tracing::info!(payment_id = %payment.id, product = ?product, "payment intent recorded");
        let mut request = build_pay_request(&cmd, method, product, merchant_region);
        let config = self.config();
        // The gateway's own notify URL is transport, not content: it is not in the fingerprint.
        request.payment_notify_url = request.payment_notify_url.or(config.notify_url.clone());
        // The call records are written with the answer they bring (see `Recorder::holding`).
        let (attempted, held) = self
            .recorder()
            .holding(with_retries(
                config.call_attempts,
                config.retry_backoff,
                || self.client().pay(&request),
            ))
            .await;
        let stored_card = match &cmd.source {
            PaySource::Card(card) => card.stored_card_id(),
            _ => None,
        };
        let (
            Settled {
                row: payment,
                applied,
            },
            rejected,
        ) = self
            .record_pay_outcome(payment, attempted, stored_card, held)
            .await?;
        if payment.status == PaymentStatus::Processing {
            // The call is over, so the write-ahead grace has no purpose left: the first inquiry follows Alipay's
            // interval (seed 002: in-store every 3 s; auto debit: keep inquiring for at least a minute).
            self.pull_forward(JobKind::InquirePayment, &payment.id)
                .await;
        }
        if let Some(binding) = &binding
            && payment.last_result_code.as_deref() == Some(ResultCode::InvalidAccessToken.as_str())
        {
            self.binding_token_rejected(binding).await?;
        }
        if let Some(error) = rejected {
            return Err(EngineError::Alipay(error));
        }
        Ok(Paid {
            // This Pay's own move took the payment out of CREATED or PROCESSING. Refunds and captures follow only a
            // SUCCESS, so at that commit nothing had been refunded or captured of it: no totals read is needed.
            totals: applied.then(PaymentTotals::default),
            payment: self.pay_answer(payment)?,
        })
    }

    /// Applies the pay call's outcome to the stored payment. Returns the payment and, when the request could not be
    /// sent at all, the client error (the payment is then PROCESSING and the reconciler resolves it: only a real F
    /// marks a payment FAIL).
    async fn record_pay_outcome(
        &self,
        payment: Payment,
        attempted: Attempted<PayResponse>,
        stored_card: Option<&str>,
        held: HeldCalls,
    ) -> Result<(Settled<Payment>, Option<alipay::CallError>), EngineError> {
        let (to, update, source, rejected) = match attempted {
            Attempted::Answer(reply) => {
                let body = reply.body;
                let mut update = PaymentUpdate {
                    alipay_payment_id: body.payment_id.clone(),
                    result: Some(result_info(&body.result)),
                    payment_time: body.payment_time.as_deref().and_then(parse_alipay_time),
                    payment_create_time: body
                        .payment_create_time
                        .as_deref()
                        .and_then(parse_alipay_time),
                    auth_expiry_time: body.auth_expiry_time.as_deref().and_then(parse_alipay_time),
                    card: card_report(
                        self.config(),
                        body.payment_result_info.clone(),
                        stored_card,
                        ReportedBy::PayAnswer,
                    ),
                    ..PaymentUpdate::default()
                };
                let to = match reply.outcome {
                    Outcome::Success => PaymentStatus::Success,
                    Outcome::Failed { .. } => PaymentStatus::Fail,
                    Outcome::InProcess | Outcome::Unknown { .. } => {
                        update.next_action = next_action(&body);
                        PaymentStatus::Processing
                    }
                };
                (to, update, "pay_response", None)
            }
            Attempted::Unknown {
                reason,
                maybe_acted,
            } => {
                tracing::warn!(%reason, maybe_acted, "pay outcome unknown after retries; reconciler takes over");
                let update = PaymentUpdate {
                    result: Some(ResultInfo {
                        status: ResultStatus::Unknown,
                        code: if maybe_acted {
                            "OUTCOME_UNKNOWN"
                        } else {
                            "NOT_DELIVERED"
                        }
                        .into(),
                        message: Some(truncate(&reason, 256)),
                    }),
                    ..PaymentUpdate::default()
                };
                (PaymentStatus::Processing, update, "pay_unknown", None)
            }
            Attempted::Rejected(error) => {
                tracing::error!(error = %error, "pay request could not be sent; reconciler will resolve it");
                let update = PaymentUpdate {
                    result: Some(ResultInfo {
                        status: ResultStatus::Unknown,
                        code: "NOT_SENT".into(),
                        message: Some(truncate(&error.to_string(), 256)),
                    }),
                    ..PaymentUpdate::default()
                };
                (
                    PaymentStatus::Processing,
                    update,
                    "pay_rejected",
                    Some(error),
                )
            }
        };
        let reason = update.result.as_ref().map(|r| r.code.clone());
        let moved = self
            .move_payment(payment, to, source, reason, update, Some(held))
            .await?;
        Ok((moved, rejected))
    }

    /// Guarded payment move (see [`crate::settle`]), writing with it the records of the calls that brought its
    /// answer (`held`, see [`crate::settle::settle_recording`]).
    pub(crate) async fn move_payment(
        &self,
        payment: Payment,
        to: PaymentStatus,
        source: &str,
        reason: Option<String>,
        update: PaymentUpdate,
        held: Option<HeldCalls>,
    ) -> Result<Settled<Payment>, EngineError> {
        let payments = self.store().payments();
        let mut transition = Transition::new(to, source);
        if let Some(reason) = reason {
            transition = transition.with_reason(reason);
        }
        let Settled {
            row: moved,
            applied,
        } = settle_recording(
            payment,
            transition,
            held,
            |before: Payment, transition| {
                let update = update.clone();
                async move { payments.transition_from(&before, transition, update).await }
            },
            |id| async move { payments.get(&id).await },
        )
        .await?;
        if moved.status == to {
            tracing::info!(status = ?to, source, code = ?moved.last_result_code, "payment status recorded");
        }
        if let (false, Some(report)) = (applied, &update.card) {
            // Another source moved the payment first and recorded its card facts with the move; this one's are
            // added to them (monotonically). Not a reason to fail the caller: the status is recorded.
            if let Err(error) = PaymentCardFacts::new(self.store())
                .record(&moved, (**report).clone())
                .await
            {
                tracing::warn!(%error, payment_id = %moved.id, "card facts not recorded");
            }
        }
        Ok(Settled {
            row: moved,
            applied,
        })
    }

    /// A replay's answer when a payment with this request id is stored (see [`Self::replay_payment`]).
    async fn replay_stored(
        &self,
        payment_request_id: &str,
        print: &str,
    ) -> Result<Option<Payment>, EngineError> {
        let Some(existing) = self
            .store()
            .payments()
            .get_by_request_id(payment_request_id)
            .await?
        else {
            return Ok(None);
        };
        self.replay_payment(existing, print, self.config().duplicate_wait)
            .await
            .map(Some)
    }

    /// Answers a duplicate: compare fingerprints, wait (at most `wait`) for an in-flight original on another
    /// replica, then answer from the stored row exactly as the original call did.
    async fn replay_payment(
        &self,
        existing: Payment,
        print: &str,
        wait: Duration,
    ) -> Result<Payment, EngineError> {
        if existing.request_fingerprint != print {
            return Err(EngineError::RequestMismatch {
                request_id: existing.payment_request_id,
            });
        }
        let config = self.config();
        let payments = self.store().payments();
        let current = await_original(existing, wait, config.duplicate_poll, |id| async move {
            payments.get(&id).await
        })
        .await?;
        tracing::debug!(status = ?current.status, "duplicate pay answered from the store");
        self.pay_answer(current)
    }

    /// The caller's answer for a stored payment, the same for the original call and every replay.
    pub(crate) fn pay_answer(&self, payment: Payment) -> Result<Payment, EngineError> {
        match payment.status {
            PaymentStatus::Success | PaymentStatus::Cancelled => Ok(payment),
            // Alipay never received it (its inquiry said ORDER_NOT_EXIST once the pay call's answer was lost): a
            // failure of this payment, not a missing record, so not Alipay's NOT_FOUND mapping.
            PaymentStatus::Fail
                if payment.last_result_code.as_deref()
                    == Some(ResultCode::OrderNotExist.as_str()) =>
            {
                Err(EngineError::illegal_state(
                    reasons::PAYMENT_NOT_RECEIVED,
                    "Alipay never received this payment and nothing was charged; pay again with a new \
                     payment_request_id",
                ))
            }
            PaymentStatus::Fail => Err(EngineError::Declined {
                code: payment
                    .last_result_code
                    .clone()
                    .unwrap_or_else(|| "PROCESS_FAIL".into()),
                message: payment.last_result_message.clone().unwrap_or_default(),
            }),
            // Alipay accepted it (PAYMENT_IN_PROCESS): the caller gets the record, with `next_action` when the
            // buyer must act; the reconciler polls for the result.
            PaymentStatus::Processing if payment.next_action.is_some() || accepted(&payment) => {
                Ok(payment)
            }
            PaymentStatus::Processing | PaymentStatus::Created => Err(self.pending()),
        }
    }

    /// The answer while an outcome is not known yet (the original call still in flight, or its answer unknown and
    /// the reconciler resolving it): UNAVAILABLE `OUTCOME_PENDING`, retry with the same request id after the hint.
    pub(crate) fn pending(&self) -> EngineError {
        EngineError::Unavailable {
            retry_after: self.config().inquiry_interval,
        }
    }

    /// The stored payment with this request id.
    pub(crate) async fn stored_payment(
        &self,
        payment_request_id: &str,
    ) -> Result<Payment, EngineError> {
        self.store()
            .payments()
            .get_by_request_id(payment_request_id)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "payment",
                id: payment_request_id.to_owned(),
            })
    }

    /// Live `inquiryPayment`, whatever the stored status: a PROCESSING payment takes Alipay's final (or newer)
    /// answer; a final payment never moves (the store's monotonic rules) and a disagreeing answer is logged as a
    /// warning for support. An inquiry that learns nothing (Alipay unreachable, or U) is `Unreachable`: the stored
    /// record is not a live answer. A CREATED payment is `Unavailable` (outcome pending): its first pay call is in
    /// flight (or its process died and the write-ahead job owns it), and applying an answer now would race that call.
    pub(crate) async fn inquire_payment_row(
        &self,
        payment_request_id: &str,
    ) -> Result<Payment, EngineError> {
        let span = tracing::info_span!("inquire_payment", payment_request_id);
        async {
            let payment = self.stored_payment(payment_request_id).await?;
            if payment.status == PaymentStatus::Created {
                return Err(self.pending());
            }
            match self.inquire_and_apply(payment).await? {
                (_, Verdict::Unknown(reason)) => {
                    tracing::warn!(%reason, "live inquiry learned nothing; the stored payment is unchanged");
                    Err(EngineError::Unreachable {
                        retry_after: self.config().inquiry_interval,
                    })
                }
                (payment, Verdict::Final | Verdict::Pending | Verdict::NotFound) => Ok(payment),
            }
        }
        .instrument(span)
        .await
    }

    /// Cancels a payment with the same paymentRequestId (retrying while `U`, bounded). S → CANCELLED; F (e.g.
    /// CANCEL_WINDOW_EXCEED, ORDER_STATUS_INVALID) → `Declined` and the payment is left as it is (past the window,
    /// refund instead). A final payment is only cancelled at Alipay if it is SUCCESS.
    pub(crate) async fn cancel_payment_row(
        &self,
        payment_request_id: &str,
    ) -> Result<Payment, EngineError> {
        let span = tracing::info_span!("cancel_payment", payment_request_id);
        async {
            let _guard = self.lock_payment(payment_request_id).await?;
            let payment = self.stored_payment(payment_request_id).await?;
            match payment.status {
                PaymentStatus::Cancelled => return Ok(payment),
                PaymentStatus::Fail => {
                    return Err(EngineError::illegal_state(
                        reasons::PAYMENT_NOT_CANCELLABLE,
                        "a failed payment cannot be cancelled",
                    ));
                }
                PaymentStatus::Created => {
                    return Err(self.pending());
                }
                PaymentStatus::Success => {
                    return Err(EngineError::illegal_state(
                        reasons::PAYMENT_NOT_CANCELLABLE,
                        "a successful payment is refunded, not cancelled",
                    ));
                }
                PaymentStatus::Processing => {}
            }
            self.cancel_at_alipay(payment).await?.settled(self)
        }
        .instrument(span)
        .await
    }

    /// Holds the payment's in-process lock (pay, cancel, void and the reconciler's payment jobs never overlap);
    /// `Unavailable` when its pay call (or a reconciler run) is still in progress here after `duplicate_wait`.
    pub(crate) async fn lock_payment(
        &self,
        payment_request_id: &str,
    ) -> Result<tokio::sync::OwnedMutexGuard<()>, EngineError> {
        self.inner
            .locks
            .lock_within(
                &pay_lock_key(payment_request_id),
                self.config().duplicate_wait,
            )
            .await
            .ok_or_else(|| self.pending())
    }

    /// The cancel call with bounded retries and its effect on the payment.
    pub(crate) async fn cancel_at_alipay(
        &self,
        payment: Payment,
    ) -> Result<CancelResult, EngineError> {
        let mut request = CancelRequest::by_request_id(&payment.payment_request_id);
        request.in_store = in_store(&payment);
        let config = self.config();
        let attempted = with_retries(config.call_attempts, config.retry_backoff, || {
            self.client().cancel(&request)
        })
        .await;
        match attempted {
            Attempted::Answer(reply) => match reply.outcome {
                Outcome::Success | Outcome::InProcess => {
                    let update = PaymentUpdate {
                        alipay_payment_id: reply.body.payment_id.clone(),
                        result: Some(result_info(&reply.body.result)),
                        cancel_time: reply
                            .body
                            .cancel_time
                            .as_deref()
                            .and_then(parse_alipay_time),
                        ..PaymentUpdate::default()
                    };
                    let moved = self
                        .move_payment(
                            payment,
                            PaymentStatus::Cancelled,
                            "cancel",
                            Some("CANCELLED".into()),
                            update,
                            None,
                        )
                        .await?
                        .row;
                    Ok(CancelResult::Settled(moved))
                }
                Outcome::Failed { code, message } if code == ResultCode::OrderNotExist => {
                    // Alipay never created the payment, and the cancel makes sure it never will: nothing charged.
                    let update = PaymentUpdate {
                        result: Some(result_info(&reply.body.result)),
                        ..PaymentUpdate::default()
                    };
                    let moved = self
                        .move_payment(
                            payment,
                            PaymentStatus::Fail,
                            "cancel",
                            Some(code.to_string()),
                            update,
                            None,
                        )
                        .await?
                        .row;
                    tracing::info!(%message, "payment never reached Alipay; recorded as FAIL");
                    Ok(CancelResult::Settled(moved))
                }
                Outcome::Failed { code, message } => Ok(CancelResult::Declined {
                    payment,
                    code: code.to_string(),
                    message,
                }),
                Outcome::Unknown { code, message } => {
                    Ok(CancelResult::Unknown(format!("U {code}: {message}")))
                }
            },
            Attempted::Unknown { reason, .. } => Ok(CancelResult::Unknown(reason)),
            Attempted::Rejected(error) => Err(EngineError::Alipay(error)),
        }
    }

    /// Resolves the payment method of a pay command; for agreement payments checks the binding BEFORE Alipay is
    /// called (and refreshes a token that is about to expire).
    async fn payment_method(
        &self,
        source: &PaySource,
        customer_id: Option<&str>,
    ) -> Result<(PaymentMethod, ProductCode, Option<store::bindings::Binding>), EngineError> {
        match source {
            PaySource::Agreement { binding_id } => {
                let binding = self.chargeable_binding(binding_id).await?;
                let method = PaymentMethod::with_id(
                    binding.wallet.spelling(),
                    binding.credentials.access_token.expose().to_owned(),
                );
                Ok((method, ProductCode::AgreementPayment, Some(binding)))
            }
            PaySource::InStore { payment_code } => Ok((
                PaymentMethod::with_id("CONNECT_WALLET", payment_code.secret().clone()),
                ProductCode::InStorePayment,
                None,
            )),
            PaySource::Cashier { wallet, .. } => Ok((
                PaymentMethod::of_type(*wallet),
                ProductCode::CashierPayment,
                None,
            )),
            PaySource::Card(card) => Ok((
                self.card_method(card, customer_id).await?,
                ProductCode::CashierPayment,
                None,
            )),
        }
    }
}

impl CancelResult {
    /// The caller's answer: the settled payment; Alipay's refusal as `Declined` (the payment unchanged); an
    /// unknown outcome as `Unavailable`.
    pub(crate) fn settled(self, engine: &Engine) -> Result<Payment, EngineError> {
        match self {
            CancelResult::Settled(p) => Ok(p),
            CancelResult::Declined {
                payment,
                code,
                message,
            } => {
                tracing::warn!(payment_id = %payment.id, %code, "cancel declined");
                Err(EngineError::Declined { code, message })
            }
            CancelResult::Unknown(_) => Err(engine.pending()),
        }
    }
}

/// What a cancel achieved.
#[derive(Debug)]
pub(crate) enum CancelResult {
    /// The payment reached a final state (CANCELLED, or FAIL because Alipay never had it).
    Settled(Payment),
    /// Alipay refused (CANCEL_WINDOW_EXCEED, ORDER_STATUS_INVALID, ...); the payment is unchanged.
    Declined {
        payment: Payment,
        code: String,
        message: String,
    },
    /// Still unknown after the bounded retries.
    Unknown(String),
}

/// Whether Alipay's last word was its in-process code (accepted, result later) rather than an unknown outcome.
fn accepted(payment: &Payment) -> bool {
    payment
        .last_result_code
        .as_deref()
        .is_some_and(|code| ResultCode::parse(code).is_in_process())
}

fn stored_capture_mode(mode: CaptureMode) -> store::CaptureMode {
    match mode {
        CaptureMode::Automatic => store::CaptureMode::Automatic,
        CaptureMode::Manual => store::CaptureMode::Manual,
    }
}

fn stored_product(product: ProductCode) -> store::ProductCode {
    match product {
        ProductCode::CashierPayment => store::ProductCode::CashierPayment,
        ProductCode::AgreementPayment => store::ProductCode::AgreementPayment,
        ProductCode::InStorePayment => store::ProductCode::InStorePayment,
    }
}

/// The wallet a payment method names (a binding's wallet, a cashier wallet, or CONNECT_WALLET in store).
fn wallet_of(method: &PaymentMethod) -> Result<store::Wallet, EngineError> {
    store::Wallet::parse(&method.payment_method_type)
        .ok_or_else(|| EngineError::invalid("wallet", "is not a wallet the gateway supports"))
}

fn build_pay_request(
    cmd: &PayCommand,
    method: PaymentMethod,
    product: ProductCode,
    merchant_region: Option<String>,
) -> PayRequest {
    let mut request = PayRequest::new(
        product,
        cmd.payment_request_id.to_string(),
        cmd.amount.to_wire(),
        cmd.order.clone(),
        method,
    );
    request.env = cmd.env.clone();
    request.payment_notify_url = cmd.payment_notify_url.clone().map(String::from);
    request.merchant_region = merchant_region;
    request.payment_expiry_time = cmd
        .payment_expiry_time
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false));
    let mut factor = PaymentFactor {
        is_authorization: cmd.is_authorization.then_some(true),
        capture_mode: cmd.capture_mode,
        ..PaymentFactor::default()
    };
    match &cmd.source {
        PaySource::Cashier { redirect_url, .. } => {
            request.payment_redirect_url = Some(redirect_url.to_string())
        }
        PaySource::InStore { .. } => {
            factor.in_store_payment_scenario = Some("PaymentCode".into());
        }
        PaySource::Card(card) => {
            request.payment_redirect_url = card.redirect_url.as_ref().map(ToString::to_string)
        }
        PaySource::Agreement { .. } => {}
    }
    request.payment_factor = (factor != PaymentFactor::default()).then_some(factor);
    request
}

/// The `result` envelope as the store keeps it.
pub(crate) fn result_info(result: &alipay::model::ResultInfo) -> ResultInfo {
    let status = match result.result_status {
        alipay::model::ResultStatus::Success => ResultStatus::Success,
        alipay::model::ResultStatus::Failed => ResultStatus::Fail,
        alipay::model::ResultStatus::Unknown | alipay::model::ResultStatus::Unrecognized => {
            ResultStatus::Unknown
        }
    };
    ResultInfo {
        status,
        code: result.result_code.to_string(),
        message: result.result_message.as_deref().map(|m| truncate(m, 256)),
    }
}

/// What the buyer must do next, from a PAYMENT_IN_PROCESS answer: the action fields Alipay set, read by the one
/// parser of Alipay's action fields ([`NextAction::from_alipay`]).
fn next_action(body: &PayResponse) -> Option<NextAction> {
    let mut action = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            action.insert(key.to_owned(), v);
        }
    };
    put("normalUrl", body.normal_url.clone().map(Value::String));
    put("schemeUrl", body.scheme_url.clone().map(Value::String));
    put("applinkUrl", body.applink_url.clone().map(Value::String));
    put(
        "appIdentifier",
        body.app_identifier.clone().map(Value::String),
    );
    put(
        "redirectActionForm",
        body.redirect_action_form
            .as_ref()
            .and_then(|f| serde_json::to_value(f).ok()),
    );
    put("challengeActionForm", body.challenge_action_form.clone());
    put("orderCodeForm", body.order_code_form.clone());
    NextAction::from_alipay(&Value::Object(action))
}

pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}
