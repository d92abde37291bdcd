//! `pinns cleanup` for real, as root: teardown by name, the orphan sweep
//! (with a runc container in one pod, kept pods, young pods, leftovers and
//! things that are not ours), a sweep racing concurrent pins, leaked cgroups
//! in a v2 and a v1 hierarchy, periodic sweeping and bad inputs. Shared here:
//! the JSON report of a run and the CRI-O-shaped names the tests pin.

mod bad_inputs;
mod cgroups;
mod foreign;
mod interval;
mod named;
mod sweep;

use crate::common;
use common::{run, TestDir};
use serde_json::Value;

fn is_nsfs_mount(t: &TestDir, kind: &str, name: &str) -> bool {
    t.nsfs_mounts().contains(&t.pin_path(kind, name))
}

fn report(args: &[&str]) -> (i32, Value) {
    let (code, out, err) = run(args);
    let v = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("{args:?}: no JSON ({e}): {out} {err}"));
    (code, v)
}

fn outcome<'a>(r: &'a Value, name: &str) -> &'a str {
    r["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .and_then(|i| i["outcome"].as_str())
        .unwrap_or("absent")
}

/// A CRI-O-shaped name: `tag` and `i` in the first group.
fn uuid(tag: u16, i: usize) -> String {
    format!("{tag:04x}{i:04x}-0000-4000-8000-000000000000")
}
