//! `alipay.gateway.v1.PaymentService`: pay, inquire, cancel, refund, capture, list.
//!
//! Outcome rules at this edge (common.proto "Error model"): an Alipay decline is an error (FAILED_PRECONDITION
//! with Alipay's code; the record stays readable), while an outcome that is still unknown after the engine's
//! bounded retries is NOT an error: the mutating RPC answers OK with the PROCESSING record, because the write-ahead
//! record exists and the reconciler owns it.

use std::pin::Pin;

use futures::Stream;
use tonic::{Request, Response, Status};

use super::status::to_status;
use super::{convert, validate};
use crate::pb::v1 as pb;
use crate::pb::v1::payment_service_server::PaymentService;

/// The service, backed by the engine. The store is read directly only to name the payment a refund or capture
/// belongs to (their records refer to it by internal id) and to read back a record the engine left PROCESSING.
#[derive(Debug, Clone)]
pub struct PaymentApi {
    engine: engine::Engine,
    store: store::Store,
}

impl PaymentApi {
    /// A service answering from `engine`, reading records from `store`.
    pub fn new(engine: engine::Engine, store: store::Store) -> Self {
        Self { engine, store }
    }

    async fn payment_by_internal_id(&self, id: &str) -> Result<engine::PaymentRecord, Status> {
        self.store
            .payments()
            .get(id)
            .await
            .map_err(|e| to_status(e.into(), None))?
            .ok_or_else(|| {
                to_status(
                    engine::EngineError::NotFound {
                        what: "payment",
                        id: id.to_owned(),
                    },
                    None,
                )
            })
    }

    /// The caller's view of a payment: the record plus what has been refunded and captured of it.
    async fn payment_answer(&self, payment: &engine::PaymentRecord) -> Result<pb::Payment, Status> {
        let totals = self
            .engine
            .payment_totals(&payment.id)
            .await
            .map_err(|e| to_status(e, Some(&payment.payment_request_id)))?;
        Ok(convert::payment(payment, totals))
    }

    async fn refund_answer(&self, refund: &engine::RefundRecord) -> Result<pb::Refund, Status> {
        let payment = self.payment_by_internal_id(&refund.payment_id).await?;
        Ok(convert::refund_record(refund, &payment))
    }
}

/// Whether the engine's error only says "not final yet" (the record exists and the reconciler owns it).
fn pending(e: &engine::EngineError) -> bool {
    matches!(e, engine::EngineError::Unavailable { .. })
}

#[tonic::async_trait]
impl PaymentService for PaymentApi {
    async fn pay(
        &self,
        request: Request<pb::PayRequest>,
    ) -> Result<Response<pb::PayResponse>, Status> {
        let r = request.into_inner();
        let id = r.payment_request_id.clone();
        validate::pay(&r, convert::now()).map_err(|e| to_status(e, Some(&id)))?;
        let payment = match self.engine.pay(convert::pay(&r)).await {
            Ok(p) => p,
            // Alipay's answer was unknown and the reconciler is resolving it: the contract's PROCESSING. A payment
            // still CREATED is one whose first call is in flight: UNAVAILABLE `OUTCOME_PENDING`.
            Err(e) if pending(&e) => match self.engine.get_payment(&id).await {
                Ok(p) if p.status != engine::PaymentStatus::Created => p,
                _ => return Err(to_status(e, Some(&id))),
            },
            Err(e) => return Err(to_status(e, Some(&id))),
        };
        Ok(Response::new(pb::PayResponse {
            payment: Some(self.payment_answer(&payment).await?),
        }))
    }

    async fn get_payment(
        &self,
        request: Request<pb::GetPaymentRequest>,
    ) -> Result<Response<pb::GetPaymentResponse>, Status> {
        let id = request.into_inner().payment_request_id;
        validate::payment_request_id(&id).map_err(|e| to_status(e, Some(&id)))?;
        let payment = self
            .engine
            .get_payment(&id)
            .await
            .map_err(|e| to_status(e, Some(&id)))?;
        Ok(Response::new(pb::GetPaymentResponse {
            payment: Some(self.payment_answer(&payment).await?),
        }))
    }

    async fn inquire_payment(
        &self,
        request: Request<pb::InquirePaymentRequest>,
    ) -> Result<Response<pb::InquirePaymentResponse>, Status> {
        let id = request.into_inner().payment_request_id;
        validate::payment_request_id(&id).map_err(|e| to_status(e, Some(&id)))?;
        let payment = self
            .engine
            .inquire_payment(&id)
            .await
            .map_err(|e| to_status(e, Some(&id)))?;
        Ok(Response::new(pb::InquirePaymentResponse {
            payment: Some(self.payment_answer(&payment).await?),
        }))
    }

