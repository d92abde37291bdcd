//! The orphan sweep against a real CRI-O (the private instance of
//! tests/it/common/crio): no process does not mean no pod. Without a pause process a
//! live sandbox has nothing in its namespaces (a pod between two container
//! runs, one whose only container exited); only the runtime knows it exists.
//! Skips (one line) when no CRI-O is installed; CI sets `PINNS_REQUIRE_CRIO=1`.

use crate::common;
use crate::common::crio;

use crio::{pinns_under_test, Crio, Ctr, Options, Pod};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `pinns cleanup|list ARGS` asking this CRI-O (its crictl, its socket).
fn pinns_asking(crio: &Crio, args: &[&str]) -> (i32, String, String) {
    let endpoint = format!("unix://{}", crio.socket().display());
    let out = Command::new(common::BIN)
        .args(args)
        .arg("--crictl")
        .arg(&crio.tools().crictl)
        .args(["--runtime-endpoint", &endpoint])
        .env("CRI_CONFIG_FILE", crio.root().join("crictl.yaml"))
        .output()
        .expect("run pinns");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn item<'a>(report: &'a Value, name: &str) -> &'a Value {
    common::entry(report, "items", "name", name)
}

fn is_nsfs(path: &Path) -> bool {
    nix::sys::statfs::statfs(path).is_ok_and(|s| s.filesystem_type().0 == 0x6e73_6673)
}

fn pin_name(crio: &Crio, pod_id: &str) -> (String, Vec<PathBuf>) {
    let net = crio.pod_ns_path(pod_id, "network").expect("net path");
    let name = net.file_name().unwrap().to_string_lossy().into_owned();
    let paths = ["net", "ipc", "uts"]
        .iter()
        .map(|k| crio.ns_dir().join(format!("{k}ns")).join(&name))
        .collect();
    (name, paths)
}

