//! The configuration's behaviour as documented: defaults, precedence, errors naming the setting, the help, the
//! README's table, secrets kept out of output. `precedence` generates the layering cases.

mod precedence;

use std::collections::HashMap;
use std::time::Duration;

use clap::Parser as _;

use super::*;
use crate::cli::{Cli, Command};

/// Parses `alipay-gateway serve ARGS...` as the binary does.
fn serve_args(args: &[&str]) -> ServeArgs {
    let argv = ["alipay-gateway", "serve"].iter().chain(args);
    match Cli::try_parse_from(argv)
        .expect("valid command line")
        .command
    {
        Command::Serve(args) => *args,
        other => panic!("not serve: {other:?}"),
    }
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
    assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert!(parse_duration("fast").is_err());
    assert!(parse_duration("3 weeks").is_err());
}

#[test]
fn defaults_are_development_mode() {
    let s = Settings::resolve(&ServeArgs::default()).unwrap();
    assert_eq!(s.upstream, Upstream::Sandbox);
    assert_eq!(s.listen, DEFAULT_LISTEN.parse().unwrap());
    assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
    assert_eq!(s.client_id, sandbox::dev::CLIENT_ID);
    assert!(s.development_token_key);
    assert!(s.auto_migrate);
}

#[test]
fn notify_listener_and_url() {
    let s = Settings::resolve(&ServeArgs::default()).unwrap();
    assert_eq!(s.notify_listen, Some("0.0.0.0:8080".parse().unwrap()));
    assert_eq!(s.notify_max_age, Duration::from_secs(48 * 3600));
    assert_eq!(s.notify_path(), "/alipay/notify");
    // Built-in sandbox, no public base: the listener's own loopback address.
    assert_eq!(
        s.notify_url(Some("0.0.0.0:9999".parse().unwrap()))
            .as_deref(),
        Some("http://127.0.0.1:9999/alipay/notify")
    );
    assert_eq!(s.notify_url(None), None);
    let public = Settings::resolve(&ServeArgs {
        notify_listen: Some("off".into()),
        notify_public_base_url: Some("https://gw.example/hooks/".into()),
        notify_max_age: Some("1h".into()),
        ..ServeArgs::default()
    })
    .unwrap();
    assert_eq!(public.notify_listen, None);
    assert_eq!(public.notify_path(), "/hooks/alipay/notify");
    assert_eq!(
        public.notify_url(None).as_deref(),
        Some("https://gw.example/hooks/alipay/notify")
    );
    for (setting, args) in [
        (
            "notify_public_base_url",
            ServeArgs {
                notify_public_base_url: Some("gw.example".into()),
                ..ServeArgs::default()
            },
        ),
        (
            "notify_listen",
            ServeArgs {
                notify_listen: Some("everywhere".into()),
                ..ServeArgs::default()
            },
        ),
        (
            "notify_max_age",
            ServeArgs {
                notify_max_age: Some("0s".into()),
                ..ServeArgs::default()
            },
        ),
    ] {
        let error = Settings::resolve(&args).unwrap_err().to_string();
        assert!(error.contains(setting), "{error}");
    }
}

