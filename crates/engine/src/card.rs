//! Card payments (issue 10): what is card-specific about them. A card payment is a CASHIER_PAYMENT pay with
//! `paymentMethodType` CARD and `paymentFactor.isAuthorization`, made by the one durable pay path of `pay.rs`
//! (write-ahead intent, S/F/U handling, reconciler); this module adds the card source of a [`crate::PayCommand`],
//! the card facts and tokens Alipay's answers bring (pay answer, inquiry, notification: whichever comes first), and
//! the card read, void and stored-card APIs.
//!
//! Card data (number, CVV, cardholder name, billing address, CAVV) lives only in the command and in the one pay
//! request built from it: it is never serialised into a fingerprint, never stored, and redacted in `Debug`.

use std::fmt;

use alipay::checked::HttpsUrl;
use alipay::model::{
    Address, CardNumber, CardPaymentMethodMetaData, MpiData, PaymentMethod, PaymentResultInfo,
    RecurringType, Secret, UserName,
};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use store::card_facts::{CardFacts, CardIdentity, CardReport, PaymentCardFacts, PlannedVoid};
use store::card_tokens::{CardToken, CardTokens, SealedCardToken};
use store::payments::{Payment, PaymentUpdate};
use store::{
    CaptureMode, OperationStatus, Page, PageRequest, PaymentStatus, ResultInfo, ResultStatus,
    Transition, Wallet,
};
use tracing::Instrument;

use crate::card_void::VoidReason;
use crate::commands::PayCommand;
use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::pay::is_manual_authorization;
use crate::records::PaymentRecord;
use crate::views::PaymentView;
use crate::{Engine, reasons};

/// New card data for one authorization. Serialises (for the request fingerprint) only its last four digits and
/// expiry, so no fingerprint is a hash of a card number; `Debug` shows the same.
#[derive(Clone)]
pub struct CardDetails {
    /// The card number, checked at the edge (digits, length, Luhn).
    pub number: CardNumber,
    /// The CVV, when the buyer gave one.
    pub cvv: Option<Secret>,
    /// Expiry month, `MM`.
    pub expiry_month: String,
    /// Expiry year, `YY`.
    pub expiry_year: String,
    /// Name on the card.
    pub cardholder_name: Option<UserName>,
    /// Billing address, the AVS input.
    pub billing_address: Option<Address>,
}

impl fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardDetails")
            .field("number", &self.number)
            .field("expiry", &"**/**")
            .finish_non_exhaustive()
    }
}

impl Serialize for CardDetails {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("CardDetails", 3)?;
        s.serialize_field("last_four", self.number.last4())?;
        s.serialize_field("expiry_month", &self.expiry_month)?;
        s.serialize_field("expiry_year", &self.expiry_year)?;
        s.end()
    }
}

/// Which card pays.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CardSource {
    /// Card data sent server to server.
    New {
        /// The card.
        card: Box<CardDetails>,
        /// Store the card for the payment's customer.
        tokenize: bool,
    },
    /// A stored card of the payment's customer (`paymentMethodId` = its cardToken, `isCardOnFile`).
    Stored {
        /// The stored card's id (what callers hold; the cardToken never leaves the gateway).
        card_id: String,
        /// Set for a merchant-initiated charge.
        recurring_type: Option<RecurringType>,
        /// The first charge's scheme id, for a merchant-initiated charge; defaults to the stored card's.
        network_transaction_id: Option<String>,
        /// A CVV re-entered by the buyer (customer-initiated only); not part of the fingerprint.
        #[serde(skip)]
        cvv: Option<Secret>,
    },
    /// No card data: the buyer enters the card on Alipay's hosted page.
    Hosted {
        /// Offer to store the card for the payment's customer.
        tokenize: bool,
    },
}

