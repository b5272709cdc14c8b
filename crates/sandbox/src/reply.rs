//! What an API handler answers: the `result` envelope, the endpoint's fields, and any scenario effect on
//! the transport (delay, dropped connection, corrupted signature).

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::codes::{self, Code};

/// `result.resultStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultStatus {
    /// Success.
    S,
    /// Failed (final).
    F,
    /// Unknown / in process.
    U,
}

impl ResultStatus {
    /// `S`, `F` or `U`.
    pub fn wire(self) -> &'static str {
        match self {
            Self::S => "S",
            Self::F => "F",
            Self::U => "U",
        }
    }
}

/// A transport-level misbehaviour requested by a test-data scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Effect {
    /// Answer normally.
    #[default]
    None,
    /// Hold the answer this long before sending it.
    Delay(Duration),
    /// Close the TCP connection without answering.
    DropConnection,
    /// Send a `signature` header that does not verify.
    CorruptSignature,
}

/// One API answer, before serialisation and signing.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The result status.
    pub status: ResultStatus,
    /// The result code.
    pub code: &'static str,
    /// The result message.
    pub message: String,
    /// Endpoint fields next to `result`.
    pub fields: Map<String, Value>,
    /// Transport effect.
    pub effect: Effect,
}

impl Reply {
    fn new(status: ResultStatus, code: Code, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.name,
            message: message.into(),
            fields: Map::new(),
            effect: Effect::None,
        }
    }

    /// `S` / `SUCCESS` with the given fields.
    pub fn success(fields: Map<String, Value>) -> Self {
        Self {
            fields,
            ..Self::new(ResultStatus::S, codes::SUCCESS, "success.")
        }
    }

    /// `F` with the code's documented message.
    pub fn failed(code: Code) -> Self {
        Self::new(ResultStatus::F, code, code.message)
    }

    /// `F` with a specific message.
    pub fn failed_with(code: Code, message: impl Into<String>) -> Self {
        Self::new(ResultStatus::F, code, message)
    }

    /// `U` with the code's documented message.
    pub fn unknown(code: Code) -> Self {
        Self::new(ResultStatus::U, code, code.message)
    }

    /// `F PARAM_ILLEGAL` naming the offending field.
    pub fn param_illegal(message: impl Into<String>) -> Self {
        Self::failed_with(codes::PARAM_ILLEGAL, message)
    }

    /// Adds endpoint fields.
    pub fn with_fields(mut self, fields: Map<String, Value>) -> Self {
        self.fields.extend(fields);
        self
    }

    /// Sets the transport effect.
    pub fn with_effect(mut self, effect: Effect) -> Self {
        self.effect = effect;
        self
    }

    /// The `result` envelope alone; inquiryPayment also shows it per transaction (`transactionResult`).
    pub fn result(&self) -> Value {
        json!({"resultCode": self.code, "resultStatus": self.status.wire(), "resultMessage": self.message})
    }

    /// The JSON body: the fields plus the `result` envelope.
    pub fn body(&self) -> Value {
        let mut body = self.fields.clone();
        body.insert("result".to_owned(), self.result());
        Value::Object(body)
    }
}
