//! What the buyer must do next for a payment Alipay accepted but has not finished (PAYMENT_IN_PROCESS): the
//! gateway's own [`NextAction`], stored as its own JSON.
//!
//! Alipay spreads the action over several optional answer fields (`normalUrl`, `schemeUrl`, `applinkUrl`,
//! `appIdentifier`, `redirectActionForm`, `challengeActionForm`, `orderCodeForm`). [`NextAction::from_alipay`] is
//! the one place that reads them. Rows written before this type existed hold those Alipay fields themselves; they
//! are read through the same function, so old rows and old event snapshots keep reading without a migration.

use std::collections::BTreeMap;

use sea_orm::FromJsonQueryResult;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The single action the buyer must take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromJsonQueryResult)]
#[serde(rename_all = "snake_case")]
pub enum NextAction {
    /// Send the buyer to a page or app (cashier page, wallet app, 3-D Secure page).
    Redirect(RedirectAction),
    /// Show the buyer a challenge (an OTP, say).
    Challenge(ChallengeAction),
    /// Show the buyer an order code (QR or text) to scan with the wallet.
    OrderCode(OrderCodeAction),
}

/// How the redirect target is opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RedirectMethod {
    /// Open the URL.
    #[default]
    Get,
    /// Post `form_parameters` to the URL.
    Post,
}

/// A redirect. Empty strings mean Alipay did not give that target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RedirectAction {
    /// Where to send the buyer: the redirect form's URL, else the normal URL.
    pub url: String,
    /// How to open `url`.
    pub method: RedirectMethod,
    /// Fields to post with [`RedirectMethod::Post`].
    pub form_parameters: BTreeMap<String, String>,
    /// The web page (`normalUrl`).
    pub normal_url: String,
    /// The app scheme URL (`schemeUrl`).
    pub scheme_url: String,
    /// The universal/app link (`applinkUrl`).
    pub applink_url: String,
    /// The wallet app's identifier (`appIdentifier`).
    pub app_identifier: String,
}

impl RedirectAction {
    /// Whether it names anywhere to go (a row written before this type may hold only an app identifier).
    pub fn has_target(&self) -> bool {
        !(self.url.is_empty() && self.scheme_url.is_empty() && self.applink_url.is_empty())
    }
}

/// A challenge, in Alipay's spelling of its type and trigger (`challengeActionForm`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChallengeAction {
    /// `challengeType`, e.g. `SMS_OTP`.
    pub challenge_type: String,
    /// `challengeRenderValue`: what to show.
    pub render_value: String,
    /// `triggerSource`, e.g. `ISSUER`.
    pub trigger_source: String,
}

/// An order code (`orderCodeForm`): the codes to show and until when.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderCodeAction {
    /// `codeDetails[].codeValue`, in Alipay's order.
    pub code_values: Vec<String>,
    /// `expireTime`, as Alipay wrote it.
    pub expire_time: String,
}

impl NextAction {
    /// The action in Alipay's answer fields (an object with any of the keys named in the module doc), or `None`
    /// when it names none. A challenge wins over a redirect, and a redirect over an order code.
    pub fn from_alipay(fields: &Value) -> Option<Self> {
        let text = |v: &Value, key: &str| {
            v.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        if let Some(challenge) = fields.get("challengeActionForm").filter(|c| c.is_object()) {
            return Some(Self::Challenge(ChallengeAction {
                challenge_type: text(challenge, "challengeType"),
                render_value: text(challenge, "challengeRenderValue"),
                trigger_source: text(challenge, "triggerSource"),
            }));
        }
        let form = fields.get("redirectActionForm").filter(|f| f.is_object());
        let normal_url = text(fields, "normalUrl");
        let mut redirect = RedirectAction {
            url: normal_url.clone(),
            normal_url,
            scheme_url: text(fields, "schemeUrl"),
            applink_url: text(fields, "applinkUrl"),
            app_identifier: text(fields, "appIdentifier"),
            ..RedirectAction::default()
        };
        if let Some(form) = form {
            redirect.url = text(form, "redirectUrl");
            if text(form, "method").eq_ignore_ascii_case("POST") {
                redirect.method = RedirectMethod::Post;
            }
            redirect.form_parameters = form_parameters(form.get("parameters"));
        }
        if redirect.has_target() {
            return Some(Self::Redirect(redirect));
        }
        let order_code = fields.get("orderCodeForm").filter(|f| f.is_object())?;
        Some(Self::OrderCode(OrderCodeAction {
            code_values: order_code
                .get("codeDetails")
                .and_then(Value::as_array)
                .map(|codes| codes.iter().map(|c| text(c, "codeValue")).collect())
                .unwrap_or_default(),
            expire_time: text(order_code, "expireTime"),
        }))
    }
}

/// `redirectActionForm.parameters`: a JSON object encoded as a string on the wire (an object is tolerated too);
/// values that are not strings keep their JSON text.
fn form_parameters(parameters: Option<&Value>) -> BTreeMap<String, String> {
    let parsed = match parameters {
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
        Some(v @ Value::Object(_)) => Some(v.clone()),
        _ => None,
    };
    let Some(Value::Object(map)) = parsed else {
        return BTreeMap::new();
    };
    map.into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, v)
        })
        .collect()
}

