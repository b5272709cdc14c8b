//! `CardService` requests → engine commands and queries. Every card rule of the contract is checked here, before
//! anything reaches Alipay: the number (digits only, 12–19 of them, Luhn), the expiry (month 01–12, two-digit year,
//! not past), the CVV (3 digits, 4 for AMEX), the buyer's IP, the return URL whenever the buyer is present, and the
//! rules between fields (external 3DS excludes Alipay's 3DS; tokens need a customer). A violation names the field
//! and never quotes a card number or CVV.

use alipay::checked::{Currency, CustomerId, HttpsUrl, RegionCode, RequestId, Text};
use alipay::limits::{MAX_CARD_BRAND_LEN, MAX_NETWORK_TRANSACTION_ID_LEN};
use alipay::model as wire;
use chrono::{Datelike, Utc};
use engine::limits::Violations;
use engine::{CardDetails, CardPay, CardSource, EngineError, PageRequest, PayCommand, PaySource};

use super::order::{address, env, name, order};
use super::{capture_mode, metadata, money, optional, page, rejected, required, text, timestamp};
use crate::pb::v1 as pb;

/// Longest CAVV / directory-server id / version / ECI an `mpiData` may carry (alipay-api §3.2).
const MAX_MPI_FIELD_LEN: usize = 64;
/// A stored card id is the gateway's own (a UUID); anything much longer names no card.
const MAX_CARD_ID_LEN: usize = 64;

/// The fields both card-starting RPCs share, borrowed from either request.
struct Common<'a> {
    payment_request_id: &'a str,
    payment_amount: Option<&'a pb::Amount>,
    order: Option<&'a pb::Order>,
    customer_id: &'a str,
    three_ds: Option<&'a pb::ThreeDsOptions>,
    capture_mode: i32,
    env: Option<&'a pb::Env>,
    payment_redirect_url: &'a str,
    settlement_currency: &'a str,
    merchant_region: &'a str,
    metadata: &'a std::collections::HashMap<String, String>,
}

impl TryFrom<&pb::AuthorizeCardRequest> for PayCommand {
    type Error = EngineError;

    fn try_from(r: &pb::AuthorizeCardRequest) -> Result<Self, EngineError> {
        use pb::authorize_card_request::CardSource as Source;
        let mut v = Violations::new();
        let (source, buyer_present) = match &r.card_source {
            None => {
                v.push("card_source", "one of card or stored_card is required");
                (None, true)
            }
            Some(Source::Card(card)) => (
                card_details(&mut v, card).map(|card| CardSource::New {
                    card: Box::new(card),
                    tokenize: r.tokenize,
                }),
                true,
            ),
            Some(Source::StoredCard(stored)) => {
                if r.tokenize {
                    v.push("tokenize", "is only allowed with new card data");
                }
                let mit = recurring_type(&mut v, stored.recurring_type);
                (stored_card(&mut v, stored, mit), mit.is_none())
            }
        };
        let stored = matches!(source, Some(CardSource::Stored { .. }));
        if (r.tokenize || stored) && r.customer_id.is_empty() {
            v.push(
                "customer_id",
                "is required with tokenize and stored_card: stored cards belong to a customer",
            );
        }
        let three_ds = r.three_ds.as_ref();
        let mpi_data = r.external_three_ds.as_ref().map(|e| {
            if three_ds.is_some_and(|t| t.is_3ds_authentication) {
                v.push(
                    "external_three_ds",
                    "excludes three_ds.is_3ds_authentication: 3DS was done already",
                );
            }
            mpi(&mut v, e)
        });
        let selected_card_brand =
            text::<MAX_CARD_BRAND_LEN>(&mut v, "selected_card_brand", &r.selected_card_brand);
        let common = Common {
            payment_request_id: &r.payment_request_id,
            payment_amount: r.payment_amount.as_ref(),
            order: r.order.as_ref(),
            customer_id: &r.customer_id,
            three_ds,
            capture_mode: r.capture_mode,
            env: r.env.as_ref(),
            payment_redirect_url: &r.payment_redirect_url,
            settlement_currency: &r.settlement_currency,
            merchant_region: &r.merchant_region,
            metadata: &r.metadata,
        };
        card_command(v, common, source, buyer_present, |card| CardPay {
            mpi_data,
            selected_card_brand,
            ..card
        })
    }
}

