//! Explains why a signature does not verify, for the `signature verify` CLI.
//!
//! Signature mismatches are the most common Alipay integration failure and RSA gives no hint why. The usual causes
//! are mechanical — a trailing newline added by an editor, JSON re-serialised before verifying, the sandbox path
//! prefix, a URL-encoding step missing — so this module retries with each plausible variation and reports which
//! one makes the signature valid. Only when none does is the key blamed.

use crate::keys::{KeyError, KeyKind};
use crate::signing::{
    SignatureEncoding, SignatureError, SignatureHeader, Signer, Verifier, sign_content,
};

/// The message parts exactly as the user supplied them.
#[derive(Debug, Clone, Copy)]
pub struct DiagnoseInput<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Request path.
    pub path: &'a str,
    /// Client id.
    pub client_id: &'a str,
    /// Request/response time header value.
    pub request_time: &'a str,
    /// Body bytes.
    pub body: &'a [u8],
    /// The whole `signature` header value or only its `signature=` part.
    pub signature: &'a str,
}

/// One change to the inputs that was tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Variation {
    /// The body's trailing newline removed (editors and `echo` add one).
    TrailingNewlineStripped,
    /// A trailing newline added to the body.
    TrailingNewlineAdded,
    /// Windows line endings converted to `\n`.
    CrlfToLf,
    /// The JSON body re-serialised compactly (Java/Go SDK style).
    CompactJson,
    /// The JSON body pretty-printed with this many spaces (Python SDK uses 3).
    PrettyJson(usize),
    /// A different path.
    Path(String),
    /// The method upper-cased.
    MethodUppercased,
}

impl Variation {
    fn describe(&self) -> String {
        match self {
            Variation::TrailingNewlineStripped => {
                "the signer's body had no trailing newline (your body file ends with one)".into()
            }
            Variation::TrailingNewlineAdded => "the signer's body ended with a newline (your body file does not)".into(),
            Variation::CrlfToLf => "the signer's body used \\n line endings (your file has \\r\\n)".into(),
            Variation::CompactJson => {
                "the signer used compact JSON: the body was re-serialised; sign and verify the exact bytes sent".into()
            }
            Variation::PrettyJson(n) => format!(
                "the signer used pretty-printed JSON ({n}-space indent): the body was re-serialised; sign and verify the exact bytes sent"
            ),
            Variation::Path(p) => format!("the signed path was `{p}` (check the /ams/api vs /ams/sandbox/api prefix)"),
            Variation::MethodUppercased => "the method must be upper-case".into(),
        }
    }
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diagnosis {
    /// The signature verifies as given.
    Valid {
        /// How the value was encoded.
        encoding: SignatureEncoding,
        /// Whether only the signature part (not the whole header) was given.
        bare: bool,
    },
    /// It verifies only after these changes, which are most likely what differs.
    Explained {
        /// The changes.
        changes: Vec<Variation>,
        /// How the value was encoded.
        encoding: SignatureEncoding,
    },
    /// The signature value could not be decoded at all.
    Unparseable(SignatureError),
    /// The decoded signature has the wrong length for this key.
    WrongLength {
        /// Decoded length in bytes.
        got: usize,
        /// The key's modulus length in bytes.
        expected: usize,
    },
    /// Nothing tried explains the mismatch.
    KeyMismatch,
}

impl Diagnosis {
    /// True only when the inputs verify exactly as given.
    pub fn is_valid(&self) -> bool {
        matches!(self, Diagnosis::Valid { .. })
    }

