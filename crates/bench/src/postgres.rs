//! A throwaway PostgreSQL database for the benches that measure on PostgreSQL: created fresh on the server named by
//! `BENCH_DATABASE_URL` (or `TEST_DATABASE_URL`), dropped afterwards. The role needs CREATEDB.

use sea_orm::ConnectionTrait;

use crate::harness::BenchError;

/// The PostgreSQL server to measure on, if any.
pub fn server_url() -> Option<String> {
    ["BENCH_DATABASE_URL", "TEST_DATABASE_URL"]
        .into_iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|url| !url.is_empty())
}

/// A fresh database on the server at `admin_url`.
#[derive(Debug)]
pub struct Database {
    admin_url: String,
    name: String,
    /// URL of the new database (same server and credentials).
    pub url: String,
}

impl Database {
    /// Creates `name` (dropping a leftover of the same name first).
    pub async fn create(admin_url: &str, name: &str) -> Result<Self, BenchError> {
        let (base, _) = admin_url
            .rsplit_once('/')
            .ok_or("the PostgreSQL URL has no database path")?;
        let database = Self {
            admin_url: admin_url.to_owned(),
            name: name.to_owned(),
            url: format!("{base}/{name}"),
        };
        database.drop_if_exists().await?;
        database
            .admin(&format!("CREATE DATABASE {}", database.name))
            .await?;
        Ok(database)
    }

    /// Drops it (close every connection to it first).
    pub async fn drop(self) -> Result<(), BenchError> {
        self.drop_if_exists().await
    }

    async fn drop_if_exists(&self) -> Result<(), BenchError> {
        self.admin(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .await
    }

    async fn admin(&self, sql: &str) -> Result<(), BenchError> {
        let admin = sea_orm::Database::connect(self.admin_url.as_str()).await?;
        admin.execute_unprepared(sql).await?;
        admin.close().await?;
        Ok(())
    }
}
