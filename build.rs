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

use prost::Message;

/// Root of the protobuf import path; files import each other relative to it.
const PROTO_ROOT: &str = "proto";
/// Name `lib.rs` passes to `tonic::include_file_descriptor_set!`.
const DESCRIPTOR_FILE: &str = "alipay_gateway_descriptor.bin";

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

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)
        .map_err(|e| format!("generating Rust code: {e}"))
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
