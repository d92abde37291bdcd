//! `pinns inspect`: everything about one pod's pins.
//!
//! We never join a pod's namespace ourselves: to read what only shows from
//! inside (the hostname, the interfaces, the id maps of an idle user
//! namespace), a forked child `setns(2)`s into the pinned namespace, reads,
//! writes the answer to a pipe and `_exit`s. The maps are read this way
//! rather than from `/proc/<pid>/uid_map` of a member process because an
//! idle pod's user namespace has no member process.

use crate::error::{Error, Result};
use crate::escape::{self, Text};
use crate::list::align;
use crate::name::PinName;
use crate::ns::NsKind;
use crate::pindir::inventory::{Inventory, Pin};
use crate::pindir::{Content, TypeDir};
use crate::procs::{self, NsIndex};
use crate::sys::{self, process};
use nix::errno::Errno;
use nix::sched::CloneFlags;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd};
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
    pins.scan()?;
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
        NsKind::User => user_maps(fd.as_fd(), host).map(|m| out.user_maps = Some(m)),
        NsKind::Uts => uts(fd.as_fd()).map(|u| out.uts = Some(u)),
        NsKind::Net => interfaces(fd.as_fd()).map(|i| out.interfaces = Some(i)),
        _ => Ok(()),
    };
    if let Err(e) = result {
        out.warnings.push(e.to_string());
    }
}

fn user_maps(fd: BorrowedFd<'_>, host: bool) -> Result<UserMaps> {
    let read = || -> std::result::Result<UserMaps, String> {
        let map = |f: &str| {
            std::fs::read_to_string(format!("/proc/self/{f}")).map_err(|e| format!("{f}: {e}"))
        };
        Ok(UserMaps {
            uid_map: map("uid_map")?,
            gid_map: map("gid_map")?,
        })
    };
    if host {
        // Joining the user namespace we are already in is refused (EINVAL).
        return read().map_err(Error::Helper);
    }
    in_namespace(
        "read id maps of the user namespace",
        fd,
        CloneFlags::CLONE_NEWUSER,
        read,
    )
}

fn uts(fd: BorrowedFd<'_>) -> Result<Uts> {
    in_namespace(
        "read names of the UTS namespace",
        fd,
        CloneFlags::CLONE_NEWUTS,
        || {
            let (hostname, domainname) = sys::namespace::uts_names().map_err(|e| e.to_string())?;
            Ok(Uts {
                hostname: hostname.into(),
                domainname: domainname.into(),
            })
        },
    )
}

fn interfaces(fd: BorrowedFd<'_>) -> Result<Vec<Interface>> {
    in_namespace(
        "list interfaces of the network namespace",
        fd,
        CloneFlags::CLONE_NEWNET,
        || {
            // /proc/self/net follows the reading task's network namespace.
            // Bytes: an interface name may be any bytes but '/', ':' and
            // white space.
            let dev =
                std::fs::read("/proc/self/net/dev").map_err(|e| format!("/proc/net/dev: {e}"))?;
            let inet6 = std::fs::read("/proc/self/net/if_inet6").unwrap_or_default();
            let addrs = sys::net::interface_addresses().map_err(|e| e.to_string())?;
            Ok(merge_interfaces(
                &parse_net_dev(&dev),
                &parse_if_inet6(&inet6),
                &addrs,
            ))
        },
    )
}

