//! `pinns -d DIR -f NAME ...`: create (or take the caller's) namespaces, apply
//! the pod's sysctls inside them, and bind-mount each onto
//! `DIR/<type>ns/NAME` (through `pindir`). All or nothing: every change is
//! journalled in a [`Journal`] that undoes itself unless the whole pin
//! succeeded.
//!
//! The data path reads down: argv -> [`PinPlan`] (`plan`, touches nothing)
//! -> [`pin`] here: checks of the targets, the namespaces and their sysctls
//! (`holder`), the pin directories, the pins.

mod holder;
mod plan;

pub use plan::{IdMaps, PinPlan, PinRequest, Propagation, Source};

use crate::error::{Error, Result};
use crate::ns::NsKind;
use crate::pindir::undo::{Journal, Step};
use crate::pindir::{mntns, Content, PinDir, Problem, TypeDir};
use crate::sys;
use crate::sysctl_write::ProcSys;
use holder::NsHolder;
use nix::errno::Errno;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Pins everything the plan asks for, or nothing.
///
/// Order: read-only checks of every target (a refusal changes nothing);
/// the namespaces and their sysctls (a sysctl the kernel refuses at write
/// time then leaves nothing behind, not even a directory); DIR and the
/// `<type>ns` directories; then, under DIR's lock, each pin. A new mount
/// namespace is the exception: it must be created after `DIR/mntns` is
/// prepared (it copies our mounts), so under the lock too.
///
/// For a process that exits next: on success the descriptors of the pins
/// and their directories are left open for the kernel to close.
pub fn pin(plan: &PinPlan) -> Result<()> {
    sys::setid::refuse_setid()?;
    let existing = check_targets(plan)?;
    let proc_sys = choose_proc_sys(plan)?;
    let mut journal = Journal::default();
    let mut sources = Vec::new();
    if !plan.creates(NsKind::Mnt) {
        hold_namespaces(plan, proc_sys.as_ref(), &mut sources, &mut journal)?;
    }
    let (dir, type_dirs) = match existing {
        Some(found) => found,
        None => (
            PinDir::create(&plan.dir)?,
            plan.namespaces.iter().map(|(k, _)| (*k, None)).collect(),
        ),
    };
    let type_dirs = type_dirs
        .into_iter()
        .map(|(kind, found)| match found {
            Some(td) => Ok(td),
            None => dir.create_type(kind),
        })
        .collect::<Result<Vec<_>>>()?;
    // Serialises the check-then-mount of concurrent pins and cleanups in DIR.
    journal.keep(dir.lock()?);
    let mut targets = Vec::new();
    for td in type_dirs {
        targets.push(match td.kind {
            NsKind::Mnt if plan.creates(NsKind::Mnt) => mntns::prepare(td, &mut journal)?,
            _ => Rc::new(td),
        });
    }
    if plan.creates(NsKind::Mnt) {
        hold_namespaces(plan, proc_sys.as_ref(), &mut sources, &mut journal)?;
    }
    for (td, source) in targets.iter().zip(&sources) {
        attach(plan, td, source, &mut journal)?;
    }
    // pinns exits after a pin: the kernel closes what is still open.
    journal.commit_at_exit();
    Ok(())
}

/// How the sysctls get written (`sysctl_write`); None when there are none.
/// Before any change: a private procfs instance must be made before
/// unshare (a new user namespace may not make one).
fn choose_proc_sys(plan: &PinPlan) -> Result<Option<ProcSys>> {
    if plan.sysctls.is_empty() {
        return Ok(None);
    }
    ProcSys::for_keys(&plan.sysctls).map(Some)
}

/// Creates (or takes) the namespaces; their holder lives in the journal so
/// that an undo still finds the namespaces it must tell apart from others.
fn hold_namespaces(
    plan: &PinPlan,
    proc_sys: Option<&ProcSys>,
    sources: &mut Vec<PathBuf>,
    journal: &mut Journal,
) -> Result<()> {
    let holder = NsHolder::create(plan, proc_sys)?;
    sources.extend(plan.namespaces.iter().map(|(k, _)| holder.ns_path(*k)));
    journal.keep(holder);
    Ok(())
}

/// What `check_targets` found: DIR and the `<type>ns` directories that
/// exist, kept open for the pin itself (each path is opened once per call:
/// pinns runs per pod).
type Existing = (PinDir, Vec<(NsKind, Option<TypeDir>)>);

/// Read-only checks of the targets, so a refusal changes nothing at all.
fn check_targets(plan: &PinPlan) -> Result<Option<Existing>> {
    let Some(dir) = PinDir::open(&plan.dir)? else {
        return Ok(None);
    };
    let mut type_dirs = Vec::new();
    for (kind, _) in &plan.namespaces {
        let td = dir.open_type(*kind)?;
        if let Some(td) = &td {
            if let Some((content, _)) = td.examine(&plan.name)? {
                may_pin_onto(content, &td.pin_path(&plan.name))?;
            }
        }
        type_dirs.push((*kind, td));
    }
    Ok(Some((dir, type_dirs)))
}

/// Only an empty file may be pinned onto, such as the one CRI-O pre-creates
/// and chowns for user-namespace pods: we mount on it and keep its owner.
fn may_pin_onto(content: Content, target: &Path) -> Result<()> {
    let why = match content {
        Content::Leftover { .. } => return Ok(()),
        Content::Namespace { .. } => {
            "a namespace is already pinned here; refusing to stack another (see `pinns cleanup`)"
        }
        Content::Broken(Problem::OtherMount) => "something else is mounted here",
        Content::Broken(Problem::NotEmpty) => "exists and is not empty",
        Content::Broken(_) => "exists and is not a regular file",
    };
    Err(Error::Refused(format!("{}: {why}", target.display())))
}

fn attach(plan: &PinPlan, dir: &Rc<TypeDir>, source: &Path, journal: &mut Journal) -> Result<()> {
    let name = &plan.name;
    // Creating first is one call in the usual case; what is already there
    // (CRI-O's pre-created file, or a race) is judged on EEXIST.
    match dir.create_file(name) {
        Ok(file) => {
            let mounted = dir.mount_namespace(source, file.as_fd(), name);
            journal.push(Step::RemoveFile {
                dir: dir.clone(),
                name: name.clone(),
                file,
            });
            mounted?;
        }
        Err(e) if e.errno() == Some(Errno::EEXIST) => match dir.examine(name)? {
            Some((content, file)) => {
                may_pin_onto(content, &dir.pin_path(name))?;
                dir.mount_namespace(source, file.as_fd(), name)?;
            }
            // Gone again since EEXIST: only `pinns cleanup` removes pins,
            // and it waits for the lock we hold, so this is someone else's.
            None => {
                return Err(Error::Refused(format!(
                    "{}: appeared and vanished while pinning; refusing to pin there",
                    dir.pin_path(name).display()
                )))
            }
        },
        Err(e) => return Err(e),
    }
    journal.push(Step::Detach {
        dir: dir.clone(),
        name: name.clone(),
        source: source.to_path_buf(),
    });
    Ok(())
}