    async fn cancel_payment(
        &self,
        request: Request<pb::CancelPaymentRequest>,
    ) -> Result<Response<pb::CancelPaymentResponse>, Status> {
        let id = request.into_inner().payment_request_id;
        validate::payment_request_id(&id).map_err(|e| to_status(e, Some(&id)))?;
        let payment = self
            .engine
            .cancel_payment(&id)
            .await
            .map_err(|e| to_status(e, Some(&id)))?;
        Ok(Response::new(pb::CancelPaymentResponse {
            payment: Some(self.payment_answer(&payment).await?),
        }))
    }

    async fn refund(
        &self,
        request: Request<pb::RefundRequest>,
    ) -> Result<Response<pb::RefundResponse>, Status> {
        let r = request.into_inner();
        let id = r.payment_request_id.clone();
        validate::refund(&r).map_err(|e| to_status(e, Some(&id)))?;
        let refund = match self.engine.refund(convert::refund(&r)).await {
            Ok(refund) => refund,
            Err(e) if pending(&e) => match self
                .store
                .refunds()
                .get_by_request_id(&r.refund_request_id)
                .await
            {
                Ok(Some(refund)) => refund,
                _ => return Err(to_status(e, Some(&id))),
            },
            Err(e) => return Err(to_status(e, Some(&id))),
        };
        Ok(Response::new(pb::RefundResponse {
            refund: Some(self.refund_answer(&refund).await?),
        }))
    }

    async fn inquire_refund(
        &self,
        request: Request<pb::InquireRefundRequest>,
    ) -> Result<Response<pb::InquireRefundResponse>, Status> {
        let id = request.into_inner().refund_request_id;
        validate::refund_request_id(&id).map_err(|e| to_status(e, None))?;
        let refund = self
            .engine
            .inquire_refund(&id)
            .await
            .map_err(|e| to_status(e, None))?;
        Ok(Response::new(pb::InquireRefundResponse {
            refund: Some(self.refund_answer(&refund).await?),
        }))
    }

    async fn list_payments(
        &self,
        request: Request<pb::ListPaymentsRequest>,
    ) -> Result<Response<pb::ListPaymentsResponse>, Status> {
        let r = request.into_inner();
        validate::list_payments(&r).map_err(|e| to_status(e, None))?;
        let Some(filter) = convert::payment_filter(&r) else {
            return Ok(Response::new(pb::ListPaymentsResponse::default()));
        };
        let page = self
            .engine
            .list_payments(filter, convert::page(r.page_size, &r.page_token))
            .await
            .map_err(|e| to_status(e, None))?;
        let payments =
            futures::future::try_join_all(page.items.iter().map(|p| self.payment_answer(p)))
                .await?;
        Ok(Response::new(pb::ListPaymentsResponse {
            payments,
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn capture(
        &self,
        request: Request<pb::CaptureRequest>,
    ) -> Result<Response<pb::CaptureResponse>, Status> {
        let r = request.into_inner();
        let id = r.payment_request_id.clone();
        validate::capture(&r).map_err(|e| to_status(e, Some(&id)))?;
        let capture = match self.engine.capture(convert::capture(&r)).await {
            Ok(capture) => capture,
            Err(e) if pending(&e) => match self
                .store
                .captures()
                .get_by_request_id(&r.capture_request_id)
                .await
            {
                Ok(Some(capture)) => capture,
                _ => return Err(to_status(e, Some(&id))),
            },
            Err(e) => return Err(to_status(e, Some(&id))),
        };
        let payment = self.payment_by_internal_id(&capture.payment_id).await?;
        Ok(Response::new(pb::CaptureResponse {
            capture: Some(convert::capture_record(&capture, &payment)),
        }))
    }

    type StreamPaymentEventsStream = Pin<
        Box<dyn Stream<Item = Result<pb::StreamPaymentEventsResponse, Status>> + Send + 'static>,
    >;

    /// Subscribes through the engine; the response stream ends with UNAVAILABLE (`SHUTTING_DOWN`) on graceful
    /// shutdown and with OUT_OF_RANGE if the subscriber fell behind retention. Dropping the call ends the
    /// subscription.
    async fn stream_payment_events(
        &self,
        request: Request<pb::StreamPaymentEventsRequest>,
    ) -> Result<Response<Self::StreamPaymentEventsStream>, Status> {
        let r = request.into_inner();
        validate::stream_payment_events(&r).map_err(|e| to_status(e, None))?;
        let cursor = (!r.cursor.is_empty()).then_some(r.cursor.as_str());
        let events = self
            .engine
            .stream_payment_events(cursor, convert::event_filter(&r))
            .await
            .map_err(|e| to_status(e, None))?;
        let stream = futures::stream::unfold(events, |mut events| async move {
            let item = events.next().await?.map_or_else(
                |e| Err(to_status(e, None)),
                |event| {
                    Ok(pb::StreamPaymentEventsResponse {
                        event: Some(convert::payment_event(&event)),
                    })
                },
            );
            Some((item, events))
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
