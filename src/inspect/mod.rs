//! `pinns inspect`: everything about one pod's pins.
//!
//! We never join a pod's namespace ourselves: to read what only shows from
//! inside (the hostname, the interfaces, the id maps of an idle user
//! namespace), a forked child `setns(2)`s into the pinned namespace, reads,
//! writes the answer to a pipe and `_exit`s. The maps are read this way
//! rather than from `/proc/<pid>/uid_map` of a member process because an
//! idle pod's user namespace has no member process.

mod inside;
pub mod json;
mod net;
mod text;

use crate::error::{Error, Result};
use crate::escape::Text;
use crate::name::PinName;
use crate::ns::NsKind;
use crate::pindir::inventory::{Inventory, Pin};
use crate::pindir::{Content, TypeDir};
use crate::procs::{self, NsIndex};
use crate::sys;
use nix::errno::Errno;
use serde::{Deserialize, Serialize};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// Everything `inspect` found. Text from the pod is kept as bytes
/// ([`Text`]); `output` decides how each form shows it.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub name: String,
    pub dir: PathBuf,
    /// Age of the pin (its youngest path), whole seconds.
    pub age_seconds: Option<u64>,
    pub namespaces: Vec<NsInfo>,
    pub user_maps: Option<UserMaps>,
    pub uts: Option<Uts>,
    pub interfaces: Option<Vec<Interface>>,
    pub processes: Vec<ProcessInfo>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct NsInfo {
    pub kind: NsKind,
    pub path: PathBuf,
    /// `namespace`, `leftover` or `broken`.
    pub content: &'static str,
    pub inode: Option<u64>,
    /// Inode of the owning user namespace (for a user namespace: its parent).
    pub owner_userns: Option<u64>,
    pub host: bool,
    pub problem: Option<&'static str>,
}

