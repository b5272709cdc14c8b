//! Card payments (`paymentMethodType=CARD`): reading the card part of a pay request, running the issuer
//! ([`crate::issuer`]) at pay time, on the hosted card page or on the 3DS page, card tokens bound to the client,
//! and the card facts that pay, inquiryPayment and notifyPayment report. The card number and CVV are read for
//! the one decision that needs them and never stored: a payment keeps a [`CardProfile`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rand::Rng as _;
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::codes;
use crate::issuer::{
    self, Authentication, CHALLENGE_FAILED, CardProfile, ChallengeAnswer, Decision, Decline,
    PresentedCard, ThreeDs,
};
use crate::scenario::Scenario;
use crate::state::{CardPayment, CardRequest, Payment, PaymentStatus, Progress, State, StoredCard};
use crate::validate::{Checked, Fields};

/// The card part of a pay request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CardPay<'a> {
    pub request: CardRequest,
    /// Card data sent by the merchant (direct mode).
    pub presented: Option<PresentedCard<'a>>,
    /// `paymentMethodId`: a stored card's token.
    pub token: Option<&'a str>,
}

fn illegal(message: &str) -> Box<crate::reply::Reply> {
    Box::new(crate::reply::Reply::param_illegal(message))
}

/// Reads `paymentMethod` of a CARD pay request. Without card data and token it is a hosted payment.
pub(crate) fn parse<'a>(method: Fields<'a>, token: Option<&'a str>) -> Checked<CardPay<'a>> {
    let meta = method.object(
        "paymentMethodMetaData",
        "paymentMethod.paymentMethodMetaData",
    )?;
    let Some(meta) = meta else {
        if token.is_some() {
            return Err(illegal(
                "paymentMethod.paymentMethodMetaData.isCardOnFile must be true for a stored-card charge",
            ));
        }
        return Ok(CardPay {
            request: CardRequest::default(),
            presented: None,
            token,
        });
    };
    let card_no = meta.str("cardNo", 32)?;
    let cvv = meta.str("cvv", 4)?;
    if cvv.is_some_and(|c| !issuer::cvv_well_formed(c)) {
        return Err(illegal(
            "paymentMethod.paymentMethodMetaData.cvv must be 3 or 4 digits",
        ));
    }
    let expiry_month = meta.str("expiryMonth", 2)?;
    let expiry_year = meta.str("expiryYear", 2)?;
    let billing_zip = match meta.object(
        "billingAddress",
        "paymentMethod.paymentMethodMetaData.billingAddress",
    )? {
        Some(address) => {
            address.required_str("region", 2)?;
            Some(address.str("zipCode", 32)?)
        }
        None => None,
    };
    let on_file = meta.bool("isCardOnFile")?.unwrap_or(false);
    let recurring = meta.enum_str("recurringType", &["SCHEDULED", "UNSCHEDULED"])?;
    meta.str("networkTransactionId", 256)?;
    let external = meta
        .object("mpiData", "paymentMethod.paymentMethodMetaData.mpiData")?
        .is_some();
    if token.is_some() && !on_file {
        return Err(illegal(
            "paymentMethod.paymentMethodMetaData.isCardOnFile must be true for a stored-card charge",
        ));
    }
    if token.is_some() && card_no.is_some() {
        return Err(illegal(
            "send either paymentMethod.paymentMethodId (a cardToken) or paymentMethodMetaData.cardNo, not both",
        ));
    }
    if recurring.is_some() && token.is_none() {
        return Err(illegal(
            "paymentMethod.paymentMethodMetaData.recurringType needs a stored card (paymentMethodId)",
        ));
    }
    let request = CardRequest {
        auth: Authentication {
            requested: meta.bool("is3DSAuthentication")?.unwrap_or(false),
            upgrade: meta.bool("enableAuthenticationUpgrade")?.unwrap_or(false),
            merchant_initiated: recurring.is_some(),
            external,
        },
        tokenize: meta.bool("tokenize")?.unwrap_or(false),
    };
    Ok(CardPay {
        request,
        presented: card_no.map(|card_no| PresentedCard {
            card_no,
            cvv,
            expiry_month,
            expiry_year,
            billing_zip,
        }),
        token,
    })
}

