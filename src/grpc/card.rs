//! `alipay.gateway.v1.CardService`: card authorizations (card data, stored card, hosted page), their card results,
//! voids and stored cards. Card payments go through the engine's one pay path; capture, refund, cancel and inquiry
//! stay in PaymentService.
//!
//! Outcome rules at this edge (card.proto): unlike PaymentService.Pay, a decline is an answer, not an error (OK with
//! a FAIL CardPayment carrying `last_alipay_result` and the issuer's refusal code), and a 3DS challenge or the
//! hosted page is PROCESSING with a `next_action` redirect. The stored card a caller holds is the gateway's id for
//! it (`card_token`); Alipay's cardToken never leaves the gateway.

use alipay::checked::RequestId;
use alipay::model::{AvsCheck, CvvCheck};
use tonic::{Request, Response, Status};

use super::parse::{CardTokenQuery, DeleteCardToken};
use super::render::{payment, timestamp};
use super::status::to_status;
use crate::pb::v1 as pb;
use crate::pb::v1::card_service_server::CardService;

/// The card service, backed by the engine.
#[derive(Debug, Clone)]
pub struct CardApi {
    engine: engine::Engine,
}

impl CardApi {
    /// A service answering from `engine`.
    pub fn new(engine: engine::Engine) -> Self {
        Self { engine }
    }
}

