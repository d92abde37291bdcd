//! The keep set: pin names, pod UIDs and container/sandbox IDs that a sweep
//! must never remove, from `--keep`, `--keep-file` and `--keep-from-crictl`.
//! A source that fails aborts the sweep: sweeping without the live pods'
//! names would remove them.

use crate::classify::canonical_id;
use crate::error::{Error, PathContext, Result};
use crate::name::PinName;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeepSet {
    ids: BTreeSet<String>,
}

impl KeepSet {
    pub fn insert(&mut self, id: &str) {
        let id = id.trim();
        if !id.is_empty() {
            self.ids.insert(id.to_string());
            self.ids.insert(canonical_id(id));
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn keeps_pin(&self, name: &PinName) -> bool {
        self.ids.contains(name.as_str()) || self.ids.contains(&canonical_id(name.as_str()))
    }

    /// Whether any of the IDs found in a cgroup name is kept.
    pub fn keeps_any(&self, ids: &BTreeSet<String>) -> bool {
        ids.iter().any(|id| self.ids.contains(id))
    }
}

/// Where the keep set comes from.
#[derive(Debug, Clone, Default)]
pub struct KeepSources<'a> {
    pub names: &'a [String],
    pub files: &'a [std::path::PathBuf],
    pub from_crictl: bool,
}

pub fn build(sources: &KeepSources<'_>) -> Result<KeepSet> {
    let mut set = KeepSet::default();
    for name in sources.names {
        set.insert(name);
    }
    for file in sources.files {
        let text = std::fs::read_to_string(file).at("read keep file", file)?;
        for id in parse_keep_file(&text) {
            set.insert(id);
        }
    }
    if sources.from_crictl {
        for id in crictl_ids()? {
            set.insert(&id);
        }
    }
    Ok(set)
}

/// One name per line; blank lines and `#` comments are skipped.
pub fn parse_keep_file(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Everything the container runtime says is alive: each sandbox's ID, pod
/// UID and pinned namespace file names, and every container's ID.
fn crictl_ids() -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for sandbox in crictl(&["pods", "-q"])?.lines().map(str::trim) {
        if sandbox.is_empty() {
            continue;
        }
        ids.push(sandbox.to_string());
        let json = crictl(&["inspectp", "-o", "json", sandbox])?;
        ids.extend(parse_inspectp(&json).map_err(|e| {
            Error::Refused(format!(
                "--keep-from-crictl: crictl inspectp {sandbox}: {e}; nothing was removed"
            ))
        })?);
    }
    for container in crictl(&["ps", "-a", "-q"])?.lines().map(str::trim) {
        if !container.is_empty() {
            ids.push(container.to_string());
        }
    }
    Ok(ids)
}

fn crictl(args: &[&str]) -> Result<String> {
    let what = format!("crictl {}", args.join(" "));
    let out = Command::new("crictl").args(args).output().map_err(|e| {
        Error::Refused(if e.kind() == std::io::ErrorKind::NotFound {
            "--keep-from-crictl: crictl is not installed (not found in PATH); nothing was removed"
                .to_string()
        } else {
            format!("--keep-from-crictl: run {what}: {e}; nothing was removed")
        })
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        return Err(Error::Refused(format!(
            "--keep-from-crictl: {what} failed ({}): {first}; nothing was removed",
            out.status
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// From `crictl inspectp -o json`: the sandbox ID, the pod UID and the file
/// names of the namespace paths given to the runtime
/// (`.info.runtimeSpec.linux.namespaces[].path`), which are the pin names.
pub fn parse_inspectp(json: &str) -> std::result::Result<Vec<String>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut ids = Vec::new();
    let text = |p: &str| v.pointer(p).and_then(|x| x.as_str()).map(str::to_string);
    ids.extend(text("/status/id"));
    ids.extend(text("/status/metadata/uid"));
    let namespaces = v
        .pointer("/info/runtimeSpec/linux/namespaces")
        .and_then(|n| n.as_array());
    for ns in namespaces.into_iter().flatten() {
        let path = ns.get("path").and_then(|p| p.as_str()).unwrap_or("");
        if let Some(name) = Path::new(path).file_name() {
            ids.push(name.to_string_lossy().into_owned());
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_file_skips_blanks_and_comments() {
        let ids: Vec<_> = parse_keep_file("a\n\n  # note\n b \n#c\n").collect();
        assert_eq!(ids, vec!["a", "b"]);
    }

    #[test]
    fn keeps_names_and_canonical_ids() {
        let mut set = KeepSet::default();
        set.insert("8C3F2B1E_4D5A_4F6B_9C7D_0E1F2A3B4C5D");
        set.insert("  ");
        set.insert("pod-a");
        assert!(set.keeps_pin(&PinName::parse("pod-a").unwrap()));
        assert!(!set.keeps_pin(&PinName::parse("pod-b").unwrap()));
        let ids = crate::classify::ids_in_cgroup_name(
            "kubepods-pod8c3f2b1e_4d5a_4f6b_9c7d_0e1f2a3b4c5d.slice",
        );
        assert!(set.keeps_any(&ids));
        assert!(set.keeps_pin(&PinName::parse("8c3f2b1e-4d5a-4f6b-9c7d-0e1f2a3b4c5d").unwrap()));
    }

    #[test]
    fn reads_what_crictl_inspectp_reports() {
        // The shape of `crictl inspectp -o json` for a CRI-O sandbox (trimmed).
        let json = r#"{
          "status": {"id": "5f1c0a", "metadata": {"name": "web", "uid": "8c3f2b1e-4d5a-4f6b-9c7d-0e1f2a3b4c5d"}},
          "info": {"runtimeSpec": {"linux": {"namespaces": [
            {"type": "pid"},
            {"type": "network", "path": "/var/run/netns/1b2c3d4e-aaaa"},
            {"type": "ipc", "path": "/var/run/ipcns/1b2c3d4e-aaaa"},
            {"type": "uts", "path": "/var/run/utsns/1b2c3d4e-aaaa"}
          ]}}}
        }"#;
        let ids = parse_inspectp(json).unwrap();
        assert_eq!(ids[0], "5f1c0a");
        assert_eq!(ids[1], "8c3f2b1e-4d5a-4f6b-9c7d-0e1f2a3b4c5d");
        assert_eq!(ids[2..], ["1b2c3d4e-aaaa"; 3]);
        assert!(parse_inspectp("{}").unwrap().is_empty());
        assert!(parse_inspectp("not json").is_err());
    }
}