    /// Human-readable explanation, one line per item.
    pub fn explain(&self) -> Vec<String> {
        match self {
            Diagnosis::Valid { encoding, bare } => {
                let mut lines = vec!["signature is valid".to_owned()];
                if *encoding == SignatureEncoding::RawBase64 {
                    lines.push(
                        "note: the value is raw base64; the protocol URL-encodes it (%2B %2F %3D) — Alipay's Java SDK \
                         treats padded raw base64 as no signature"
                            .into(),
                    );
                }
                if *bare {
                    lines.push(
                        "note: only the signature part was given; the header is algorithm=RSA256,keyVersion=N,signature=…"
                            .into(),
                    );
                }
                lines
            }
            Diagnosis::Explained { changes, .. } => {
                let mut lines = vec!["signature is NOT valid for the inputs as given".to_owned()];
                lines.push("it becomes valid when:".into());
                lines.extend(changes.iter().map(|c| format!("  - {}", c.describe())));
                lines
            }
            Diagnosis::Unparseable(e) => vec![
                format!("signature is NOT valid: {e}"),
                "give the whole header value (algorithm=RSA256,keyVersion=1,signature=…) or the base64 signature".into(),
            ],
            Diagnosis::WrongLength { got, expected } => vec![
                "signature is NOT valid".into(),
                format!(
                    "the decoded signature is {got} bytes but this key produces {expected}-byte signatures: it was made \
                     with a different key size, or the value was truncated or mangled (e.g. '+' turned into a space)"
                ),
            ],
            Diagnosis::KeyMismatch => vec![
                "signature is NOT valid".into(),
                "no body, path or encoding variation explains it: the key does not match, or the client-id or \
                 request-time differ from what was signed (both are part of the signed string)"
                    .into(),
                "if you are checking Alipay's response or notification, use Alipay's public key from the dashboard, \
                 not your own merchant public key (a common mix-up); to check your own request, use the public key \
                 you uploaded to Alipay"
                    .into(),
            ],
        }
    }
}

fn strip_trailing_newline(body: &[u8]) -> Option<Vec<u8>> {
    let stripped = body.strip_suffix(b"\n")?;
    Some(stripped.strip_suffix(b"\r").unwrap_or(stripped).to_vec())
}

/// Tells, byte by byte, whether JSON text is inside a string literal (quotes and escapes included), so
/// the reformatting below never touches what is between quotes.
#[derive(Default)]
struct StringTracker {
    in_string: bool,
    escaped: bool,
}

impl StringTracker {
    /// Feeds the next byte; true when it belongs to a string literal.
    fn feed(&mut self, b: u8) -> bool {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
            }
            true
        } else {
            self.in_string = b == b'"';
            self.in_string
        }
    }
}

/// Removes whitespace outside JSON strings, preserving key order and escapes byte for byte.
fn compact_json(body: &[u8]) -> Vec<u8> {
    let mut strings = StringTracker::default();
    body.iter()
        .copied()
        .filter(|&b| strings.feed(b) || !b.is_ascii_whitespace())
        .collect()
}

