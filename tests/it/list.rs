//! `pinns list` and `pinns inspect` against real pins, a real runc container
//! living in one pod's namespaces, an idle pod, a user-namespaced pod, a
//! leftover file and a broken pin path. Run as root.

use crate::common;

use common::runc::Bundle;
use common::{assert_one_line_error, path_str, pinns_json, run, TestDir};
use serde_json::Value;
use std::path::Path;

// CRI-O-shaped pin names (lowercase UUIDs): only those can be orphans.
const BUSY: &str = "b0000000-0000-4000-8000-000000000001";
const IDLE: &str = "b0000000-0000-4000-8000-000000000002";
const USERNS: &str = "b0000000-0000-4000-8000-000000000003";
const CRASHED: &str = "b0000000-0000-4000-8000-000000000004";
const JUNK: &str = "b0000000-0000-4000-8000-000000000005";

fn row<'a>(listing: &'a Value, name: &str) -> &'a Value {
    common::entry(listing, "pins", "name", name)
}

/// The real pods of these tests: BUSY with a runc container in its
/// net/ipc/uts namespaces, IDLE with none, USERNS with a user namespace,
/// CRASHED (an empty file a dead pin left), JUNK (a file that is not ours).
struct Pods {
    t: TestDir,
}

impl Pods {
    fn new() -> Pods {
        let t = TestDir::new();
        t.pin(
            BUSY,
            &["--net", "--ipc", "--uts", "-s", "kernel.hostname=busy-pod"],
        );
        t.pin_pod(IDLE);
        t.pin(
            USERNS,
            &[
                "--user",
                "--uts",
                "--uid-mapping=0-100000-65536@",
                "--gid-mapping=0-200000-1000@",
            ],
        );
        // A crashed pin's empty files (not netns alone: see `foreign`).
        std::fs::write(t.pin_path("net", CRASHED), "").unwrap();
        std::fs::write(t.pin_path("ipc", CRASHED), "").unwrap();
        std::fs::write(t.pin_path("ipc", JUNK), "not a namespace").unwrap();
        Pods { t }
    }

    fn dir(&self) -> String {
        path_str(&self.t.pins()).to_string()
    }

    fn container(&self) -> common::runc::Container {
        Bundle::new(self.t.path().join("bundle"))
            .args(&["/bin/busybox", "sleep", "600"])
            .join_pod(&self.t.pins(), BUSY)
            .run("pinns-list")
    }
}

