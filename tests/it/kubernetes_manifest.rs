//! The cleanup DaemonSet only works with host PID, privilege, the host's pin
//! directories mounted so that unmounts reach the host, the runtime's socket
//! and crictl to ask it, the cgroup hierarchies, and an image that has the
//! binaries where the command runs them; on OpenShift it also needs its SCC.
//! Parse the manifests and check those, validate them against real
//! Kubernetes schemas (kubernetes-validate, from PyPI), and build the image.

use std::path::{Path, PathBuf};
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

const DAEMONSET: &str = "packaging/kubernetes/pinns-cleanup-daemonset.yaml";
const SCC: &str = "packaging/kubernetes/pinns-cleanup-openshift-scc.yaml";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    let path = repo().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn docs(rel: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(rel)).expect("valid YAML")
}

fn doc_of_kind(docs: &[Yaml], kind: &str) -> Yaml {
    let found: Vec<&Yaml> = docs
        .iter()
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect();
    assert_eq!(found.len(), 1, "one {kind}");
    found[0].clone()
}

fn daemonset() -> Yaml {
    doc_of_kind(&docs(DAEMONSET), "DaemonSet")
}

fn strings(list: &Yaml) -> Vec<String> {
    list.as_vec()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().expect("a string").to_string())
        .collect()
}