/// Runs `read` in a child that joined the namespace open at `fd`; the answer
/// comes back as JSON.
fn in_namespace<T: Serialize + for<'de> Deserialize<'de>>(
    op: &str,
    fd: BorrowedFd<'_>,
    flag: CloneFlags,
    read: impl FnOnce() -> std::result::Result<T, String>,
) -> Result<T> {
    let bytes = process::run_in_child(op, || {
        sys::namespace::setns(fd, flag, Path::new("the pinned namespace"))
            .map_err(|e| e.to_string())?;
        serde_json::to_vec(&read()?).map_err(|e| e.to_string())
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Helper(format!("{op}: {e}")))
}

/// `/proc/net/dev`: interface name, received and transmitted bytes.
pub fn parse_net_dev(text: &[u8]) -> Vec<(Text, u64, u64)> {
    text.split(|b| *b == b'\n')
        .filter_map(|line| {
            // A name holds no ':' (the kernel refuses it), the counters none.
            let colon = line.iter().rposition(|b| *b == b':')?;
            let (name, counters) = (&line[..colon], &line[colon + 1..]);
            let fields: Vec<u64> = std::str::from_utf8(counters)
                .ok()?
                .split_whitespace()
                .map(str::parse)
                .collect::<std::result::Result<_, _>>()
                .ok()?;
            // 8 receive counters, then 8 transmit counters; bytes come first.
            (fields.len() >= 16).then(|| (Text::from(name.trim_ascii()), fields[0], fields[8]))
        })
        .collect()
}

/// `/proc/net/if_inet6`: (interface, `address/prefix`).
pub fn parse_if_inet6(text: &[u8]) -> Vec<(Text, String)> {
    text.split(|b| *b == b'\n')
        .filter_map(|line| {
            let f: Vec<&[u8]> = line
                .split(u8::is_ascii_whitespace)
                .filter(|w| !w.is_empty())
                .collect();
            let [hex, _index, prefix, _scope, _flags, name] = f.as_slice() else {
                return None;
            };
            let (hex, prefix) = (
                std::str::from_utf8(hex).ok()?,
                std::str::from_utf8(prefix).ok()?,
            );
            let bits = u128::from_str_radix(hex, 16)
                .ok()
                .filter(|_| hex.len() == 32)?;
            let prefix = u8::from_str_radix(prefix, 16).ok()?;
            let addr = std::net::Ipv6Addr::from_bits(bits);
            Some((Text::from(*name), format!("{addr}/{prefix}")))
        })
        .collect()
}

/// One entry per interface of `/proc/net/dev`, with every address known from
/// `getifaddrs` and `if_inet6`, each once. `getifaddrs` names come as lossy
/// UTF-8, so they are matched to the exact names by their lossy form.
fn merge_interfaces(
    dev: &[(Text, u64, u64)],
    inet6: &[(Text, String)],
    addrs: &[sys::net::IfAddr],
) -> Vec<Interface> {
    let mut by_name: BTreeMap<Text, Interface> = BTreeMap::new();
    for (name, rx, tx) in dev {
        by_name.insert(
            name.clone(),
            Interface {
                name: name.clone(),
                up: false,
                loopback: false,
                addresses: Vec::new(),
                rx_bytes: *rx,
                tx_bytes: *tx,
            },
        );
    }
    let exact: BTreeMap<String, Text> = dev
        .iter()
        .map(|(name, _, _)| (name.lossy(), name.clone()))
        .collect();
    let mut add = |name: Text, addr: Option<String>, flags: Option<(bool, bool)>| {
        let iface = by_name.entry(name.clone()).or_insert_with(|| Interface {
            name,
            up: false,
            loopback: false,
            addresses: Vec::new(),
            rx_bytes: 0,
            tx_bytes: 0,
        });
        if let Some((up, loopback)) = flags {
            iface.up |= up;
            iface.loopback |= loopback;
        }
        if let Some(a) = addr {
            if !iface.addresses.contains(&a) {
                iface.addresses.push(a);
            }
        }
    };
    for a in addrs {
        let addr = a.address.map(|(ip, prefix)| format!("{ip}/{prefix}"));
        let name = exact
            .get(&a.interface)
            .cloned()
            .unwrap_or_else(|| Text::from(a.interface.as_str()));
        add(name, addr, Some((a.up, a.loopback)));
    }
    for (name, addr) in inet6 {
        add(name.clone(), Some(addr.clone()), None);
    }
    by_name.into_values().collect()
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

impl Inspection {
    pub fn text(&self) -> String {
        let mut out = format!(
            "pin {} under {}\n\nnamespaces:\n",
            escape::escape_str(&self.name),
            escape::path(&self.dir)
        );
        let mut table = vec![[
            "  TYPE".to_string(),
            "INODE".into(),
            "OWNER USERNS".into(),
            "PATH".into(),
        ]];
        for ns in &self.namespaces {
            let inode = match (ns.inode, ns.host, ns.problem) {
                (Some(i), true, _) => format!("{i} (host)"),
                (Some(i), false, _) => i.to_string(),
                (None, _, Some(p)) => format!("broken: {p}"),
                (None, _, None) => ns.content.to_string(),
            };
            let owner = ns.owner_userns.map_or("-".into(), |o| o.to_string());
            table.push([
                format!("  {}", ns.kind),
                inode,
                owner,
                escape::path(&ns.path),
            ]);
        }
        out.push_str(&align(&table));
        if let Some(maps) = &self.user_maps {
            out.push_str(&format!(
                "\nuser maps (inside outside count):\n{}{}",
                indent("uid ", &maps.uid_map),
                indent("gid ", &maps.gid_map)
            ));
        }
        if let Some(uts) = &self.uts {
            out.push_str(&format!(
                "\nuts: hostname \"{}\", domainname \"{}\"\n",
                uts.hostname, uts.domainname
            ));
        }
        if let Some(ifaces) = &self.interfaces {
            out.push_str("\ninterfaces:\n");
            for i in ifaces {
                let state = if i.up { "up" } else { "down" };
                out.push_str(&format!(
                    "  {} {state} rx {} tx {} {}\n",
                    i.name,
                    i.rx_bytes,
                    i.tx_bytes,
                    i.addresses.join(" ")
                ));
            }
        }
        out.push_str(&self.processes_text());
        for w in &self.warnings {
            out.push_str(&format!("warning: {}\n", escape::one_line(w)));
        }
        out
    }

    fn processes_text(&self) -> String {
        if self.processes.is_empty() {
            return "\nprocesses: none\n".into();
        }
        let mut table = vec![[
            "  PID".to_string(),
            "CPUS".into(),
            "POLICY".into(),
            "NAMESPACES".into(),
            "COMMAND".into(),
        ]];
        for p in &self.processes {
            table.push([
                format!("  {}", p.pid),
                p.cpus_allowed.clone(),
                p.policy.clone(),
                p.namespaces
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                command_text(p),
            ]);
            for t in &p.realtime_threads {
                table.push([
                    format!("    tid {}", t.tid),
                    t.cpus_allowed.clone(),
                    format!("{} {}", t.policy, t.priority),
                    String::new(),
                    t.comm.to_string(),
                ]);
            }
        }
        let caps: String = self
            .processes
            .iter()
            .map(|p| {
                let names = match &p.capabilities {
                    Some(c) if c.is_empty() => "none".to_string(),
                    Some(c) => c.join(","),
                    None => "unknown".to_string(),
                };
                format!("  {}  {names}\n", p.pid)
            })
            .collect();
        format!(
            "\nprocesses:\n{}\neffective capabilities:\n{caps}",
            align(&table)
        )
    }
}

/// The arguments, each escaped, joined by spaces; a process without any (a
/// zombie) shows its thread name in brackets, as `ps` does.
fn command_text(p: &ProcessInfo) -> String {
    if p.argv.is_empty() {
        return format!("[{}]", p.comm);
    }
    let args: Vec<String> = p.argv.iter().map(ToString::to_string).collect();
    args.join(" ")
}

fn indent(prefix: &str, map: &str) -> String {
    map.lines()
        .map(|l| {
            format!(
                "  {prefix}{}\n",
                l.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET_DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0
  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0
";

    #[test]
    fn reads_net_dev_counters() {
        assert_eq!(
            parse_net_dev(NET_DEV.as_bytes()),
            vec![("lo".into(), 120, 120), ("eth0".into(), 1000, 2000)]
        );
        assert!(parse_net_dev(b"garbage\nx: 1 2\n").is_empty());
        let odd = b"  e\x1b[1m\xffx: 1 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0\n";
        assert_eq!(
            parse_net_dev(odd),
            vec![(Text::from(&b"e\x1b[1m\xffx"[..]), 1, 2)]
        );
    }

    #[test]
    fn reads_if_inet6() {
        let text = "00000000000000000000000000000001 01 80 10 80       lo\n\
                    fe800000000000000000000000000001 02 40 20 80     eth0\n\
                    short 01 80 10 80 lo\n";
        assert_eq!(
            parse_if_inet6(text.as_bytes()),
            vec![
                ("lo".into(), "::1/128".to_string()),
                ("eth0".into(), "fe80::1/64".to_string())
            ]
        );
    }

    #[test]
    fn merges_addresses_once() {
        let addrs = vec![
            sys::net::IfAddr {
                interface: "lo".into(),
                up: true,
                loopback: true,
                address: Some(("127.0.0.1".parse().unwrap(), 8)),
            },
            sys::net::IfAddr {
                interface: "lo".into(),
                up: true,
                loopback: true,
                address: Some(("::1".parse().unwrap(), 128)),
            },
        ];
        let merged = merge_interfaces(
            &parse_net_dev(NET_DEV.as_bytes()),
            &[("lo".into(), "::1/128".into())],
            &addrs,
        );
        assert_eq!(merged.len(), 2);
        let lo = merged.iter().find(|i| i.name == "lo".into()).unwrap();
        assert!(lo.up && lo.loopback);
        assert_eq!(lo.addresses, vec!["127.0.0.1/8", "::1/128"]);
        let eth0 = merged.iter().find(|i| i.name == "eth0".into()).unwrap();
        assert!(!eth0.up && eth0.addresses.is_empty());
        assert_eq!(eth0.tx_bytes, 2000);
    }
}
