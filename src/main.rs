//! The `alipay-gateway` binary: see [`alipay_gateway::cli`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    alipay_gateway::cli::run(alipay_gateway::cli::Cli::parse())
}