/// Starts a card payment at pay time: direct card data and stored cards go to the issuer now; a hosted payment
/// waits for the card page.
pub(crate) fn start(
    tokens: &mut HashMap<String, StoredCard>,
    payment: &mut Payment,
    pay: &CardPay<'_>,
    now: DateTime<Utc>,
) {
    let mut card = CardPayment {
        request: pay.request,
        save: pay.request.tokenize,
        ds_transaction_id: uuid::Uuid::new_v4().to_string(),
        ..CardPayment::default()
    };
    if let Some(token) = pay.token {
        let Some(stored) = tokens
            .get(token)
            .filter(|s| s.client_id == payment.client_id)
        else {
            payment.card = Some(card);
            payment.settle(Err((codes::INVALID_TOKEN, None)), now);
            return;
        };
        card.card = Some(stored.card.clone());
        card.token = Some(token.to_owned());
        card.save = false;
        payment.card = Some(card);
        authorize(tokens, payment, now);
        return;
    }
    payment.card = Some(card);
    match &pay.presented {
        Some(presented) => present(tokens, payment, presented, now),
        None => payment.progress = Progress::AwaitingBuyer,
    }
}

/// A card was presented (pay, or the hosted page): the AVS and CVV letters, then the issuer's decision.
fn present(
    tokens: &mut HashMap<String, StoredCard>,
    payment: &mut Payment,
    presented: &PresentedCard<'_>,
    now: DateTime<Utc>,
) {
    let Some(card) = payment.card.as_mut() else {
        return;
    };
    card.avs = issuer::avs_result(presented.billing_zip);
    card.cvv = issuer::cvv_result(presented.cvv);
    match issuer::profile(presented, now) {
        Ok(profile) => {
            card.card = Some(profile);
            authorize(tokens, payment, now);
        }
        Err(decline) => decline_payment(payment, decline, now),
    }
}

/// The issuer's decision for the payment's card.
fn authorize(tokens: &mut HashMap<String, StoredCard>, payment: &mut Payment, now: DateTime<Utc>) {
    let Some(card) = payment.card.as_mut() else {
        return;
    };
    let Some(profile) = &card.card else {
        return;
    };
    match issuer::decide(profile, card.request.auth) {
        Decision::Decline(decline) => {
            if decline.code == codes::INVALID_CVV {
                card.cvv = Some("N");
            }
            decline_payment(payment, decline, now);
        }
        Decision::Challenge => payment.progress = Progress::AwaitingBuyer,
        Decision::Approve(three_ds) => {
            card.three_ds = three_ds;
            approve(tokens, payment, now);
        }
    }
}

fn decline_payment(payment: &mut Payment, decline: Decline, now: DateTime<Utc>) {
    if let Some(card) = payment.card.as_mut() {
        card.refusal = Some(decline);
    }
    payment.settle(Err((decline.code, None)), now);
}

fn digits(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// The issuer approved: the amount scenarios apply now (docs/sandbox.md), and unless they fail the payment the
/// authorization gets its scheme ids and, when asked, a token.
fn approve(tokens: &mut HashMap<String, StoredCard>, payment: &mut Payment, now: DateTime<Utc>) {
    match Scenario::from_value(payment.amount.value) {
        Scenario::Fail(code) => {
            payment.settle(Err((code, None)), now);
            return;
        }
        Scenario::SettleAfterInquiries(countdown) => {
            payment.progress = Progress::AfterInquiries(countdown);
        }
        Scenario::ProcessingForever => payment.progress = Progress::UntilCancelled,
        _ => payment.settle(Ok(()), now),
    }
    let client_id = payment.client_id.clone();
    let Some(card) = payment.card.as_mut() else {
        return;
    };
    card.network_transaction_id = Some(digits(15));
    card.authorization_code = Some(digits(6));
    card.rrn = Some(digits(12));
    if card.save
        && let Some(profile) = &card.card
    {
        let token = format!("SBXCARD{}", uuid::Uuid::new_v4().simple());
        tokens.insert(
            token.clone(),
            StoredCard {
                client_id,
                card: profile.clone(),
            },
        );
        card.token = Some(token);
    }
}

/// Why a card page cannot act on a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageRefusal {
    /// No such payment, or not a card payment.
    Unknown,
    /// The payment is not at this page's step (already completed, or at the other page).
    WrongStep,
}

/// The payment a card page acts on: a card payment awaiting the buyer, at the challenge step (`challenge`) or
/// the card-entry step.
pub(crate) fn awaiting<'s>(
    state: &'s mut State,
    payment_id: &str,
    challenge: bool,
) -> Result<(&'s mut Payment, &'s mut HashMap<String, StoredCard>), PageRefusal> {
    let State {
        payments,
        card_tokens,
        ..
    } = state;
    let payment = payments
        .get_mut(payment_id)
        .filter(|p| p.card.is_some())
        .ok_or(PageRefusal::Unknown)?;
    let at_step = payment.status == PaymentStatus::Processing
        && payment.progress == Progress::AwaitingBuyer
        && payment
            .card
            .as_ref()
            .is_some_and(|c| c.card.is_some() == challenge);
    if at_step {
        Ok((payment, card_tokens))
    } else {
        Err(PageRefusal::WrongStep)
    }
}

