//! `DIR/mntns`: the kernel refuses to bind a mount namespace file where the
//! mount would propagate (a namespace could end up containing itself), so
//! before the first mount namespace is pinned there, `DIR/mntns` becomes a
//! mount of its own, unbindable (and so private). Everything happens on the
//! descriptor of the `DIR/mntns` we opened, and each change is journalled:
//! a failed pin takes its bind mount away again, or gives an existing
//! mount back its peer group and master.

use super::undo::{Journal, Propagation, Step};
use super::TypeDir;
use crate::error::{Error, Result};
use crate::sys::{fdmount, mountinfo};
use nix::mount::MsFlags;
use std::os::fd::AsFd;
use std::rc::Rc;

/// Makes the opened `DIR/mntns` an unbindable mount of its own and returns
/// the directory to pin mount namespaces into (the new mount, if one was
/// made).
pub fn prepare(dir: TypeDir, journal: &mut Journal) -> Result<Rc<TypeDir>> {
    let (id, root) = fdmount::mount_id(dir.fd(), &dir.path)?;
    if !root {
        let clone = fdmount::clone_mount(dir.fd(), &dir.path)?;
        fdmount::attach_mount(clone.as_fd(), dir.fd(), &dir.path)?;
        let mount = Rc::new(TypeDir::new(dir.kind, dir.path.clone(), clone));
        journal.push(Step::RemoveMount {
            mount: mount.clone(),
        });
        make_unbindable(&mount)?;
        return Ok(mount);
    }
    let mounts = mountinfo::read_own()?;
    let entry = mountinfo::by_id(&mounts, id).ok_or_else(|| {
        Error::Refused(format!(
            "{}: mount {id} is not in /proc/self/mountinfo; refusing to change it",
            dir.path.display()
        ))
    })?;
    let dir = Rc::new(dir);
    if entry.is_unbindable() {
        return Ok(dir);
    }
    let previous = if entry.propagates() {
        let anchor = fdmount::clone_mount(dir.fd(), &dir.path)?;
        Propagation::Propagating { anchor }
    } else {
        Propagation::Private
    };
    journal.push(Step::RestorePropagation {
        mount: dir.clone(),
        previous,
    });
    make_unbindable(&dir)?;
    Ok(dir)
}

fn make_unbindable(mount: &TypeDir) -> Result<()> {
    fdmount::set_propagation_fd(mount.fd(), MsFlags::MS_UNBINDABLE, &mount.path)
}
