//! The check that every table and key of a drop-in is documented and has
//! the right type, and that the check itself catches typos.

use super::documented::documented_keys;
use super::{examples, parse};
use std::path::Path;

/// Keys whose values must have a given TOML type.
const BOOLEANS: &[&str] = &["drop_infra_ctr", "privileged_without_host_devices"];
/// Keys holding a CPU set in the kernel's list format.
const CPU_LISTS: &[&str] = &["infra_ctr_cpuset", "shared_cpuset"];

/// Every `(table path, key, value)` leaf; sub-tables that are documented
/// tables of their own are walked into.
fn check_table(file: &Path, path: &str, table: &toml::Table, problems: &mut Vec<String>) {
    let Some(keys) = documented_keys(path) else {
        problems.push(format!(
            "{}: [{path}] is not a documented CRI-O table",
            file.display()
        ));
        return;
    };
    for (key, value) in table {
        let child = format!("{path}.{key}");
        match value {
            toml::Value::Table(sub) if documented_keys(&child).is_some() => {
                check_table(file, &child, sub, problems)
            }
            _ if !keys.contains(&key.as_str()) => problems.push(format!(
                "{}: {key} is not a documented key of [{path}]",
                file.display()
            )),
            _ => check_value(file, key, value, problems),
        }
    }
}

fn check_value(file: &Path, key: &str, value: &toml::Value, problems: &mut Vec<String>) {
    if BOOLEANS.contains(&key) && !value.is_bool() {
        problems.push(format!("{}: {key} must be a boolean", file.display()));
    }
    if CPU_LISTS.contains(&key) {
        match value.as_str() {
            Some(list) if is_cpu_list(list) => {}
            _ => problems.push(format!(
                "{}: {key} is not a CPU list like \"0-3,8\"",
                file.display()
            )),
        }
    }
}

/// The kernel's CPU list format: ranges or single CPUs joined by commas.
fn is_cpu_list(list: &str) -> bool {
    !list.is_empty()
        && list.split(',').all(|part| match part.split_once('-') {
            Some((a, b)) => {
                matches!((a.parse::<u32>(), b.parse::<u32>()), (Ok(a), Ok(b)) if a <= b)
            }
            None => part.parse::<u32>().is_ok(),
        })
}

fn problems_of(file: &Path, table: &toml::Table) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, value) in table {
        match value {
            toml::Value::Table(sub) if key == "crio" => {
                check_table(file, "crio", sub, &mut problems)
            }
            _ => problems.push(format!(
                "{}: top-level {key} is outside the crio table",
                file.display()
            )),
        }
    }
    problems
}

#[test]
fn every_key_is_a_documented_crio_option() {
    let mut problems = Vec::new();
    for file in examples() {
        problems.extend(problems_of(&file, &parse(&file)));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_catches_typos_wrong_tables_and_types() {
    let file = Path::new("typo.conf");
    let bad = r#"
        [crio.runtime]
        drop_infra_container = true
        namespaces_dir = "/var/run"
        infra_ctr_cpuset = "0-1,x"
        [crio.runtime.runtimes.kata]
        runtime_typ = "vm"
        [crio.runtim]
        pinns_path = "/usr/bin/pinns"
        [crio.runtime.kata]
        runtime_path = "/x"
    "#;
    let problems = problems_of(file, &bad.parse().unwrap()).join("\n");
    for needle in [
        "drop_infra_container is not a documented key of [crio.runtime]",
        "runtime_typ is not a documented key of [crio.runtime.runtimes.kata]",
        "runtim is not a documented key of [crio]",
        "kata is not a documented key of [crio.runtime]",
        "infra_ctr_cpuset is not a CPU list",
    ] {
        assert!(
            problems.contains(needle),
            "missed {needle:?} in:\n{problems}"
        );
    }
    let wrong_type = "[crio.runtime]\ndrop_infra_ctr = \"true\"\n";
    assert!(problems_of(file, &wrong_type.parse().unwrap())
        .join("\n")
        .contains("must be a boolean"));
}

#[test]
fn cpu_list_format() {
    for ok in ["0", "0-1", "0-3,8,10-11", "2"] {
        assert!(is_cpu_list(ok), "{ok}");
    }
    for bad in ["", "0-", "3-1", "a", "0,,1", "0 - 1"] {
        assert!(!is_cpu_list(bad), "{bad}");
    }
}