/// The card part of a pay command (`PaySource::Card`).
#[derive(Debug, Clone, Serialize)]
pub struct CardPay {
    /// Which card pays.
    pub source: CardSource,
    /// Ask for 3-D Secure (`is3DSAuthentication`).
    pub three_ds: bool,
    /// Let Alipay upgrade to 3DS instead of declining (`enableAuthenticationUpgrade`).
    pub authentication_upgrade: bool,
    /// 3DS done by the merchant's MPI (`mpiData`); holds the CAVV, so it is not part of the fingerprint.
    #[serde(skip)]
    pub mpi_data: Option<MpiData>,
    /// Where the buyer returns after 3DS or the hosted page (`paymentRedirectUrl`).
    pub redirect_url: Option<HttpsUrl>,
    /// Brand to route a co-badged card to (`selectedCardBrand`).
    pub selected_card_brand: Option<String>,
}

impl CardPay {
    /// The stored card this payment charges, if any.
    pub(crate) fn stored_card_id(&self) -> Option<&str> {
        match &self.source {
            CardSource::Stored { card_id, .. } => Some(card_id),
            CardSource::New { .. } | CardSource::Hosted { .. } => None,
        }
    }
}

/// A card payment as the engine answers it: the payment's view and what was reported about its card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardPaymentView {
    /// The payment, its totals and, while its outcome is not final, the retry hint.
    pub payment: PaymentView,
    /// Its card facts; `None` until a source reported some.
    pub facts: Option<CardFacts>,
}

impl Engine {
    /// The `paymentMethod` of a card pay. A stored card must be a live card of `customer_id` (else NOT_FOUND,
    /// before Alipay hears of the payment).
    pub(crate) async fn card_method(
        &self,
        card: &CardPay,
        customer_id: Option<&str>,
    ) -> Result<PaymentMethod, EngineError> {
        let mut meta = CardPaymentMethodMetaData {
            is_3ds_authentication: card.three_ds.then_some(true),
            enable_authentication_upgrade: card.authentication_upgrade.then_some(true),
            mpi_data: card.mpi_data.clone(),
            selected_card_brand: card.selected_card_brand.clone(),
            ..CardPaymentMethodMetaData::default()
        };
        match &card.source {
            CardSource::New { card, tokenize } => {
                meta.card_no = Some(card.number.clone());
                meta.cvv = card.cvv.clone();
                meta.expiry_month = Some(card.expiry_month.clone());
                meta.expiry_year = Some(card.expiry_year.clone());
                meta.cardholder_name = card.cardholder_name.clone();
                meta.billing_address = card.billing_address.clone();
                meta.tokenize = tokenize.then_some(true);
                Ok(PaymentMethod::card(meta))
            }
            CardSource::Hosted { tokenize } => {
                meta.tokenize = tokenize.then_some(true);
                Ok(PaymentMethod::card(meta))
            }
            CardSource::Stored {
                card_id,
                recurring_type,
                network_transaction_id,
                cvv,
            } => {
                let stored = self.stored_card(customer_id, card_id).await?;
                meta.cvv = cvv.clone();
                meta.recurring_type = *recurring_type;
                if recurring_type.is_some() {
                    meta.network_transaction_id = network_transaction_id
                        .clone()
                        .or(stored.network_transaction_id);
                }
                Ok(PaymentMethod::stored_card(
                    Secret::new(stored.token.expose()),
                    meta,
                ))
            }
        }
    }

    /// The live stored card `card_id` of `customer_id`; NOT_FOUND for an unknown, deleted or other customer's card.
    async fn stored_card(
        &self,
        customer_id: Option<&str>,
        card_id: &str,
    ) -> Result<CardToken, EngineError> {
        let found = match customer_id {
            Some(customer) => self.card_tokens().get(customer, card_id).await?,
            None => None,
        };
        found.ok_or_else(|| EngineError::NotFound {
            what: "card token",
            id: card_id.to_owned(),
        })
    }

