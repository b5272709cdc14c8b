//! Compiles the gRPC contracts under `proto/` into Rust (prost messages plus
//! tonic clients and servers) without a `protoc` binary, and saves the
//! encoded `FileDescriptorSet` for gRPC server reflection.
//!
//! Every `.proto` file below `proto/` is compiled, so a new file is picked up
//! without touching this script.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::ExitCode,
};

use heck::{ToSnakeCase, ToUpperCamelCase};
use prost::Message;

/// Root of the protobuf import path; files import each other relative to it.
const PROTO_ROOT: &str = "proto";
/// Name `lib.rs` passes to `tonic::include_file_descriptor_set!`.
const DESCRIPTOR_FILE: &str = "alipay_gateway_descriptor.bin";
/// Generated `Debug` impls and the by-name debug hook, included by `lib.rs` in the package module.
const DEBUG_FILE: &str = "alipay_gateway_debug.rs";
/// The one package whose messages `lib.rs` includes (and so the only place a secret field may live).
const PACKAGE: &str = "alipay.gateway.v1";

/// Field names whose values are credentials or card data: a message holding one gets a hand-written
/// `Debug` that prints the field as `[REDACTED]`, so a `{:?}` in a log line, a panic message or a
/// `tracing` field can never leak it. Every message, including new ones, is covered by name.
const SECRET_FIELDS: &[&str] = &[
    "payment_code",
    "auth_code",
    "access_token",
    "refresh_token",
    "card_no",
    "card_number",
    "cvv",
    "cavv",
    "cardholder_name",
    "billing_address",
    "card_token",
];

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    match generate() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Cargo shows a build script's stderr on failure; protox errors
            // carry file, line and column.
            eprintln!(
                "error: compiling the protobuf contracts in `{PROTO_ROOT}/` failed:\n{message}"
            );
            ExitCode::FAILURE
        }
    }
}

fn generate() -> Result<(), String> {
    let root = Path::new(PROTO_ROOT);
    let mut files = Vec::new();
    collect_protos(root, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(format!("no .proto files found under `{PROTO_ROOT}/`"));
    }
    // protox wants paths relative to an include directory.
    let relative: Vec<PathBuf> = files
        .iter()
        .map(|file| file.strip_prefix(root).map(Path::to_path_buf))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("proto path outside `{PROTO_ROOT}/`: {e}"))?;

    let fds = protox::compile(&relative, [root]).map_err(|e| format!("{e:?}"))?;

    let out_dir = env::var_os("OUT_DIR").ok_or("OUT_DIR is not set (not run by cargo?)")?;
    let descriptor_path = PathBuf::from(out_dir).join(DESCRIPTOR_FILE);
    fs::write(&descriptor_path, fds.encode_to_vec())
        .map_err(|e| format!("writing {}: {e}", descriptor_path.display()))?;

    let messages = package_messages(&fds)?;
    let debug_path = descriptor_path.with_file_name(DEBUG_FILE);
    fs::write(&debug_path, debug_source(&messages))
        .map_err(|e| format!("writing {}: {e}", debug_path.display()))?;

    let redacted: Vec<String> = messages
        .iter()
        .filter(|m| m.has_secret())
        .map(|m| m.proto_path.clone())
        .collect();
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .skip_debug(redacted)
        // Undecodable requests are the caller's error (INVALID_ARGUMENT), not the gateway's: see src/grpc/codec.rs.
        .codec_path("crate::grpc::codec::ProtoCodec")
        .compile_fds(fds)
        .map_err(|e| format!("generating Rust code: {e}"))
}

/// One message of [`PACKAGE`], as the generated Rust sees it.
struct MessageInfo {
    /// `.alipay.gateway.v1.CardDetails`: the path prost-build matches `skip_debug` against.
    proto_path: String,
    /// `alipay.gateway.v1.CardDetails`, the protobuf full name.
    full_name: String,
    /// Path of the Rust type inside the package module (`card_details::Inner` for nested types).
    rust_path: String,
    /// Message name, as the derived `Debug` would print it.
    name: String,
    /// Rust fields in declaration order (a oneof appears once, under its own name).
    fields: Vec<FieldInfo>,
}

struct FieldInfo {
    /// The protobuf name, printed by `Debug`.
    name: String,
    /// How to print it.
    shown: Shown,
}

enum Shown {
    /// Its own `Debug`.
    Plain,
    /// A singular enum, printed by its protobuf name like the derived `Debug` does.
    Enum(String),
    /// `[REDACTED]`.
    Secret,
}

impl MessageInfo {
    fn has_secret(&self) -> bool {
        self.fields.iter().any(|f| matches!(f.shown, Shown::Secret))
    }
}

/// Every message of [`PACKAGE`] (nested ones included); an error if a secret field appears in a package whose
/// code `lib.rs` does not include, since its `Debug` would then go unredacted.
fn package_messages(fds: &prost_types::FileDescriptorSet) -> Result<Vec<MessageInfo>, String> {
    let mut messages = Vec::new();
    for file in &fds.file {
        let package = file.package();
        let mut found = Vec::new();
        for message in &file.message_type {
            collect_message(package, &Scope::default(), message, &mut found);
        }
        if package == PACKAGE {
            messages.extend(found);
        } else if let Some(m) = found.iter().find(|m| m.has_secret()) {
            return Err(format!(
                "{} holds a secret field but package {package} is not included by lib.rs",
                m.full_name
            ));
        }
    }
    Ok(messages)
}

