//! Scale and concurrency with the real binary: many pods pinned at once
//! while others are torn down, and thousands of pins in one directory.

use crate::common;

use common::*;
use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `job(i)` for i in 0..n on `width` threads; returns the failures.
fn parallel(
    n: usize,
    width: usize,
    job: impl Fn(usize) -> Result<(), String> + Sync,
) -> Vec<String> {
    let next = AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..width {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                if let Err(e) = job(i) {
                    failures.lock().unwrap().push(e);
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

fn call(args: &[&str]) -> Result<(), String> {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "pinns {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

const KINDS: [&str; 3] = ["net", "ipc", "uts"];

#[test]
fn two_hundred_pinned_while_two_hundred_are_cleaned_up() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let pin = |name: &str| {
        call(&[
            "-d",
            &d,
            "-f",
            name,
            "--net",
            "--ipc",
            "--uts",
            "-s",
            "net.ipv4.ip_forward=1",
        ])
    };
    assert!(parallel(200, 16, |i| pin(&format!("old-{i}"))).is_empty());

    let (created, removed) = std::thread::scope(|scope| {
        let created = scope.spawn(|| parallel(200, 16, |i| pin(&format!("new-{i}"))));
        let removed = scope.spawn(|| {
            parallel(200, 16, |i| {
                call(&["cleanup", "-d", &d, "-f", &format!("old-{i}")])
            })
        });
        (created.join().unwrap(), removed.join().unwrap())
    });
    assert!(created.is_empty(), "pins failed: {created:?}");
    assert!(removed.is_empty(), "cleanups failed: {removed:?}");

    // Exactly the new pods remain, each pinned once per type, all distinct.
    let mounts = t.nsfs_mounts();
    assert_eq!(mounts.len(), 200 * KINDS.len(), "pins lost or doubled");
    let unique: BTreeSet<_> = mounts.iter().collect();
    assert_eq!(unique.len(), mounts.len(), "a pin is mounted twice");
    for i in 0..200 {
        for kind in KINDS {
            assert!(
                unique.contains(&t.pin_path(kind, &format!("new-{i}"))),
                "new-{i} lost its {kind} pin"
            );
        }
    }
    let inodes: BTreeSet<u64> = mounts.iter().map(ns_inode).collect();
    assert_eq!(inodes.len(), mounts.len(), "two pods share a namespace");

    assert!(parallel(200, 16, |i| call(&[
        "cleanup",
        "-d",
        &d,
        "-f",
        &format!("new-{i}")
    ]))
    .is_empty());
    assert!(t.nsfs_mounts().is_empty());
    assert!(t.plain_files().is_empty(), "left {:?}", t.plain_files());
    readme_count("pods-raced", 400);
}

#[test]
fn five_thousand_pins_in_one_directory_are_listed_and_swept() {
    const PODS: usize = 5000;
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    // ipc+uts: the per-pin cost that matters here is ours and the mount
    // table's; network namespaces would only add the kernel's slow teardown.
    let failures = parallel(PODS, 8, |i| {
        // CRI-O-shaped names: only those are swept.
        call(&[
            "-d",
            &d,
            "-f",
            &format!("{i:08x}-0000-4000-8000-000000000000"),
            "--ipc",
            "--uts",
        ])
    });
    assert!(
        failures.is_empty(),
        "{} pins failed, first: {:?}",
        failures.len(),
        failures.first()
    );
    assert_eq!(t.nsfs_mounts().len(), PODS * 2);

    let listed = pinns_json(&["list", "-d", &d, "--json", "--no-runtime"]);
    let pins = listed["pins"].as_array().expect("a list of pins");
    assert_eq!(pins.len(), PODS);
    let names: BTreeSet<&str> = pins.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names.len(), PODS);
    assert!(pins
        .iter()
        .all(|p| p["state"] == "idle" && p["namespaces"].as_array().map(Vec::len) == Some(2)));

    let report = pinns_json(&sweep_all(&d));
    assert_eq!(report["summary"]["removed"], PODS);
    assert!(t.nsfs_mounts().is_empty());
    assert!(
        t.plain_files().is_empty(),
        "left {} files",
        t.plain_files().len()
    );
    readme_count("pins-in-one-dir", PODS);
}
