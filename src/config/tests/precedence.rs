//! Generated cases of the layering: for every declared setting at once, a random subset of flag, environment
//! and file sets it, each with a different valid value. The highest source present must win (flag > env > file
//! > default), and since every subset occurs, every setting is reached through each of its sources alone.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::sample::Index;

use super::serve_args;
use crate::config::{Layers, SETTINGS, Values};

/// The sources of one setting in one case: which are present, the winner's value, the others' value.
#[derive(Debug, Clone)]
struct Case {
    flag: bool,
    env: bool,
    file: bool,
    top: Index,
    lower: Index,
}

fn case() -> impl Strategy<Value = Case> {
    (any::<[bool; 3]>(), any::<Index>(), any::<Index>()).prop_map(
        |([flag, env, file], top, lower)| Case {
            flag,
            env,
            file,
            top,
            lower,
        },
    )
}

/// A TOML value: integers and booleans bare (as operators write them), everything else a quoted string.
fn toml_value(text: &str) -> String {
    if text.parse::<i64>().is_ok() || text == "true" || text == "false" {
        text.to_owned()
    } else {
        format!("{text:?}")
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_highest_source_wins_for_every_setting(cases in proptest::collection::vec(case(), SETTINGS.len())) {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let path = dir.path().join("gateway.toml");
        let mut flags: Vec<String> = Vec::new();
        let mut env: HashMap<&str, String> = HashMap::new();
        let mut file = String::new();
        let mut expected: Vec<Option<&str>> = Vec::new();
        for (declared, case) in SETTINGS.iter().zip(&cases) {
            let examples = Values::examples(declared.name);
            // The winner differs from the default, so a source that is ignored cannot pass for one that is read.
            let winners: Vec<&str> =
                examples.iter().copied().filter(|text| Some(*text) != declared.default).collect();
            prop_assert!(examples.len() >= 2 && !winners.is_empty(), "{} needs examples", declared.name);
            let top = winners[case.top.index(winners.len())];
            let others: Vec<&str> = examples.iter().copied().filter(|text| *text != top).collect();
            let lower = others[case.lower.index(others.len())];
            // Highest first: the first present source gets the winner, the rest the other value.
            let mut values = [top, lower, lower].into_iter();
            if case.flag {
                flags.push(format!("{}={}", declared.flag(), values.next().unwrap_or(lower)));
            }
            if case.env {
                env.insert(declared.env, values.next().unwrap_or(lower).to_owned());
            }
            if case.file {
                let value = values.next().unwrap_or(lower);
                file.push_str(&format!("{} = {}\n", declared.name, toml_value(value)));
            }
            expected.push((case.flag || case.env || case.file).then_some(top));
        }
        std::fs::write(&path, &file).map_err(|e| TestCaseError::fail(e.to_string()))?;
        flags.push(format!("--config={}", path.display()));
        let args = serve_args(&flags.iter().map(String::as_str).collect::<Vec<_>>());
        let lookup = |name: &str| env.get(name).cloned();
        let layers = Layers::read(&args, &lookup).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let values = Values::resolve(&layers).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for ((declared, case), expected) in SETTINGS.iter().zip(&cases).zip(expected) {
            prop_assert!(
                values.holds(declared.name, expected),
                "{}: expected {expected:?} from {case:?}, got {values:?}",
                declared.name
            );
        }
    }
}