    fn card_tokens(&self) -> CardTokens<'_> {
        CardTokens::new(self.store(), &self.config().token_cipher)
    }

    /// Authorizes a card through [`Engine::pay`] and answers the card payment. Unlike `pay`, a decline is an answer
    /// (the FAIL payment with Alipay's code and the issuer's refusal code), as the card contract says; a 3DS
    /// challenge or the hosted page is the PROCESSING payment with its redirect.
    pub async fn authorize_card(&self, cmd: PayCommand) -> Result<CardPaymentView, EngineError> {
        let id = cmd.payment_request_id.to_string();
        let view = match self.pay_with_card_facts(cmd).await {
            Ok((payment, facts)) => CardPaymentView { payment, facts },
            Err(declined @ EngineError::Declined { .. }) => {
                let view = self.get_card_payment(&id).await?;
                if view.payment.payment.status != PaymentStatus::Fail {
                    return Err(declined);
                }
                view
            }
            Err(e) => return Err(e),
        };
        let Some(reason) = self.void_reason(&view) else {
            return Ok(view);
        };
        tracing::info!(%reason, payment_request_id = %id, "card_void_on voids the authorization");
        match self.void_authorization(&id, Some(reason)).await {
            Ok(mut voided) => {
                voided.payment.retry_after = view.payment.retry_after;
                Ok(voided)
            }
            // A replay after the caller captured: the capture stands, the answer is the payment as it is.
            Err(EngineError::IllegalState { .. }) => Ok(view),
            Err(e) => Err(e),
        }
    }

    /// Why `card_void_on` voids this card payment: an approved, uncaptured MANUAL authorization whose AVS or CVV
    /// verdict the policy names. A replayed AuthorizeCard asks again, so a void cut short by a crash is finished
    /// by the caller's retry.
    fn void_reason(&self, view: &CardPaymentView) -> Option<VoidReason> {
        let policy = &self.config().card_void_policy;
        let payment = &view.payment.payment;
        if policy.is_empty()
            || payment.status != PaymentStatus::Success
            || payment.capture_mode != Some(CaptureMode::Manual)
            || view.payment.totals.captured > 0
        {
            return None;
        }
        let facts = view.facts.as_ref()?;
        policy.reason(
            facts.avs_result_raw.as_deref(),
            facts.cvv_result_raw.as_deref(),
        )
    }

    /// A stored card payment with its card facts. NOT_FOUND also for a payment that is not a card payment.
    pub async fn get_card_payment(
        &self,
        payment_request_id: &str,
    ) -> Result<CardPaymentView, EngineError> {
        let payment = self.stored_card_payment(payment_request_id).await?;
        self.card_view(&payment).await
    }

    async fn stored_card_payment(&self, payment_request_id: &str) -> Result<Payment, EngineError> {
        let payment = self.stored_payment(payment_request_id).await?;
        if payment.payment_method_type != Wallet::Card {
            return Err(EngineError::NotFound {
                what: "card payment",
                id: payment_request_id.to_owned(),
            });
        }
        Ok(payment)
    }

    /// `payment` with its totals and card facts.
    async fn card_view(&self, payment: &Payment) -> Result<CardPaymentView, EngineError> {
        let facts = PaymentCardFacts::new(self.store()).get(&payment.id).await?;
        Ok(CardPaymentView {
            payment: PaymentView {
                payment: PaymentRecord::with_card_facts(payment, facts.as_ref()),
                totals: self.totals_of(payment).await?,
                retry_after: None,
            },
            facts,
        })
    }

    /// Releases an uncaptured card authorization at Alipay (`cancel`): the payment becomes CANCELLED. Refuses money
    /// already captured (an AUTOMATIC authorization, or a MANUAL one with a capture that did not fail):
    /// `PAYMENT_ALREADY_CAPTURED`, refund instead. Idempotent: a CANCELLED payment is answered unchanged.
    pub async fn void_card_authorization(
        &self,
        payment_request_id: &str,
    ) -> Result<CardPaymentView, EngineError> {
        self.void_authorization(payment_request_id, None).await
    }

    /// [`Self::void_card_authorization`], by the caller (`reason` `None`) or by the `card_void_on` policy: then
    /// the CANCELLED payment's result is the policy's code (`AVS_REJECTED`, `CVV_REJECTED`), not Alipay's.
    pub(crate) async fn void_authorization(
        &self,
        payment_request_id: &str,
        reason: Option<VoidReason>,
    ) -> Result<CardPaymentView, EngineError> {
        let span = tracing::info_span!("void_card_authorization", payment_request_id);
        async {
            let _guard = self.lock_payment(payment_request_id).await?;
            let payment = self.stored_card_payment(payment_request_id).await?;
            match payment.status {
                PaymentStatus::Cancelled => return self.card_view(&payment).await,
                PaymentStatus::Created => return Err(self.pending()),
                PaymentStatus::Fail => {
                    return Err(EngineError::illegal_state(
                        reasons::PAYMENT_NOT_CANCELLABLE,
                        "a declined authorization holds no funds",
                    ));
                }
                PaymentStatus::Success if self.is_captured(&payment).await? => {
                    return Err(EngineError::illegal_state(
                        reasons::PAYMENT_ALREADY_CAPTURED,
                        "the authorization is captured; refund it instead",
                    ));
                }
                PaymentStatus::Success | PaymentStatus::Processing => {}
            }
            let mut settled = self.cancel_at_alipay(payment).await?.settled(self)?;
            if settled.status == PaymentStatus::Success {
                // Alipay released the funds; the authorization's SUCCESS is final for every other move.
                let code = reason.map_or("VOIDED", VoidReason::code);
                let transition = Transition::new(PaymentStatus::Cancelled, "void")
                    .with_reason(code)
                    .releasing_authorization();
                let update = PaymentUpdate {
                    cancel_time: Some(chrono::Utc::now()),
                    result: reason.map(|_| ResultInfo {
                        status: ResultStatus::Success,
                        code: code.to_owned(),
                        message: Some("voided by the gateway's card_void_on policy".to_owned()),
                    }),
                    ..PaymentUpdate::default()
                };
                settled = self
                    .store()
                    .payments()
                    .transition_from(&settled, transition, update)
                    .await?;
                tracing::info!(payment_id = %settled.id, "card authorization voided");
            }
            self.card_view(&settled).await
        }
        .instrument(span)
        .await
    }

    /// Whether money of a successful authorization has moved: always for AUTOMATIC capture, and for MANUAL once a
    /// capture was made that did not fail.
    async fn is_captured(&self, payment: &Payment) -> Result<bool, EngineError> {
        if !is_manual_authorization(payment) {
            return Ok(true);
        }
        let captures = self
            .store()
            .captures()
            .list_for_payment(&payment.id)
            .await?;
        Ok(captures.iter().any(|c| c.status != OperationStatus::Fail))
    }

    /// The customer's stored cards, newest first, one page.
    pub async fn list_card_tokens(
        &self,
        customer_id: &str,
        page: PageRequest,
    ) -> Result<Page<CardToken>, EngineError> {
        Ok(self.card_tokens().list(customer_id, &page).await?)
    }

    /// Forgets a stored card of the customer (local only: the token is erased and no longer usable). Idempotent.
    pub async fn delete_card_token(
        &self,
        customer_id: &str,
        card_id: &str,
    ) -> Result<(), EngineError> {
        let deleted = self.card_tokens().delete(customer_id, card_id).await?;
        tracing::info!(deleted, "stored card delete");
        Ok(())
    }
}