fn command() -> Vec<String> {
    strings(&daemonset()["spec"]["template"]["spec"]["containers"][0]["command"])
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

/// (mountPath, host path, readOnly, propagation) of every volume mount.
fn mounts(ds: &Yaml) -> Vec<(String, String, bool, String)> {
    let spec = &ds["spec"]["template"]["spec"];
    let volumes = spec["volumes"].as_vec().expect("volumes");
    spec["containers"][0]["volumeMounts"]
        .as_vec()
        .expect("volumeMounts")
        .iter()
        .map(|m| {
            let v = volumes
                .iter()
                .find(|v| v["name"] == m["name"])
                .unwrap_or_else(|| panic!("no volume for {m:?}"));
            (
                m["mountPath"].as_str().unwrap().to_string(),
                v["hostPath"]["path"]
                    .as_str()
                    .expect("only hostPath volumes")
                    .to_string(),
                m["readOnly"].as_bool().unwrap_or(false),
                m["mountPropagation"].as_str().unwrap_or("None").to_string(),
            )
        })
        .collect()
}

#[test]
fn daemonset_runs_the_sweep_with_what_it_needs() {
    let all = docs(DAEMONSET);
    assert_eq!(all.len(), 2, "a ServiceAccount and the DaemonSet");
    let ds = daemonset();
    let sa = doc_of_kind(&all, "ServiceAccount");
    assert_eq!(ds["apiVersion"].as_str(), Some("apps/v1"));
    let pod = &ds["spec"]["template"];
    assert_eq!(
        ds["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"],
        "selector must match the pod labels"
    );
    let spec = &pod["spec"];
    assert_eq!(
        spec["hostPID"].as_bool(),
        Some(true),
        "needs the host's /proc"
    );
    assert_eq!(
        spec["nodeSelector"]["kubernetes.io/os"].as_str(),
        Some("linux")
    );
    // No token: nothing of the pod's own may sit in a mount that propagates
    // to the host, and the sweep never talks to the API server.
    assert_eq!(spec["automountServiceAccountToken"].as_bool(), Some(false));
    assert_eq!(sa["automountServiceAccountToken"].as_bool(), Some(false));
    assert_eq!(spec["serviceAccountName"], sa["metadata"]["name"]);
    assert_eq!(sa["metadata"]["namespace"], ds["metadata"]["namespace"]);
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

    let command = command();
    assert_eq!(&command[..2], ["/pinns", "cleanup"], "{command:?}");
    assert!(command.contains(&"--orphans".to_string()), "{command:?}");
    assert!(
        !command.contains(&"--no-runtime".to_string()),
        "the DaemonSet must ask the runtime"
    );
    assert_eq!(flag_value(&command, "--interval"), "10m");
    assert_eq!(flag_value(&command, "--crictl"), "/crictl");
    let dir = flag_value(&command, "-d");
    let cgroups = flag_value(&command, "--cgroups");
    let socket = flag_value(&command, "--runtime-endpoint")
        .strip_prefix("unix://")
        .expect("a unix socket endpoint");

    let mounts = mounts(&ds);
    let at = |path: &str| {
        mounts
            .iter()
            .find(|m| m.0 == path)
            .unwrap_or_else(|| panic!("{path} is not mounted: {mounts:?}"))
    };
    // DIR itself: the host's (its lock is the one `pin` takes), read-only,
    // and nothing done here propagates to the host.
    let d = at(dir);
    assert_eq!(d.1, dir, "DIR must be the host's");
    assert!(d.2, "DIR is only read");
    assert_eq!(d.3, "HostToContainer");
    // The pin directories CRI-O uses: the host's, Bidirectional, so that an
    // unmount here is one on the host.
    for kind in ["net", "ipc", "uts", "user"] {
        let path = format!("{dir}/{kind}ns");
        let m = at(&path);
        assert_eq!(m.1, path, "{path} must be the host's");
        assert!(!m.2, "{path} must be writable");
        assert_eq!(m.3, "Bidirectional", "{path}: unmounts must reach the host");
    }
    // Nothing else propagates back, and never a parent of what the kubelet
    // mounts into a pod (the token under /var/run/secrets).
    for m in mounts.iter().filter(|m| m.3 == "Bidirectional") {
        assert!(
            m.0.starts_with(&format!("{dir}/")) && m.0.ends_with("ns"),
            "a Bidirectional mount that is not a pin directory: {m:?}"
        );
        assert!(!"/var/run/secrets/kubernetes.io".starts_with(&m.0));
    }
    // The runtime's socket is reachable under a host mount.
    assert!(
        mounts.iter().any(|m| Path::new(socket).starts_with(&m.0)
            && Path::new(&m.1).join(Path::new(socket).strip_prefix(&m.0).unwrap())
                == Path::new(socket)),
        "{socket} is not the host's socket"
    );
    let cg = at(cgroups);
    assert_eq!(cg.1, cgroups, "the cgroup hierarchies must be the host's");
    assert!(!cg.2, "cgroups are removed");
}

#[test]
fn openshift_scc_grants_what_the_daemonset_needs_to_its_account_only() {
    let all = docs(SCC);
    assert_eq!(all.len(), 1);
    let scc = &all[0];
    assert_eq!(scc["apiVersion"].as_str(), Some("security.openshift.io/v1"));
    assert_eq!(scc["kind"].as_str(), Some("SecurityContextConstraints"));
    // What the SCC schema requires (security.openshift.io/v1).
    for key in [
        "allowHostDirVolumePlugin",
        "allowHostIPC",
        "allowHostNetwork",
        "allowHostPID",
        "allowHostPorts",
        "allowPrivilegedContainer",
        "readOnlyRootFilesystem",
    ] {
        assert!(scc[key].as_bool().is_some(), "{key} must be a boolean");
    }
    for key in [
        "allowedCapabilities",
        "defaultAddCapabilities",
        "requiredDropCapabilities",
        "volumes",
    ] {
        assert!(scc[key].as_vec().is_some(), "{key} must be a list");
    }
    assert!(scc["priority"].is_null() || scc["priority"].as_i64().is_some());
    for key in [
        "runAsUser",
        "seLinuxContext",
        "fsGroup",
        "supplementalGroups",
    ] {
        assert!(scc[key]["type"].as_str().is_some(), "{key}.type");
    }
    assert_eq!(scc["allowPrivilegedContainer"].as_bool(), Some(true));
    assert_eq!(scc["allowHostPID"].as_bool(), Some(true));
    assert_eq!(scc["allowHostDirVolumePlugin"].as_bool(), Some(true));
    assert_eq!(scc["runAsUser"]["type"].as_str(), Some("RunAsAny"));
    assert!(strings(&scc["volumes"]).contains(&"hostPath".to_string()));
    // Nothing the DaemonSet does not use.
    for key in ["allowHostIPC", "allowHostNetwork", "allowHostPorts"] {
        assert_eq!(scc[key].as_bool(), Some(false), "{key}");
    }
    let ds = daemonset();
    let account = format!(
        "system:serviceaccount:{}:{}",
        ds["metadata"]["namespace"].as_str().unwrap(),
        ds["spec"]["template"]["spec"]["serviceAccountName"]
            .as_str()
            .unwrap()
    );
    assert_eq!(strings(&scc["users"]), vec![account]);
    assert!(scc["groups"].is_badvalue(), "granted to no group");
}

/// `kubernetes-validate` (PyPI; ships the Kubernetes JSON schemas, works
/// offline): `PINNS_KUBERNETES_VALIDATE` or on PATH. Absent: one line and
/// skip, unless `PINNS_REQUIRE_KUBERNETES_VALIDATE=1` (CI).
fn validator() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PINNS_KUBERNETES_VALIDATE") {
        return Some(PathBuf::from(p));
    }
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("kubernetes-validate"))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("PINNS_REQUIRE_KUBERNETES_VALIDATE").as_deref() == Ok("1") {
            panic!("kubernetes-validate not found (pip install kubernetes-validate)");
        }
        println!("kubernetes-validate not found (pip install kubernetes-validate): skipping");
    }
    found
}