impl TryFrom<&pb::CreateHostedCardPaymentRequest> for PayCommand {
    type Error = EngineError;

    fn try_from(r: &pb::CreateHostedCardPaymentRequest) -> Result<Self, EngineError> {
        let mut v = Violations::new();
        if r.tokenize && r.customer_id.is_empty() {
            v.push(
                "customer_id",
                "is required with tokenize: stored cards belong to a customer",
            );
        }
        let payment_expiry_time = r
            .payment_expiry_time
            .as_ref()
            .and_then(|t| timestamp(&mut v, "payment_expiry_time", t));
        let common = Common {
            payment_request_id: &r.payment_request_id,
            payment_amount: r.payment_amount.as_ref(),
            order: r.order.as_ref(),
            customer_id: &r.customer_id,
            three_ds: r.three_ds.as_ref(),
            capture_mode: r.capture_mode,
            env: r.env.as_ref(),
            payment_redirect_url: &r.payment_redirect_url,
            settlement_currency: &r.settlement_currency,
            merchant_region: &r.merchant_region,
            metadata: &r.metadata,
        };
        let source = Some(CardSource::Hosted {
            tokenize: r.tokenize,
        });
        card_command(v, common, source, true, |card| card).map(|cmd| PayCommand {
            payment_expiry_time,
            ..cmd
        })
    }
}

/// The pay command of a card authorization from the shared fields; `finish` adds what only one RPC has.
fn card_command(
    mut v: Violations,
    r: Common<'_>,
    source: Option<CardSource>,
    buyer_present: bool,
    finish: impl FnOnce(CardPay) -> CardPay,
) -> Result<PayCommand, EngineError> {
    let id = required::<RequestId>(&mut v, "payment_request_id", r.payment_request_id);
    let amount = money(&mut v, "payment_amount", r.payment_amount);
    let order = match r.order {
        None => {
            v.push("order", "is required");
            None
        }
        Some(o) => order(&mut v, o, amount.as_ref(), false),
    };
    let customer_id = optional::<CustomerId>(&mut v, "customer_id", r.customer_id);
    let env = match r.env {
        None => {
            v.push("env", "is required (terminal_type and client_ip)");
            None
        }
        Some(e) => {
            if e.client_ip.is_empty() {
                v.push("env.client_ip", "is required for a card payment");
            }
            env(&mut v, "env", e, true)
        }
    };
    // Alipay may start 3DS on its own whenever the buyer is present: there must be a page to come back to.
    let redirect_url = if buyer_present {
        required::<HttpsUrl>(&mut v, "payment_redirect_url", r.payment_redirect_url)
    } else {
        optional::<HttpsUrl>(&mut v, "payment_redirect_url", r.payment_redirect_url)
    };
    if !buyer_present && r.three_ds.is_some_and(|t| t.is_3ds_authentication) {
        v.push(
            "three_ds.is_3ds_authentication",
            "a merchant-initiated charge has no buyer to authenticate",
        );
    }
    optional::<Currency>(&mut v, "settlement_currency", r.settlement_currency);
    let merchant_region = optional::<RegionCode>(&mut v, "merchant_region", r.merchant_region);
    let capture_mode = capture_mode(&mut v, r.capture_mode).unwrap_or(wire::CaptureMode::Automatic);
    let metadata = metadata(&mut v, r.metadata);
    let (Some(payment_request_id), Some(amount), Some(order), Some(source), Some(metadata)) =
        (id, amount, order, source, metadata)
    else {
        return Err(rejected(v));
    };
    let three_ds = r.three_ds.cloned().unwrap_or_default();
    let card = finish(CardPay {
        source,
        three_ds: three_ds.is_3ds_authentication,
        authentication_upgrade: three_ds.enable_authentication_upgrade,
        mpi_data: None,
        redirect_url,
        selected_card_brand: None,
    });
    v.finish(PayCommand {
        payment_request_id,
        amount,
        order,
        env,
        source: PaySource::Card(Box::new(card)),
        customer_id,
        payment_notify_url: None,
        merchant_region,
        metadata,
        is_authorization: true,
        capture_mode: Some(capture_mode),
        payment_expiry_time: None,
    })
}