/// Which answer brought a card report: it decides when a void the `card_void_on` policy asks for is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportedBy {
    /// AuthorizeCard's own pay answer: the call voids at once, so its job is due only after the write-ahead grace
    /// (it finishes the void of a caller that died first).
    PayAnswer,
    /// An inquiry or a notification: nobody else voids it, so its job is due at once.
    Later,
}

/// What one source (pay answer, inquiry, notification) said about a card payment's card, ready to be recorded with
/// the status it came with (see [`CardReport`]); `None` when the source said nothing. `config`'s cipher seals the
/// token and its `card_void_on` policy plans the void. `stored_card` names the stored card the payment charged, when
/// the caller knows it. A fact that breaks a column's limit is Alipay's defect, not a reason to lose the status: it
/// is logged and the facts are left out; a token that cannot be sealed likewise.
pub(crate) fn card_report(
    config: &EngineConfig,
    info: Option<PaymentResultInfo>,
    stored_card: Option<&str>,
    by: ReportedBy,
) -> Option<Box<CardReport>> {
    let stored_card = stored_card.map(str::to_owned);
    let Some(mut info) = info else {
        return stored_card.map(|card| {
            Box::new(CardReport {
                stored_card: Some(card),
                ..CardReport::default()
            })
        });
    };
    let token = info.card_token.take().and_then(|token| {
        match SealedCardToken::seal(&config.token_cipher, &store::Secret::new(token.expose())) {
            Ok(sealed) => Some(sealed),
            Err(error) => {
                tracing::warn!(%error, "a reported cardToken cannot be stored; left out");
                None
            }
        }
    });
    let facts = facts_of(info);
    let facts = match facts.check() {
        Ok(()) => facts,
        Err(error) => {
            tracing::warn!(%error, "reported card facts break a limit; left out");
            CardFacts::default()
        }
    };
    // The AVS/CVV results come with the approval, from whichever source brings it: the void is planned with it.
    let void = config
        .card_void_policy
        .reason(
            facts.avs_result_raw.as_deref(),
            facts.cvv_result_raw.as_deref(),
        )
        .map(|reason| PlannedVoid {
            reason: reason.code().to_owned(),
            run_at: crate::after(match by {
                ReportedBy::PayAnswer => config.write_ahead_grace,
                ReportedBy::Later => std::time::Duration::ZERO,
            }),
        });
    Some(Box::new(CardReport {
        facts,
        token,
        stored_card,
        void,
    }))
}

