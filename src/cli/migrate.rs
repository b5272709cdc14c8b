//! `alipay-gateway migrate`: bring the schema up to date and exit (for deployments that run migrations as a
//! separate step and start `serve --no-migrate`).

use std::process::ExitCode;

use clap::Args;

use crate::config::DEFAULT_DATABASE_URL;

/// Flags of `migrate`.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// Store URL: `sqlite://PATH?mode=rwc` or `postgres://USER:PASS@HOST/DB`.
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true, default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

/// Applies every pending migration.
pub fn run(args: &MigrateArgs) -> ExitCode {
    super::init_logging(
        &std::env::var("ALIPAY_GATEWAY_LOG").unwrap_or_else(|_| "info".into()),
        crate::config::LogFormat::Text,
    );
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("alipay-gateway: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let store = store::Store::connect(&args.database_url).await?;
        store.migrate().await?;
        store.close().await
    });
    match result {
        Ok(()) => {
            println!("alipay-gateway: migrations applied");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("alipay-gateway: migration failed: {error}");
            ExitCode::FAILURE
        }
    }
}
