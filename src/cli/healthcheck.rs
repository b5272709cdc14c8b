//! `alipay-gateway healthcheck`: asks a gateway's `grpc.health.v1.Health/Check` and exits 0 only when the answer
//! is SERVING. The container image is distroless (no shell, no grpc-health-probe), so a Docker `HEALTHCHECK` or an
//! `exec` probe needs the check built into the binary itself.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Flags of `healthcheck`.
#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// The gateway's gRPC address, `HOST:PORT` (plaintext).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50051")]
    pub addr: String,
    /// The health service to ask: `""` (readiness: follows the store) or `liveness`.
    #[arg(long, value_name = "NAME", default_value = "")]
    pub service: String,
    /// Give up (and fail) after this long.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = crate::config::parse_duration)]
    pub timeout: Duration,
}

/// Prints the status and exits 0 if SERVING, 1 otherwise (including when the gateway cannot be reached).
pub fn run(args: &HealthcheckArgs) -> ExitCode {
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("alipay-gateway: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(async { tokio::time::timeout(args.timeout, check(args)).await }) {
        Ok(Ok(status)) => {
            println!("{}", status.as_str_name());
            if status == ServingStatus::Serving {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Ok(Err(error)) => {
            eprintln!(
                "alipay-gateway: health check of {} failed: {error}",
                args.addr
            );
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!(
                "alipay-gateway: health check of {} timed out after {:?}",
                args.addr, args.timeout
            );
            ExitCode::FAILURE
        }
    }
}

/// Why no status could be read.
#[derive(Debug, thiserror::Error)]
enum CheckError {
    #[error("cannot connect: {0}")]
    Connect(#[from] tonic::transport::Error),
    #[error("Check answered {0}")]
    Rpc(#[from] tonic::Status),
}

async fn check(args: &HealthcheckArgs) -> Result<ServingStatus, CheckError> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", args.addr))?
        .connect()
        .await?;
    let mut client = HealthClient::new(channel);
    let answer = client
        .check(HealthCheckRequest {
            service: args.service.clone(),
        })
        .await?
        .into_inner();
    Ok(ServingStatus::try_from(answer.status).unwrap_or(ServingStatus::Unknown))
}