// Serialize/Deserialize: these cross the pipe from the child that read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMaps {
    pub uid_map: String,
    pub gid_map: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uts {
    pub hostname: Text,
    pub domainname: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub name: Text,
    pub up: bool,
    pub loopback: bool,
    pub addresses: Vec<String>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct ProcessInfo {
    pub pid: i32,
    pub comm: Text,
    /// Exactly `/proc/<pid>/cmdline`; empty for a zombie.
    pub argv: Vec<Text>,
    /// Which of the pod's namespaces it lives in.
    pub namespaces: Vec<NsKind>,
    pub cpus_allowed: String,
    pub policy: String,
    /// Threads with a real-time policy (FIFO, RR, DEADLINE).
    pub realtime_threads: Vec<ThreadInfo>,
    /// Effective capabilities (`CapEff` of /proc/PID/status), by name;
    /// `None` when unreadable. A container that can do too much shows here.
    pub capabilities: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct ThreadInfo {
    pub tid: i32,
    pub comm: Text,
    pub policy: String,
    pub priority: u32,
    pub cpus_allowed: String,
}

pub fn inspect(dir: &Path, name: &PinName) -> Result<Inspection> {
    let mut pins =
        Inventory::open(dir)?.ok_or_else(|| Error::path("open directory", dir, Errno::ENOENT))?;
    pins.scan_one(name)?;
    let pin = pins.pins.get(name).cloned().ok_or_else(|| {
        Error::Refused(format!(
            "no pin named {name} under {}",
            pins.path().display()
        ))
    })?;
    let mut out = Inspection {
        name: name.to_string(),
        dir: pins.path().to_path_buf(),
        age_seconds: pin.age(std::time::SystemTime::now()).map(|a| a.as_secs()),
        namespaces: Vec::new(),
        user_maps: None,
        uts: None,
        interfaces: None,
        processes: Vec::new(),
        warnings: std::mem::take(&mut pins.warnings),
    };
    for entry in &pin.entries {
        let path = pins.pin_path(entry.kind, name);
        let mut info = NsInfo {
            kind: entry.kind,
            path: path.clone(),
            content: entry.content.word(),
            inode: None,
            owner_userns: None,
            host: false,
            problem: entry.content.problem().map(|p| p.words()),
        };
        if let Content::Namespace { inode, host } = entry.content {
            info.inode = Some(inode);
            info.host = host;
            if let Some(type_dir) = pins.type_dir(entry.kind) {
                look_inside(type_dir, name, inode, host, &mut info, &mut out);
            }
        }
        out.namespaces.push(info);
    }
    out.processes = processes(&pin);
    Ok(out)
}

/// Reads what the namespace pinned at `path` shows from inside; a failure
/// becomes a warning, not an error (the rest is still worth showing).
fn look_inside(
    type_dir: &TypeDir,
    name: &PinName,
    inode: u64,
    host: bool,
    info: &mut NsInfo,
    out: &mut Inspection,
) {
    let (kind, path) = (type_dir.kind, type_dir.pin_path(name));
    // The namespace the scan saw, or nothing: never one put there since.
    let fd = match type_dir.open_namespace(name, Some(inode)) {
        Ok(Some((_, fd))) => fd,
        Ok(None) => {
            return out
                .warnings
                .push(format!("{}: changed while we looked", path.display()))
        }
        Err(e) => return out.warnings.push(e.to_string()),
    };
    match sys::namespace::owner_userns_inode(fd.as_fd(), &path) {
        Ok(ino) => info.owner_userns = Some(ino),
        Err(e) => out.warnings.push(e.to_string()),
    }
    let result = match kind {
        NsKind::User => inside::user_maps(fd.as_fd(), host).map(|m| out.user_maps = Some(m)),
        NsKind::Uts => inside::uts(fd.as_fd()).map(|u| out.uts = Some(u)),
        NsKind::Net => inside::interfaces(fd.as_fd()).map(|i| out.interfaces = Some(i)),
        _ => Ok(()),
    };
    if let Err(e) = result {
        out.warnings.push(e.to_string());
    }
}

/// The processes living in the pod's own namespaces (those of the host are
/// shared by every process of the node and say nothing about the pod).
fn processes(pin: &Pin) -> Vec<ProcessInfo> {
    let kinds: Vec<NsKind> = pin.own_namespaces().map(|(k, _)| k).collect();
    if kinds.is_empty() {
        return Vec::new();
    }
    let index = NsIndex::scan_kinds(&kinds);
    pin.processes(&index)
        .into_iter()
        .filter_map(|pid| {
            let tasks = procs::tasks(pid);
            // A leader that called pthread_exit is a zombie whose facts may
            // be gone: then the first live thread stands for the process.
            let main = tasks
                .iter()
                .find(|t| t.tid == pid)
                .or_else(|| tasks.first())?;
            Some(ProcessInfo {
                pid,
                comm: main.comm.clone(),
                argv: procs::argv(pid),
                namespaces: pin
                    .own_namespaces()
                    .filter(|(k, ino)| index.pids_in(*k, *ino).contains(&pid))
                    .map(|(k, _)| k)
                    .collect(),
                cpus_allowed: main.cpus_allowed.to_string(),
                policy: main.policy.to_string(),
                realtime_threads: tasks
                    .iter()
                    .filter(|t| t.policy.is_realtime())
                    .map(|t| ThreadInfo {
                        tid: t.tid,
                        comm: t.comm.clone(),
                        policy: t.policy.to_string(),
                        priority: t.rt_priority,
                        cpus_allowed: t.cpus_allowed.to_string(),
                    })
                    .collect(),
                capabilities: effective_caps(pid),
            })
        })
        .collect()
}

fn effective_caps(pid: i32) -> Option<Vec<String>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let set = crate::caps::effective_from_status(&status)?;
    Some(
        set.iter()
            .map(|c| crate::caps::name(c).to_lowercase())
            .collect(),
    )
}