/// The facts the store keeps from one source's `paymentResultInfo` (merged with `cardInfo`): masked and derived
/// data only; the token is handled apart and the cardholder name and CAVV are dropped here.
fn facts_of(info: PaymentResultInfo) -> CardFacts {
    let three_ds = info.three_ds_result.unwrap_or_default();
    let last_four = info.last_four.or_else(|| {
        info.card_no.as_deref().and_then(|masked| {
            let digits: String = masked.chars().rev().take(4).collect();
            (digits.len() == 4 && digits.chars().all(|c| c.is_ascii_digit()))
                .then(|| digits.chars().rev().collect())
        })
    });
    CardFacts {
        card: CardIdentity {
            brand: info.card_brand,
            last_four,
            expiry_month: info.expiry_month,
            expiry_year: info.expiry_year,
            funding: info.funding,
            issuing_country: info.issuing_country,
        },
        issuer_name: info.issuer_name,
        three_ds_version: three_ds.authentication.three_ds_version,
        eci: three_ds.authentication.eci,
        challenged: three_ds.challenged,
        challenge_cancel_code: three_ds.challenge_cancel,
        exemption_type: three_ds.exemption_type,
        three_ds_offered: three_ds.three_ds_offered,
        avs_result_raw: info.avs_result_raw,
        cvv_result_raw: info.cvv_result_raw,
        network_transaction_id: info.network_transaction_id,
        authorization_code: info.authorization_code,
        refusal_code_raw: info.refusal_code_raw,
        refusal_reason_raw: info.refusal_reason_raw,
        merchant_advice_code: info.merchant_advice_code,
        card_token_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_details_never_serialise_or_show_the_card() {
        let card = CardDetails {
            number: CardNumber::new("4111111111111111"),
            cvv: Some(Secret::new("737")),
            expiry_month: "12".into(),
            expiry_year: "30".into(),
            cardholder_name: None,
            billing_address: None,
        };
        let json = serde_json::to_string(&card).unwrap_or_default();
        let debug = format!("{card:?}");
        for shown in [json, debug] {
            assert!(!shown.contains("4111111111111111"), "{shown}");
            assert!(!shown.contains("737"), "{shown}");
        }
    }

    #[test]
    fn facts_take_the_last_four_from_the_masked_number() {
        let info = PaymentResultInfo {
            card_no: Some("411111******1234".into()),
            ..PaymentResultInfo::default()
        };
        assert_eq!(facts_of(info).card.last_four.as_deref(), Some("1234"));
    }
}
