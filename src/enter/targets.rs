//! What `enter` joins: the target's namespace files, found and opened
//! (and judged) before anything is joined.

use super::{EnterRequest, Target};
use crate::crictl;
use crate::error::{Error, PathContext, Result};
use crate::name::PinName;
use crate::ns::NsKind;
use crate::pindir::PinDir;
use crate::procs;
use crate::sys::{self, pidfd::PidFd};
use nix::errno::Errno;
use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// The kinds joined for `--pid` when no selection flag is given (the user
/// namespace is dropped later if it is our own).
const PROCESS_DEFAULT: [NsKind; 7] = NsKind::ALL;

/// Opens every namespace file of the target, before anything is joined
/// (step 1 of `enter`).
pub(super) fn open(args: &EnterRequest) -> Result<Vec<Opened>> {
    let held = args.pid().map(hold_process).transpose()?;
    // A pin is judged, and opened, by the pin directory's own rules.
    let pins = match &args.target {
        Target::Pin { dir, name } => Some((PinDir::open(dir)?, PinName::parse(name)?)),
        _ => None,
    };
    let targets = open_all(&candidates(args)?, &describe(&args.target), pins.as_ref())?;
    if let (Some(pid), Some(held)) = (args.pid(), &held) {
        still_the_same_process(pid, held)?;
    }
    Ok(targets)
}

/// A namespace file that may be joined.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    kind: NsKind,
    path: PathBuf,
    /// Missing or not a namespace is an error (else: skipped, for pins).
    required: bool,
}

fn candidates(args: &EnterRequest) -> Result<Vec<Candidate>> {
    let selected = &args.selected;
    let mut found = match &args.target {
        Target::Pin { dir, name } => pin_candidates(dir, &PinName::parse(name)?, selected)?,
        Target::Process(pid) => process_candidates(*pid, selected)?,
        Target::Pod(pod) => pod_candidates(pod, crictl::resolve(pod)?, selected)?,
    };
    found.sort_by_key(|c| c.kind);
    found.dedup_by_key(|c| c.kind);
    Ok(found)
}

fn pin_candidates(dir: &Path, name: &PinName, selected: &[NsKind]) -> Result<Vec<Candidate>> {
    if selected.contains(&NsKind::Pid) {
        return Err(Error::Usage(
            "a PID namespace is never pinned; enter it with --pid PID".into(),
        ));
    }
    Ok(selected_or(selected, NsKind::pinnable())
        .into_iter()
        .map(|kind| Candidate {
            kind,
            path: dir.join(kind.dir_name()).join(name.as_str()),
            required: !selected.is_empty(),
        })
        .collect())
}

/// The selected kinds, or the target's `default` when none is selected.
fn selected_or(selected: &[NsKind], default: impl IntoIterator<Item = NsKind>) -> Vec<NsKind> {
    if selected.is_empty() {
        default.into_iter().collect()
    } else {
        selected.to_vec()
    }
}

/// `--pid`: the process is held by a pidfd before its `/proc/PID/ns` files
/// are looked up, so that the PID cannot silently come to name another
/// process (see [`still_the_same_process`]).
fn hold_process(pid: i32) -> Result<PidFd> {
    PidFd::open(pid).map_err(|e| match e.errno() {
        Some(Errno::ESRCH) => Error::Refused(format!("no process with pid {pid}")),
        _ => e,
    })
}

/// After the namespace files of `--pid PID` are open: if the process held
/// since before the lookup is gone, the PID may have been reused and the
/// files may belong to a stranger. While it lives (or is an unreaped
/// zombie) its PID is not reused, so the files are its own.
fn still_the_same_process(pid: i32, held: &PidFd) -> Result<()> {
    match held.is_alive()? {
        true => Ok(()),
        false => Err(Error::Refused(format!(
            "process {pid} exited while its namespaces were being opened; nothing joined"
        ))),
    }
}

fn process_candidates(pid: i32, selected: &[NsKind]) -> Result<Vec<Candidate>> {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    if !proc_dir.exists() {
        return Err(Error::Refused(format!("no process with pid {pid}")));
    }
    Ok(selected_or(selected, PROCESS_DEFAULT)
        .into_iter()
        .map(|kind| Candidate {
            kind,
            path: proc_dir.join("ns").join(kind.proc_name()),
            required: true,
        })
        .collect())
}

fn pod_candidates(
    pod: &str,
    found: crictl::PodNamespaces,
    selected: &[NsKind],
) -> Result<Vec<Candidate>> {
    if let Some(missing) = selected
        .iter()
        .find(|k| !found.iter().any(|(f, _)| f == *k))
    {
        return Err(Error::Refused(format!(
            "pod {pod:?} has no {missing} namespace to join"
        )));
    }
    Ok(found
        .into_iter()
        .filter(|(kind, _)| selected.is_empty() || selected.contains(kind))
        .map(|(kind, path)| Candidate {
            kind,
            path,
            required: true,
        })
        .collect())
}

