//! Which namespace holds each sysctl key: one table, read off the kernel's
//! sysctl registrations.
//!
//! It follows Linux 6.18: `ipc/ipc_sysctl.c`, `ipc/mq_sysctl.c`,
//! `kernel/utsname_sysctl.c`, and every `register_net_sysctl*` under `net/`
//! (`core/sysctl_net_core.c`, `ipv4/sysctl_net_ipv4.c`, `ipv4/route.c`,
//! `ipv4/devinet.c`, `core/neighbour.c`, `ipv6/sysctl_net_ipv6.c`,
//! `ipv6/route.c`, `netfilter/nf_conntrack_standalone.c`, `netfilter/nf_log.c`,
//! `unix/sysctl_net_unix.c`, `sctp/sysctl.c`, and the protocol families that
//! register for the initial network namespace only). The net rows were
//! checked against that kernel by listing `/proc/sys/net` from a new network
//! namespace (plain and owned by a new user namespace) beside the host's;
//! `docs/sysctls.md` says how to refresh them.
//!
//! Rows are tried in order and the first match wins, so a specific key comes
//! before the wildcard that covers it. In a pattern `*` stands for one
//! component, and a trailing `*` for one or more.

use crate::bytes;
use crate::ns::NsKind;

/// Where a key lives, as far as a pod is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One value per namespace of this kind.
    Ns(NsKind),
    /// Per network namespace, but the kernel registers it only in network
    /// namespaces owned by the initial user namespace.
    NetInitialUser,
    /// One host-wide setting: registered for the initial namespace only, or
    /// shown in every namespace while the value behind it is global.
    Host,
    /// Read-only everywhere.
    ReadOnly,
    /// Below a network interface's directory: a new network namespace has
    /// only `lo` (and the `all`/`default` templates of `conf`).
    Interface,
}

use Scope::{Host, Interface, NetInitialUser, ReadOnly};
const IPC: Scope = Scope::Ns(NsKind::Ipc);
const NET: Scope = Scope::Ns(NsKind::Net);
const UTS: Scope = Scope::Ns(NsKind::Uts);

