//! What a pinned namespace shows only from inside: the id maps of a user
//! namespace, the names of a UTS namespace, the interfaces of a network
//! namespace. Each is read by a forked child that joined the namespace and
//! sends the answer back as JSON (see the module docs of `inspect`).

use super::net::{merge_interfaces, parse_if_inet6, parse_net_dev};
use super::{Interface, UserMaps, Uts};
use crate::error::{Error, Result};
use crate::sys::{self, process};
use nix::sched::CloneFlags;
use serde::{Deserialize, Serialize};
use std::os::fd::BorrowedFd;
use std::path::Path;

pub(super) fn user_maps(fd: BorrowedFd<'_>, host: bool) -> Result<UserMaps> {
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

pub(super) fn uts(fd: BorrowedFd<'_>) -> Result<Uts> {
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

pub(super) fn interfaces(fd: BorrowedFd<'_>) -> Result<Vec<Interface>> {
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
