//! Wallet authorization and bindings: consult, applyToken (idempotent per authCode), token refresh before expiry,
//! revoke, inquiryUserInfo with a scope check, and the binding checks pay relies on.
//!
//! Decision on `INVALID_ACCESS_TOKEN` from Alipay (pay or inquiryUserInfo): Alipay uses the one code for unknown,
//! expired and revoked tokens, so the binding is marked EXPIRED (not REVOKED, which is final): if a refresh token is
//! still valid a REFRESH_TOKEN job runs at once and may bring it back to ACTIVE; otherwise it stays EXPIRED and the
//! customer re-authorizes. REVOKED is set only by our own revoke.

use alipay::model::{
    ApplyTokenRequest, ApplyTokenResponse, ConsultRequest, InquiryUserInfoRequest, RevokeRequest,
    Scope,
};
use alipay::{Outcome, Reply, ResultCode};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use store::bindings::{Binding, BindingFilter, NewBinding, TokenSet};
use store::idempotency::{self, Begin};
use store::jobs::{JobKind, NewJob};
use store::{BindingStatus, Lifecycle, Page, PageRequest, Secret, StoreError, Transition};
use tokio::sync::OwnedMutexGuard;
use tracing::Instrument;

use crate::commands::{ApplyTokenCommand, ConsultCommand, ConsultOutcome, UserInfo};
use crate::error::EngineError;
use crate::fingerprint::fingerprint;
use crate::limits::USER_INFO_SCOPES;
use crate::retry::{Attempted, with_retries};
use crate::{Engine, parse_alipay_time, validate};

impl Engine {
    /// Asks Alipay for the authorization URLs of a wallet (consult). Idempotent at Alipay, so retried on U.
    pub async fn consult(&self, cmd: ConsultCommand) -> Result<ConsultOutcome, EngineError> {
        validate::consult(&cmd)?;
        let span = tracing::info_span!("consult", customer_id = cmd.customer_id.as_deref(), wallet = %cmd.wallet);
        async {
            let request = ConsultRequest {
                customer_belongs_to: cmd.wallet.clone(),
                auth_client_id: None,
                auth_redirect_url: cmd.auth_redirect_url.clone(),
                scopes: cmd.scopes.clone(),
                auth_state: cmd.auth_state.clone(),
                terminal_type: cmd.terminal_type,
                os_type: cmd.os_type,
                os_version: cmd.os_version.clone(),
                merchant_region: cmd.merchant_region.clone(),
                recurring_payment: None,
                auth_notify_url: self.config().notify_url.clone(),
                env: None,
                merchant_account_id: None,
            };
            let reply = self
                .call_idempotent(|| self.client().consult(&request))
                .await?;
            Ok(ConsultOutcome {
                auth_url: reply.body.auth_url,
                normal_url: reply.body.normal_url,
                scheme_url: reply.body.scheme_url,
                applink_url: reply.body.applink_url,
                app_identifier: reply.body.app_identifier,
            })
        }
        .instrument(span)
        .await
    }

    /// Exchanges an authCode for tokens and stores the binding (tokens encrypted), then schedules the refresh.
    /// Idempotent per authCode: a repeat with the same content returns the stored binding without calling Alipay
    /// (an authCode is single-use there); different content is `RequestMismatch`.
    pub async fn apply_token(&self, cmd: ApplyTokenCommand) -> Result<Binding, EngineError> {
        validate::apply_token(&cmd)?;
        let span = tracing::info_span!("apply_token", customer_id = %cmd.customer_id, wallet = %cmd.wallet);
        self.apply_token_inner(cmd).instrument(span).await
    }