/// One row per line: a dotted pattern, a blank, the scope's word. Text, not
/// a table of pointers, so that the fast pin path (`crate::fastpin`), which
/// runs before the image's relocations are applied, reads the same rows.
const TABLE: &str = concat!(
    // ipc/ipc_sysctl.c: every entry of ipc_sysctls but the no-op
    // auto_msgmni; the *_next_id ones exist with CONFIG_CHECKPOINT_RESTORE.
    "kernel.shmmax ipc\n",
    "kernel.shmall ipc\n",
    "kernel.shmmni ipc\n",
    "kernel.shm_rmid_forced ipc\n",
    "kernel.msgmax ipc\n",
    "kernel.msgmni ipc\n",
    "kernel.msgmnb ipc\n",
    "kernel.sem ipc\n",
    "kernel.sem_next_id ipc\n",
    "kernel.msg_next_id ipc\n",
    "kernel.shm_next_id ipc\n",
    // ipc/mq_sysctl.c: the whole fs/mqueue directory.
    "fs.mqueue.* ipc\n",
    // kernel/utsname_sysctl.c: ostype, osrelease and version are read-only.
    "kernel.hostname uts\n",
    "kernel.domainname uts\n",
    // net/core/sysctl_net_core.c: netns_core_table is per namespace up to
    // wmem_max; the {r,w}mem_* after it are read-only copies of the host's
    // value. net_core_table is registered for init_net only.
    "net.core.rps_default_mask net\n",
    "net.core.somaxconn net\n",
    "net.core.optmem_max net\n",
    "net.core.txrehash net\n",
    "net.core.tstamp_allow_data net\n",
    // net/xfrm/xfrm_sysctl.c hides these from non-initial user namespaces.
    "net.core.xfrm_acq_expires net-initial-user\n",
    "net.core.xfrm_aevent_etime net-initial-user\n",
    "net.core.xfrm_aevent_rseqth net-initial-user\n",
    "net.core.xfrm_larval_drop net-initial-user\n",
    "net.core.* host\n",
    // net/ipv4/sysctl_net_ipv4.c: ipv4_table (init_net only), and the
    // data-less rows of ipv4_net_table, made read-only outside init_net.
    "net.ipv4.cipso_cache_bucket_size host\n",
    "net.ipv4.cipso_cache_enable host\n",
    "net.ipv4.cipso_rbm_optfmt host\n",
    "net.ipv4.cipso_rbm_strictvalid host\n",
    "net.ipv4.fib_sync_mem host\n",
    "net.ipv4.inet_peer_maxttl host\n",
    "net.ipv4.inet_peer_minttl host\n",
    "net.ipv4.inet_peer_threshold host\n",
    "net.ipv4.tcp_available_ulp host\n",
    "net.ipv4.tcp_low_latency host\n",
    "net.ipv4.tcp_max_orphans host\n",
    "net.ipv4.tcp_mem host\n",
    "net.ipv4.udp_mem host\n",
    "net.ipv4.tcp_allowed_congestion_control host\n",
    "net.ipv4.tcp_available_congestion_control read-only\n",
    "net.ipv4.tcp_ehash_entries read-only\n",
    "net.ipv4.udp_hash_entries read-only\n",
    // net/ipv4/ip_fragment.c: ip4_frags_ctl_table is init_net only.
    "net.ipv4.ipfrag_secret_interval host\n",
    // net/ipv4/route.c: ipv4_route_netns_table per namespace, the rest of
    // net/ipv4/route init_net only.
    "net.ipv4.route.flush net\n",
    "net.ipv4.route.min_adv_mss net\n",
    "net.ipv4.route.min_pmtu net\n",
    "net.ipv4.route.mtu_expires net\n",
    "net.ipv4.route.* host\n",
    // net/ipv4/devinet.c and net/ipv6/addrconf.c: per-device directories.
    "net.ipv4.conf.all.* net\n",
    "net.ipv4.conf.default.* net\n",
    "net.ipv4.conf.lo.* net\n",
    "net.ipv4.conf.* interface\n",
    "net.ipv6.conf.all.* net\n",
    "net.ipv6.conf.default.* net\n",
    "net.ipv6.conf.lo.* net\n",
    "net.ipv6.conf.* interface\n",
    // net/core/neighbour.c: "default" is the global neighbour table's,
    // registered from arp_init/ndisc_init for init_net only.
    "net.ipv4.neigh.default.* host\n",
    "net.ipv4.neigh.lo.* net\n",
    "net.ipv4.neigh.* interface\n",
    "net.ipv6.neigh.default.* host\n",
    "net.ipv6.neigh.lo.* net\n",
    "net.ipv6.neigh.* interface\n",
    // net/ipv6/sysctl_net_ipv6.c ipv6_rotable and net/ipv6/reassembly.c
    // ip6_frags_ctl_table: init_net only.
    "net.ipv6.calipso_cache_bucket_size host\n",
    "net.ipv6.calipso_cache_enable host\n",
    "net.ipv6.ip6frag_secret_interval host\n",
    "net.ipv6.mld_max_msf host\n",
    "net.ipv6.mld_qrv host\n",
    // net/ipv6/route.c hides net/ipv6/route from non-initial user namespaces.
    "net.ipv6.route.* net-initial-user\n",
    // net/netfilter/nf_conntrack_standalone.c: outside init_net the limits
    // are read-only copies of one global value, and nf_hooks_lwtunnel is
    // writable everywhere but flips one global static key (which the kernel
    // refuses to turn off again). nf_ct_netfilter_table (net.nf_conntrack_max)
    // and nf_log_all_netns (net/netfilter/nf_log.c) are init_net only.
    "net.netfilter.nf_hooks_lwtunnel host\n",
    "net.netfilter.nf_conntrack_max host\n",
    "net.netfilter.nf_conntrack_expect_max host\n",
    "net.netfilter.nf_conntrack_buckets host\n",
    "net.netfilter.nf_conntrack_count read-only\n",
    "net.netfilter.nf_flowtable_count_hw read-only\n",
    "net.netfilter.nf_log_all_netns host\n",
    "net.nf_conntrack_max host\n",
    "net.mptcp.available_path_managers read-only\n",
    "net.mptcp.available_schedulers read-only\n",
    // net/sctp/sysctl.c: sctp_table (memory limits) is init_net only.
    "net.sctp.sctp_mem host\n",
    "net.sctp.sctp_rmem host\n",
    "net.sctp.sctp_wmem host\n",
    // Families whose whole table is registered for init_net only.
    "net.appletalk.* host\n",
    "net.ax25.* host\n",
    "net.llc.* host\n",
    "net.netrom.* host\n",
    "net.phonet.* host\n",
    "net.rds.* host\n",
    "net.rose.* host\n",
    "net.rxrpc.* host\n",
    "net.tipc.* host\n",
    "net.x25.* host\n",
    // Everything else under net/ is registered per network namespace.
    "net.* net\n",
);

/// The scope of a key given as its components; `None` for anything outside
/// the table (host-wide: `vm.*`, the rest of `kernel.*`, ...).
pub fn scope_of(components: &[String]) -> Option<Scope> {
    scope_of_parts(components.iter().map(|c| c.as_bytes()))
}

/// [`scope_of`] for components as bytes, in code that cannot allocate.
pub fn scope_of_parts<'a>(components: impl Iterator<Item = &'a [u8]> + Clone) -> Option<Scope> {
    bytes::parts(TABLE.as_bytes(), b'\n')
        .filter_map(row)
        .find(|(pattern, _)| matches(pattern, components.clone()))
        .map(|(_, scope)| scope)
}