/// The hosted card page was submitted.
pub(crate) fn present_on_page(
    state: &mut State,
    payment_id: &str,
    presented: &PresentedCard<'_>,
    save: bool,
    now: DateTime<Utc>,
) -> Result<Payment, PageRefusal> {
    let (payment, tokens) = awaiting(state, payment_id, false)?;
    if let Some(card) = payment.card.as_mut() {
        card.save = card.request.tokenize && save;
    }
    present(tokens, payment, presented, now);
    Ok(payment.clone())
}

/// The 3DS page was answered.
pub(crate) fn finish_challenge(
    state: &mut State,
    payment_id: &str,
    answer: ChallengeAnswer,
    now: DateTime<Utc>,
) -> Result<Payment, PageRefusal> {
    let (payment, tokens) = awaiting(state, payment_id, true)?;
    let Some(card) = payment.card.as_mut() else {
        return Err(PageRefusal::Unknown);
    };
    let Some(profile) = &card.card else {
        return Err(PageRefusal::WrongStep);
    };
    card.three_ds = Some(ThreeDs::challenged(profile, answer));
    if answer == ChallengeAnswer::Passed {
        approve(tokens, payment, now);
    } else {
        decline_payment(payment, CHALLENGE_FAILED, now);
    }
    Ok(payment.clone())
}

/// Where the buyer goes for a card payment awaiting them: the 3DS page once the card is known, else the hosted
/// card page.
pub(crate) fn page_url(app: &App, payment: &Payment) -> Option<String> {
    let card = payment.card.as_ref()?;
    if payment.status != PaymentStatus::Processing || payment.progress != Progress::AwaitingBuyer {
        return None;
    }
    let page = if card.card.is_some() { "3ds" } else { "card" };
    Some(format!(
        "{}/sandbox/{page}/{}",
        app.base_url, payment.payment_id
    ))
}

fn insert(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value.into());
    }
}

impl CardPayment {
    fn three_ds_result(&self, profile: &CardProfile) -> Option<Value> {
        let three_ds = self.three_ds?;
        let mut result = Map::new();
        result.insert("threeDSVersion".into(), json!("2.2.0"));
        result.insert("eci".into(), json!(three_ds.eci));
        if three_ds.authenticated {
            // A fixed-shape test CAVV, unique per payment.
            let unique: String = self
                .ds_transaction_id
                .chars()
                .filter(|c| *c != '-')
                .take(25)
                .collect();
            let cavv = format!("SBX{unique}");
            result.insert("cavv".into(), json!(cavv));
        }
        result.insert("dsTransactionId".into(), json!(self.ds_transaction_id));
        result.insert("challenged".into(), json!(three_ds.challenged));
        result.insert("threeDSOffered".into(), json!(profile.brand != "UNKNOWN"));
        result.insert(
            "threeDStransactionStatusReason".into(),
            json!(if three_ds.authenticated { "" } else { "01" }),
        );
        insert(&mut result, "challengeCancel", three_ds.challenge_cancel);
        Some(Value::Object(result))
    }

    /// `paymentResultInfo`: everything the issuer said.
    pub fn result_info(&self) -> Value {
        let mut info = self.card_info_map();
        if let Some(profile) = &self.card {
            info.insert("cardBin".into(), json!(profile.bin));
            info.insert("lastFour".into(), json!(profile.last_four));
            insert(&mut info, "expiryMonth", profile.expiry_month.clone());
            insert(&mut info, "expiryYear", profile.expiry_year.clone());
            info.insert("issuerName".into(), json!("Sandbox Issuing Bank"));
            info.insert("cardCategory".into(), json!("CONSUMER"));
            info.insert("credentialTypeUsed".into(), json!("PAN"));
        }
        insert(&mut info, "avsResultRaw", self.avs);
        insert(&mut info, "cvvResultRaw", self.cvv);
        insert(
            &mut info,
            "networkTransactionId",
            self.network_transaction_id.clone(),
        );
        insert(
            &mut info,
            "authorizationCode",
            self.authorization_code.clone(),
        );
        insert(&mut info, "rrn", self.rrn.clone());
        if let Some(refusal) = self.refusal {
            info.insert("refusalCodeRaw".into(), json!(refusal.refusal_code));
            info.insert("refusalReasonRaw".into(), json!(refusal.refusal_reason));
        }
        Value::Object(info)
    }

