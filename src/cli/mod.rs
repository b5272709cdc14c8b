//! The `alipay-gateway` command line: `serve` (the gateway), `migrate`, `healthcheck`, `sandbox` (the Alipay
//! simulator on its own) and `signature` (sign / verify / diagnose Alipay signatures).

pub mod healthcheck;
pub mod migrate;
pub mod sandbox;
pub mod serve;
pub mod signature;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command-line interface of the `alipay-gateway` binary.
#[derive(Debug, Parser)]
#[command(
    name = "alipay-gateway",
    version,
    about = "gRPC payments gateway in front of Alipay Global (Antom)"
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (gRPC server and reconciler). With no configuration: SQLite in ./data and the built-in
    /// sandbox as upstream.
    Serve(Box<crate::config::ServeArgs>),
    /// Apply database migrations and exit.
    Migrate(migrate::MigrateArgs),
    /// Ask a running gateway's health service; exit 0 only if SERVING (for images without a shell).
    Healthcheck(healthcheck::HealthcheckArgs),
    /// Run the Alipay simulator on its own until SIGTERM/SIGINT.
    Sandbox(sandbox::SandboxArgs),
    /// Sign, verify and diagnose Alipay request/response signatures.
    #[command(subcommand)]
    Signature(signature::SignatureCommand),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => serve::run(&args),
        Command::Migrate(args) => migrate::run(&args),
        Command::Healthcheck(args) => healthcheck::run(&args),
        Command::Sandbox(args) => sandbox::run(&args),
        Command::Signature(cmd) => signature::run(cmd),
    }
}

/// A multi-threaded runtime for the async subcommands.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C). The handlers are installed when this is called, not when the future is
/// first polled: call it before announcing readiness, so a signal sent right after the "listening" line is a
/// graceful stop rather than the default kill. Must be called inside the runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                (Ok(mut one), Err(error)) | (Err(error), Ok(mut one)) => {
                    tracing::warn!(%error, "listening for only one of SIGTERM and SIGINT");
                    one.recv().await;
                }
                (Err(error), Err(_)) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM or SIGINT; only a kill stops the process");
                    std::future::pending::<()>().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Installs the stderr logger. `filter` uses tracing's `EnvFilter` syntax.
pub fn init_logging(filter: &str, format: crate::config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // A second initialisation (only possible in tests) keeps the first subscriber.
    let _ = match format {
        crate::config::LogFormat::Text => builder.try_init(),
        crate::config::LogFormat::Json => builder.json().try_init(),
    };
}
