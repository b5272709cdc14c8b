//! `alipay.gateway.v1.PaymentService`: pay, inquire, cancel, refund, capture, list.
//!
//! Outcome rules at this edge (common.proto "Error model"): an Alipay decline is an error (FAILED_PRECONDITION
//! with Alipay's code; the record stays readable), while an outcome that is still unknown after the engine's
//! bounded retries is NOT an error: the engine answers a view of the PROCESSING record (the write-ahead record
//! exists and the reconciler owns it) and the mutating RPC answers OK with it.

use std::pin::Pin;

use alipay::checked::RequestId;
use futures::Stream;
use tonic::{Request, Response, Status};

use super::status::to_status;
use super::{parse, render};
use crate::pb::v1 as pb;
use crate::pb::v1::payment_service_server::PaymentService;

/// The service, backed by the engine alone: every answer is an engine view rendered by `render`.
#[derive(Debug, Clone)]
pub struct PaymentApi {
    engine: engine::Engine,
}

impl PaymentApi {
    /// A service answering from `engine`.
    pub fn new(engine: engine::Engine) -> Self {
        Self { engine }
    }
}

#[tonic::async_trait]
impl PaymentService for PaymentApi {
    async fn pay(
        &self,
        request: Request<pb::PayRequest>,
    ) -> Result<Response<pb::PayResponse>, Status> {
        let r = request.into_inner();
        let id = r.payment_request_id.clone();
        let cmd = engine::PayCommand::try_from(&r).map_err(|e| to_status(e, Some(&id)))?;
        let payment = self
            .engine
            .pay(cmd)
            .await
            .map_err(|e| to_status(e, Some(&id)))?;
        Ok(Response::new(pb::PayResponse {
            payment: Some(render::payment(&payment)),
        }))
    }

    async fn get_payment(
        &self,
        request: Request<pb::GetPaymentRequest>,
    ) -> Result<Response<pb::GetPaymentResponse>, Status> {
        let r = request.into_inner();
        let id = RequestId::try_from(&r).map_err(|e| to_status(e, Some(&r.payment_request_id)))?;
        let payment = self
            .engine
            .get_payment(&id)
            .await
            .map_err(|e| to_status(e, Some(&id)))?;
        Ok(Response::new(pb::GetPaymentResponse {
            payment: Some(render::payment(&payment)),
        }))
    }

    async fn inquire_payment(
        &self,
        request: Request<pb::InquirePaymentRequest>,
    ) -> Result<Response<pb::InquirePaymentResponse>, Status> {
        let r = request.into_inner();
        let id = RequestId::try_from(&r).map_err(|e| to_status(e, Some(&r.payment_request_id)))?;
        let payment = self
            .engine
            .inquire_payment(&id)
            .await
            .map_err(|e| to_status(e, Some(&id)))?;
        Ok(Response::new(pb::InquirePaymentResponse {
            payment: Some(render::payment(&payment)),
        }))
    }

    async fn cancel_payment(
        &self,
        request: Request<pb::CancelPaymentRequest>,
    ) -> Result<Response<pb::CancelPaymentResponse>, Status> {
        let r = request.into_inner();
        let id = RequestId::try_from(&r).map_err(|e| to_status(e, Some(&r.payment_request_id)))?;
        let payment = self
            .engine
            .cancel_payment(&id)
            .await
            .map_err(|e| to_status(e, Some(&id)))?;
        Ok(Response::new(pb::CancelPaymentResponse {
            payment: Some(render::payment(&payment)),
        }))
    }

    async fn refund(
        &self,
        request: Request<pb::RefundRequest>,
    ) -> Result<Response<pb::RefundResponse>, Status> {
        let r = request.into_inner();
        let id = r.payment_request_id.clone();
        let cmd = engine::RefundCommand::try_from(&r).map_err(|e| to_status(e, Some(&id)))?;
        let refund = self
            .engine
            .refund(cmd)
            .await
            .map_err(|e| to_status(e, Some(&id)))?;
        Ok(Response::new(pb::RefundResponse {
            refund: Some(render::refund(&refund)),
        }))
    }

    async fn inquire_refund(
        &self,
        request: Request<pb::InquireRefundRequest>,
    ) -> Result<Response<pb::InquireRefundResponse>, Status> {
        let id = RequestId::try_from(&request.into_inner()).map_err(|e| to_status(e, None))?;
        let refund = self
            .engine
            .inquire_refund(&id)
            .await
            .map_err(|e| to_status(e, None))?;
        Ok(Response::new(pb::InquireRefundResponse {
            refund: Some(render::refund(&refund)),
        }))
    }

    async fn list_payments(
        &self,
        request: Request<pb::ListPaymentsRequest>,
    ) -> Result<Response<pb::ListPaymentsResponse>, Status> {
        let r = request.into_inner();
        let query = parse::PaymentQuery::try_from(&r).map_err(|e| to_status(e, None))?;
        let Some(filter) = query.filter else {
            return Ok(Response::new(pb::ListPaymentsResponse::default()));
        };
        let page = self
            .engine
            .list_payments(filter, query.page)
            .await
            .map_err(|e| to_status(e, None))?;
        Ok(Response::new(pb::ListPaymentsResponse {
            payments: page.items.iter().map(render::payment).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn capture(
        &self,
        request: Request<pb::CaptureRequest>,
    ) -> Result<Response<pb::CaptureResponse>, Status> {
        let r = request.into_inner();
        let id = r.payment_request_id.clone();
        let cmd = engine::CaptureCommand::try_from(&r).map_err(|e| to_status(e, Some(&id)))?;
        let capture = self
            .engine
            .capture(cmd)
            .await
            .map_err(|e| to_status(e, Some(&id)))?;
        Ok(Response::new(pb::CaptureResponse {
            capture: Some(render::capture(&capture)),
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
        let query = parse::EventQuery::try_from(&r).map_err(|e| to_status(e, None))?;
        let events = self
            .engine
            .stream_payment_events(query.cursor.as_deref(), query.filter)
            .await
            .map_err(|e| to_status(e, None))?;
        let stream = futures::stream::unfold(events, |mut events| async move {
            let item = events.next().await?.map_or_else(
                |e| Err(to_status(e, None)),
                |event| {
                    Ok(pb::StreamPaymentEventsResponse {
                        event: Some(render::payment_event(&event)),
                    })
                },
            );
            Some((item, events))
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