/// New card data, every rule checked; `None` when any failed.
fn card_details(v: &mut Violations, c: &pb::CardDetails) -> Option<CardDetails> {
    let before = v.len();
    let number = card_number(v, "card.card_no", &c.card_no);
    let amex = number
        .as_ref()
        .is_some_and(|n| n.expose().starts_with("34") || n.expose().starts_with("37"));
    let cvv = (!c.cvv.is_empty()).then(|| {
        let digits = if amex { 4 } else { 3 };
        if c.cvv.len() != digits || !c.cvv.bytes().all(|b| b.is_ascii_digit()) {
            v.push("card.cvv", format!("must be {digits} digits for this card"));
        }
        wire::Secret::new(c.cvv.as_str())
    });
    expiry(v, &c.expiry_month, &c.expiry_year);
    let cardholder_name = c
        .cardholder_name
        .as_ref()
        .map(|n| name(v, "card.cardholder_name", n));
    let billing_address = c
        .billing_address
        .as_ref()
        .and_then(|a| address(v, "card.billing_address", a));
    let card = CardDetails {
        number: number?,
        cvv,
        expiry_month: c.expiry_month.clone(),
        expiry_year: c.expiry_year.clone(),
        cardholder_name,
        billing_address,
    };
    (v.len() == before).then_some(card)
}

/// A card number: 12–19 ASCII digits passing the Luhn check. The violation never repeats the number.
fn card_number(v: &mut Violations, field: &str, value: &str) -> Option<wire::CardNumber> {
    let problem = if value.is_empty() {
        Some("is required")
    } else if !value.bytes().all(|b| b.is_ascii_digit()) {
        Some("must contain only digits")
    } else if !(12..=19).contains(&value.len()) {
        Some("must be 12 to 19 digits")
    } else if !luhn(value) {
        Some("is not a valid card number (Luhn check failed)")
    } else {
        None
    };
    match problem {
        Some(p) => {
            v.push(field, p);
            None
        }
        None => Some(wire::CardNumber::new(value)),
    }
}

/// The Luhn check of a string of ASCII digits.
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Expiry `MM` 01–12 and `YY`, not before the current month (a card is valid through its expiry month).
fn expiry(v: &mut Violations, month: &str, year: &str) {
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    let month_ok = two_digits(month) && matches!(month.parse::<u32>(), Ok(1..=12));
    if !month_ok {
        v.push("card.expiry_month", "must be 01 to 12");
    }
    if !two_digits(year) {
        v.push("card.expiry_year", "must be two digits (YY)");
    }
    if let (true, Ok(m), Ok(y)) = (
        month_ok && two_digits(year),
        month.parse::<i32>(),
        year.parse::<i32>(),
    ) {
        let today = Utc::now();
        let now = (today.year() % 100, today.month() as i32);
        if (y, m) < now {
            v.push("card.expiry_year", "the card has expired");
        }
    }
}

/// A merchant-initiated charge's type; `None` for a customer-initiated one.
fn recurring_type(v: &mut Violations, value: i32) -> Option<wire::RecurringType> {
    match pb::RecurringType::try_from(value) {
        Err(_) => {
            v.push("stored_card.recurring_type", "unknown recurring type");
            None
        }
        Ok(pb::RecurringType::Unspecified) => None,
        Ok(pb::RecurringType::Scheduled) => Some(wire::RecurringType::Scheduled),
        Ok(pb::RecurringType::Unscheduled) => Some(wire::RecurringType::Unscheduled),
    }
}

