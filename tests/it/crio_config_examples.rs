//! The `crio.conf.d` drop-ins in `crio-config-examples/` are copied by
//! operators as they are, so each must be valid TOML whose every table and
//! key is one CRI-O documents in crio.conf(5): a typo would otherwise be
//! ignored or rejected by CRI-O on a node, far from here.

use clap::CommandFactory;
use std::path::{Path, PathBuf};

/// Keys crio.conf(5) documents, per table (facts from CRI-O's documentation,
/// kept as data). `runtimes` and `workloads` hold one sub-table per handler
/// or workload name, whose keys are in the `*` entries.
const DOCUMENTED: &[(&str, &[&str])] = &[
    (
        "crio",
        &[
            "root",
            "runroot",
            "storage_driver",
            "storage_option",
            "log_dir",
            "version_file",
            "version_file_persist",
            "imagestore",
            "internal_wipe",
            "internal_repair",
            "clean_shutdown_file",
        ],
    ),
    (
        "crio.api",
        &[
            "listen",
            "stream_address",
            "stream_port",
            "stream_enable_tls",
            "stream_idle_timeout",
            "stream_tls_cert",
            "stream_tls_key",
            "stream_tls_ca",
            "grpc_max_send_msg_size",
            "grpc_max_recv_msg_size",
        ],
    ),
    (
        "crio.runtime",
        &[
            "default_runtime",
            "default_ulimits",
            "no_pivot",
            "decryption_keys_path",
            "conmon",
            "conmon_cgroup",
            "conmon_env",
            "default_env",
            "selinux",
            "seccomp_profile",
            "seccomp_use_default_when_empty",
            "apparmor_profile",
            "blockio_config_file",
            "blockio_reload",
            "cdi_spec_dirs",
            "irqbalance_config_file",
            "irqbalance_config_restore_file",
            "rdt_config_file",
            "cgroup_manager",
            "default_capabilities",
            "add_inheritable_capabilities",
            "default_sysctls",
            "allowed_devices",
            "additional_devices",
            "hooks_dir",
            "default_mounts",
            "default_mounts_file",
            "pids_limit",
            "log_filter",
            "log_level",
            "log_size_max",
            "log_to_journald",
            "container_exits_dir",
            "container_attach_socket_dir",
            "bind_mount_prefix",
            "read_only",
            "uid_mappings",
            "minimum_mappable_uid",
            "gid_mappings",
            "minimum_mappable_gid",
            "ctr_stop_timeout",
            "drop_infra_ctr",
            "infra_ctr_cpuset",
            "shared_cpuset",
            "namespaces_dir",
            "pinns_path",
            "absent_mount_sources_to_reject",
            "device_ownership_from_security_context",
            "enable_criu_support",
            "enable_pod_events",
            "hostnetwork_disable_selinux",
            "disable_hostport_mapping",
        ],
    ),
    // Containers of one sub-table per runtime handler or workload name.
    ("crio.runtime.runtimes", &[]),
    ("crio.runtime.workloads", &[]),
    (
        "crio.runtime.runtimes.*",
        &[
            "runtime_path",
            "runtime_root",
            "runtime_type",
            "runtime_config_path",
            "privileged_without_host_devices",
            "allowed_annotations",
            "platform_runtime_paths",
        ],
    ),
    (
        "crio.runtime.workloads.*",
        &[
            "activation_annotation",
            "annotation_prefix",
            "allowed_annotations",
            "resources",
        ],
    ),
    (
        "crio.runtime.workloads.*.resources",
        &["cpushares", "cpuset"],
    ),
    (
        "crio.image",
        &[
            "default_transport",
            "global_auth_file",
            "pause_image",
            "pause_image_auth_file",
            "pause_command",
            "pinned_images",
            "signature_policy",
            "signature_policy_dir",
            "image_volumes",
            "insecure_registries",
            "registries",
            "big_files_temporary_dir",
            "separate_pull_cgroup",
        ],
    ),
    (
        "crio.network",
        &["cni_default_network", "network_dir", "plugin_dirs"],
    ),
    (
        "crio.metrics",
        &[
            "enable_metrics",
            "metrics_collectors",
            "metrics_port",
            "metrics_socket",
            "metrics_cert",
            "metrics_key",
        ],
    ),
    (
        "crio.tracing",
        &[
            "enable_tracing",
            "tracing_endpoint",
            "tracing_sampling_rate_per_million",
        ],
    ),
    ("crio.stats", &["stats_collection_period"]),
    (
        "crio.nri",
        &[
            "enable_nri",
            "nri_plugin_dir",
            "nri_plugin_config_dir",
            "nri_listen",
            "nri_disable_connections",
            "nri_plugin_registration_timeout",
            "nri_plugin_request_timeout",
        ],
    ),
];

/// Keys whose values must have a given TOML type.
/// Where both packages install the binary (see packaging/README.md): not
/// /usr/bin/pinns, which CRI-O's own packages ship.
const PINNS_PATH: &str = "/usr/libexec/pinns/pinns";

