//! `alipay.gateway.v1.CardService`: card payments are a later issue. Every RPC answers UNIMPLEMENTED (the only
//! service allowed to) so callers get a clear, typed "not yet" instead of a transport error.

use tonic::{Request, Response, Status};

use crate::pb::v1 as pb;
use crate::pb::v1::card_service_server::CardService;

/// The placeholder card service.
#[derive(Debug, Clone, Default)]
pub struct CardApi;

fn not_yet() -> Status {
    Status::unimplemented("card payments are not available in this version of the gateway")
}

#[tonic::async_trait]
impl CardService for CardApi {
    async fn authorize_card(
        &self,
        _request: Request<pb::AuthorizeCardRequest>,
    ) -> Result<Response<pb::AuthorizeCardResponse>, Status> {
        Err(not_yet())
    }

    async fn create_hosted_card_payment(
        &self,
        _request: Request<pb::CreateHostedCardPaymentRequest>,
    ) -> Result<Response<pb::CreateHostedCardPaymentResponse>, Status> {
        Err(not_yet())
    }

    async fn get_card_payment(
        &self,
        _request: Request<pb::GetCardPaymentRequest>,
    ) -> Result<Response<pb::GetCardPaymentResponse>, Status> {
        Err(not_yet())
    }

    async fn void_card_authorization(
        &self,
        _request: Request<pb::VoidCardAuthorizationRequest>,
    ) -> Result<Response<pb::VoidCardAuthorizationResponse>, Status> {
        Err(not_yet())
    }

    async fn list_card_tokens(
        &self,
        _request: Request<pb::ListCardTokensRequest>,
    ) -> Result<Response<pb::ListCardTokensResponse>, Status> {
        Err(not_yet())
    }

    async fn delete_card_token(
        &self,
        _request: Request<pb::DeleteCardTokenRequest>,
    ) -> Result<Response<pb::DeleteCardTokenResponse>, Status> {
        Err(not_yet())
    }
}
