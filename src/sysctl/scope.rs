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

/// (pattern components, scope)
const TABLE: &[(&[&str], Scope)] = &[
    // ipc/ipc_sysctl.c: every entry of ipc_sysctls but the no-op
    // auto_msgmni; the *_next_id ones exist with CONFIG_CHECKPOINT_RESTORE.
    (&["kernel", "shmmax"], IPC),
    (&["kernel", "shmall"], IPC),
    (&["kernel", "shmmni"], IPC),
    (&["kernel", "shm_rmid_forced"], IPC),
    (&["kernel", "msgmax"], IPC),
    (&["kernel", "msgmni"], IPC),
    (&["kernel", "msgmnb"], IPC),
    (&["kernel", "sem"], IPC),
    (&["kernel", "sem_next_id"], IPC),
    (&["kernel", "msg_next_id"], IPC),
    (&["kernel", "shm_next_id"], IPC),
    // ipc/mq_sysctl.c: the whole fs/mqueue directory.
    (&["fs", "mqueue", "*"], IPC),
    // kernel/utsname_sysctl.c: ostype, osrelease and version are read-only.
    (&["kernel", "hostname"], UTS),
    (&["kernel", "domainname"], UTS),
    // net/core/sysctl_net_core.c: netns_core_table is per namespace up to
    // wmem_max; the {r,w}mem_* after it are read-only copies of the host's
    // value. net_core_table is registered for init_net only.
    (&["net", "core", "rps_default_mask"], NET),
    (&["net", "core", "somaxconn"], NET),
    (&["net", "core", "optmem_max"], NET),
    (&["net", "core", "txrehash"], NET),
    (&["net", "core", "tstamp_allow_data"], NET),
    // net/xfrm/xfrm_sysctl.c hides these from non-initial user namespaces.
    (&["net", "core", "xfrm_acq_expires"], NetInitialUser),
    (&["net", "core", "xfrm_aevent_etime"], NetInitialUser),
    (&["net", "core", "xfrm_aevent_rseqth"], NetInitialUser),
    (&["net", "core", "xfrm_larval_drop"], NetInitialUser),
    (&["net", "core", "*"], Host),
    // net/ipv4/sysctl_net_ipv4.c: ipv4_table (init_net only), and the
    // data-less rows of ipv4_net_table, made read-only outside init_net.
    (&["net", "ipv4", "cipso_cache_bucket_size"], Host),
    (&["net", "ipv4", "cipso_cache_enable"], Host),
    (&["net", "ipv4", "cipso_rbm_optfmt"], Host),
    (&["net", "ipv4", "cipso_rbm_strictvalid"], Host),
    (&["net", "ipv4", "fib_sync_mem"], Host),
    (&["net", "ipv4", "inet_peer_maxttl"], Host),
    (&["net", "ipv4", "inet_peer_minttl"], Host),
    (&["net", "ipv4", "inet_peer_threshold"], Host),
    (&["net", "ipv4", "tcp_available_ulp"], Host),
    (&["net", "ipv4", "tcp_low_latency"], Host),
    (&["net", "ipv4", "tcp_max_orphans"], Host),
    (&["net", "ipv4", "tcp_mem"], Host),
    (&["net", "ipv4", "udp_mem"], Host),
    (&["net", "ipv4", "tcp_allowed_congestion_control"], Host),
    (
        &["net", "ipv4", "tcp_available_congestion_control"],
        ReadOnly,
    ),
    (&["net", "ipv4", "tcp_ehash_entries"], ReadOnly),
    (&["net", "ipv4", "udp_hash_entries"], ReadOnly),
    // net/ipv4/ip_fragment.c: ip4_frags_ctl_table is init_net only.
    (&["net", "ipv4", "ipfrag_secret_interval"], Host),
    // net/ipv4/route.c: ipv4_route_netns_table per namespace, the rest of
    // net/ipv4/route init_net only.
    (&["net", "ipv4", "route", "flush"], NET),
    (&["net", "ipv4", "route", "min_adv_mss"], NET),
    (&["net", "ipv4", "route", "min_pmtu"], NET),
    (&["net", "ipv4", "route", "mtu_expires"], NET),
    (&["net", "ipv4", "route", "*"], Host),
    // net/ipv4/devinet.c and net/ipv6/addrconf.c: per-device directories.
    (&["net", "ipv4", "conf", "all", "*"], NET),
    (&["net", "ipv4", "conf", "default", "*"], NET),
    (&["net", "ipv4", "conf", "lo", "*"], NET),
    (&["net", "ipv4", "conf", "*"], Interface),
    (&["net", "ipv6", "conf", "all", "*"], NET),
    (&["net", "ipv6", "conf", "default", "*"], NET),
    (&["net", "ipv6", "conf", "lo", "*"], NET),
    (&["net", "ipv6", "conf", "*"], Interface),
    // net/core/neighbour.c: "default" is the global neighbour table's,
    // registered from arp_init/ndisc_init for init_net only.
    (&["net", "ipv4", "neigh", "default", "*"], Host),
    (&["net", "ipv4", "neigh", "lo", "*"], NET),
    (&["net", "ipv4", "neigh", "*"], Interface),
    (&["net", "ipv6", "neigh", "default", "*"], Host),
    (&["net", "ipv6", "neigh", "lo", "*"], NET),
    (&["net", "ipv6", "neigh", "*"], Interface),
    // net/ipv6/sysctl_net_ipv6.c ipv6_rotable and net/ipv6/reassembly.c
    // ip6_frags_ctl_table: init_net only.
    (&["net", "ipv6", "calipso_cache_bucket_size"], Host),
    (&["net", "ipv6", "calipso_cache_enable"], Host),
    (&["net", "ipv6", "ip6frag_secret_interval"], Host),
    (&["net", "ipv6", "mld_max_msf"], Host),
    (&["net", "ipv6", "mld_qrv"], Host),
    // net/ipv6/route.c hides net/ipv6/route from non-initial user namespaces.
    (&["net", "ipv6", "route", "*"], NetInitialUser),
    // net/netfilter/nf_conntrack_standalone.c: outside init_net the limits
    // are read-only copies of one global value, and nf_hooks_lwtunnel is
    // writable everywhere but flips one global static key (which the kernel
    // refuses to turn off again). nf_ct_netfilter_table (net.nf_conntrack_max)
    // and nf_log_all_netns (net/netfilter/nf_log.c) are init_net only.
    (&["net", "netfilter", "nf_hooks_lwtunnel"], Host),
    (&["net", "netfilter", "nf_conntrack_max"], Host),
    (&["net", "netfilter", "nf_conntrack_expect_max"], Host),
    (&["net", "netfilter", "nf_conntrack_buckets"], Host),
    (&["net", "netfilter", "nf_conntrack_count"], ReadOnly),
    (&["net", "netfilter", "nf_flowtable_count_hw"], ReadOnly),
    (&["net", "netfilter", "nf_log_all_netns"], Host),
    (&["net", "nf_conntrack_max"], Host),
    (&["net", "mptcp", "available_path_managers"], ReadOnly),
    (&["net", "mptcp", "available_schedulers"], ReadOnly),
    // net/sctp/sysctl.c: sctp_table (memory limits) is init_net only.
    (&["net", "sctp", "sctp_mem"], Host),
    (&["net", "sctp", "sctp_rmem"], Host),
    (&["net", "sctp", "sctp_wmem"], Host),
    // Families whose whole table is registered for init_net only.
    (&["net", "appletalk", "*"], Host),
    (&["net", "ax25", "*"], Host),
    (&["net", "llc", "*"], Host),
    (&["net", "netrom", "*"], Host),
    (&["net", "phonet", "*"], Host),
    (&["net", "rds", "*"], Host),
    (&["net", "rose", "*"], Host),
    (&["net", "rxrpc", "*"], Host),
    (&["net", "tipc", "*"], Host),
    (&["net", "x25", "*"], Host),
    // Everything else under net/ is registered per network namespace.
    (&["net", "*"], NET),
];