/// `pinns cleanup --orphans --older-than 0s --json` asking the harness's
/// CRI-O; it must succeed.
fn sweep_json(crio: &Crio, d: &str) -> Value {
    let (code, out, err) = pinns_asking(
        crio,
        &[
            "cleanup",
            "-d",
            d,
            "--orphans",
            "--older-than",
            "0s",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn a_sandbox_with_no_process_known_to_crio_survives_while_an_unknown_pin_goes() {
    let Some(crio) = Crio::start(pinns_under_test(), Options::default()) else {
        return;
    };
    let dir = crio.ns_dir();
    let d = dir.to_str().unwrap();

    // A pod with no container at all, and one whose only container exited:
    // no process lives in either's namespaces.
    let idle = Pod::new("sweep-idle");
    let idle_id = crio.runp(&idle);
    let exited = Pod::new("sweep-exited");
    let exited_id = crio.runp(&exited);
    let ctr = crio.start_ctr(
        &exited_id,
        &exited,
        &Ctr::with_command("sweep-exited-c", &["/bin/sh", "-c", "exit 3"]),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !crio
        .crictl_ok(&["inspect", "-o", "json", &ctr])
        .contains("CONTAINER_EXITED")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "container did not exit"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // What a crashed or killed runtime leaves: a pod's pins it no longer knows.
    let unknown = "e0000000-0000-4000-8000-000000000001";
    let (code, _, err) = common::run(&["-d", d, "-f", unknown, "--net", "--ipc", "--uts"]);
    assert_eq!(code, 0, "{err}");

    let (idle_name, idle_paths) = pin_name(&crio, &idle_id);
    let (exited_name, exited_paths) = pin_name(&crio, &exited_id);
    let listing: Value = {
        let (code, out, err) =
            pinns_asking(&crio, &["list", "-d", d, "--older-than", "0s", "--json"]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap()
    };
    for row in listing["pins"].as_array().unwrap() {
        assert_eq!(row["process_count"], 0, "{row}");
        let (state, runtime) = if row["name"] == unknown {
            ("orphan", "unknown")
        } else {
            ("idle", "known")
        };
        assert_eq!(row["state"], state, "{row}");
        assert_eq!(row["runtime"], runtime, "{row}");
    }
    assert!(
        listing["warnings"].as_array().unwrap().is_empty(),
        "{listing}"
    );

    let r = sweep_json(&crio, d);
    assert_eq!(item(&r, unknown)["outcome"], "removed", "{r}");
    for name in [&idle_name, &exited_name] {
        let it = item(&r, name);
        assert_eq!(it["outcome"], "kept", "{r}");
        assert_eq!(
            it["reason"], "idle: a sandbox the runtime knows uses it",
            "{r}"
        );
    }
    for p in idle_paths.iter().chain(&exited_paths) {
        assert!(is_nsfs(p), "{} lost", p.display());
    }
    assert!(!dir.join("netns").join(unknown).exists());

    // The kept pod is whole: a container still starts in it and lives in
    // the pinned namespaces.
    let c = crio.start_ctr(&idle_id, &idle, &Ctr::new("sweep-idle-c"));
    let inside = crio.exec(&c, &["readlink", "/proc/self/ns/net"]);
    let pinned = common::ns_inode(&idle_paths[0]);
    assert_eq!(inside, format!("net:[{pinned}]"));

    // When the runtime cannot be asked, nothing is removed.
    let again = "e0000000-0000-4000-8000-000000000002";
    let (code, _, err) = common::run(&["-d", d, "-f", again, "--net", "--ipc", "--uts"]);
    assert_eq!(code, 0, "{err}");
    let out = Command::new(common::BIN)
        .args(["cleanup", "-d", d, "--orphans", "--older-than", "0s"])
        .arg("--crictl")
        .arg(&crio.tools().crictl)
        .args(["--runtime-endpoint", "unix:///nonexistent/crio.sock"])
        .env("CRI_CONFIG_FILE", crio.root().join("crictl.yaml"))
        .output()
        .unwrap();
    common::assert_one_line_error(
        out.status.code().unwrap(),
        &String::from_utf8_lossy(&out.stderr),
        "cannot ask the container runtime which pods exist",
    );
    assert!(is_nsfs(&dir.join("netns").join(again)));

    // Once CRI-O removes the pods, their pins are gone with them (CRI-O's
    // own teardown), and the sweep has nothing of theirs left to judge.
    crio.remove_pod(&idle_id);
    crio.remove_pod(&exited_id);
    let r = sweep_json(&crio, d);
    assert_eq!(item(&r, again)["outcome"], "removed", "{r}");
    assert_eq!(r["summary"]["found"], 1, "{r}");
}

/// Makes `path` a shared mount of itself (what systemd makes of / on a real
/// node, and what Bidirectional and HostToContainer mounts need at the source).
fn make_shared(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    common::stdout_ok(Command::new("mount").arg("--bind").arg(path).arg(path));
    common::stdout_ok(Command::new("mount").arg("--make-shared").arg(path));
}

/// The DaemonSet's image, built by packaging/container/build-oci-archive.sh
/// and copied into this CRI-O's store. The pinns in it is
/// `PINNS_TEST_STATIC_PINNS` when set (the shipped static build), else this
/// test build with the libraries it links (a scratch image has none).
fn load_image(crio: &Crio) -> String {
    let root = crio.root();
    let archive = root.join("pinns.oci.tar");
    let mut build = Command::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/container/build-oci-archive.sh"),
    );
    let pinns = match std::env::var_os("PINNS_TEST_STATIC_PINNS") {
        Some(p) => PathBuf::from(p),
        None => {
            let libs = root.join("image-libs");
            let ldd = common::stdout_ok(Command::new("ldd").arg(common::BIN));
            for lib in ldd.split_whitespace().filter(|w| w.starts_with('/')) {
                let dest = libs.join(lib.trim_start_matches('/'));
                std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
                std::fs::copy(lib, &dest).unwrap();
            }
            build.env("EXTRA_ROOTFS", &libs);
            PathBuf::from(common::BIN)
        }
    };
    common::stdout_ok(build.arg(pinns).arg(&crio.tools().crictl).arg(&archive));
    let image = format!("localhost/pinns:{}", env!("CARGO_PKG_VERSION"));
    crio.copy_image(&format!("oci-archive:{}", archive.display()), &image);
    image
}

/// The sweep as the DaemonSet runs it: its image, in a container of a
/// host-PID pod of a real CRI-O (with the capabilities the sweep uses: see
/// below why not `privileged` here), with the DaemonSet's mounts (DIR
/// read-only HostToContainer, the four pin directories Bidirectional, the CRI
/// socket). Its unmounts take effect on the host: an unknown pod's pins are
/// gone from the host's mount table; the known idle pod's stay.
#[test]
fn the_daemonset_image_sweeps_the_hosts_pins_from_a_pod() {
    let Some(crio) = Crio::start(pinns_under_test(), Options::default()) else {
        return;
    };
    let dir = crio.ns_dir();
    make_shared(&dir);
    for kind in ["net", "ipc", "uts", "user"] {
        make_shared(&dir.join(format!("{kind}ns")));
    }
    let image = load_image(&crio);

    let known = Pod::new("ds-known");
    let known_id = crio.runp(&known);
    let (_, known_paths) = pin_name(&crio, &known_id);
    let unknown = "e0000000-0000-4000-8000-000000000003";
    let d = dir.to_str().unwrap();
    let (code, _, err) = common::run(&["-d", d, "-f", unknown, "--net", "--ipc", "--uts"]);
    assert_eq!(code, 0, "{err}");
    let unknown_paths: Vec<PathBuf> = ["net", "ipc", "uts"]
        .iter()
        .map(|k| dir.join(format!("{k}ns")).join(unknown))
        .collect();

    let mut sweeper = Pod::new("ds-sweeper");
    sweeper.pid = crio::pod::Mode::Node;
    let pod_cfg = sweeper.json(&crio.cgroup_parent());
    let pod_file = crio.write_json("pod-ds-sweeper.json", &pod_cfg);
    let pod_id = crio.crictl_ok(&["runp", pod_file.to_str().unwrap()]);
    // CRI mount propagation: 1 HostToContainer, 2 Bidirectional.
    let mut mounts = vec![serde_json::json!({
        "container_path": "/var/run", "host_path": d, "readonly": true, "propagation": 1})];
    for kind in ["net", "ipc", "uts", "user"] {
        let host = dir.join(format!("{kind}ns"));
        mounts.push(serde_json::json!({
            "container_path": format!("/var/run/{kind}ns"),
            "host_path": host, "propagation": 2}));
    }
    mounts.push(serde_json::json!({
        "container_path": "/crio.sock", "host_path": crio.socket()}));
    let ctr_cfg = serde_json::json!({
        "metadata": {"name": "ds-sweeper-c"},
        "image": {"image": image},
        "command": ["/pinns", "cleanup", "-d", "/var/run", "--orphans", "--older-than", "0s",
                    "--crictl", "/crictl", "--runtime-endpoint", "unix:///crio.sock", "--json"],
        "mounts": mounts,
        // Not `privileged` as in the DaemonSet: that asks for every
        // capability, and this machine's bounding set lacks CAP_SYS_RESOURCE.
        // These are the ones the sweep uses: unmount and private mount
        // namespaces, other processes' /proc/PID/task/TID/ns, files of any
        // owner. Seccomp unconfined, as for a privileged container.
        "linux": {"security_context": {
            "capabilities": {"add_capabilities":
                ["SYS_ADMIN", "SYS_PTRACE", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER"]},
            "seccomp": {"profile_type": 1},
            "namespace_options": pod_cfg["linux"]["security_context"]["namespace_options"]}},
    });
    let ctr_file = crio.write_json("ctr-ds-sweeper.json", &ctr_cfg);
    let ctr = crio.crictl_ok(&[
        "create",
        "--no-pull",
        &pod_id,
        ctr_file.to_str().unwrap(),
        pod_file.to_str().unwrap(),
    ]);
    crio.crictl_ok(&["start", &ctr]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let state = loop {
        let v: Value =
            serde_json::from_str(&crio.crictl_ok(&["inspect", "-o", "json", &ctr])).unwrap();
        if v["status"]["state"] == "CONTAINER_EXITED" {
            break v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "sweeper did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let logs = crio.crictl(&["logs", &ctr]);
    let out = String::from_utf8_lossy(&logs.stdout).into_owned();
    let err = String::from_utf8_lossy(&logs.stderr).into_owned();
    assert_eq!(state["status"]["exitCode"], 0, "{out}{err}");
    let r: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {out}{err}"));
    assert_eq!(item(&r, unknown)["outcome"], "removed", "{r}");
    let (known_name, _) = pin_name(&crio, &known_id);
    assert_eq!(item(&r, &known_name)["outcome"], "kept", "{r}");
    // Seen from the host: the unknown pins' mounts and files are gone, the
    // known pod's are intact, and nothing of the pod was mounted here.
    let host_mounts: Vec<PathBuf> = common::mounts_under(&dir)
        .into_iter()
        .filter(|(_, t)| t == "nsfs")
        .map(|(p, _)| p)
        .collect();
    for p in &unknown_paths {
        assert!(
            !host_mounts.contains(p),
            "{} still mounted on the host",
            p.display()
        );
        assert!(!p.exists(), "{} left", p.display());
    }
    for p in &known_paths {
        assert!(host_mounts.contains(p), "{} lost", p.display());
    }
    // Only the shared binds this test made: DIR and the four pin directories,
    // each once.
    let mut others: Vec<PathBuf> = common::mounts_under(&dir)
        .into_iter()
        .filter(|(_, t)| t != "nsfs")
        .map(|(p, _)| p)
        .collect();
    others.sort();
    let mut ours = vec![dir.clone()];
    ours.extend(["ipc", "net", "user", "uts"].map(|k| dir.join(format!("{k}ns"))));
    assert_eq!(others, ours, "mounts of the pod reached the host");
    crio.remove_pod(&pod_id);
}
