//! Namespaces other tools keep in DIR/netns (`ip netns add`) are foreign to
//! the sweep: reported, never removed.

use super::{outcome, report};
use crate::common;
use common::{age, path_str, TestDir};
use serde_json::Value;
use std::process::Command;

/// DIR/netns is shared: under namespaces_dir=/var/run it is /run/netns, where
/// `ip netns add` keeps the node's own namespaces. Real `ip netns add` pins
/// (in a private mount namespace whose /run is a fresh tmpfs, so the host's
/// /run/netns is never touched) and hand-made ones (a new netns bind-mounted
/// on DIR/netns/NAME, what ip netns does) are reported as foreign and never
/// removed, whatever their age; a CRI-O-shaped orphan beside them is.
#[test]
#[serial_test::serial]
fn other_tools_namespaces_in_dir_netns_are_foreign_and_never_removed() {
    let crio = "d0000000-0000-4000-8000-000000000001";
    let qrouter = "qrouter-6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b";
    let upper = "6F1C2B3A-4D5E-4F60-8A7B-9C0D1E2F3A4B";
    let lone = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b";
    let script = format!(
        "set -e; mount -t tmpfs tmpfs /run; \
         for n in vrf-blue {qrouter} {upper} {lone}; do ip netns add $n; done; \
         {bin} -d /run -f {crio} --net --ipc --uts; \
         {bin} cleanup -d /run --orphans --older-than 0s --no-runtime --json; \
         echo; ip netns list; ls /run/ipcns",
        bin = common::BIN
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (json, after) = stdout
        .split_once("\n\n")
        .expect("report, then ip netns list");
    let r: Value = serde_json::from_str(json).unwrap();
    for name in ["vrf-blue", qrouter, upper, lone] {
        assert_eq!(outcome(&r, name), "kept", "{name}: {r}");
        let item = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .unwrap();
        assert!(
            item["reason"].as_str().unwrap().starts_with("foreign: "),
            "{item}"
        );
        assert!(
            after
                .lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "ip netns lost {name}: {after}"
        );
    }
    assert_eq!(outcome(&r, crio), "removed", "{r}");
    assert!(!after.contains(crio), "{after}");
    assert_eq!(r["summary"]["removed"], 1, "{r}");

    // By hand in the test's own DIR, checked from outside: the shapes that
    // are not CRI-O's stay mounted and `list` calls them foreign.
    let t = TestDir::new();
    let dir = t.pins();
    for k in ["netns", "cgroupns"] {
        std::fs::create_dir_all(dir.join(k)).unwrap();
    }
    let by_hand = |kind: &str, name: &str| {
        let f = t.pin_path(kind, name);
        std::fs::write(&f, "").unwrap();
        age(&f, "2 hours ago");
        let flag = format!("--{kind}={}", f.display());
        let ok = Command::new("unshare")
            .args([&flag, "true"])
            .status()
            .unwrap();
        assert!(ok.success(), "unshare {flag}");
    };
    for name in ["vrf-blue", qrouter, upper, lone] {
        by_hand("net", name);
    }
    // A UUID with a type CRI-O never pins: not CRI-O's either.
    let cg = "d0000000-0000-4000-8000-000000000002";
    by_hand("net", cg);
    by_hand("cgroup", cg);
    let before = t.nsfs_mounts();
    assert_eq!(before.len(), 6);
    let (code, r) = report(&[
        "cleanup",
        "-d",
        path_str(&dir),
        "--orphans",
        "--older-than",
        "0s",
        "--no-runtime",
        "--json",
    ]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["summary"]["kept"], 5, "{r}");
    assert_eq!(r["summary"]["removed"], 0, "{r}");
    assert_eq!(t.nsfs_mounts(), before);
    let l = common::pinns_json(&[
        "list",
        "-d",
        path_str(&dir),
        "--older-than",
        "0s",
        "--no-runtime",
        "--json",
    ]);
    for row in l["pins"].as_array().unwrap() {
        assert_eq!(row["state"], "foreign", "{row}");
        assert!(row["foreign"].is_string(), "{row}");
    }
}
