//! The orphan sweep against a real CRI-O (the private instance of
//! tests/crio): no process does not mean no pod. Without a pause process a
//! live sandbox has nothing in its namespaces (a pod between two container
//! runs, one whose only container exited); only the runtime knows it exists.
//! Skips (one line) when no CRI-O is installed; CI sets `PINNS_REQUIRE_CRIO=1`.

mod common;
mod crio;

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
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {report}"))
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
        assert_eq!(row["processes"], 0, "{row}");
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

    let (code, out, err) = pinns_asking(
        &crio,
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
    let r: Value = serde_json::from_str(&out).unwrap();
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
    let (code, out, err) = pinns_asking(
        &crio,
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
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(item(&r, again)["outcome"], "removed", "{r}");
    assert_eq!(r["summary"]["found"], 1, "{r}");
}