    fn card_info_map(&self) -> Map<String, Value> {
        let mut info = Map::new();
        if let Some(profile) = &self.card {
            info.insert("cardNo".into(), json!(profile.masked()));
            info.insert("cardBrand".into(), json!(profile.brand));
            info.insert("issuingCountry".into(), json!("US"));
            info.insert("funding".into(), json!("CREDIT"));
            info.insert("paymentMethodRegion".into(), json!("US"));
            insert(&mut info, "threeDSResult", self.three_ds_result(profile));
        }
        insert(&mut info, "cardToken", self.token.clone());
        info
    }

    /// inquiryPayment's `cardInfo`: the card, its token and the 3DS result.
    pub fn card_info(&self) -> Value {
        Value::Object(self.card_info_map())
    }
}

/// Adds a card payment's `paymentResultInfo` (and, with `card_info`, `cardInfo`) to an answer or notification.
pub(crate) fn add_facts(fields: &mut Map<String, Value>, payment: &Payment, card_info: bool) {
    let Some(card) = &payment.card else {
        return;
    };
    fields.insert("paymentResultInfo".into(), card.result_info());
    if card_info {
        fields.insert("cardInfo".into(), card.card_info());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A card payment of `value` minor units, before the card flow starts.
    fn payment_for_test(value: u64) -> Payment {
        Payment {
            client_id: "C".into(),
            method_type: "CARD".into(),
            amount: crate::validate::Amount {
                currency: "USD".into(),
                value,
            },
            ..Payment::default()
        }
    }

    fn pay(body: &Value) -> Checked<CardPay<'_>> {
        let f = Fields::root(body)?;
        let method = f.required_object("paymentMethod", "paymentMethod")?;
        parse(method, method.str("paymentMethodId", 2048)?)
    }

    #[test]
    fn stored_cards_need_is_card_on_file_and_mit_needs_a_token() {
        let stored =
            json!({"paymentMethod": {"paymentMethodId": "t", "paymentMethodMetaData": {}}});
        assert!(pay(&stored).unwrap_err().message.contains("isCardOnFile"));
        let mit = json!({"paymentMethod": {"paymentMethodMetaData": {"recurringType": "SCHEDULED", "cardNo": "4111111111111111"}}});
        assert!(pay(&mit).unwrap_err().message.contains("recurringType"));
        let cvv = json!({"paymentMethod": {"paymentMethodMetaData": {"cvv": "1a3"}}});
        assert!(pay(&cvv).unwrap_err().message.contains("cvv"));
        let ntid = json!({"paymentMethod": {"paymentMethodId": "t", "paymentMethodMetaData": {
            "isCardOnFile": true, "recurringType": "UNSCHEDULED", "networkTransactionId": "1".repeat(257)}}});
        assert!(
            pay(&ntid)
                .unwrap_err()
                .message
                .contains("networkTransactionId")
        );
    }

    #[test]
    fn a_tokenized_approval_stores_only_the_profile_and_binds_the_token_to_the_client() {
        let body = json!({"paymentMethod": {"paymentMethodMetaData": {
            "cardNo": "4111111111111111", "cvv": "000", "expiryMonth": "12", "expiryYear": "30",
            "billingAddress": {"region": "US", "zipCode": "99991"}, "tokenize": true}}});
        let card = pay(&body).unwrap();
        let mut tokens = HashMap::new();
        let mut payment = payment_for_test(1000);
        start(&mut tokens, &mut payment, &card, Utc::now());
        assert_eq!(payment.status, PaymentStatus::Success);
        let facts = payment.card.clone().unwrap();
        assert_eq!((facts.avs, facts.cvv), (Some("A"), Some("N")));
        let token = facts.token.clone().unwrap();
        assert_eq!(tokens[&token].client_id, "C");
        assert!(!format!("{payment:?}{tokens:?}").contains("4111111111111111"));
        let info = facts.result_info();
        assert_eq!(info["cardNo"], "411111******1111");
        assert_eq!(info["cardToken"], token.as_str());

        let stored = CardPay {
            request: CardRequest::default(),
            presented: None,
            token: Some(&token),
        };
        let mut other_client = payment_for_test(1000);
        other_client.client_id = "OTHER".into();
        start(&mut tokens, &mut other_client, &stored, Utc::now());
        assert_eq!(other_client.fail_code, Some(codes::INVALID_TOKEN));
        let mut again = payment_for_test(91001);
        start(&mut tokens, &mut again, &stored, Utc::now());
        assert_eq!(
            again.fail_code,
            Some(codes::USER_BALANCE_NOT_ENOUGH),
            "amount scenarios apply after the issuer approves"
        );
    }
}
