//! Which namespaces a pod's containers share: each other's, not another
//! pod's, the host's for host-network/host-IPC pods, and a mapped user
//! namespace that owns the pod's pins.

use super::{assert_ns_dir_empty, ctr_ns, ctr_sysctl, host_ns, pin, start_default};
use crate::common;
use crate::common::crio;
use common::ns_inode;
use crio::{owning_userns_inode, Ctr, Pod};

#[test]
fn containers_of_a_pod_share_ipc_net_uts_and_another_pod_does_not() {
    let Some(crio) = start_default() else {
        return;
    };
    let a = Pod::new("share-a").hostname("share-a");
    let b = Pod::new("share-b").hostname("share-b");
    let a_id = crio.runp(&a);
    let b_id = crio.runp(&b);
    let a1 = crio.start_ctr(&a_id, &a, &Ctr::new("a1"));
    let a2 = crio.start_ctr(&a_id, &a, &Ctr::new("a2"));
    let b1 = crio.start_ctr(&b_id, &b, &Ctr::new("b1"));
    for (kind, oci) in [("net", "network"), ("ipc", "ipc"), ("uts", "uts")] {
        let (x1, x2, y1) = (
            ctr_ns(&crio, &a1, kind),
            ctr_ns(&crio, &a2, kind),
            ctr_ns(&crio, &b1, kind),
        );
        assert_eq!(x1, x2, "{kind}: both containers of one pod share it");
        assert_ne!(x1, y1, "{kind}: another pod has its own");
        assert_ne!(x1, host_ns(kind), "{kind}: not the host's");
        assert_eq!(x1, ns_inode(pin(&crio, &a_id, oci)), "{kind}: pod a's pin");
        assert_eq!(y1, ns_inode(pin(&crio, &b_id, oci)), "{kind}: pod b's pin");
    }
    assert_eq!(crio.exec(&a2, &["hostname"]), "share-a");
    assert_eq!(crio.exec(&b1, &["hostname"]), "share-b");
    // An IPC object made in one container is seen by its pod mate only.
    crio.exec(&a1, &["sh", "-c", "echo shared > /dev/shm/e2e"]);
    assert_eq!(crio.exec(&a2, &["cat", "/dev/shm/e2e"]), "shared");
    crio.remove_pod(&a_id);
    crio.remove_pod(&b_id);
    assert_ns_dir_empty(&crio);
}

#[test]
fn host_network_and_host_ipc_pods_use_the_hosts() {
    let Some(crio) = start_default() else {
        return;
    };
    let net = Pod::new("hostnet")
        .hostname("e2e-hostnet")
        .host_network()
        .sysctl("kernel.shm_rmid_forced", "1");
    let ipc = Pod::new("hostipc").host_ipc();
    let net_id = crio.runp(&net);
    let ipc_id = crio.runp(&ipc);
    let nc = crio.start_ctr(&net_id, &net, &Ctr::new("hostnet-c"));
    let ic = crio.start_ctr(&ipc_id, &ipc, &Ctr::new("hostipc-c"));
    assert_eq!(ctr_ns(&crio, &nc, "net"), host_ns("net"));
    assert_ne!(ctr_ns(&crio, &nc, "ipc"), host_ns("ipc"));
    assert_ne!(ctr_ns(&crio, &nc, "uts"), host_ns("uts"));
    assert_eq!(ctr_sysctl(&crio, &nc, "kernel.shm_rmid_forced"), "1");
    assert_eq!(ctr_ns(&crio, &ic, "ipc"), host_ns("ipc"));
    assert_ne!(ctr_ns(&crio, &ic, "net"), host_ns("net"));
    crio.remove_pod(&net_id);
    crio.remove_pod(&ipc_id);
    assert_ns_dir_empty(&crio);
}

#[test]
fn user_namespace_pod_is_mapped_owns_its_pins_and_has_its_sysctls() {
    let Some(crio) = start_default() else {
        return;
    };
    let pod = Pod::new("userns")
        .hostname("e2e-userns")
        .userns(100000, 65536)
        .sysctl("kernel.shm_rmid_forced", "1")
        .sysctl("net.ipv4.tcp_keepalive_time", "600")
        .sysctl("kernel.msgmax", "16384")
        // CRI-O 1.31+ narrows this to the mapped gids (0 65535) itself.
        .sysctl("net.ipv4.ping_group_range", "0 2147483647");
    let id = crio.runp(&pod);
    let ctr = crio.start_ctr(&id, &pod, &Ctr::new("userns-c"));
    let uid_map = crio.exec(&ctr, &["cat", "/proc/self/uid_map"]);
    let gid_map = crio.exec(&ctr, &["cat", "/proc/self/gid_map"]);
    for map in [&uid_map, &gid_map] {
        let fields: Vec<&str> = map.split_whitespace().collect();
        assert_eq!(fields, ["0", "100000", "65536"], "map inside: {map:?}");
    }
    let user = pin(&crio, &id, "user");
    assert_eq!(ctr_ns(&crio, &ctr, "user"), ns_inode(&user));
    for (kind, oci) in [("net", "network"), ("ipc", "ipc"), ("uts", "uts")] {
        let p = pin(&crio, &id, oci);
        assert_eq!(ctr_ns(&crio, &ctr, kind), ns_inode(&p), "{kind} pin joined");
        assert_eq!(
            owning_userns_inode(&p),
            ns_inode(&user),
            "{kind} pin owned by the pod's user namespace"
        );
    }
    assert_eq!(crio.exec(&ctr, &["hostname"]), "e2e-userns");
    assert_eq!(ctr_sysctl(&crio, &ctr, "kernel.shm_rmid_forced"), "1");
    assert_eq!(
        ctr_sysctl(&crio, &ctr, "net.ipv4.tcp_keepalive_time"),
        "600"
    );
    assert_eq!(ctr_sysctl(&crio, &ctr, "kernel.msgmax"), "16384");
    assert_eq!(
        ctr_sysctl(&crio, &ctr, "net.ipv4.ping_group_range"),
        "0 65535"
    );
    crio.remove_pod(&id);
    assert_ns_dir_empty(&crio);
}
