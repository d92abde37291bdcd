//! `pinns inspect --json`, made of the blocks in [`crate::output::json`].

use super::{Inspection, ProcessInfo};
use crate::output::json::{path_text, text, texts, Namespace, SCHEMA};
use serde::Serialize;

/// A process living in the pod's own namespaces, with what `inspect`
/// knows of it (`list` and `cleanup` give the pid only).
#[derive(Debug, Serialize)]
pub struct Process {
    pub pid: i32,
    pub comm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm_hex: Option<String>,
    pub argv: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argv_hex: Option<Vec<String>>,
    pub namespaces: Vec<String>,
    pub cpus_allowed: String,
    pub policy: String,
    pub realtime_threads: Vec<Thread>,
    /// Effective capabilities by name; null when /proc/PID/status was unreadable.
    pub capabilities: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
pub struct Thread {
    pub tid: i32,
    pub comm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm_hex: Option<String>,
    pub policy: String,
    pub priority: u32,
    pub cpus_allowed: String,
}

/// One line of a uid_map or gid_map.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct IdRange {
    pub inside: u64,
    pub outside: u64,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct UserMaps {
    pub uid_map: Vec<IdRange>,
    pub gid_map: Vec<IdRange>,
}

#[derive(Debug, Serialize)]
pub struct Uts {
    pub hostname: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname_hex: Option<String>,
    pub domainname: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domainname_hex: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Interface {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_hex: Option<String>,
    pub up: bool,
    pub loopback: bool,
    pub addresses: Vec<String>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// `pinns inspect --json`.
#[derive(Debug, Serialize)]
pub struct InspectDoc {
    pub schema: &'static str,
    pub command: &'static str,
    pub dir: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir_hex: Option<String>,
    pub name: String,
    pub age_seconds: Option<u64>,
    pub process_count: usize,
    pub processes: Vec<Process>,
    pub namespaces: Vec<Namespace>,
    pub user_maps: Option<UserMaps>,
    pub uts: Option<Uts>,
    pub interfaces: Option<Vec<Interface>>,
    pub warnings: Vec<String>,
}

pub fn inspect_doc(i: &Inspection) -> InspectDoc {
    let (dir, dir_hex) = path_text(&i.dir);
    InspectDoc {
        schema: SCHEMA,
        command: "inspect",
        dir,
        dir_hex,
        name: i.name.clone(),
        age_seconds: i.age_seconds,
        process_count: i.processes.len(),
        processes: i.processes.iter().map(process).collect(),
        namespaces: i
            .namespaces
            .iter()
            .map(|ns| Namespace {
                inode: ns.inode,
                host: ns.host,
                problem: ns.problem,
                owner_userns: ns.owner_userns,
                ..Namespace::new(ns.kind, &ns.path, ns.content)
            })
            .collect(),
        user_maps: i.user_maps.as_ref().map(|m| UserMaps {
            uid_map: id_ranges(&m.uid_map),
            gid_map: id_ranges(&m.gid_map),
        }),
        uts: i.uts.as_ref().map(|u| {
            let (hostname, hostname_hex) = text(&u.hostname);
            let (domainname, domainname_hex) = text(&u.domainname);
            Uts {
                hostname,
                hostname_hex,
                domainname,
                domainname_hex,
            }
        }),
        interfaces: i.interfaces.as_ref().map(|ifaces| {
            ifaces
                .iter()
                .map(|x| {
                    let (name, name_hex) = text(&x.name);
                    Interface {
                        name,
                        name_hex,
                        up: x.up,
                        loopback: x.loopback,
                        addresses: x.addresses.clone(),
                        rx_bytes: x.rx_bytes,
                        tx_bytes: x.tx_bytes,
                    }
                })
                .collect()
        }),
        warnings: i.warnings.clone(),
    }
}

fn process(p: &ProcessInfo) -> Process {
    let (comm, comm_hex) = text(&p.comm);
    let (argv, argv_hex) = texts(&p.argv);
    Process {
        pid: p.pid,
        comm,
        comm_hex,
        argv,
        argv_hex,
        namespaces: p.namespaces.iter().map(ToString::to_string).collect(),
        cpus_allowed: p.cpus_allowed.clone(),
        policy: p.policy.clone(),
        realtime_threads: p
            .realtime_threads
            .iter()
            .map(|t| {
                let (comm, comm_hex) = text(&t.comm);
                Thread {
                    tid: t.tid,
                    comm,
                    comm_hex,
                    policy: t.policy.clone(),
                    priority: t.priority,
                    cpus_allowed: t.cpus_allowed.clone(),
                }
            })
            .collect(),
        capabilities: p.capabilities.clone(),
    }
}

/// `/proc/<pid>/uid_map` lines: inside, outside, count.
fn id_ranges(map: &str) -> Vec<IdRange> {
    map.lines()
        .filter_map(|line| {
            let n: Vec<u64> = line
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            let [inside, outside, count] = n.as_slice() else {
                return None;
            };
            Some(IdRange {
                inside: *inside,
                outside: *outside,
                count: *count,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_id_maps() {
        let map = "         0     100000      65536\n      bad\n 1 2 3\n";
        assert_eq!(
            id_ranges(map),
            vec![
                IdRange {
                    inside: 0,
                    outside: 100000,
                    count: 65536
                },
                IdRange {
                    inside: 1,
                    outside: 2,
                    count: 3
                }
            ]
        );
    }
}