fn collect_message(
    package: &str,
    scope: &Scope,
    message: &prost_types::DescriptorProto,
    out: &mut Vec<MessageInfo>,
) {
    use prost_types::field_descriptor_proto::{Label, Type};
    let name = message.name().to_owned();
    let relative = format!("{}{name}", scope.proto);
    let mut fields = Vec::new();
    let mut oneofs_seen = Vec::new();
    for field in &message.field {
        match field.oneof_index {
            // A real oneof is one Rust field (an enum) named after the oneof; a proto3 `optional` is a plain field.
            Some(index) if !field.proto3_optional() => {
                if !oneofs_seen.contains(&index) {
                    oneofs_seen.push(index);
                    let oneof = message.oneof_decl[index as usize].name();
                    fields.push(FieldInfo {
                        name: oneof.to_owned(),
                        shown: Shown::Plain,
                    });
                }
            }
            _ => {
                let shown = if SECRET_FIELDS.contains(&field.name()) {
                    Shown::Secret
                } else if field.r#type() == Type::Enum && field.label() != Label::Repeated {
                    Shown::Enum(rust_type_path(package, field.type_name()))
                } else {
                    Shown::Plain
                };
                fields.push(FieldInfo {
                    name: field.name().to_owned(),
                    shown,
                });
            }
        }
    }
    let nested_scope = Scope {
        proto: format!("{relative}."),
        rust: format!("{}{}::", scope.rust, to_snake(&name)),
    };
    out.push(MessageInfo {
        proto_path: format!(".{package}.{relative}"),
        full_name: format!("{package}.{relative}"),
        rust_path: format!("{}{}", scope.rust, to_upper_camel(&name)),
        name,
        fields,
    });
    for nested in &message.nested_type {
        if !nested.options.as_ref().is_some_and(|o| o.map_entry()) {
            collect_message(package, &nested_scope, nested, out);
        }
    }
}

/// Where a (nested) message sits: its protobuf name prefix (`Outer.`) and its Rust module prefix (`outer::`).
#[derive(Default)]
struct Scope {
    proto: String,
    rust: String,
}

/// The Rust path, inside the package module, of a type named `.package.Outer.Inner` in a descriptor.
fn rust_type_path(package: &str, type_name: &str) -> String {
    let relative = type_name
        .strip_prefix('.')
        .and_then(|t| t.strip_prefix(package))
        .and_then(|t| t.strip_prefix('.'))
        .unwrap_or(type_name);
    let mut parts: Vec<&str> = relative.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    let mut path: String = parts.iter().map(|p| format!("{}::", to_snake(p))).collect();
    path.push_str(&to_upper_camel(last));
    path
}

/// prost-build's identifier rules (its `ident` module): heck's case conversion, keywords escaped.
fn sanitize(ident: String) -> String {
    const RAW: &[&str] = &[
        "as", "break", "const", "continue", "else", "enum", "false", "fn", "for", "if", "impl",
        "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
        "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "dyn", "abstract",
        "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
        "virtual", "yield", "async", "await", "try", "gen",
    ];
    const SUFFIXED: &[&str] = &["_", "super", "self", "Self", "extern", "crate"];
    if RAW.contains(&ident.as_str()) {
        format!("r#{ident}")
    } else if SUFFIXED.contains(&ident.as_str()) {
        format!("{ident}_")
    } else if ident.starts_with(|c: char| c.is_numeric()) {
        format!("_{ident}")
    } else {
        ident
    }
}

/// A field or module name as prost writes it: `CardDetails` → `card_details`.
fn to_snake(name: &str) -> String {
    sanitize(name.to_snake_case())
}

/// A type name as prost writes it: `ThreeDSResult` → `ThreeDsResult`.
fn to_upper_camel(name: &str) -> String {
    sanitize(name.to_upper_camel_case())
}

/// The included Rust: a redacting `Debug` for each message with a secret field, and `debug_by_name`, which
/// decodes any message of the package by its full name and formats it, so a test can prove the redaction for
/// every message (present and future) from the descriptors alone.
fn debug_source(messages: &[MessageInfo]) -> String {
    let mut src = String::from("// Generated by build.rs. Do not edit.\n\n");
    for m in messages.iter().filter(|m| m.has_secret()) {
        src.push_str(&format!(
            "// Debug shows deprecated fields too, as prost's derived Debug does.\n#[allow(deprecated)]\nimpl ::core::fmt::Debug for {} {{\n    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {{\n        f.debug_struct({:?})\n",
            m.rust_path, m.name
        ));
        for field in &m.fields {
            let access = format!("self.{}", to_snake(&field.name));
            let value = match &field.shown {
                Shown::Plain => format!("&{access}"),
                Shown::Secret => "&::core::format_args!(\"[REDACTED]\")".to_owned(),
                Shown::Enum(ty) => format!(
                    "&{ty}::try_from({access}).map(|e| e.as_str_name()).map_err(|_| {access})"
                ),
            };
            src.push_str(&format!("            .field({:?}, {value})\n", field.name));
        }
        src.push_str("            .finish()\n    }\n}\n\n");
    }
    src.push_str(
        "/// Decodes `bytes` as the message named `full_name` and formats it with `{:?}`; `None` for an unknown\n\
         /// name or bytes that do not decode. For tests that check `Debug` redaction across the whole contract.\n\
         #[doc(hidden)]\n\
         pub fn debug_by_name(full_name: &str, bytes: &[u8]) -> ::core::option::Option<::std::string::String> {\n    \
         use ::prost::Message as _;\n    match full_name {\n",
    );
    for m in messages {
        src.push_str(&format!(
            "        {:?} => {}::decode(bytes).ok().map(|m| ::std::format!(\"{{m:?}}\")),\n",
            m.full_name, m.rust_path
        ));
    }
    src.push_str("        _ => ::core::option::Option::None,\n    }\n}\n");
    src
}

/// Appends every `.proto` file below `dir` (recursively) to `files`.
fn collect_protos(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("reading {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_protos(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            files.push(path);
        }
    }
    Ok(())
}
