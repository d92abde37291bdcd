//! The cleanup DaemonSet only works with host PID, privilege, the host's
//! namespaces dir and cgroup fs at the paths its command names, and an image
//! that has the binary where the command runs it. Parse it and check those.

use std::path::Path;
use yaml_rust2::{Yaml, YamlLoader};

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn daemonset() -> Yaml {
    let docs =
        YamlLoader::load_from_str(&read("packaging/kubernetes/pinns-cleanup-daemonset.yaml"))
            .expect("valid YAML");
    assert_eq!(docs.len(), 1, "one document");
    docs.into_iter().next().unwrap()
}

fn strings(list: &Yaml) -> Vec<String> {
    list.as_vec()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().expect("a string").to_string())
        .collect()
}

/// The value following `flag` in `command`.
fn flag_value<'a>(command: &'a [String], flag: &str) -> &'a str {
    let at = command
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("no {flag} in {command:?}"));
    command
        .get(at + 1)
        .unwrap_or_else(|| panic!("{flag} without value"))
}

#[test]
fn daemonset_runs_the_sweep_with_what_it_needs() {
    let ds = daemonset();
    assert_eq!(ds["kind"].as_str(), Some("DaemonSet"));
    assert_eq!(ds["apiVersion"].as_str(), Some("apps/v1"));
    let selector = &ds["spec"]["selector"]["matchLabels"];
    let pod = &ds["spec"]["template"];
    assert_eq!(
        selector, &pod["metadata"]["labels"],
        "selector must match the pod labels"
    );

    let spec = &pod["spec"];
    assert_eq!(
        spec["hostPID"].as_bool(),
        Some(true),
        "needs the host's /proc"
    );
    let tolerations = spec["tolerations"].as_vec().expect("tolerations");
    assert!(
        tolerations
            .iter()
            .any(|t| t["operator"].as_str() == Some("Exists") && t["key"].is_badvalue()),
        "must run on every node, tainted ones included"
    );

    let containers = spec["containers"].as_vec().expect("containers");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(c["securityContext"]["privileged"].as_bool(), Some(true));
    assert_eq!(c["securityContext"]["runAsUser"].as_i64(), Some(0));

    let command = strings(&c["command"]);
    assert_eq!(&command[..2], ["/pinns", "cleanup"], "{command:?}");
    assert!(command.contains(&"--orphans".to_string()), "{command:?}");
    assert_eq!(flag_value(&command, "--interval"), "10m");
    let dir = flag_value(&command, "-d");
    let cgroups = flag_value(&command, "--cgroups");

    // Each path the command works on is the host's, mounted at that path.
    let volumes = spec["volumes"].as_vec().expect("volumes");
    let mounts = c["volumeMounts"].as_vec().expect("volumeMounts");
    for path in [dir, cgroups] {
        let mount = mounts
            .iter()
            .find(|m| m["mountPath"].as_str() == Some(path))
            .unwrap_or_else(|| panic!("{path} is not mounted"));
        let volume = volumes
            .iter()
            .find(|v| v["name"] == mount["name"])
            .unwrap_or_else(|| panic!("no volume for {path}"));
        assert_eq!(
            volume["hostPath"]["path"].as_str(),
            Some(path),
            "{path} must be the host's"
        );
        assert_ne!(
            mount["readOnly"].as_bool(),
            Some(true),
            "{path} must be writable"
        );
    }
    let dir_mount = mounts
        .iter()
        .find(|m| m["mountPath"].as_str() == Some(dir))
        .unwrap();
    assert_eq!(
        dir_mount["mountPropagation"].as_str(),
        Some("Bidirectional"),
        "unmounts must reach the host's mount table"
    );
}

#[test]
fn image_is_the_static_binary_alone_where_the_command_runs_it() {
    let containerfile = read("packaging/container/Containerfile");
    let instructions: Vec<&str> = containerfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(instructions[0], "FROM scratch");
    assert!(
        instructions.contains(&"COPY pinns /pinns"),
        "{instructions:?}"
    );
    assert!(
        instructions.iter().all(|l| !l.starts_with("RUN")),
        "a scratch image has no shell to RUN with"
    );
    let command = strings(&daemonset()["spec"]["template"]["spec"]["containers"][0]["command"]);
    assert_eq!(command[0], "/pinns");
    let image = daemonset()["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .expect("image")
        .to_string();
    assert!(
        image.ends_with(&format!(":{}", env!("CARGO_PKG_VERSION"))),
        "image tag {image} must be the crate version"
    );
}

/// Once `cleanup` exists (it is merged separately), the DaemonSet's command
/// must parse with the real CLI.
#[test]
fn command_parses_once_cleanup_exists() {
    use clap::CommandFactory;
    let cli = pinns::cli::Cli::command();
    if cli.find_subcommand("cleanup").is_none() {
        eprintln!("no cleanup subcommand yet: nothing to parse against");
        return;
    }
    let mut argv = strings(&daemonset()["spec"]["template"]["spec"]["containers"][0]["command"]);
    argv[0] = "pinns".into();
    if let Err(e) = cli.try_get_matches_from(&argv) {
        panic!("DaemonSet command {argv:?} does not parse:\n{e}");
    }
}