/// An opened namespace file.
#[derive(Debug)]
pub(super) struct Opened {
    pub(super) kind: NsKind,
    pub(super) path: PathBuf,
    pub(super) file: File,
    pub(super) inode: u64,
}

/// Opens every candidate (close-on-exec), checks it is a namespace, and
/// leaves out our own user namespace (the kernel refuses to re-enter it).
fn open_all(
    candidates: &[Candidate],
    target: &str,
    pins: Option<&(Option<PinDir>, PinName)>,
) -> Result<Vec<Opened>> {
    let mut targets = Vec::new();
    for c in candidates {
        let opened = match pins {
            Some((dir, name)) => open_pinned(dir.as_ref(), name, c)?,
            None => open_one(c)?,
        };
        let Some(target) = opened else {
            continue;
        };
        if target.kind == NsKind::User && target.inode == own_ns(NsKind::User)? {
            continue;
        }
        targets.push(target);
    }
    if targets.is_empty() {
        return Err(Error::Refused(format!("nothing to join: {target}")));
    }
    Ok(targets)
}

/// Our own namespace of `kind`, asked only where a target of that kind was
/// found (a pod without a user namespace never asks for ours).
pub(super) fn own_ns(kind: NsKind) -> Result<u64> {
    procs::own_ns_inode(kind).at("readlink", procs::own_ns_path(kind))
}

/// Why a target with nothing to join is empty, for the error.
fn describe(target: &Target) -> String {
    let only_ours = "has no namespace but our own user namespace";
    match target {
        Target::Pin { dir, name } => format!(
            "no namespace is pinned as {}/<type>ns/{name}",
            dir.display()
        ),
        Target::Process(pid) => format!("process {pid} {only_ours}"),
        Target::Pod(pod) => format!("pod {pod:?} {only_ours}"),
    }
}

/// Opens a pinned namespace through the pin directory's descriptors (no
/// symlink below DIR is followed); anything but a namespace is nothing to
/// join.
fn open_pinned(dir: Option<&PinDir>, name: &PinName, c: &Candidate) -> Result<Option<Opened>> {
    let type_dir = match dir {
        Some(dir) => dir.open_type(c.kind)?,
        None => None,
    };
    let found = match &type_dir {
        Some(td) => td.open_namespace(name, None)?,
        None => None,
    };
    match found {
        Some((inode, fd)) => Ok(Some(Opened {
            kind: c.kind,
            path: c.path.clone(),
            file: File::from(fd),
            inode,
        })),
        None if !c.required => Ok(None),
        None if type_dir
            .map(|td| td.examine(name))
            .transpose()?
            .flatten()
            .is_some() =>
        {
            Err(Error::Refused(format!(
                "{} is not a namespace (nothing pinned there)",
                c.path.display()
            )))
        }
        None => Err(Error::Refused(format!(
            "no {} namespace at {}",
            c.kind,
            c.path.display()
        ))),
    }
}

fn open_one(c: &Candidate) -> Result<Option<Opened>> {
    let file = match File::open(&c.path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !c.required => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Refused(format!(
                "no {} namespace at {}",
                c.kind,
                c.path.display()
            )))
        }
        Err(e) => return Err(e).at("open namespace", &c.path),
    };
    if !sys::namespace::is_nsfs(file.as_fd(), &c.path)? {
        if !c.required {
            // A leftover plain file where a pin was: not a namespace to join.
            return Ok(None);
        }
        return Err(Error::Refused(format!(
            "{} is not a namespace (nothing pinned there)",
            c.path.display()
        )));
    }
    let inode = sys::files::stat_fd(file.as_fd(), &c.path)?.st_ino;
    Ok(Some(Opened {
        kind: c.kind,
        path: c.path.clone(),
        file,
        inode,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_targets_cover_the_pinnable_kinds_or_the_selection() {
        let name = PinName::parse("pod").unwrap();
        let all = pin_candidates(Path::new("/r"), &name, &[]).unwrap();
        assert_eq!(all.len(), NsKind::pinnable().count());
        assert!(all.iter().all(|c| !c.required));
        assert_eq!(all[0].path, PathBuf::from("/r/userns/pod"));
        let some = pin_candidates(Path::new("/r"), &name, &[NsKind::Net]).unwrap();
        assert_eq!(
            some,
            vec![Candidate {
                kind: NsKind::Net,
                path: "/r/netns/pod".into(),
                required: true
            }]
        );
        assert!(pin_candidates(Path::new("/r"), &name, &[NsKind::Pid]).is_err());
    }

    #[test]
    fn pod_selection_must_exist_in_the_pod() {
        let found = vec![
            (NsKind::Net, PathBuf::from("/n")),
            (NsKind::Ipc, "/i".into()),
        ];
        let c = pod_candidates("p", found.clone(), &[NsKind::Net]).unwrap();
        assert_eq!(c.len(), 1);
        let err = pod_candidates("p", found, &[NsKind::Uts]).unwrap_err();
        assert!(err.to_string().contains("no uts namespace"), "{err}");
    }
}