    async fn apply_token_inner(&self, cmd: ApplyTokenCommand) -> Result<Binding, EngineError> {
        // The key never contains the authCode itself, only a digest of it.
        let code_digest: String = Sha256::digest(cmd.auth_code.expose().as_bytes())
            .iter()
            .take(24)
            .map(|b| format!("{b:02x}"))
            .collect();
        let key = idempotency::key("apply_token", &code_digest);
        let print = fingerprint(&cmd);
        let _guard = self.inner.locks.lock(&key).await;
        let owner = format!("{}:{}", self.inner.owner, uuid::Uuid::now_v7());
        let records = self.store().idempotency();
        let deadline = tokio::time::Instant::now() + self.config().duplicate_wait;
        let taken_over = loop {
            match records
                .begin(&key, &print, &owner, self.config().idempotency_lease)
                .await?
            {
                Begin::Fresh { taken_over } => break taken_over,
                Begin::Completed(binding_id) => {
                    let binding_id = String::from_utf8_lossy(&binding_id).into_owned();
                    return self.get_binding(&binding_id).await;
                }
                Begin::Mismatch => {
                    return Err(EngineError::RequestMismatch {
                        request_id: "auth_code".into(),
                    });
                }
                Begin::InProgress { .. } if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(self.config().duplicate_poll).await;
                }
                Begin::InProgress { .. } => {
                    return Err(EngineError::Unavailable {
                        retry_after: self.config().duplicate_poll,
                    });
                }
            }
        };
        if taken_over {
            tracing::warn!(
                "taking over an abandoned applyToken; the authCode may already be spent"
            );
        }
        let request = ApplyTokenRequest {
            merchant_region: cmd.merchant_region.clone(),
            ..ApplyTokenRequest::authorization_code(cmd.wallet.clone(), cmd.auth_code.clone())
        };
        let reply = match self
            .call_idempotent(|| self.client().apply_token(&request))
            .await
        {
            Ok(reply) => reply,
            Err(error) => {
                // Nothing durable happened on our side: let the caller retry (Alipay decides whether the code
                // is still good).
                records.release(&key, &owner).await?;
                return Err(error);
            }
        };
        let tokens = token_set(&reply.body)?;
        let binding = self
            .bindings()
            .insert(NewBinding {
                customer_id: cmd.customer_id.clone(),
                wallet: cmd.wallet.clone(),
                scopes: cmd.scopes.iter().map(|s| scope_name(*s)).collect(),
                tokens,
                user_login_id: reply.body.user_login_id.clone(),
                alipay_user_id: reply
                    .body
                    .psp_customer_info
                    .as_ref()
                    .and_then(|p| p.psp_customer_id.clone()),
                merchant_region: cmd.merchant_region.clone(),
            })
            .await?;
        self.schedule_refresh(&binding).await?;
        records
            .complete(&key, &owner, binding.id.as_bytes())
            .await?;
        tracing::info!(binding_id = %binding.id, "wallet binding stored");
        Ok(binding)
    }

    /// Refreshes a binding's access token now with its refresh token.
    pub async fn refresh_binding(&self, binding_id: &str) -> Result<Binding, EngineError> {
        let span = tracing::info_span!("refresh_binding", binding_id);
        async {
            let (_guard, binding) = self.locked_binding(binding_id).await?;
            let binding = self.refresh_tokens(binding).await?;
            self.schedule_refresh(&binding).await?;
            Ok(binding)
        }
        .instrument(span)
        .await
    }

    /// The applyToken REFRESH_TOKEN call and its effect; the caller holds the binding lock.
    pub(crate) async fn refresh_tokens(&self, binding: Binding) -> Result<Binding, EngineError> {
        if binding.status == BindingStatus::Revoked {
            return Err(EngineError::BindingInactive {
                status: binding.status.as_str().into(),
            });
        }
        let Some(refresh_token) = valid_refresh_token(&binding) else {
            let binding = self
                .set_binding_status(binding, BindingStatus::Expired, "refresh_token_lapsed")
                .await?;
            return Err(EngineError::BindingInactive {
                status: binding.status.as_str().into(),
            });
        };
        let request = ApplyTokenRequest {
            merchant_region: binding.merchant_region.clone(),
            ..ApplyTokenRequest::refresh_token(
                binding.wallet.clone(),
                refresh_token.expose().to_owned(),
            )
        };
        let reply = match self
            .call_idempotent(|| self.client().apply_token(&request))
            .await
        {
            Ok(reply) => reply,
            Err(EngineError::Declined { code, message }) => {
                tracing::warn!(%code, "refresh token rejected; binding marked EXPIRED");
                self.set_binding_status(binding, BindingStatus::Expired, "refresh_rejected")
                    .await?;
                return Err(EngineError::Declined { code, message });
            }
            Err(other) => return Err(other),
        };
        let mut tokens = token_set(&reply.body)?;
        if tokens.refresh_token.is_none() {
            // Wallets that do not rotate the refresh token keep the old one.
            tokens.refresh_token = binding.tokens.refresh_token.clone();
            tokens.refresh_token_expires_at = binding.tokens.refresh_token_expires_at;
        }
        let refreshed = self
            .bindings()
            .update_tokens(&binding.id, binding.version, tokens, "refresh")
            .await?;
        tracing::info!(binding_id = %refreshed.id, expires_at = %refreshed.tokens.access_token_expires_at, "access token refreshed");
        Ok(refreshed)
    }

    /// Schedules the REFRESH_TOKEN job at access-token expiry − margin (if a refresh token exists). When a job is
    /// already active it keeps its time; it reschedules itself to the right time when it runs.
    async fn schedule_refresh(&self, binding: &Binding) -> Result<(), EngineError> {
        if binding.tokens.refresh_token.is_none() {
            return Ok(());
        }
        let at = self.refresh_due_at(binding);
        self.store()
            .jobs()
            .enqueue(NewJob::new(JobKind::RefreshToken, &binding.id, at))
            .await?;
        Ok(())
    }

    /// When the access token should be refreshed.
    pub(crate) fn refresh_due_at(&self, binding: &Binding) -> DateTime<Utc> {
        let margin =
            chrono::Duration::from_std(self.config().token_refresh_margin).unwrap_or_default();
        binding.tokens.access_token_expires_at - margin
    }

    /// Revokes a binding at Alipay and marks it REVOKED (idempotent: a revoked binding is returned as is).
    pub async fn revoke_binding(&self, binding_id: &str) -> Result<Binding, EngineError> {
        let span = tracing::info_span!("revoke_binding", binding_id);
        async {
            let (_guard, binding) = self.locked_binding(binding_id).await?;
            if binding.status == BindingStatus::Revoked {
                return Ok(binding);
            }
            let request = RevokeRequest::new(binding.tokens.access_token.expose().to_owned());
            match self
                .call_idempotent(|| self.client().revoke(&request))
                .await
            {
                Ok(_) => {}
                // The token is already dead at Alipay: the agreement is gone either way.
                Err(EngineError::Declined { code, .. })
                    if code == ResultCode::InvalidAccessToken.as_str() => {}
                Err(other) => return Err(other),
            }
            self.set_binding_status(binding, BindingStatus::Revoked, "revoke")
                .await
        }
        .instrument(span)
        .await
    }

    /// Live `inquiryUserInfo` for a binding; refused before Alipay is called unless the binding is active and its
    /// recorded scopes include BASE_USER_INFO or USER_INFO. A binding with no recorded scopes (the caller did not say
    /// what it consulted for) is left to Alipay to judge.
    pub async fn inquire_user_info(&self, binding_id: &str) -> Result<UserInfo, EngineError> {
        let span = tracing::info_span!("inquire_user_info", binding_id);
        async {
            let binding = self.get_binding(binding_id).await?;
            if !binding.scopes.is_empty()
                && !binding
                    .scopes
                    .iter()
                    .any(|s| USER_INFO_SCOPES.contains(&s.as_str()))
            {
                return Err(EngineError::illegal_state(
                    crate::reasons::SCOPE_NOT_GRANTED,
                    "the binding was authorized without BASE_USER_INFO or USER_INFO scope",
                ));
            }
            let binding = self.usable_binding(binding_id).await?;
            let request =
                InquiryUserInfoRequest::new(binding.tokens.access_token.expose().to_owned());
            let reply = match self
                .call_idempotent(|| self.client().inquiry_user_info(&request))
                .await
            {
                Ok(reply) => reply,
                Err(EngineError::Declined { code, message }) => {
                    if code == ResultCode::InvalidAccessToken.as_str() {
                        self.binding_token_rejected(&binding).await?;
                    }
                    return Err(EngineError::Declined { code, message });
                }
                Err(other) => return Err(other),
            };
            let body = reply.body;
            let nested = body.user_info.clone().unwrap_or_default();
            Ok(UserInfo {
                user_id: body.user_id().map(str::to_owned),
                user_login_id: body.user_login_id.or(nested.user_login_id),
                hash_user_login_id: body.hash_user_login_id.or(nested.hash_user_login_id),
            })
        }
        .instrument(span)
        .await
    }

    /// The binding, read under its in-process lock (held while the returned guard lives): refreshes, revokes and
    /// pay's refresh-on-demand of one binding never interleave within this process.
    async fn locked_binding(
        &self,
        binding_id: &str,
    ) -> Result<(OwnedMutexGuard<()>, Binding), EngineError> {
        let guard = self.inner.locks.lock(&binding_lock_key(binding_id)).await;
        let binding = self.get_binding(binding_id).await?;
        Ok((guard, binding))
    }

    /// The stored binding.
    pub async fn get_binding(&self, binding_id: &str) -> Result<Binding, EngineError> {
        self.bindings()
            .get(binding_id)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "binding",
                id: binding_id.to_owned(),
            })
    }

    /// Stored bindings matching `filter`, newest first, one page.
    pub async fn list_bindings(
        &self,
        filter: BindingFilter,
        page: PageRequest,
    ) -> Result<Page<Binding>, EngineError> {
        Ok(self.bindings().list(&filter, &page).await?)
    }

    /// A binding pay may use: ACTIVE, with an access token that is not about to expire (refreshed synchronously
    /// when a valid refresh token exists). `BindingInactive` otherwise — before Alipay is called.
    pub(crate) async fn usable_binding(&self, binding_id: &str) -> Result<Binding, EngineError> {
        let (_guard, binding) = self.locked_binding(binding_id).await?;
        let inactive = |b: &Binding| EngineError::BindingInactive {
            status: b.status.as_str().into(),
        };
        if binding.status == BindingStatus::Revoked {
            return Err(inactive(&binding));
        }
        let now = Utc::now();
        let access_valid = binding.tokens.access_token_expires_at > now;
        let refresh_due = self.refresh_due_at(&binding) <= now;
        if binding.status == BindingStatus::Active && access_valid && !refresh_due {
            return Ok(binding);
        }
        if valid_refresh_token(&binding).is_none() {
            if binding.status == BindingStatus::Active && access_valid {
                return Ok(binding);
            }
            let expired = self
                .set_binding_status(binding, BindingStatus::Expired, "access_token_lapsed")
                .await?;
            return Err(inactive(&expired));
        }
        match self.refresh_tokens(binding.clone()).await {
            Ok(refreshed) => {
                self.schedule_refresh(&refreshed).await?;
                Ok(refreshed)
            }
            // A transient refresh failure does not stop a payment with a still-valid token.
            Err(EngineError::Unavailable { .. })
                if binding.status == BindingStatus::Active && access_valid =>
            {
                Ok(binding)
            }
            Err(EngineError::Declined { .. }) => {
                let current = self.get_binding(binding_id).await?;
                Err(inactive(&current))
            }
            Err(other) => Err(other),
        }
    }

    /// Alipay said INVALID_ACCESS_TOKEN: mark the binding EXPIRED and try a refresh at once (see module docs).
    pub(crate) async fn binding_token_rejected(
        &self,
        binding: &Binding,
    ) -> Result<(), EngineError> {
        let current = self.get_binding(&binding.id).await?;
        if current.status == BindingStatus::Revoked {
            return Ok(());
        }
        let expired = self
            .set_binding_status(current, BindingStatus::Expired, "invalid_access_token")
            .await?;
        tracing::warn!(binding_id = %expired.id, "Alipay rejected the access token; binding marked EXPIRED");
        if valid_refresh_token(&expired).is_some() {
            self.store()
                .jobs()
                .enqueue(NewJob::new(JobKind::RefreshToken, &expired.id, Utc::now()))
                .await?;
        }
        Ok(())
    }

    async fn set_binding_status(
        &self,
        binding: Binding,
        to: BindingStatus,
        source: &str,
    ) -> Result<Binding, EngineError> {
        if binding.status == to {
            return Ok(binding);
        }
        match self
            .bindings()
            .set_status(&binding.id, binding.version, Transition::new(to, source))
            .await
        {
            Ok(b) => Ok(b),
            Err(StoreError::VersionConflict { .. } | StoreError::IllegalTransition { .. }) => {
                self.get_binding(&binding.id).await
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn bindings(&self) -> store::bindings::Bindings<'_> {
        self.store().bindings(&self.config().token_cipher)
    }

    /// An idempotent call (consult, applyToken, revoke, inquiries) with bounded retries, mapped to engine errors:
    /// F → `Declined`, still unknown → `Unavailable`, unsendable → `Alipay`.
    pub(crate) async fn call_idempotent<T, F, Fut>(&self, call: F) -> Result<Reply<T>, EngineError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Reply<T>, alipay::CallError>>,
    {
        let config = self.config();
        match with_retries(config.call_attempts, config.retry_backoff, call).await {
            Attempted::Answer(reply) => match &reply.outcome {
                Outcome::Success | Outcome::InProcess => Ok(reply),
                Outcome::Failed { code, message } | Outcome::Unknown { code, message } => {
                    Err(EngineError::Declined {
                        code: code.to_string(),
                        message: message.clone(),
                    })
                }
            },
            Attempted::Unknown { reason, .. } => {
                tracing::warn!(%reason, "Alipay unavailable");
                Err(EngineError::Unavailable {
                    retry_after: config.inquiry_interval,
                })
            }
            Attempted::Rejected(error) => Err(EngineError::Alipay(error)),
        }
    }
}

/// The in-process lock key of a binding, shared by the API calls and the reconciler's REFRESH_TOKEN job.
pub(crate) fn binding_lock_key(binding_id: &str) -> String {
    format!("binding:{binding_id}")
}

fn valid_refresh_token(binding: &Binding) -> Option<&Secret> {
    let token = binding.tokens.refresh_token.as_ref()?;
    match binding.tokens.refresh_token_expires_at {
        Some(expiry) if expiry <= Utc::now() => None,
        _ => Some(token),
    }
}

fn token_set(body: &ApplyTokenResponse) -> Result<TokenSet, EngineError> {
    let missing = |what: &str| {
        EngineError::illegal_state(
            crate::reasons::UPSTREAM_INCOMPLETE_ANSWER,
            format!("applyToken answered S without {what}"),
        )
    };
    let access = body
        .access_token
        .as_ref()
        .ok_or_else(|| missing("accessToken"))?;
    let access_expiry = body
        .access_token_expiry_time
        .as_deref()
        .and_then(parse_alipay_time)
        .ok_or_else(|| missing("a readable accessTokenExpiryTime"))?;
    Ok(TokenSet {
        access_token: Secret::new(access.expose()),
        access_token_expires_at: access_expiry,
        refresh_token: body.refresh_token.as_ref().map(|t| Secret::new(t.expose())),
        refresh_token_expires_at: body
            .refresh_token_expiry_time
            .as_deref()
            .and_then(parse_alipay_time),
    })
}

fn scope_name(scope: Scope) -> String {
    match serde_json::to_value(scope) {
        Ok(serde_json::Value::String(name)) => name,
        // A unit enum always serialises to its string name.
        _ => format!("{scope:?}"),
    }
}