#[test]
#[serial_test::serial]
fn list_reports_each_state() {
    let pods = Pods::new();
    let ctr = pods.container();
    let dir = pods.dir();

    // Threshold far away: nothing is old enough to be an orphan.
    let l = pinns_json(&[
        "list",
        "-d",
        &dir,
        "--json",
        "--older-than",
        "1h",
        "--no-runtime",
    ]);
    assert_eq!(row(&l, BUSY)["state"], "in-use");
    assert!(row(&l, BUSY)["process_count"].as_u64().unwrap() >= 1);
    assert!(row(&l, BUSY)["processes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["pid"] == ctr.pid));
    for idle in [IDLE, USERNS, CRASHED] {
        assert_eq!(row(&l, idle)["state"], "idle", "{idle}: {l}");
        assert_eq!(row(&l, idle)["process_count"], 0);
    }
    assert_eq!(row(&l, JUNK)["state"], "broken");
    assert_eq!(
        row(&l, JUNK)["namespaces"][0]["problem"],
        "a non-empty plain file"
    );
    assert_eq!(row(&l, CRASHED)["namespaces"][0]["content"], "leftover");
    // Inodes are those of the pinned namespaces, as the kernel reports them.
    let busy_net = &common::entry(row(&l, BUSY), "namespaces", "type", "net")["inode"];
    assert_eq!(
        busy_net.as_u64().unwrap(),
        common::ns_inode(pods.t.pin_path("net", BUSY))
    );
    assert_eq!(
        common::ns_inode(format!("/proc/{}/ns/net", ctr.pid)),
        common::ns_inode(pods.t.pin_path("net", BUSY))
    );

    // Every pin is at least 0s old: the idle ones become orphans, the busy
    // one stays in use, the kept one idle, the broken one broken.
    let l = pinns_json(&[
        "list",
        "-d",
        &dir,
        "--json",
        "--older-than",
        "0s",
        "--keep",
        USERNS,
        "--no-runtime",
    ]);
    assert_eq!(row(&l, BUSY)["state"], "in-use");
    assert_eq!(row(&l, IDLE)["state"], "orphan");
    assert_eq!(row(&l, CRASHED)["state"], "orphan");
    assert_eq!(row(&l, USERNS)["state"], "idle");
    assert_eq!(row(&l, JUNK)["state"], "broken");

    // The table: a header, one aligned row per name, the states in words.
    let (code, out, err) = run(&["list", "-d", &dir, "--older-than", "0s", "--no-runtime"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("NAME "), "{out}");
    let state_col = lines[0].find("STATE").unwrap();
    for (name, state) in [
        (BUSY, "in use"),
        (CRASHED, "orphan"),
        (IDLE, "orphan"),
        (JUNK, "broken"),
        (USERNS, "orphan"),
    ] {
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name}: {out}"));
        assert_eq!(&line[state_col..state_col + state.len()], state, "{out}");
    }
    assert!(!out.contains('\x1b'), "colour when not a tty: {out:?}");
}

#[test]
#[serial_test::serial]
fn inspect_shows_what_lives_inside() {
    let pods = Pods::new();
    let ctr = pods.container();
    let dir = pods.dir();

    let i = pinns_json(&["inspect", "-d", &dir, BUSY, "--json"]);
    assert_eq!(i["uts"]["hostname"], "busy-pod");
    let ifaces = i["interfaces"].as_array().unwrap();
    assert!(
        ifaces
            .iter()
            .any(|x| x["name"] == "lo" && x["loopback"] == true),
        "{i}"
    );
    assert!(
        !ifaces.iter().any(|x| x["name"] != "lo"),
        "a new net namespace has only lo: {i}"
    );
    let me = common::ns_inode("/proc/self/ns/user");
    for ns in i["namespaces"].as_array().unwrap() {
        assert_eq!(ns["owner_userns"].as_u64(), Some(me), "{ns}");
    }
    let procs = i["processes"].as_array().unwrap();
    let p = procs
        .iter()
        .find(|p| p["pid"] == ctr.pid)
        .unwrap_or_else(|| panic!("container pid {} missing: {i}", ctr.pid));
    assert_eq!(
        p["argv"],
        serde_json::json!(["/bin/busybox", "sleep", "600"]),
        "{p}"
    );
    assert_eq!(p["namespaces"], serde_json::json!(["ipc", "uts", "net"]));
    assert_eq!(p["policy"], "SCHED_OTHER");
    assert!(!p["cpus_allowed"].as_str().unwrap().is_empty());

    // The user namespace: maps as written, read from inside by a child;
    // its uts namespace is owned by it.
    let u = pinns_json(&["inspect", "-d", &dir, USERNS, "--json"]);
    assert_eq!(
        u["user_maps"]["uid_map"],
        serde_json::json!([{"inside": 0, "outside": 100000, "count": 65536}])
    );
    assert_eq!(
        u["user_maps"]["gid_map"],
        serde_json::json!([{"inside": 0, "outside": 200000, "count": 1000}])
    );
    let userns_ino = common::ns_inode(pods.t.pin_path("user", USERNS));
    let uts = common::entry(&u, "namespaces", "type", "uts");
    assert_eq!(uts["owner_userns"].as_u64(), Some(userns_ino));
    assert!(u["processes"].as_array().unwrap().is_empty());

    // The text form says the same.
    let (code, out, err) = run(&["inspect", "-d", &dir, BUSY]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("hostname \"busy-pod\""), "{out}");
    assert!(out.contains("  lo "), "{out}");
    assert!(
        out.contains(&format!("  {} ", ctr.pid)) && out.contains("sleep 600"),
        "{out}"
    );
}

#[test]
#[serial_test::serial]
fn bad_inputs_fail_in_one_line_and_change_nothing() {
    let pods = Pods::new();
    let dir = pods.dir();
    let before = pods.t.snapshot(&[]);
    let missing = pods.t.path().join("nowhere");
    for (args, needle) in [
        (vec!["list", "-d", path_str(&missing)], "nowhere"),
        (vec!["inspect", "-d", &dir, "nobody"], "no pin named nobody"),
        (vec!["inspect", "-d", &dir, "../etc"], "pin name"),
    ] {
        let (code, _, err) = run(&args);
        assert_one_line_error(code, &err, needle);
    }
    // Refused by the command line parser: clap's whole message.
    for (args, needle) in [
        (vec!["list", "-d", &dir, "--older-than", "soon"], "duration"),
        (vec!["inspect", "-d", &dir], "NAME"),
        (
            vec!["lisst", "-d", &dir],
            "similar subcommand exists: 'list'",
        ),
    ] {
        let (code, _, err) = run(&args);
        common::assert_usage_error(code, &err, needle);
    }
    assert_eq!(pods.t.snapshot(&[]), before);
}

#[test]
#[serial_test::serial]
fn nothing_is_left_mounted() {
    let pods = Pods::new();
    let dir = pods.dir();
    {
        let _ctr = pods.container();
    }
    for name in [BUSY, IDLE, USERNS, CRASHED] {
        let (code, _, err) = run(&["cleanup", "-d", &dir, "-f", name]);
        assert_eq!(code, 0, "{name}: {err}");
    }
    assert!(
        pods.t.nsfs_mounts().is_empty(),
        "{:?}",
        pods.t.nsfs_mounts()
    );
    assert!(Path::new(&pods.t.pin_path("ipc", JUNK)).exists());
}

/// Threads are processes too: a pod whose leader called pthread_exit while a
/// SCHED_FIFO worker runs in its namespaces, and a pod that a thread joined
/// by setns while its leader stayed on the host, are both in use with that
/// process; `inspect` shows the process and its real-time thread.
#[test]
#[serial_test::serial]
fn a_pod_alive_only_through_a_thread_is_in_use() {
    let t = TestDir::new();
    let bin = common::threads::build(t.path());
    let gone = "7d0c1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
    let outside = "8d0c1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
    let idle = "9d0c1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
    for name in [gone, outside, idle] {
        t.pin_pod(name);
    }
    let a = common::threads::exit_leader_in(&bin, &t.pins(), gone, 0);
    let b = common::threads::setns_thread_into(&bin, &t.pins(), outside, 0);
    let d = t.pins();
    let listing = pinns_json(&[
        "list",
        "-d",
        path_str(&d),
        "--older-than",
        "0s",
        "--json",
        "--no-runtime",
    ]);
    for (name, pid) in [(gone, a.pid()), (outside, b.pid())] {
        let r = row(&listing, name);
        assert_eq!(r["state"], "in-use", "{name}: {r}");
        assert_eq!(r["process_count"], 1, "{name}: {r}");
        let found = pinns_json(&["inspect", "-d", path_str(&d), name, "--json"]);
        let procs = found["processes"].as_array().unwrap();
        assert_eq!(procs.len(), 1, "{found}");
        assert_eq!(procs[0]["pid"], pid, "{found}");
        let rt = procs[0]["realtime_threads"].as_array().unwrap();
        assert!(
            rt.iter().any(|th| th["policy"] == "SCHED_FIFO"),
            "{name}: {found}"
        );
    }
    assert!(a.leader_is_gone());
    assert_eq!(row(&listing, idle)["state"], "orphan", "{listing}");
}

/// `list` asks the runtime as a sweep would; when it cannot, it says so in
/// a warning and shows no pin as an orphan (a sweep would remove nothing).
#[test]
#[serial_test::serial]
fn without_an_answer_from_the_runtime_nothing_is_an_orphan() {
    let pods = Pods::new();
    let dir = pods.dir();
    let missing = pods.t.path().join("no-crictl");
    let l = pinns_json(&[
        "list",
        "-d",
        &dir,
        "--older-than",
        "0s",
        "--crictl",
        path_str(&missing),
        "--json",
    ]);
    let warnings = l["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("cannot ask the container runtime which pods exist")),
        "{l}"
    );
    for name in [IDLE, CRASHED] {
        assert_eq!(row(&l, name)["state"], "idle", "{l}");
        assert_eq!(row(&l, name)["runtime"], "not-asked", "{l}");
    }
    let l = pinns_json(&[
        "list",
        "-d",
        &dir,
        "--older-than",
        "0s",
        "--no-runtime",
        "--json",
    ]);
    assert_eq!(row(&l, IDLE)["state"], "orphan", "{l}");
    assert_eq!(row(&l, IDLE)["runtime"], "unknown", "{l}");
}
