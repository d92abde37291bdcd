//! Resolving a CRI pod sandbox (`--pod ID|NAME`) to its namespace files with
//! `crictl inspectp -o json`. The runtime spec the runtime returns lists the
//! pod's namespaces (`.info.runtimeSpec.linux.namespaces[]`); an entry with a
//! `path` is a namespace shared by the pod (CRI-O: a pin under its
//! `namespaces_dir`), an entry without one belongs to the sandbox process, if
//! there is one (`.info.pid`, the infra container of containerd or of CRI-O
//! with an infra container), and to nobody otherwise.

use crate::error::{Error, Result};
use crate::ns::NsKind;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// Namespace files of a pod, in no particular order.
pub type PodNamespaces = Vec<(NsKind, PathBuf)>;

/// Runs `crictl inspectp -o json POD` and reads the namespaces from it.
pub fn resolve(pod: &str) -> Result<PodNamespaces> {
    let out = Command::new("crictl")
        .args(["inspectp", "-o", "json", pod])
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Refused(
                "--pod needs crictl, which is not installed (not in PATH); \
give a pin name or --pid instead"
                    .into(),
            ),
            _ => Error::Refused(format!("cannot run crictl: {e}")),
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(Error::Refused(format!(
            "crictl inspectp {pod:?} failed ({}): {}",
            out.status,
            why.trim()
        )));
    }
    parse_inspectp(&String::from_utf8_lossy(&out.stdout))
        .map_err(|why| Error::Refused(format!("crictl inspectp {pod:?}: {why}")))
}

/// Parses the JSON of `crictl inspectp -o json`.
pub fn parse_inspectp(json: &str) -> std::result::Result<PodNamespaces, String> {
    let doc: Value = serde_json::from_str(json).map_err(|e| format!("output is not JSON ({e})"))?;
    let info = doc
        .get("info")
        .ok_or("no \"info\" in the output (is the runtime's verbose info disabled?)")?;
    let entries = info
        .pointer("/runtimeSpec/linux/namespaces")
        .and_then(Value::as_array)
        .ok_or("no .info.runtimeSpec.linux.namespaces in the output")?;
    let pid = info
        .get("pid")
        .and_then(Value::as_u64)
        .filter(|p| *p > 0 && *p <= i32::MAX as u64);

    let mut found = PodNamespaces::new();
    for entry in entries {
        let oci_type = entry
            .get("type")
            .and_then(Value::as_str)
            .ok_or("a namespace entry has no \"type\"")?;
        // Namespace kinds we do not join (time) are skipped.
        let Some(kind) = kind_of_oci_type(oci_type) else {
            continue;
        };
        match (entry.get("path").and_then(Value::as_str), pid) {
            (Some(path), _) if !path.is_empty() => found.push((kind, PathBuf::from(path))),
            (_, Some(pid)) => found.push((kind, format!("/proc/{pid}/ns/{kind}").into())),
            _ => {}
        }
    }
    if found.is_empty() {
        return Err("the pod has no namespace path and no sandbox process to join".into());
    }
    Ok(found)
}

/// The OCI runtime spec's names for namespace types.
fn kind_of_oci_type(name: &str) -> Option<NsKind> {
    match name {
        "network" => Some(NsKind::Net),
        "mount" => Some(NsKind::Mnt),
        "pid" | "ipc" | "uts" | "user" | "cgroup" => NsKind::from_proc_name(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRIO: &str = include_str!("../tests/fixtures/crictl-inspectp-crio.json");

    #[test]
    fn reads_the_pinned_namespaces_of_a_crio_pod() {
        let ns = parse_inspectp(CRIO).unwrap();
        let uuid = "5f6d1b7e-8c2a-4f43-9d3e-2b1c0a9e8f71";
        assert_eq!(
            ns,
            vec![
                (NsKind::Net, format!("/var/run/netns/{uuid}").into()),
                (NsKind::Ipc, format!("/var/run/ipcns/{uuid}").into()),
                (NsKind::Uts, format!("/var/run/utsns/{uuid}").into()),
            ]
        );
    }

    #[test]
    fn pathless_namespaces_belong_to_the_sandbox_process() {
        let json = r#"{"status":{"id":"x"},"info":{"pid":4242,"runtimeSpec":{"linux":{
            "namespaces":[{"type":"pid"},{"type":"network","path":"/var/run/netns/cni-1"},
            {"type":"mount"},{"type":"time"}]}}}}"#;
        let ns = parse_inspectp(json).unwrap();
        assert_eq!(
            ns,
            vec![
                (NsKind::Pid, "/proc/4242/ns/pid".into()),
                (NsKind::Net, "/var/run/netns/cni-1".into()),
                (NsKind::Mnt, "/proc/4242/ns/mnt".into()),
            ]
        );
    }

    #[test]
    fn refuses_output_it_cannot_use() {
        for (json, needle) in [
            ("not json", "not JSON"),
            (r#"{"status":{}}"#, "no \"info\""),
            (r#"{"info":{"runtimeSpec":{}}}"#, "namespaces"),
            (
                r#"{"info":{"runtimeSpec":{"linux":{"namespaces":[{"path":"/x"}]}}}}"#,
                "no \"type\"",
            ),
            (
                r#"{"info":{"pid":0,"runtimeSpec":{"linux":{"namespaces":[{"type":"pid"}]}}}}"#,
                "no namespace path",
            ),
        ] {
            let err = parse_inspectp(json).unwrap_err();
            assert!(err.contains(needle), "{json}: {err}");
        }
    }
}
