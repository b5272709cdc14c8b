//! Bindings (a wallet user's consent to auto debit, with its credentials): consult, applyToken (idempotent per
//! authCode), credential refresh before expiry, revoke, inquiryUserInfo with a scope check, and the binding checks
//! pay relies on. Vocabulary: "binding" is the wallet consent, "authorization" only a hold of money (and a card
//! authorization), "token" only the wallet's access token and a card token; the pair the wallet issues is the
//! binding's [`WalletCredentials`](store::bindings::WalletCredentials).
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
use store::bindings::{Binding, BindingFilter, NewBinding, WalletCredentials};
use store::idempotency::{self, Begin, Claim};
use store::jobs::{JobKind, NewJob};
use store::{BindingStatus, Lifecycle, Page, PageRequest, Secret, Spelled, StoreError, Transition};
use tokio::sync::OwnedMutexGuard;
use tracing::Instrument;

use crate::commands::{ApplyTokenCommand, ConsultCommand, ConsultOutcome, UserInfo};
use crate::error::EngineError;
use crate::fingerprint::fingerprint;
use crate::records::BindingRecord;
use crate::retry::{Attempted, with_retries};
use crate::{Engine, parse_alipay_time, validate};
use alipay::limits::USER_INFO_SCOPES;

impl Engine {
    /// Asks Alipay for the authorization URLs of a wallet (consult). Idempotent at Alipay, so retried on U.
    pub async fn consult(&self, cmd: ConsultCommand) -> Result<ConsultOutcome, EngineError> {
        validate::consult(&cmd)?;
        let span = tracing::info_span!("consult", customer_id = cmd.customer_id.as_deref(), wallet = %cmd.wallet);
        async {
            let request = ConsultRequest {
                customer_belongs_to: cmd.wallet.into(),
                auth_client_id: None,
                auth_redirect_url: cmd.auth_redirect_url.to_string(),
                scopes: cmd.scopes.to_vec(),
                auth_state: cmd.auth_state.to_string(),
                terminal_type: cmd.terminal_type,
                os_type: cmd.os_type,
                os_version: cmd.os_version.clone().map(String::from),
                merchant_region: cmd.merchant_region.clone().map(String::from),
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
    pub async fn apply_token(&self, cmd: ApplyTokenCommand) -> Result<BindingRecord, EngineError> {
        let span = tracing::info_span!("apply_token", customer_id = %cmd.customer_id, wallet = %cmd.wallet);
        let binding = self.apply_token_inner(cmd).instrument(span).await?;
        Ok((&binding).into())
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
                // An authCode is single-use (the contract, and Alipay's own answer to a reused code): a repeat learns
                // that it was spent, whoever sends it and with whatever content, and finds the binding the first
                // attempt made with ListBindings.
                Begin::Completed(_) | Begin::Mismatch => {
                    return Err(spent_code(USED_MESSAGE.as_bytes()));
                }
                Begin::Failed(message) => return Err(spent_code(&message)),
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
            merchant_region: cmd.merchant_region.clone().map(String::from),
            ..ApplyTokenRequest::authorization_code(cmd.wallet, cmd.auth_code.clone())
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
        let claim = Claim {
            key: &key,
            owner: &owner,
        };
        let binding = match self.store_binding(&cmd, &reply.body, claim).await {
            Ok(binding) => binding,
            Err(error) => {
                self.abandon_tokens(&reply.body, claim, &error).await;
                return Err(error);
            }
        };
        tracing::info!(binding_id = %binding.id, "wallet binding stored");
        Ok(binding)
    }

    /// Stores the binding Alipay's applyToken answer describes, with its refresh job and the completion of the
    /// idempotency record, in one transaction.
    async fn store_binding(
        &self,
        cmd: &ApplyTokenCommand,
        body: &ApplyTokenResponse,
        claim: Claim<'_>,
    ) -> Result<Binding, EngineError> {
        let credentials = wallet_credentials(body)?;
        let refresh_at = credentials
            .refresh_token
            .is_some()
            .then(|| self.refresh_due(credentials.access_token_expires_at));
        let new = NewBinding {
            customer_id: cmd.customer_id.to_string(),
            wallet: crate::records::stored_wallet(cmd.wallet),
            scopes: cmd.scopes.iter().map(|s| scope_name(*s)).collect(),
            credentials,
            user_login_id: body.user_login_id.clone(),
            alipay_user_id: body
                .psp_customer_info
                .as_ref()
                .and_then(|p| p.psp_customer_id.clone()),
            merchant_region: cmd.merchant_region.clone().map(String::from),
        };
        Ok(self
            .bindings()
            .insert_with(new, refresh_at, Some(claim))
            .await?)
    }

    /// Alipay issued tokens the binding could not be stored with (`error`): whatever was issued is revoked at
    /// Alipay by a REVOKE_TOKENS job, and the idempotency record is marked failed in the same transaction, so a
    /// retry with this authCode gets a definite answer (the code is spent) instead of waiting on IN_PROGRESS.
    /// Should even that write fail, the tokens are revoked directly (best effort) and the record released: a
    /// retry then asks Alipay, which answers that the code was used.
    async fn abandon_tokens(
        &self,
        body: &ApplyTokenResponse,
        claim: Claim<'_>,
        error: &EngineError,
    ) {
        tracing::error!(%error, "tokens issued but the binding could not be stored; revoking them");
        let access_token = body.access_token.as_ref().map(|t| t.expose().to_owned());
        let job = match access_token
            .as_deref()
            .map(|t| self.config().token_cipher.encrypt(t))
        {
            Some(Ok(sealed)) => Some(
                NewJob::new(
                    JobKind::RevokeTokens,
                    uuid::Uuid::now_v7().to_string(),
                    Utc::now(),
                )
                .with_payload(serde_json::json!({ SEALED_ACCESS_TOKEN: sealed })),
            ),
            Some(Err(seal_error)) => {
                tracing::error!(%seal_error, "could not seal the token for the revoke job");
                None
            }
            None => None,
        };
        let failed = self
            .store()
            .idempotency()
            .fail(
                claim.key,
                claim.owner,
                SPENT_MESSAGE.as_bytes(),
                job.as_ref(),
            )
            .await;
        if job.is_some() && failed.is_ok() {
            return;
        }
        if let Err(store_error) = &failed {
            tracing::error!(%store_error, "could not record the failed applyToken; revoking directly");
            if let Err(release_error) = self
                .store()
                .idempotency()
                .release(claim.key, claim.owner)
                .await
            {
                tracing::error!(%release_error, "could not release the applyToken record; it frees when its lease ends");
            }
        }
        if let Some(token) = access_token {
            match self.revoke_token(&token).await {
                Ok(()) => tracing::info!("unstored tokens revoked"),
                Err(revoke_error) => {
                    tracing::error!(%revoke_error, "could not revoke the unstored tokens")
                }
            }
        }
    }

    /// Revokes an access token (and with it its refresh token) at Alipay; a token Alipay no longer knows counts as
    /// revoked.
    pub(crate) async fn revoke_token(&self, access_token: &str) -> Result<(), EngineError> {
        let request = RevokeRequest::new(access_token.to_owned());
        match self
            .call_idempotent(|| self.client().revoke(&request))
            .await
        {
            Ok(_) => Ok(()),
            Err(EngineError::Declined { code, .. })
                if code == ResultCode::InvalidAccessToken.as_str() =>
            {
                Ok(())
            }
            Err(other) => Err(other),
        }
    }

    /// REVOKE_TOKENS: revokes tokens that were issued but never stored (see `abandon_tokens`).
    pub(crate) async fn revoke_unstored(
        &self,
        payload: &serde_json::Value,
    ) -> Result<(), EngineError> {
        let sealed = payload
            .get(SEALED_ACCESS_TOKEN)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| StoreError::Invalid {
                field: "payload",
                reason: format!("a revoke job carries {SEALED_ACCESS_TOKEN}"),
            })?;
        let token = self
            .config()
            .token_cipher
            .decrypt(sealed)
            .map_err(|e| EngineError::from(StoreError::from(e)))?;
        self.revoke_token(token.expose()).await
    }

    /// Refreshes a binding's access token now with its refresh token.
    pub async fn refresh_binding(&self, binding_id: &str) -> Result<BindingRecord, EngineError> {
        let span = tracing::info_span!("refresh_binding", binding_id);
        async {
            let (_guard, binding) = self.locked_binding(binding_id).await?;
            let binding = self.refresh_tokens(binding).await?;
            self.schedule_refresh(&binding).await?;
            Ok((&binding).into())
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
                binding.wallet.spelling(),
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
        let mut credentials = wallet_credentials(&reply.body)?;
        if credentials.refresh_token.is_none() {
            // Wallets that do not rotate the refresh token keep the old one.
            credentials.refresh_token = binding.credentials.refresh_token.clone();
            credentials.refresh_token_expires_at = binding.credentials.refresh_token_expires_at;
        }
        let refreshed = self
            .bindings()
            .update_credentials(&binding.id, binding.version, credentials, "refresh")
            .await?;
        tracing::info!(binding_id = %refreshed.id, expires_at = %refreshed.credentials.access_token_expires_at, "access token refreshed");
        Ok(refreshed)
    }

    /// Schedules the REFRESH_TOKEN job at access-token expiry − margin (if a refresh token exists). When a job is
    /// already active it keeps its time; it reschedules itself to the right time when it runs.
    async fn schedule_refresh(&self, binding: &Binding) -> Result<(), EngineError> {
        if binding.credentials.refresh_token.is_none() {
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
        self.refresh_due(binding.credentials.access_token_expires_at)
    }

    /// When an access token expiring at `expires_at` should be refreshed.
    fn refresh_due(&self, expires_at: DateTime<Utc>) -> DateTime<Utc> {
        let margin =
            chrono::Duration::from_std(self.config().token_refresh_margin).unwrap_or_default();
        expires_at - margin
    }

    /// Revokes a binding at Alipay and marks it REVOKED (idempotent: a revoked binding is returned as is).
    pub async fn revoke_binding(&self, binding_id: &str) -> Result<BindingRecord, EngineError> {
        let span = tracing::info_span!("revoke_binding", binding_id);
        let binding = async {
            let (_guard, binding) = self.locked_binding(binding_id).await?;
            if binding.status == BindingStatus::Revoked {
                return Ok(binding);
            }
            // A token already dead at Alipay counts: the agreement is gone either way.
            self.revoke_token(binding.credentials.access_token.expose())
                .await?;
            self.set_binding_status(binding, BindingStatus::Revoked, "revoke")
                .await
        }
        .instrument(span)
        .await?;
        Ok((&binding).into())
    }

    /// Live `inquiryUserInfo` for a binding; refused before Alipay is called unless the binding is active and its
    /// recorded scopes include BASE_USER_INFO or USER_INFO. A binding with no recorded scopes (the caller did not say
    /// what it consulted for) is left to Alipay to judge.
    pub async fn inquire_user_info(&self, binding_id: &str) -> Result<UserInfo, EngineError> {
        let span = tracing::info_span!("inquire_user_info", binding_id);
        async {
            let binding = self.stored_binding(binding_id).await?;
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
                InquiryUserInfoRequest::new(binding.credentials.access_token.expose().to_owned());
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
        let binding = self.stored_binding(binding_id).await?;
        Ok((guard, binding))
    }

    /// The stored binding (never its tokens).
    pub async fn get_binding(&self, binding_id: &str) -> Result<BindingRecord, EngineError> {
        Ok((&self.stored_binding(binding_id).await?).into())
    }

    /// The stored binding with its tokens, for the engine's own calls.
    pub(crate) async fn stored_binding(&self, binding_id: &str) -> Result<Binding, EngineError> {
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
    ) -> Result<Page<BindingRecord>, EngineError> {
        let page = self.bindings().list(&filter, &page).await?;
        Ok(Page {
            items: page.items.iter().map(BindingRecord::from).collect(),
            next_page_token: page.next_page_token,
        })
    }

    /// [`Self::usable_binding`] for a charge, answered from memory when the binding kept there is ready to charge
    /// as it is (see [`crate::binding_cache`]); the caller's write-ahead insert then checks that the store still
    /// holds that version, and calls [`Self::forget_binding`] when it does not.
    pub(crate) async fn chargeable_binding(
        &self,
        binding_id: &str,
    ) -> Result<Binding, EngineError> {
        if let Some(kept) = self.inner.bindings.get(binding_id)
            && self.ready_to_charge(&kept, Utc::now())
        {
            return Ok(kept);
        }
        let binding = self.usable_binding(binding_id).await?;
        self.inner.bindings.keep(&binding);
        Ok(binding)
    }

    /// Drops `binding` from memory: the store holds another version of it now.
    pub(crate) fn forget_binding(&self, binding: &Binding) {
        self.inner.bindings.forget(&binding.id, binding.version);
    }

    /// ACTIVE, its access token valid and no refresh due: chargeable without writing to it first.
    fn ready_to_charge(&self, binding: &Binding, now: DateTime<Utc>) -> bool {
        binding.status == BindingStatus::Active
            && binding.credentials.access_token_expires_at > now
            && self.refresh_due_at(binding) > now
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
        if self.ready_to_charge(&binding, now) {
            return Ok(binding);
        }
        let access_valid = binding.credentials.access_token_expires_at > now;
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
                let current = self.stored_binding(binding_id).await?;
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
        let current = self.stored_binding(&binding.id).await?;
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
                self.stored_binding(&binding.id).await
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
                Err(EngineError::Unreachable {
                    retry_after: config.inquiry_interval,
                })
            }
            Attempted::Rejected(error) => Err(EngineError::Alipay(error)),
        }
    }
}

/// The payload key of a REVOKE_TOKENS job: the access token, sealed with the token cipher like a binding's.
const SEALED_ACCESS_TOKEN: &str = "sealed_access_token";

/// What a retry of an applyToken whose tokens could not be stored is told: Alipay's own answer to a reused code.
const SPENT_MESSAGE: &str = "the authCode was spent by an earlier attempt whose binding could not be stored; its \
                             tokens are revoked; authorize again";

/// What a repeat of an applyToken that succeeded is told.
const USED_MESSAGE: &str =
    "the authCode was already exchanged for a binding; find it with ListBindings(customer_id)";

/// The replayed answer of a failed applyToken: the authCode is spent, as Alipay would say (`INVALID_CODE`).
fn spent_code(message: &[u8]) -> EngineError {
    EngineError::Declined {
        code: ResultCode::InvalidCode.as_str().to_owned(),
        message: String::from_utf8_lossy(message).into_owned(),
    }
}

/// The in-process lock key of a binding, shared by the API calls and the reconciler's REFRESH_TOKEN job.
pub(crate) fn binding_lock_key(binding_id: &str) -> String {
    format!("binding:{binding_id}")
}

fn valid_refresh_token(binding: &Binding) -> Option<&Secret> {
    let token = binding.credentials.refresh_token.as_ref()?;
    match binding.credentials.refresh_token_expires_at {
        Some(expiry) if expiry <= Utc::now() => None,
        _ => Some(token),
    }
}

fn wallet_credentials(body: &ApplyTokenResponse) -> Result<WalletCredentials, EngineError> {
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
    Ok(WalletCredentials {
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