fn validate(tool: &Path, version: &str, file: &Path) -> (bool, String) {
    let out = Command::new(tool)
        .args(["--strict", "--kubernetes-version", version])
        .arg(file)
        .output()
        .expect("run kubernetes-validate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && !text.contains("ERROR"), text)
}

#[test]
fn daemonset_validates_against_the_kubernetes_schemas() {
    let Some(tool) = validator() else {
        return;
    };
    let file = repo().join(DAEMONSET);
    // The oldest and newest schemas the validator ships, strict: an unknown
    // field is an error.
    for version in ["1.25.0", "1.37.0"] {
        let (ok, text) = validate(&tool, version, &file);
        assert!(ok, "{version}: {text}");
        for kind in ["serviceaccount", "daemonset"] {
            assert!(
                text.contains(&format!("passed for resource {kind}/pinns-cleanup")),
                "{version}: {text}"
            );
        }
    }
    // The validator does fail: a misspelt field, a value of the wrong type.
    let tmp = tempfile::tempdir().unwrap();
    for (from, to) in [
        ("hostPID: true", "hostPid: true"),
        (
            "terminationGracePeriodSeconds: 5",
            "terminationGracePeriodSeconds: soon",
        ),
    ] {
        let bad = tmp.path().join("bad.yaml");
        std::fs::write(&bad, read(DAEMONSET).replacen(from, to, 1)).unwrap();
        let (ok, text) = validate(&tool, "1.37.0", &bad);
        assert!(!ok, "{to:?} passed: {text}");
    }
}

#[test]
fn image_holds_the_binaries_where_the_command_runs_them() {
    let containerfile = read("packaging/container/Containerfile");
    let instructions: Vec<&str> = containerfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(instructions[0], "FROM scratch");
    for copy in ["COPY pinns /pinns", "COPY crictl /crictl"] {
        assert!(instructions.contains(&copy), "{instructions:?}");
    }
    assert!(
        instructions.iter().all(|l| !l.starts_with("RUN")),
        "a scratch image has no shell to RUN with"
    );
    let command = command();
    assert_eq!(command[0], "/pinns");
    let image = daemonset()["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .expect("image")
        .to_string();
    assert_eq!(
        image,
        format!("localhost/pinns:{}", env!("CARGO_PKG_VERSION"))
    );

    // The registry-less build: an OCI archive whose one layer holds both
    // binaries at the paths the command uses, named as the DaemonSet names it.
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("pinns.oci.tar");
    crate::common::stdout_ok(
        Command::new(repo().join("packaging/container/build-oci-archive.sh"))
            .arg(env!("CARGO_BIN_EXE_pinns"))
            .arg("/bin/true") // stands in for crictl: only its place is checked here
            .arg(&archive),
    );
    let unpacked = tmp.path().join("layout");
    std::fs::create_dir(&unpacked).unwrap();
    assert!(Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .unwrap()
        .success());
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(unpacked.join("index.json")).unwrap())
            .unwrap();
    let entry = &index["manifests"][0];
    assert_eq!(
        entry["annotations"]["io.containerd.image.name"],
        image.as_str()
    );
    assert_eq!(
        entry["annotations"]["org.opencontainers.image.ref.name"],
        env!("CARGO_PKG_VERSION")
    );
    let blob = |digest: &serde_json::Value| {
        let hex = digest.as_str().unwrap().strip_prefix("sha256:").unwrap();
        unpacked.join("blobs/sha256").join(hex)
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(&entry["digest"])).unwrap()).unwrap();
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(&manifest["config"]["digest"])).unwrap())
            .unwrap();
    assert_eq!(config["config"]["Entrypoint"][0], command[0].as_str());
    let list = Command::new("tar")
        .arg("-tvf")
        .arg(blob(&manifest["layers"][0]["digest"]))
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&list.stdout);
    for path in [
        command[0].trim_start_matches('/'),
        flag_value(&command, "--crictl").trim_start_matches('/'),
    ] {
        assert!(
            listing
                .lines()
                .any(|l| l.starts_with("-rwxr-xr-x") && l.ends_with(&format!(" ./{path}"))),
            "{path} not an executable in the layer: {listing}"
        );
    }
}

