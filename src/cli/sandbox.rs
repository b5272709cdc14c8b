//! `alipay-gateway sandbox`: the Alipay simulator as a stand-alone server (for manual testing, other services'
//! tests, or a gateway started separately with `--upstream http://ADDR`).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Flags of `sandbox`.
#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// The sandbox's (Alipay's) signing key, PEM or base64 (default: the committed development key).
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
    /// A merchant to accept: `CLIENT_ID=PUBLIC_KEY_FILE` (repeatable; default: SANDBOX_DEV_CLIENT with the
    /// development key).
    #[arg(long, value_name = "CLIENT_ID=PUBLIC_KEY_FILE", value_parser = sandbox::parse_merchant_arg)]
    pub merchant: Vec<(String, PathBuf)>,
    /// How long scenario 94001 delays its first answer (e.g. `10s`).
    #[arg(long, value_name = "DURATION", value_parser = crate::config::parse_duration)]
    pub slow_response: Option<std::time::Duration>,
    /// Base URL advertised in authorization and cashier links (when reached through another host name).
    #[arg(long, value_name = "URL")]
    pub public_base_url: Option<String>,
    /// Where notifications go when an API call carries no notify URL (Alipay's dashboard setting).
    #[arg(long, value_name = "URL")]
    pub notify_url: Option<String>,
    /// Multiplies Alipay's redelivery intervals (2 min ... 15 h); e.g. 0.001 turns 2 min into 120 ms.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    pub notify_time_scale: f64,
    /// Send each notification once, like Alipay's remote sandbox (default: redeliver until acknowledged).
    #[arg(long)]
    pub no_notify_redelivery: bool,
    /// Also send notifyPayment for AGREEMENT_PAYMENT (auto debit) payments.
    #[arg(long)]
    pub notify_agreement_payments: bool,
}

/// The sandbox configuration the flags describe (key files are read and checked here).
fn config(args: &SandboxArgs) -> Result<sandbox::SandboxConfig, sandbox::SandboxError> {
    let mut config = sandbox::config_from_files(args.signing_key.as_deref(), &args.merchant)?;
    if let Some(slow) = args.slow_response {
        config = config.with_slow_response(slow);
    }
    if let Some(url) = &args.public_base_url {
        config = config.with_public_base_url(url.clone());
    }
    if let Some(url) = &args.notify_url {
        config = config.with_notify_url(url.clone());
    }
    Ok(config
        .with_notify_time_scale(args.notify_time_scale)
        .with_notify_redelivery(!args.no_notify_redelivery)
        .with_notify_agreement_payments(args.notify_agreement_payments))
}

/// Starts the simulator, prints its address and the location of its public key, and runs until SIGTERM/SIGINT.
pub fn run(args: &SandboxArgs) -> ExitCode {
    super::init_logging(
        &std::env::var("ALIPAY_GATEWAY_LOG").unwrap_or_else(|_| "info".into()),
        crate::config::LogFormat::Text,
    );
    let config = match config(args) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("alipay-gateway sandbox: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("alipay-gateway sandbox: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let custom_key = args.signing_key.is_some();
    let result = runtime.block_on(async move {
        let stop = super::shutdown_signal();
        let running = sandbox::Sandbox::start(config, args.listen).await?;
        println!("alipay-gateway sandbox listening on {}", running.base_url());
        if custom_key {
            println!(
                "Alipay public key (configure it in the gateway):\n{}",
                running.alipay_public_key_pem()
            );
        } else {
            println!(
                "Alipay public key: {} (development key)",
                sandbox::dev::ALIPAY_PUBLIC_KEY_PATH
            );
        }
        let _ = std::io::stdout().flush();
        stop.await;
        running.shutdown().await;
        Ok::<_, sandbox::SandboxError>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("alipay-gateway sandbox: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    fn config_of(flags: &[&str]) -> sandbox::SandboxConfig {
        let cli = Cli::try_parse_from(std::iter::once("sandbox").chain(flags.iter().copied()))
            .expect("flags parse");
        config(&cli.args).expect("config")
    }

    #[test]
    fn notification_flags_reach_the_sandbox_config() {
        let defaults = config_of(&[]);
        assert_eq!(defaults.notify_url, None);
        assert!((defaults.notify_time_scale - 1.0).abs() < f64::EPSILON);
        assert!(defaults.notify_redelivery);
        assert!(!defaults.notify_agreement_payments);

        let set = config_of(&[
            "--notify-url",
            "http://127.0.0.1:8080/alipay/notify",
            "--notify-time-scale",
            "0.001",
            "--no-notify-redelivery",
            "--notify-agreement-payments",
        ]);
        assert_eq!(
            set.notify_url.as_deref(),
            Some("http://127.0.0.1:8080/alipay/notify")
        );
        assert!((set.notify_time_scale - 0.001).abs() < f64::EPSILON);
        assert!(!set.notify_redelivery);
        assert!(set.notify_agreement_payments);
    }
}