/// A card payment → proto: the payment (its `card` summary rendered as for every payment) and the card-only
/// results from the card facts.
fn card_payment(view: &engine::CardPaymentView) -> pb::CardPayment {
    let out = payment(&view.payment);
    let Some(f) = &view.facts else {
        return pb::CardPayment {
            payment: Some(out),
            ..pb::CardPayment::default()
        };
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let three_ds = (f.three_ds_version.is_some() || f.eci.is_some() || f.challenged.is_some())
        .then(|| {
            #[allow(deprecated)] // the bool stays filled for callers of the older contract
            pb::ThreeDsResult {
                three_ds_version: text(&f.three_ds_version),
                eci: text(&f.eci),
                challenged: f.challenged.unwrap_or_default(),
                three_ds_offered: f.three_ds_offered.unwrap_or_default(),
                exemption_type: text(&f.exemption_type),
                challenge_cancel: f.challenge_cancel_code.is_some(),
                challenge_cancel_code: text(&f.challenge_cancel_code),
                ..pb::ThreeDsResult::default()
            }
        });
    let checks =
        (f.avs_result_raw.is_some() || f.cvv_result_raw.is_some()).then(|| pb::CardCheckResults {
            avs_result_raw: text(&f.avs_result_raw),
            cvv_result_raw: text(&f.cvv_result_raw),
            avs_check: avs(AvsCheck::from_raw(f.avs_result_raw.as_deref())) as i32,
            cvv_check: cvv(CvvCheck::from_raw(f.cvv_result_raw.as_deref())) as i32,
        });
    pb::CardPayment {
        payment: Some(out),
        three_ds_result: three_ds,
        card_check_results: checks,
        authorization_code: text(&f.authorization_code),
        refusal_code_raw: text(&f.refusal_code_raw),
        refusal_reason_raw: text(&f.refusal_reason_raw),
        merchant_advice_code: text(&f.merchant_advice_code),
    }
}

fn avs(check: AvsCheck) -> pb::AvsCheck {
    match check {
        AvsCheck::Match => pb::AvsCheck::Match,
        AvsCheck::Partial => pb::AvsCheck::Partial,
        AvsCheck::NoMatch => pb::AvsCheck::NoMatch,
        AvsCheck::Error => pb::AvsCheck::Error,
        AvsCheck::NotChecked => pb::AvsCheck::NotChecked,
    }
}

fn cvv(check: CvvCheck) -> pb::CvvCheck {
    match check {
        CvvCheck::Match => pb::CvvCheck::Match,
        CvvCheck::NoMatch => pb::CvvCheck::NoMatch,
        CvvCheck::NotChecked => pb::CvvCheck::NotChecked,
    }
}

/// A stored card → proto. `card_token` is the gateway's id of the card.
fn card_token(t: &engine::CardTokenRecord) -> pb::CardToken {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    pb::CardToken {
        card_token: t.id.clone(),
        customer_id: t.customer_id.clone(),
        card: Some(pb::CardSummary {
            card_brand: text(&t.card.brand),
            last_four: text(&t.card.last_four),
            expiry_month: text(&t.card.expiry_month),
            expiry_year: text(&t.card.expiry_year),
            card_token: t.id.clone(),
            issuing_country: text(&t.card.issuing_country),
            funding: text(&t.card.funding),
            network_transaction_id: text(&t.network_transaction_id),
            ..pb::CardSummary::default()
        }),
        network_transaction_id: text(&t.network_transaction_id),
        first_payment_request_id: t.first_payment_request_id.clone(),
        create_time: Some(timestamp(t.created_at)),
        last_use_time: t.last_used_at.map(timestamp),
    }
}

impl CardApi {
    /// AuthorizeCard and CreateHostedCardPayment: one card pay through the engine, from the parsed command.
    async fn authorize(
        &self,
        id: &str,
        cmd: Result<engine::PayCommand, engine::EngineError>,
    ) -> Result<pb::CardPayment, Status> {
        let cmd = cmd.map_err(|e| to_status(e, Some(id)))?;
        let view = self
            .engine
            .authorize_card(cmd)
            .await
            .map_err(|e| to_status(e, Some(id)))?;
        Ok(card_payment(&view))
    }
}

#[tonic::async_trait]
impl CardService for CardApi {
    async fn authorize_card(
        &self,
        request: Request<pb::AuthorizeCardRequest>,
    ) -> Result<Response<pb::AuthorizeCardResponse>, Status> {
        let r = request.into_inner();
        let card_payment = self
            .authorize(&r.payment_request_id, (&r).try_into())
            .await?;
        Ok(Response::new(pb::AuthorizeCardResponse {
            card_payment: Some(card_payment),
        }))
    }

    async fn create_hosted_card_payment(
        &self,
        request: Request<pb::CreateHostedCardPaymentRequest>,
    ) -> Result<Response<pb::CreateHostedCardPaymentResponse>, Status> {
        let r = request.into_inner();
        let card_payment = self
            .authorize(&r.payment_request_id, (&r).try_into())
            .await?;
        Ok(Response::new(pb::CreateHostedCardPaymentResponse {
            card_payment: Some(card_payment),
        }))
    }

    async fn get_card_payment(
        &self,
        request: Request<pb::GetCardPaymentRequest>,
    ) -> Result<Response<pb::GetCardPaymentResponse>, Status> {
        let r = request.into_inner();
        let id = RequestId::try_from(&r).map_err(|e| to_status(e, Some(&r.payment_request_id)))?;
        let view = self
            .engine
            .get_card_payment(&id)
            .await
            .map_err(|e| to_status(e, Some(&id)))?;
        Ok(Response::new(pb::GetCardPaymentResponse {
            card_payment: Some(card_payment(&view)),
        }))
    }

    async fn void_card_authorization(
        &self,
        request: Request<pb::VoidCardAuthorizationRequest>,
    ) -> Result<Response<pb::VoidCardAuthorizationResponse>, Status> {
        let r = request.into_inner();
        let id = RequestId::try_from(&r).map_err(|e| to_status(e, Some(&r.payment_request_id)))?;
        let view = self
            .engine
            .void_card_authorization(&id)
            .await
            .map_err(|e| to_status(e, Some(&id)))?;
        Ok(Response::new(pb::VoidCardAuthorizationResponse {
            card_payment: Some(card_payment(&view)),
        }))
    }

    async fn list_card_tokens(
        &self,
        request: Request<pb::ListCardTokensRequest>,
    ) -> Result<Response<pb::ListCardTokensResponse>, Status> {
        let query = CardTokenQuery::try_from(request.get_ref()).map_err(|e| to_status(e, None))?;
        let page = self
            .engine
            .list_card_tokens(&query.customer_id, query.page)
            .await
            .map_err(|e| to_status(e, None))?;
        Ok(Response::new(pb::ListCardTokensResponse {
            card_tokens: page.items.iter().map(card_token).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn delete_card_token(
        &self,
        request: Request<pb::DeleteCardTokenRequest>,
    ) -> Result<Response<pb::DeleteCardTokenResponse>, Status> {
        let query = DeleteCardToken::try_from(request.get_ref()).map_err(|e| to_status(e, None))?;
        self.engine
            .delete_card_token(&query.customer_id, &query.card_id)
            .await
            .map_err(|e| to_status(e, None))?;
        Ok(Response::new(pb::DeleteCardTokenResponse {}))
    }
}