#[test]
fn real_upstream_requires_keys_and_token_key() {
    let args = ServeArgs {
        upstream: Some("https://open-na-global.alipay.com".into()),
        client_id: Some("C1".into()),
        ..ServeArgs::default()
    };
    let err = Settings::resolve(&args).unwrap_err().to_string();
    assert!(err.contains("merchant_private_key_file"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    std::fs::write(&key, "x").unwrap();
    let args = ServeArgs {
        merchant_private_key_file: Some(key.display().to_string()),
        alipay_public_key_file: Some(key.display().to_string()),
        ..args
    };
    let err = Settings::resolve(&args).unwrap_err().to_string();
    assert!(err.contains("token_key"), "{err}");
}

#[test]
fn file_is_read_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:7000\"\ninquiry_interval = \"100ms\"\nlog_format = \"json\"\n\
         buyer_action_window = \"5m\"\nbuyer_inquiry_max_interval = \"10s\"\n",
    )
    .unwrap();
    let args = ServeArgs {
        config: Some(path.clone()),
        listen: Some("127.0.0.1:7001".into()),
        ..ServeArgs::default()
    };
    let s = Settings::resolve(&args).unwrap();
    assert_eq!(s.listen.port(), 7001);
    assert_eq!(s.engine.inquiry_interval, Duration::from_millis(100));
    assert_eq!(s.engine.buyer_action_window, Duration::from_secs(300));
    assert_eq!(s.engine.buyer_inquiry_max_interval, Duration::from_secs(10));
    assert_eq!(s.engine.buyer_action_grace, Duration::from_secs(60));
    assert_eq!(s.log_format, LogFormat::Json);

    std::fs::write(&path, "listn = \"x\"\n").unwrap();
    let err = Settings::resolve(&ServeArgs {
        config: Some(path),
        ..ServeArgs::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("listn"), "{err}");
}

#[test]
fn bad_values_name_the_setting() {
    let bad = |args: ServeArgs, setting: &str| {
        let err = Settings::resolve(&args).unwrap_err().to_string();
        assert!(err.contains(setting), "{err}");
    };
    bad(
        ServeArgs {
            upstream: Some("ftp://x".into()),
            ..ServeArgs::default()
        },
        "upstream",
    );
    bad(
        ServeArgs {
            database_url: Some("mysql://x".into()),
            ..ServeArgs::default()
        },
        "database_url",
    );
    bad(
        ServeArgs {
            token_key: Some("short".into()),
            ..ServeArgs::default()
        },
        "token_key",
    );
    bad(
        ServeArgs {
            health_probe_interval: Some("0s".into()),
            ..ServeArgs::default()
        },
        "health_probe_interval: must be more than zero",
    );
    bad(
        ServeArgs {
            job_lease: Some("0".into()),
            ..ServeArgs::default()
        },
        "job_lease: must be more than zero",
    );
    bad(
        ServeArgs {
            request_timeout: Some("soon".into()),
            ..ServeArgs::default()
        },
        "request_timeout",
    );
    bad(
        ServeArgs {
            write_ahead_grace: Some("1s".into()),
            ..ServeArgs::default()
        },
        "write_ahead_grace",
    );
    bad(
        ServeArgs {
            otlp_endpoint: Some("otel-collector:4317".into()),
            ..ServeArgs::default()
        },
        "otlp_endpoint",
    );
    bad(
        ServeArgs {
            event_retention: Some("167h".into()),
            ..ServeArgs::default()
        },
        "event_retention: must be at least 168h",
    );
}

#[test]
fn event_retention_defaults_to_seven_days_and_may_be_longer() {
    let resolve = |event_retention: Option<&str>| {
        Settings::resolve(&ServeArgs {
            event_retention: event_retention.map(str::to_owned),
            ..ServeArgs::default()
        })
        .expect("valid")
        .engine
        .event_retention
    };
    assert_eq!(resolve(None), Duration::from_secs(7 * 24 * 3600));
    assert_eq!(resolve(Some("720h")), Duration::from_secs(30 * 24 * 3600));
}

#[test]
fn grpc_max_connection_age_is_unlimited_unless_set() {
    let age = |value: Option<&str>| {
        Settings::resolve(&ServeArgs {
            grpc_max_connection_age: value.map(Into::into),
            ..ServeArgs::default()
        })
        .map(|s| s.grpc_max_connection_age)
        .map_err(|e| e.to_string())
    };
    assert_eq!(age(None), Ok(None));
    assert_eq!(age(Some("5m")), Ok(Some(Duration::from_secs(300))));
    let err = age(Some("0s")).unwrap_err();
    assert!(
        err.contains("grpc_max_connection_age: must be more than zero"),
        "{err}"
    );
}

#[test]
fn the_file_takes_bare_integers_and_booleans_and_is_found_through_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    std::fs::write(
        &path,
        "key_version = 3\nno_migrate = true\ncall_attempts = 5\n",
    )
    .unwrap();
    let env: HashMap<&str, String> = HashMap::from([(CONFIG_ENV, path.display().to_string())]);
    let s =
        Settings::resolve_in(&ServeArgs::default(), &|name: &str| env.get(name).cloned()).unwrap();
    assert_eq!(s.key_version, 3);
    assert!(!s.auto_migrate);
    assert_eq!(s.engine.call_attempts, 5);

    std::fs::write(&path, "listen = [\"127.0.0.1:1\"]\n").unwrap();
    let err = Settings::resolve(&ServeArgs {
        config: Some(path),
        ..ServeArgs::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("a string, an integer or a boolean"), "{err}");
}

#[test]
fn no_migrate_is_a_switch() {
    assert!(
        !Settings::resolve(&serve_args(&["--no-migrate"]))
            .unwrap()
            .auto_migrate
    );
    assert!(
        !Settings::resolve(&serve_args(&["--no-migrate", "--listen", "127.0.0.1:0"]))
            .unwrap()
            .auto_migrate
    );
    assert!(
        Settings::resolve(&serve_args(&["--no-migrate=false"]))
            .unwrap()
            .auto_migrate
    );
    assert!(Settings::resolve(&serve_args(&[])).unwrap().auto_migrate);
}

#[test]
fn a_bad_value_names_the_setting_and_its_source() {
    let env = |name: &str| (name == "ALIPAY_GATEWAY_LISTEN").then(|| "nowhere".to_owned());
    let err = Settings::resolve_in(&ServeArgs::default(), &env)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("invalid setting listen: "), "{err}");
    assert!(err.contains("(from ALIPAY_GATEWAY_LISTEN)"), "{err}");
    let err = Settings::resolve(&serve_args(&["--max-inquiries", "0"]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid setting max_inquiries: must be at least 1 (from --max-inquiries)"
    );
    // An empty variable is unset, as clap treated it: the file or the default applies.
    let empty = |_: &str| Some(String::new());
    assert!(Settings::resolve_in(&ServeArgs::default(), &empty).is_ok());
}

#[test]
fn help_lists_every_setting_with_its_flag_environment_variable_and_default() {
    let help = match Cli::try_parse_from(["alipay-gateway", "serve", "--help"]) {
        Err(help) if help.kind() == clap::error::ErrorKind::DisplayHelp => help.to_string(),
        other => panic!("no help: {other:?}"),
    };
    assert!(help.contains("--config <FILE>"), "{help}");
    assert!(help.contains("[env: ALIPAY_GATEWAY_CONFIG]"), "{help}");
    for declared in SETTINGS {
        let usage = if declared.switch {
            format!("{} [<{}>]", declared.flag(), declared.value_name)
        } else {
            format!("{} <{}>", declared.flag(), declared.value_name)
        };
        assert!(help.contains(&usage), "{usage} missing from:\n{help}");
        assert!(help.contains(&format!("[env: {}]", declared.env)), "{help}");
        if let Some(default) = declared.default {
            assert!(help.contains(&format!("[default: {default}]")), "{help}");
        }
    }
}

#[test]
fn the_readme_table_lists_every_setting_and_its_environment_variable() {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("## Configuration")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README has a Configuration section");
    for declared in SETTINGS {
        assert!(
            section.contains(&format!("`{}`", declared.name)),
            "{} missing",
            declared.name
        );
        assert!(
            section.contains(&format!("`{}`", declared.env)),
            "{} missing",
            declared.env
        );
    }
}

#[test]
fn secrets_are_never_printed() {
    let password = "pg-Secret-9";
    let key = "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY=";
    let args = serve_args(&[
        "--database-url",
        &format!("postgres://gw:{password}@db/gw"),
        "--token-key",
        key,
    ]);
    let settings = Settings::resolve(&args).unwrap();
    for printed in [format!("{args:?}"), format!("{settings:?}")] {
        assert!(!printed.contains(password), "{printed}");
        assert!(!printed.contains(key), "{printed}");
    }
    let err = Settings::resolve(&serve_args(&[
        "--database-url",
        &format!("mysql://gw:{password}@db"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("database_url") && !err.contains(password),
        "{err}"
    );
    let err = Settings::resolve(&serve_args(&["--token-key", "c2hvcnQtc2VjcmV0"]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("token_key") && !err.contains("c2hvcnQtc2VjcmV0"),
        "{err}"
    );
}

#[test]
fn a_later_setting_is_read_from_declared() {
    let s = Settings::resolve(&serve_args(&["--shutdown-grace", "7s"])).unwrap();
    assert_eq!(s.declared.shutdown_grace, Duration::from_secs(7));
    assert_eq!(s.shutdown_grace, Duration::from_secs(7));
}
