//! Joining the opened namespaces, in the order the kernel's rules on
//! user namespaces need.

use super::Opened;
use crate::error::Result;
use crate::ns::NsKind;
use crate::sys::{self, process};
use std::os::fd::AsFd;

/// Joins every target. See [`join_order`].
pub(super) fn join(targets: &[Opened]) -> Result<()> {
    let user = targets.iter().find(|t| t.kind == NsKind::User);
    let mut owned = Vec::new();
    for t in targets {
        let by_user = match user {
            Some(u) if t.kind != NsKind::User => {
                sys::namespace::owner_userns_inode(t.file.as_fd(), &t.path)? == u.inode
            }
            _ => false,
        };
        owned.push((t.kind, by_user));
    }
    for i in join_order(&owned) {
        let t = &targets[i];
        sys::namespace::setns(t.file.as_fd(), t.kind.clone_flag(), &t.path)?;
        if t.kind == NsKind::User {
            // As root of the pod's user namespace, like its own processes.
            process::become_namespace_root()?;
        }
    }
    Ok(())
}

/// The order of `setns` calls, as indices into `targets` (given in `NsKind`
/// order, each paired with "owned by the joined user namespace").
///
/// Joining a user namespace gives all capabilities *in it* and none outside,
/// so namespaces it does not own (the host's cgroup namespace, say) are
/// joined first, while we still have the host's capabilities; then the user
/// namespace; then the namespaces it owns, which need its capabilities. Each
/// group keeps the `NsKind` order, so the mount namespace is last in its group.
fn join_order(targets: &[(NsKind, bool)]) -> Vec<usize> {
    let pick = |want: &dyn Fn(NsKind, bool) -> bool| -> Vec<usize> {
        (0..targets.len())
            .filter(|&i| want(targets[i].0, targets[i].1))
            .collect()
    };
    let has_user = targets.iter().any(|(k, _)| *k == NsKind::User);
    if !has_user {
        return (0..targets.len()).collect();
    }
    let mut order = pick(&|k, owned| k != NsKind::User && !owned);
    order.extend(pick(&|k, _| k == NsKind::User));
    order.extend(pick(&|k, owned| k != NsKind::User && owned));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_user_namespace_the_order_is_the_table_order() {
        let t = [
            (NsKind::Ipc, false),
            (NsKind::Net, false),
            (NsKind::Mnt, false),
        ];
        assert_eq!(join_order(&t), vec![0, 1, 2]);
    }

    #[test]
    fn user_namespace_first_then_what_it_owns_mount_last() {
        let t = [
            (NsKind::User, false),
            (NsKind::Ipc, true),
            (NsKind::Uts, true),
            (NsKind::Net, true),
            (NsKind::Mnt, true),
        ];
        assert_eq!(join_order(&t), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn namespaces_the_user_namespace_does_not_own_go_before_it() {
        let t = [
            (NsKind::User, false),
            (NsKind::Cgroup, false),
            (NsKind::Net, true),
            (NsKind::Pid, false),
            (NsKind::Mnt, true),
        ];
        let order: Vec<NsKind> = join_order(&t).into_iter().map(|i| t[i].0).collect();
        assert_eq!(
            order,
            vec![
                NsKind::Cgroup,
                NsKind::Pid,
                NsKind::User,
                NsKind::Net,
                NsKind::Mnt
            ]
        );
    }
}
