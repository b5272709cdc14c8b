//! `alipay-gateway serve`.

use std::io::Write as _;
use std::process::ExitCode;

use crate::config::{ServeArgs, Settings};
use crate::server::Gateway;

/// Validates the configuration, starts the gateway, prints the bound address on stdout
/// (`alipay-gateway listening on ADDR`, one line, for scripts and tests) and runs until SIGTERM/SIGINT.
pub fn run(args: &ServeArgs) -> ExitCode {
    let settings = match Settings::resolve(args) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("alipay-gateway: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    super::init_logging(&settings.log_level, settings.log_format);
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("alipay-gateway: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let stop = super::shutdown_signal();
        let running = Gateway::start(settings).await?;
        if let Some(notify) = running.notify_addr() {
            println!("alipay-gateway notifications on {notify}");
        }
        println!("alipay-gateway listening on {}", running.addr());
        let _ = std::io::stdout().flush();
        stop.await;
        tracing::info!("shutdown signal received");
        running.shutdown().await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "gateway failed");
            eprintln!("alipay-gateway: {error}");
            ExitCode::FAILURE
        }
    }
}