/// A row of [`TABLE`]: its pattern and scope (`None` for the empty line
/// after the last row).
fn row(line: &[u8]) -> Option<(&[u8], Scope)> {
    let (pattern, word) = bytes::split_once(line, b' ')?;
    let is = |name: &[u8]| bytes::eq(word, name);
    // An if-chain, not a table of names: see TABLE.
    let scope = if is(b"ipc") {
        IPC
    } else if is(b"net") {
        NET
    } else if is(b"uts") {
        UTS
    } else if is(b"net-initial-user") {
        NetInitialUser
    } else if is(b"host") {
        Host
    } else if is(b"read-only") {
        ReadOnly
    } else if is(b"interface") {
        Interface
    } else {
        return None;
    };
    Some((pattern, scope))
}

/// Whether the components fit the pattern: `*` stands for one component,
/// and a trailing `*` for one or more.
fn matches<'a>(pattern: &[u8], mut components: impl Iterator<Item = &'a [u8]>) -> bool {
    let mut parts = bytes::parts(pattern, b'.').peekable();
    while let Some(part) = parts.next() {
        let Some(component) = components.next() else {
            return false;
        };
        let last = parts.peek().is_none();
        let wildcard = bytes::eq(part, b"*");
        if last && wildcard {
            return true;
        }
        if !wildcard && !bytes::eq(part, component) {
            return false;
        }
        if last {
            return components.next().is_none();
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(key: &str) -> Option<Scope> {
        let c: Vec<String> = key.split('.').map(str::to_string).collect();
        scope_of(&c)
    }

    fn rows() -> Vec<(String, Scope)> {
        bytes::parts(TABLE.as_bytes(), b'\n')
            .filter_map(row)
            .map(|(p, scope)| (String::from_utf8(p.to_vec()).unwrap(), scope))
            .collect()
    }

    #[test]
    fn every_line_is_a_row() {
        let lines = TABLE.lines().count();
        assert!(lines > 80, "{lines}");
        assert_eq!(
            rows().len(),
            lines,
            "a line that is no row is never matched"
        );
    }

    #[test]
    fn no_row_is_shadowed_by_an_earlier_one() {
        let rows = rows();
        for (i, (pattern, want)) in rows.iter().enumerate() {
            // A concrete key the row covers: its wildcards filled in.
            let key = pattern.replace('*', "x");
            let first = rows
                .iter()
                .position(|(p, _)| matches(p.as_bytes(), key.split('.').map(str::as_bytes)));
            assert_eq!(first, Some(i), "row {key} is shadowed");
            assert_eq!(scope(&key), Some(*want));
        }
    }

    #[test]
    fn ipc_uts_and_net_keys() {
        for key in [
            "kernel.shm_next_id",
            "kernel.msg_next_id",
            "kernel.sem_next_id",
            "kernel.shmmax",
            "kernel.msgmnb",
            "fs.mqueue.msg_max",
            "fs.mqueue.queues_max",
        ] {
            assert_eq!(scope(key), Some(IPC), "{key}");
        }
        assert_eq!(scope("kernel.hostname"), Some(UTS));
        assert_eq!(scope("net.ipv4.ip_forward"), Some(NET));
        assert_eq!(scope("net.ipv4.conf.all.forwarding"), Some(NET));
        assert_eq!(scope("net.ipv6.neigh.lo.retrans_time_ms"), Some(NET));
        assert_eq!(scope("net.unix.max_dgram_qlen"), Some(NET));
        assert_eq!(scope("net.core.somaxconn"), Some(NET));
    }

    #[test]
    fn host_wide_keys() {
        for key in [
            "net.netfilter.nf_hooks_lwtunnel",
            "net.core.rmem_max",
            "net.core.netdev_max_backlog",
            "net.ipv4.tcp_mem",
            "net.ipv4.route.gc_thresh",
            "net.ipv4.neigh.default.gc_thresh3",
            "net.nf_conntrack_max",
            "net.netfilter.nf_conntrack_max",
            "net.tipc.named_timeout",
        ] {
            assert_eq!(scope(key), Some(Host), "{key}");
        }
        for key in [
            "vm.swappiness",
            "kernel.pid_max",
            "kernel.auto_msgmni",
            "fs.mqueue",
        ] {
            assert_eq!(scope(key), None, "{key}");
        }
        assert_eq!(scope("net.ipv4.conf.eth0.forwarding"), Some(Interface));
        assert_eq!(scope("net.ipv6.route.gc_thresh"), Some(NetInitialUser));
        assert_eq!(
            scope("net.ipv4.tcp_available_congestion_control"),
            Some(ReadOnly)
        );
        // A wildcard in the middle takes exactly one component.
        assert_eq!(scope("net.ipv4.neigh.lo"), Some(Interface));
    }
}
