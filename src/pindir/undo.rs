//! The undo journal of a pin: each change is recorded as it is made and
//! undone in reverse order when the journal is dropped without
//! `commit_at_exit`, so an error (`?`) rolls back on its own.
//!
//! Every step holds the descriptors it needs and the identity of what it
//! made (the inode of the file, the namespace of the mount), never a path:
//! the undo acts on the directory we opened, wherever it is now, and only
//! on our own inodes. A step that cannot confirm that the object is still
//! ours leaves it alone (at worst an empty file inside a directory we
//! opened, which `pinns cleanup` removes). Directories are never undone:
//! concurrent pins share them (see the module docs of `pindir`).

use super::TypeDir;
use crate::error::Result;
use crate::name::PinName;
use crate::sys::{fdmount, files, mountinfo};
use nix::mount::MsFlags;
use std::any::Any;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::rc::Rc;

pub enum Step {
    /// A pin file this call created; `file` is its descriptor from `O_CREAT`.
    RemoveFile {
        dir: Rc<TypeDir>,
        name: PinName,
        file: OwnedFd,
    },
    /// A namespace this call mounted on a pin; `source` is the namespace
    /// file it came from (alive as long as the journal: see [`Journal::keep`]).
    Detach {
        dir: Rc<TypeDir>,
        name: PinName,
        source: PathBuf,
    },
    /// A bind mount of `DIR/mntns` onto itself that this call attached.
    RemoveMount { mount: Rc<TypeDir> },
    /// The propagation of an existing `DIR/mntns` mount that this call changed.
    RestorePropagation {
        mount: Rc<TypeDir>,
        previous: Propagation,
    },
    /// Something that must live until the steps before it are undone (the
    /// process holding the namespaces, the directory lock): dropped in turn.
    Keep(Box<dyn Any>),
}

impl Step {
    /// Best effort: an undo runs because something already failed, and the
    /// first error is the one worth reporting.
    fn undo(self) {
        match self {
            Step::RemoveFile { dir, name, file } => {
                if let Ok(st) = files::stat_fd(file.as_fd(), &dir.pin_path(&name)) {
                    let _ = dir.remove_leftover(&name, Some(st.st_ino));
                }
            }
            Step::Detach { dir, name, source } => {
                // Only the namespace we mounted: never one stacked or moved
                // there by someone else.
                if let Ok(st) = nix::sys::stat::stat(&source) {
                    let _ = dir.detach(&name, Some(st.st_ino));
                }
            }
            Step::RemoveMount { mount } => {
                let Ok((id, _)) = fdmount::mount_id(mount.fd(), &mount.path) else {
                    return;
                };
                // Left alone if anything was mounted on it meanwhile.
                if let Ok(mounts) = mountinfo::read_own() {
                    if !mountinfo::has_children(&mounts, id) {
                        let _ = fdmount::detach_fd(mount.fd(), &mount.path);
                    }
                }
            }
            Step::RestorePropagation { mount, previous } => {
                let _ = previous.restore(&mount);
            }
            Step::Keep(value) => drop(value),
        }
    }
}

/// How an existing `DIR/mntns` mount propagated before we changed it.
pub enum Propagation {
    /// Neither shared nor a slave.
    Private,
    /// In a peer group or under a master: `anchor` is a detached copy taken
    /// before the change, still in that group and under that master, from
    /// which the mount rejoins them (`MOVE_MOUNT_SET_GROUP`).
    Propagating { anchor: OwnedFd },
}

impl Propagation {
    pub fn restore(&self, mount: &TypeDir) -> Result<()> {
        fdmount::set_propagation_fd(mount.fd(), MsFlags::MS_PRIVATE, &mount.path)?;
        match self {
            Propagation::Private => Ok(()),
            Propagation::Propagating { anchor } => {
                fdmount::join_group_of(anchor.as_fd(), mount.fd(), &mount.path)
            }
        }
    }
}

#[derive(Default)]
#[must_use = "a Journal undoes everything when dropped unless committed"]
pub struct Journal {
    steps: Vec<Step>,
}

impl Journal {
    pub fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    /// Keeps `value` alive until every step recorded after it is undone.
    pub fn keep<T: Any>(&mut self, value: T) {
        self.steps.push(Step::Keep(Box::new(value)));
    }