/// Reads both the gateway's own shape and the Alipay fields older rows and event snapshots hold. An old row whose
/// fields name no action at all reads as a redirect without a target, which callers are not shown (as before).
impl<'de> Deserialize<'de> for NextAction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// The shape [`NextAction`]'s `Serialize` writes.
        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Own {
            Redirect(RedirectAction),
            Challenge(ChallengeAction),
            OrderCode(OrderCodeAction),
        }
        let value = Value::deserialize(deserializer)?;
        if let Ok(own) = Own::deserialize(&value) {
            return Ok(match own {
                Own::Redirect(r) => Self::Redirect(r),
                Own::Challenge(c) => Self::Challenge(c),
                Own::OrderCode(o) => Self::OrderCode(o),
            });
        }
        Ok(Self::from_alipay(&value).unwrap_or_else(|| Self::Redirect(RedirectAction::default())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn alipay_fields_become_our_type() {
        let Some(NextAction::Redirect(r)) = NextAction::from_alipay(
            &json!({"normalUrl": "https://s/cashier/1", "appIdentifier": "com.gcash"}),
        ) else {
            panic!("redirect expected")
        };
        assert_eq!(
            (r.url.as_str(), r.method),
            ("https://s/cashier/1", RedirectMethod::Get)
        );
        assert_eq!(r.app_identifier, "com.gcash");

        let Some(NextAction::Redirect(r)) = NextAction::from_alipay(
            &json!({"redirectActionForm": {
                "method": "POST", "redirectUrl": "https://3ds", "parameters": "{\"PaReq\":\"x\",\"n\":1}"
            }}),
        ) else {
            panic!("redirect expected")
        };
        assert_eq!(
            (r.url.as_str(), r.method),
            ("https://3ds", RedirectMethod::Post)
        );
        assert_eq!(
            (
                r.form_parameters["PaReq"].as_str(),
                r.form_parameters["n"].as_str()
            ),
            ("x", "1")
        );

        let challenge = NextAction::from_alipay(&json!({
            "normalUrl": "https://s",
            "challengeActionForm": {"challengeType": "SMS_OTP", "challengeRenderValue": "123", "triggerSource": "ISSUER"}
        }));
        assert!(
            matches!(challenge, Some(NextAction::Challenge(c)) if c.challenge_type == "SMS_OTP")
        );

        let code = NextAction::from_alipay(&json!({"orderCodeForm": {
            "expireTime": "2026-12-01T10:00:00+08:00", "codeDetails": [{"codeValue": "281666"}]
        }}));
        assert!(matches!(code, Some(NextAction::OrderCode(o)) if o.code_values == ["281666"]));
        assert_eq!(NextAction::from_alipay(&json!({})), None);
    }

    #[test]
    fn own_shape_round_trips_and_old_shape_reads() {
        let action = NextAction::Redirect(RedirectAction {
            url: "https://s/cashier/1".into(),
            normal_url: "https://s/cashier/1".into(),
            ..RedirectAction::default()
        });
        let stored = serde_json::to_value(&action).unwrap();
        assert!(stored.get("redirect").is_some(), "{stored}");
        assert_eq!(
            serde_json::from_value::<NextAction>(stored).unwrap(),
            action
        );

        let old: NextAction =
            serde_json::from_value(json!({"normalUrl": "https://s/cashier/1"})).unwrap();
        assert_eq!(old, action);
        let nothing: NextAction = serde_json::from_value(json!({"appIdentifier": "x"})).unwrap();
        assert!(matches!(nothing, NextAction::Redirect(r) if !r.has_target()));
    }
}