/// Pretty-prints compact JSON the way serde_json / Python's `json.dumps(indent=n)` do, preserving key order.
fn pretty_json(body: &[u8], indent: usize) -> Vec<u8> {
    let compact = compact_json(body);
    let mut out = Vec::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut strings = StringTracker::default();
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', depth * indent));
    };
    let mut i = 0;
    while i < compact.len() {
        let b = compact[i];
        if strings.feed(b) {
            out.push(b);
            i += 1;
            continue;
        }
        match b {
            b'{' | b'[' => {
                out.push(b);
                let close = if b == b'{' { b'}' } else { b']' };
                if compact.get(i + 1) == Some(&close) {
                    out.push(close);
                    i += 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

fn body_variants(body: &[u8]) -> Vec<(Option<Variation>, Vec<u8>)> {
    let mut out: Vec<(Option<Variation>, Vec<u8>)> = vec![(None, body.to_vec())];
    let mut push = |v: Variation, bytes: Vec<u8>| {
        if !out.iter().any(|(_, b)| *b == bytes) {
            out.push((Some(v), bytes));
        }
    };
    if let Some(stripped) = strip_trailing_newline(body) {
        push(Variation::TrailingNewlineStripped, stripped);
    } else {
        let mut added = body.to_vec();
        added.push(b'\n');
        push(Variation::TrailingNewlineAdded, added);
    }
    if body.windows(2).any(|w| w == b"\r\n") {
        let text = String::from_utf8_lossy(body).replace("\r\n", "\n");
        push(Variation::CrlfToLf, text.into_bytes());
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        push(Variation::CompactJson, compact_json(body));
        for indent in [2, 3, 4] {
            push(Variation::PrettyJson(indent), pretty_json(body, indent));
        }
    }
    out
}

fn path_variants(path: &str) -> Vec<(Option<Variation>, String)> {
    const PROD: &str = "/ams/api/";
    const SANDBOX: &str = "/ams/sandbox/api/";
    let trimmed = path.trim();
    // A full URL given where the path belongs: only the path is signed.
    let bare_path = url::Url::parse(trimmed)
        .ok()
        .filter(|u| u.has_host())
        .map(|u| u.path().to_owned());
    let mut candidates: Vec<String> = Vec::new();
    let base = bare_path.clone().unwrap_or_else(|| trimmed.to_owned());
    if bare_path.is_some() {
        candidates.push(base.clone());
    }
    if let Some(rest) = base.strip_prefix(PROD) {
        candidates.push(format!("{SANDBOX}{rest}"));
    } else if let Some(rest) = base.strip_prefix(SANDBOX) {
        candidates.push(format!("{PROD}{rest}"));
    } else if base.starts_with("/v1/") {
        candidates.push(format!("/ams/api{base}"));
        candidates.push(format!("/ams/sandbox/api{base}"));
    }
    let mut out = vec![(None, path.to_owned())];
    for c in candidates {
        if !out.iter().any(|(_, p)| *p == c) {
            out.push((Some(Variation::Path(c.clone())), c));
        }
    }
    out
}

/// Checks the signature and, if it fails, searches for the variation that explains it.
pub fn diagnose(verifier: &Verifier, input: &DiagnoseInput<'_>) -> Diagnosis {
    let header = match SignatureHeader::parse(input.signature) {
        Ok(h) => h,
        Err(e) => return Diagnosis::Unparseable(e),
    };
    let candidates = match header.candidates() {
        Ok(c) => c,
        Err(e) => return Diagnosis::Unparseable(e),
    };
    let verifies = |method: &str, path: &str, body: &[u8]| {
        let content = sign_content(method, path, input.client_id, input.request_time, body);
        candidates
            .iter()
            .find(|c| verifier.verify_raw(&content, &c.bytes).is_ok())
            .map(|c| c.encoding)
    };
    if let Some(encoding) = verifies(input.method, input.path, input.body) {
        return Diagnosis::Valid {
            encoding,
            bare: header.bare,
        };
    }
    if candidates
        .iter()
        .all(|c| c.bytes.len() != verifier.signature_len())
    {
        return Diagnosis::WrongLength {
            got: candidates[0].bytes.len(),
            expected: verifier.signature_len(),
        };
    }
    let upper = input.method.to_ascii_uppercase();
    let mut methods = vec![(None, input.method)];
    if upper != input.method {
        methods.push((Some(Variation::MethodUppercased), upper.as_str()));
    }
    let bodies = body_variants(input.body);
    let paths = path_variants(input.path);
    for (method_change, method) in &methods {
        for (path_change, path) in &paths {
            for (body_change, body) in &bodies {
                if let Some(encoding) = verifies(method, path, body) {
                    let changes = [method_change, path_change, body_change]
                        .into_iter()
                        .flatten()
                        .cloned()
                        .collect();
                    return Diagnosis::Explained { changes, encoding };
                }
            }
        }
    }
    Diagnosis::KeyMismatch
}

/// Loads a verifier from whatever key the user handed over. A private key is accepted (its public half is used)
/// with a note, because checking one's own signing setup with the private key file is a legitimate use.
pub fn verifier_from_any_key(text: &str) -> Result<(Verifier, Option<String>), KeyError> {
    match Verifier::from_text(text) {
        Ok(v) => Ok((v, None)),
        Err(KeyError::PrivateKeyGivenForPublic) => {
            let signer = Signer::from_text(text)?;
            let kind = match signer.key_kind() {
                KeyKind::PrivatePkcs1 => "PKCS#1",
                _ => "PKCS#8",
            };
            let note = format!(
                "note: the key file holds a {kind} PRIVATE key; verifying with its public half. To check Alipay's \
                 responses or notifications you need Alipay's public key instead"
            );
            Ok((signer.verifier()?, Some(note)))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: &str = include_str!("../tests/vectors/vector-private.TEST-ONLY.pem");
    const PUBLIC: &str = include_str!("../tests/vectors/vector-public.TEST-ONLY.pem");
    const OTHER_PUBLIC: &str = include_str!("../../../keys/dev/merchant-public.TEST-ONLY.pem");
    const BODY: &[u8] =
        br#"{"paymentRequestId":"REQ-1","paymentAmount":{"currency":"USD","value":"100"}}"#;
    const PATH: &str = "/ams/api/v1/payments/pay";

    fn sign(path: &str, body: &[u8]) -> String {
        Signer::from_text(PRIVATE)
            .unwrap()
            .header_value(1, "POST", path, "C", "1700000000000", body)
            .unwrap()
    }

    fn run(signature: &str, path: &str, body: &[u8]) -> Diagnosis {
        let v = Verifier::from_text(PUBLIC).unwrap();
        diagnose(
            &v,
            &DiagnoseInput {
                method: "POST",
                path,
                client_id: "C",
                request_time: "1700000000000",
                body,
                signature,
            },
        )
    }

    #[test]
    fn valid_as_whole_header_bare_value_and_raw_base64() {
        let header = sign(PATH, BODY);
        assert_eq!(
            run(&header, PATH, BODY),
            Diagnosis::Valid {
                encoding: SignatureEncoding::UrlEncodedBase64,
                bare: false
            }
        );
        let part = header.split("signature=").nth(1).unwrap();
        assert!(matches!(
            run(part, PATH, BODY),
            Diagnosis::Valid { bare: true, .. }
        ));
        let raw = percent_encoding::percent_decode_str(part)
            .decode_utf8()
            .unwrap()
            .into_owned();
        let d = run(&raw, PATH, BODY);
        assert!(d.is_valid());
        assert!(d.explain().iter().any(|l| l.contains("raw base64")));
    }

    #[test]
    fn trailing_newline_is_found_both_ways() {
        let header = sign(PATH, BODY);
        let mut with_newline = BODY.to_vec();
        with_newline.push(b'\n');
        assert_eq!(
            run(&header, PATH, &with_newline),
            Diagnosis::Explained {
                changes: vec![Variation::TrailingNewlineStripped],
                encoding: SignatureEncoding::UrlEncodedBase64
            }
        );
        let signed_with_newline = sign(PATH, &with_newline);
        assert!(matches!(
            run(&signed_with_newline, PATH, BODY),
            Diagnosis::Explained { changes, .. } if changes == vec![Variation::TrailingNewlineAdded]
        ));
    }

    #[test]
    fn reserialised_json_is_found() {
        let pretty = pretty_json(BODY, 3);
        assert!(String::from_utf8_lossy(&pretty).contains("\n   \"paymentRequestId\": \"REQ-1\""));
        let header = sign(PATH, &pretty);
        assert!(matches!(
            run(&header, PATH, BODY),
            Diagnosis::Explained { changes, .. } if changes == vec![Variation::PrettyJson(3)]
        ));
        let header = sign(PATH, BODY);
        assert!(matches!(
            run(&header, PATH, &pretty_json(BODY, 2)),
            Diagnosis::Explained { changes, .. } if changes == vec![Variation::CompactJson]
        ));
    }

    #[test]
    fn sandbox_prefix_and_full_url_are_found() {
        let header = sign("/ams/sandbox/api/v1/payments/pay", BODY);
        assert!(matches!(
            run(&header, PATH, BODY),
            Diagnosis::Explained { changes, .. }
                if changes == vec![Variation::Path("/ams/sandbox/api/v1/payments/pay".into())]
        ));
        let header = sign(PATH, BODY);
        assert!(matches!(
            run(&header, "https://open-na-global.alipay.com/ams/api/v1/payments/pay", BODY),
            Diagnosis::Explained { changes, .. } if changes == vec![Variation::Path(PATH.into())]
        ));
    }

    #[test]
    fn tampered_content_or_wrong_key_blames_the_key() {
        let header = sign(PATH, BODY);
        let tampered = BODY
            .to_vec()
            .iter()
            .map(|&b| if b == b'1' { b'2' } else { b })
            .collect::<Vec<_>>();
        let d = run(&header, PATH, &tampered);
        assert_eq!(d, Diagnosis::KeyMismatch);
        assert!(d.explain().iter().any(|l| l.contains("key does not match")));
        let other = Verifier::from_text(OTHER_PUBLIC).unwrap();
        let d = diagnose(
            &other,
            &DiagnoseInput {
                method: "POST",
                path: PATH,
                client_id: "C",
                request_time: "1700000000000",
                body: BODY,
                signature: &header,
            },
        );
        assert_eq!(d, Diagnosis::KeyMismatch);
    }

    #[test]
    fn garbage_and_truncated_signatures() {
        assert!(matches!(
            run("signature=%%%", PATH, BODY),
            Diagnosis::Unparseable(_)
        ));
        assert_eq!(
            run("signature=QUJD", PATH, BODY),
            Diagnosis::WrongLength {
                got: 3,
                expected: 256
            }
        );
    }

    #[test]
    fn private_key_is_accepted_with_a_note() {
        let (_, note) = verifier_from_any_key(PRIVATE).unwrap();
        assert!(note.unwrap().contains("PRIVATE"));
        let (_, note) = verifier_from_any_key(PUBLIC).unwrap();
        assert!(note.is_none());
    }

    #[test]
    fn compact_keeps_string_whitespace() {
        assert_eq!(
            compact_json(br#"{ "a" : "x y\" z" , "b":[ 1, 2 ] }"#),
            br#"{"a":"x y\" z","b":[1,2]}"#.to_vec()
        );
        assert_eq!(
            pretty_json(br#"{"a":[],"b":{}}"#, 2),
            b"{\n  \"a\": [],\n  \"b\": {}\n}".to_vec()
        );
    }

    #[test]
    fn pretty_leaves_punctuation_inside_strings_alone() {
        let compact = br#"{"a":"x, {y}: [\"z\\\"]","b":"\\"}"#;
        let expected = br#"{
  "a": "x, {y}: [\"z\\\"]",
  "b": "\\"
}"#;
        assert_eq!(pretty_json(compact, 2), expected.to_vec());
    }
}