/// The DaemonSet's command parses with the real CLI.
#[test]
fn command_parses() {
    use clap::CommandFactory;
    let mut argv = command();
    argv[0] = "pinns".into();
    if let Err(e) = pinns::cli::Cli::command().try_get_matches_from(&argv) {
        panic!("DaemonSet command {argv:?} does not parse:\n{e}");
    }
}

/// The systemd units' sweeps parse with the real CLI and ask the runtime.
#[test]
fn shipped_units_ask_the_runtime() {
    use clap::CommandFactory;
    for unit in [
        "packaging/systemd/pinns-cleanup.service",
        "packaging/systemd/pinns-cleanup.service.d/90-pinns-kubens.conf",
    ] {
        let text = read(unit);
        let exec = text
            .lines()
            .filter_map(|l| l.strip_prefix("ExecStart="))
            .rfind(|l| !l.is_empty())
            .unwrap_or_else(|| panic!("{unit}: no ExecStart"));
        let words: Vec<&str> = exec.split_whitespace().collect();
        let at = words
            .iter()
            .position(|w| *w == "/usr/libexec/pinns/pinns")
            .unwrap_or_else(|| panic!("{unit}: {exec}"));
        let mut argv: Vec<String> = words[at..].iter().map(|w| w.to_string()).collect();
        argv[0] = "pinns".into();
        assert!(argv.contains(&"--orphans".into()), "{unit}: {exec}");
        assert!(!argv.contains(&"--no-runtime".into()), "{unit}: {exec}");
        assert_eq!(
            flag_value(&argv, "--runtime-endpoint"),
            "unix:///var/run/crio/crio.sock",
            "{unit}"
        );
        if let Err(e) = pinns::cli::Cli::command().try_get_matches_from(&argv) {
            panic!("{unit}: {argv:?} does not parse:\n{e}");
        }
    }
}