const BOOLEANS: &[&str] = &["drop_infra_ctr", "privileged_without_host_devices"];
/// Keys holding a CPU set in the kernel's list format.
const CPU_LISTS: &[&str] = &["infra_ctr_cpuset", "shared_cpuset"];

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crio-config-examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read crio-config-examples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "expected the four drop-ins, found {files:?}"
    );
    files
}

fn parse(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).expect("read example");
    text.parse::<toml::Table>()
        .unwrap_or_else(|e| panic!("{} is not valid TOML: {e}", path.display()))
}

/// The documented table a concrete table path falls under:
/// `crio.runtime.runtimes.kata` is `crio.runtime.runtimes.*`.
fn documented_keys(table: &str) -> Option<&'static [&'static str]> {
    let parts: Vec<&str> = table.split('.').collect();
    DOCUMENTED.iter().find_map(|(pattern, keys)| {
        let pat: Vec<&str> = pattern.split('.').collect();
        let matches =
            pat.len() == parts.len() && pat.iter().zip(&parts).all(|(p, t)| *p == "*" || p == t);
        matches.then_some(*keys)
    })
}

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

/// The drop-ins the issue asks for say what they should.
#[test]
fn drop_ins_set_what_they_are_for() {
    let get = |name: &str| {
        parse(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("crio-config-examples")
                .join(name),
        )
    };
    for file in examples() {
        let runtime = &parse(&file)["crio"]["runtime"];
        assert_eq!(
            runtime["pinns_path"].as_str(),
            Some(PINNS_PATH),
            "{}",
            file.display()
        );
        assert_eq!(
            runtime["namespaces_dir"].as_str(),
            Some("/var/run"),
            "{}",
            file.display()
        );
    }
    assert_eq!(
        get("10-pinns.conf")["crio"]["runtime"]["drop_infra_ctr"].as_bool(),
        Some(true)
    );
    let low = &get("20-low-latency.conf")["crio"]["runtime"];
    assert!(low.get("infra_ctr_cpuset").is_some() && low.get("shared_cpuset").is_some());
    let kata = &get("30-kata.conf")["crio"]["runtime"]["runtimes"]["kata"];
    assert_eq!(kata["runtime_type"].as_str(), Some("vm"));
}

/// Commands quoted in the comments (`#   pinns ...`) parse with the real CLI
/// once their subcommand exists, so the advice cannot name a wrong flag.
#[test]
fn pinns_commands_in_comments_parse() {
    let cli = pinns::cli::Cli::command();
    let subcommands: Vec<String> = cli
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut checked = 0;
    for file in examples() {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            let Some(cmd) = line
                .trim_start_matches('#')
                .trim_start()
                .strip_prefix("pinns ")
            else {
                continue;
            };
            if !line.starts_with("#   ") {
                continue;
            }
            let words: Vec<String> = std::iter::once("pinns")
                .chain(cmd.split_whitespace())
                .map(|w| if w.starts_with('<') { "placeholder" } else { w })
                .map(str::to_string)
                .collect();
            let second = words.get(1).map(String::as_str).unwrap_or("");
            if !second.starts_with('-') && !subcommands.iter().any(|s| s == second) {
                continue;
            }
            if let Err(e) = cli.clone().try_get_matches_from(&words) {
                panic!("{}: {line:?} does not parse:\n{e}", file.display());
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "no command in the comments was checked");
}

/// The path the drop-ins name is the one both packages install the binary at,
/// and the one the systemd units run.
#[test]
fn pinns_path_is_where_the_packages_install_it() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |rel: &str| std::fs::read_to_string(repo.join(rel)).unwrap();
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    let assets = manifest["package"]["metadata"]["deb"]["assets"]
        .as_array()
        .unwrap();
    let binary = assets
        .iter()
        .find(|a| a[0].as_str() == Some("target/release/pinns"))
        .expect("the .deb ships the binary");
    assert_eq!(
        binary[1].as_str().map(|d| format!("/{d}")).as_deref(),
        Some(PINNS_PATH)
    );
    assert!(
        !assets
            .iter()
            .any(|a| a[1].as_str() == Some("usr/bin/pinns")),
        "the .deb must not own /usr/bin/pinns"
    );
    let spec = read("packaging/rpm/pinns.spec");
    let rpm_path = PINNS_PATH.replace("/usr/libexec", "%{_libexecdir}");
    assert!(
        spec.lines().any(|l| l == rpm_path),
        "the spec's %files lacks {rpm_path}"
    );
    assert!(
        !spec.lines().any(|l| l == "%{_bindir}/pinns"),
        "the RPM must not own /usr/bin/pinns"
    );
    for unit in [
        "packaging/systemd/pinns-cleanup.service",
        "packaging/systemd/pinns-kubens.service",
        "packaging/systemd/pinns-cleanup.service.d/90-pinns-kubens.conf",
    ] {
        let text = read(unit);
        // `ExecStart=` alone resets the list in a drop-in.
        let commands = text
            .lines()
            .filter(|l| l.starts_with("Exec") && !l.ends_with('='));
        for line in commands {
            assert!(
                line.contains(PINNS_PATH) && !line.contains("/usr/bin/pinns"),
                "{unit}: {line}"
            );
        }
    }
}
