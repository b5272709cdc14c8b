//! `alipay.gateway.v1.AuthorizationService`: wallet authorizations (bindings).

use alipay::checked::CustomerId;
use tonic::{Request, Response, Status};

use super::status::to_status;
use super::{parse, render};
use crate::pb::v1 as pb;
use crate::pb::v1::authorization_service_server::AuthorizationService;

/// The service, backed by the engine.
#[derive(Debug, Clone)]
pub struct AuthorizationApi {
    engine: engine::Engine,
}

impl AuthorizationApi {
    /// A service answering from `engine`.
    pub fn new(engine: engine::Engine) -> Self {
        Self { engine }
    }
}

fn err(e: engine::EngineError) -> Status {
    to_status(e, None)
}

#[tonic::async_trait]
impl AuthorizationService for AuthorizationApi {
    async fn consult(
        &self,
        request: Request<pb::ConsultRequest>,
    ) -> Result<Response<pb::ConsultResponse>, Status> {
        let r = request.into_inner();
        let cmd = engine::ConsultCommand::try_from(&r).map_err(err)?;
        let outcome = self.engine.consult(cmd).await.map_err(err)?;
        Ok(Response::new(render::consult_response(outcome)))
    }

    async fn apply_token(
        &self,
        request: Request<pb::ApplyTokenRequest>,
    ) -> Result<Response<pb::ApplyTokenResponse>, Status> {
        let r = request.into_inner();
        let cmd = engine::ApplyTokenCommand::try_from(&r).map_err(err)?;
        let binding = self.engine.apply_token(cmd).await.map_err(err)?;
        Ok(Response::new(pb::ApplyTokenResponse {
            binding: Some(render::binding(&binding)),
        }))
    }

    async fn refresh_binding(
        &self,
        request: Request<pb::RefreshBindingRequest>,
    ) -> Result<Response<pb::RefreshBindingResponse>, Status> {
        let r = request.into_inner();
        let binding_id = CustomerId::try_from(&r).map_err(err)?;
        let binding = self
            .engine
            .refresh_binding(&binding_id)
            .await
            .map_err(err)?;
        Ok(Response::new(pb::RefreshBindingResponse {
            binding: Some(render::binding(&binding)),
        }))
    }

    async fn revoke_binding(
        &self,
        request: Request<pb::RevokeBindingRequest>,
    ) -> Result<Response<pb::RevokeBindingResponse>, Status> {
        let r = request.into_inner();
        let binding_id = CustomerId::try_from(&r).map_err(err)?;
        let binding = self.engine.revoke_binding(&binding_id).await.map_err(err)?;
        Ok(Response::new(pb::RevokeBindingResponse {
            binding: Some(render::binding(&binding)),
        }))
    }

    async fn inquire_user_info(
        &self,
        request: Request<pb::InquireUserInfoRequest>,
    ) -> Result<Response<pb::InquireUserInfoResponse>, Status> {
        let r = request.into_inner();
        let binding_id = CustomerId::try_from(&r).map_err(err)?;
        let info = self
            .engine
            .inquire_user_info(&binding_id)
            .await
            .map_err(err)?;
        Ok(Response::new(pb::InquireUserInfoResponse {
            user_id: info.user_id.unwrap_or_default(),
            user_login_id: info.user_login_id.unwrap_or_default(),
            hash_user_login_id: info.hash_user_login_id.unwrap_or_default(),
        }))
    }

    async fn get_binding(
        &self,
        request: Request<pb::GetBindingRequest>,
    ) -> Result<Response<pb::GetBindingResponse>, Status> {
        let r = request.into_inner();
        let binding_id = CustomerId::try_from(&r).map_err(err)?;
        let binding = self.engine.get_binding(&binding_id).await.map_err(err)?;
        Ok(Response::new(pb::GetBindingResponse {
            binding: Some(render::binding(&binding)),
        }))
    }

    async fn list_bindings(
        &self,
        request: Request<pb::ListBindingsRequest>,
    ) -> Result<Response<pb::ListBindingsResponse>, Status> {
        let r = request.into_inner();
        let query = parse::BindingQuery::try_from(&r).map_err(err)?;
        let page = self
            .engine
            .list_bindings(query.filter, query.page)
            .await
            .map_err(err)?;
        Ok(Response::new(pb::ListBindingsResponse {
            bindings: page.items.iter().map(render::binding).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }
}
