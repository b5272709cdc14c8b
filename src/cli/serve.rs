//! `alipay-gateway serve`.

use std::io::Write as _;
use std::process::ExitCode;

use crate::config::{ServeArgs, Settings, process_env};
use crate::server::Gateway;
use crate::telemetry::Telemetry;

/// Validates the configuration (flags over the environment, the file and the defaults), starts the gateway, prints the bound address on stdout
/// (`alipay-gateway listening on ADDR`, one line, for scripts and tests) and runs until SIGTERM/SIGINT.
pub fn run(args: &ServeArgs) -> ExitCode {
    let settings = match Settings::resolve_in(args, &process_env) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("alipay-gateway: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("alipay-gateway: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let started = {
        let _runtime = runtime.enter();
        Telemetry::start(settings.otlp_endpoint.as_deref(), settings.metrics_listen)
    };
    let telemetry = match started {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("alipay-gateway: telemetry: {error}");
            return ExitCode::from(2);
        }
    };
    super::install_logging(&settings.log_level, settings.log_format, telemetry.as_ref());
    let result = runtime.block_on(async move {
        let stop = super::shutdown_signal();
        let served = async {
            let running = Gateway::start(settings).await?;
            if let Some(notify) = running.notify_addr() {
                println!("alipay-gateway notifications on {notify}");
            }
            println!("alipay-gateway listening on {}", running.addr());
            let _ = std::io::stdout().flush();
            let backlog = telemetry
                .as_ref()
                .map(|_| crate::telemetry::store::watch_backlog(running.store().clone()));
            stop.await;
            tracing::info!("shutdown signal received");
            if let Some(backlog) = backlog {
                backlog.abort();
            }
            running.shutdown().await
        }
        .await;
        // After the server stopped: the last RPC spans and metric points are flushed too.
        if let Some(telemetry) = telemetry {
            telemetry.shutdown().await;
        }
        served
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