/// The scope of a key given as components; `None` for anything outside
/// the table (host-wide: `vm.*`, the rest of `kernel.*`, ...).
pub fn scope_of(components: &[String]) -> Option<Scope> {
    TABLE
        .iter()
        .find(|(pattern, _)| matches(pattern, components))
        .map(|(_, scope)| *scope)
}

fn matches(pattern: &[&str], components: &[String]) -> bool {
    let Some((last, init)) = pattern.split_last() else {
        return false;
    };
    let fits = |p: &str, c: &String| p == "*" || p == c;
    if components.len() <= init.len() || !init.iter().zip(components).all(|(p, c)| fits(p, c)) {
        return false;
    }
    let rest = &components[init.len()..];
    match *last {
        // A trailing wildcard takes one or more components.
        "*" => true,
        literal => rest.len() == 1 && rest[0] == literal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(key: &str) -> Option<Scope> {
        let c: Vec<String> = key.split('.').map(str::to_string).collect();
        scope_of(&c)
    }

    #[test]
    fn no_row_is_shadowed_by_an_earlier_one() {
        for (i, (pattern, want)) in TABLE.iter().enumerate() {
            // A concrete key the row covers: its wildcards filled in.
            let key = pattern.join(".").replace('*', "x");
            let components: Vec<String> = key.split('.').map(str::to_string).collect();
            let first = TABLE.iter().position(|(p, _)| matches(p, &components));
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