    /// Keeps every recorded change, in a process that exits next: the
    /// descriptors the steps hold are left for the kernel to close at exit
    /// (a pin saves six close(2) calls, ~4 us); kept values are dropped as
    /// usual (a helper child is killed and reaped, the lock released).
    pub fn commit_at_exit(mut self) {
        for step in std::mem::take(&mut self.steps) {
            match step {
                Step::Keep(value) => drop(value),
                step => std::mem::forget(step),
            }
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        while let Some(step) = self.steps.pop() {
            step.undo();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ns::NsKind;
    use crate::pindir::PinDir;
    use std::cell::RefCell;

    struct Note(&'static str, Rc<RefCell<Vec<&'static str>>>);
    impl Drop for Note {
        fn drop(&mut self) {
            self.1.borrow_mut().push(self.0);
        }
    }

    #[test]
    fn undoes_in_reverse_unless_committed() {
        let log = Rc::new(RefCell::new(Vec::new()));
        {
            let mut j = Journal::default();
            j.keep(Note("first", log.clone()));
            j.keep(Note("second", log.clone()));
        }
        assert_eq!(*log.borrow(), vec!["second", "first"]);
        log.borrow_mut().clear();
        let mut j = Journal::default();
        j.keep(Note("kept", log.clone()));
        j.commit_at_exit();
        assert_eq!(
            *log.borrow(),
            vec!["kept"],
            "commit releases without undoing"
        );
    }

    #[test]
    fn commit_at_exit_keeps_the_changes_and_drops_what_was_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = PinDir::create(tmp.path()).unwrap();
        let td = Rc::new(dir.create_type(NsKind::Net).unwrap());
        let name = PinName::parse("p").unwrap();
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut j = Journal::default();
        j.keep(Note("holder", log.clone()));
        j.push(Step::RemoveFile {
            dir: td.clone(),
            name: name.clone(),
            file: td.create_file(&name).unwrap(),
        });
        j.commit_at_exit();
        assert_eq!(*log.borrow(), vec!["holder"]);
        assert!(td.pin_path(&name).exists(), "the pin file was undone");
    }

    #[test]
    fn removes_only_the_file_it_created() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = PinDir::create(tmp.path()).unwrap();
        let td = Rc::new(dir.create_type(NsKind::Net).unwrap());
        let name = PinName::parse("p").unwrap();
        let path = td.pin_path(&name);

        let file = td.create_file(&name).unwrap();
        drop(Journal {
            steps: vec![Step::RemoveFile {
                dir: td.clone(),
                name: name.clone(),
                file,
            }],
        });
        assert!(!path.exists(), "our own empty file is removed");

        // Someone replaced our file by another empty one: not ours, kept.
        let file = td.create_file(&name).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "").unwrap();
        drop(Journal {
            steps: vec![Step::RemoveFile {
                dir: td.clone(),
                name: name.clone(),
                file,
            }],
        });
        assert!(path.exists(), "a file we did not create is left alone");
    }

    /// Real kernel: the undo of a mount detaches the namespace it mounted,
    /// found through the type directory's descriptor after the directory
    /// was renamed and its path replaced by a symlink to another mount.
    #[test]
    fn detaches_its_own_mount_wherever_the_directory_went() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = PinDir::create(&tmp.path().join("pins")).unwrap();
        let td = Rc::new(dir.create_type(NsKind::Net).unwrap());
        let name = PinName::parse("p").unwrap();
        let source = PathBuf::from("/proc/self/ns/net");
        let file = td.create_file(&name).unwrap();
        td.mount_namespace(&source, file.as_fd(), &name).unwrap();
        let mut j = Journal::default();
        j.push(Step::RemoveFile {
            dir: td.clone(),
            name: name.clone(),
            file,
        });
        j.push(Step::Detach {
            dir: td.clone(),
            name: name.clone(),
            source,
        });

        // Elsewhere: the same name holding a mount of another namespace.
        let other = tmp.path().join("other");
        std::fs::create_dir(&other).unwrap();
        let decoy = other.join("p");
        std::fs::write(&decoy, "").unwrap();
        let other_fd = files::open_dir_at(None, &other.join("."), &other).unwrap();
        let p = std::path::Path::new("p");
        let decoy_fd = files::open_path_at(other_fd.as_fd(), &other, p)
            .unwrap()
            .unwrap();
        let ipc = std::path::Path::new("/proc/self/ns/ipc");
        fdmount::bind_onto_fd(ipc, decoy_fd.as_fd(), &decoy).unwrap();
        let moved = tmp.path().join("pins/netns.moved");
        std::fs::rename(tmp.path().join("pins/netns"), &moved).unwrap();
        std::os::unix::fs::symlink(&other, tmp.path().join("pins/netns")).unwrap();

        drop(j);
        assert!(
            !moved.join("p").exists(),
            "our pin is undone in the moved directory"
        );
        let mounts = mountinfo::read_own().unwrap();
        assert!(
            mounts.iter().any(|m| m.mount_point == decoy),
            "the decoy is still mounted"
        );
        nix::mount::umount2(&decoy, nix::mount::MntFlags::MNT_DETACH).unwrap();
    }
}