fn stored_card(
    v: &mut Violations,
    s: &pb::StoredCard,
    recurring_type: Option<wire::RecurringType>,
) -> Option<CardSource> {
    let card_id = required::<Text<MAX_CARD_ID_LEN>>(v, "stored_card.card_token", &s.card_token);
    let network_transaction_id = text::<MAX_NETWORK_TRANSACTION_ID_LEN>(
        v,
        "stored_card.network_transaction_id",
        &s.network_transaction_id,
    );
    let cvv = (!s.cvv.is_empty()).then(|| {
        if !(3..=4).contains(&s.cvv.len()) || !s.cvv.bytes().all(|b| b.is_ascii_digit()) {
            v.push("stored_card.cvv", "must be 3 or 4 digits");
        }
        if recurring_type.is_some() {
            v.push(
                "stored_card.cvv",
                "a merchant-initiated charge has no buyer to give a CVV",
            );
        }
        wire::Secret::new(s.cvv.as_str())
    });
    Some(CardSource::Stored {
        card_id: card_id?.into(),
        recurring_type,
        network_transaction_id,
        cvv,
    })
}

fn mpi(v: &mut Violations, e: &pb::ExternalThreeDs) -> wire::MpiData {
    let field = |name: &str| format!("external_three_ds.{name}");
    wire::MpiData {
        three_ds_version: required::<Text<MAX_MPI_FIELD_LEN>>(
            v,
            &field("three_ds_version"),
            &e.three_ds_version,
        )
        .map(String::from),
        eci: required::<Text<MAX_MPI_FIELD_LEN>>(v, &field("eci"), &e.eci).map(String::from),
        cavv: optional::<Text<MAX_MPI_FIELD_LEN>>(v, &field("cavv"), &e.cavv)
            .map(|c| wire::Secret::new(String::from(c))),
        ds_transaction_id: text::<MAX_MPI_FIELD_LEN>(
            v,
            &field("ds_transaction_id"),
            &e.ds_transaction_id,
        ),
    }
}

/// `ListCardTokens`: the customer and the page.
#[derive(Debug, Clone)]
pub struct CardTokenQuery {
    /// The customer whose stored cards are listed.
    pub customer_id: CustomerId,
    /// The page asked for.
    pub page: PageRequest,
}

impl TryFrom<&pb::ListCardTokensRequest> for CardTokenQuery {
    type Error = EngineError;

    fn try_from(r: &pb::ListCardTokensRequest) -> Result<Self, EngineError> {
        let mut v = Violations::new();
        let customer_id = required::<CustomerId>(&mut v, "customer_id", &r.customer_id);
        let page = page(&mut v, r.page_size, &r.page_token);
        let (Some(customer_id), Some(page)) = (customer_id, page) else {
            return Err(rejected(v));
        };
        v.finish(Self { customer_id, page })
    }
}

/// `DeleteCardToken`: the customer and the stored card's id.
#[derive(Debug, Clone)]
pub struct DeleteCardToken {
    /// The customer owning the card.
    pub customer_id: CustomerId,
    /// The stored card's id.
    pub card_id: String,
}

impl TryFrom<&pb::DeleteCardTokenRequest> for DeleteCardToken {
    type Error = EngineError;

    fn try_from(r: &pb::DeleteCardTokenRequest) -> Result<Self, EngineError> {
        let mut v = Violations::new();
        let customer_id = required::<CustomerId>(&mut v, "customer_id", &r.customer_id);
        let card_id = required::<Text<MAX_CARD_ID_LEN>>(&mut v, "card_token", &r.card_token);
        let (Some(customer_id), Some(card_id)) = (customer_id, card_id) else {
            return Err(rejected(v));
        };
        v.finish(Self {
            customer_id,
            card_id: card_id.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_the_test_cards_and_rejects_a_changed_digit() {
        for good in ["4111111111111111", "5555555555554444", "378282246310005"] {
            assert!(luhn(good), "{good}");
        }
        assert!(!luhn("4111111111111112"));
    }
}
