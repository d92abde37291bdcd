//! `pinns -d DIR -f NAME ...`: create (or take the caller's) namespaces, apply
//! the pod's sysctls inside them, and bind-mount each onto
//! `DIR/<type>ns/NAME` (through `pindir`). All or nothing: every change is
//! journalled in a [`Journal`] that undoes itself unless the whole pin
//! succeeded.

use crate::error::{Error, PathContext, Result};
use crate::idmap::IdMap;
use crate::name::PinName;
use crate::ns::NsKind;
use crate::pindir::undo::{Journal, Step};
use crate::pindir::{mntns, Content, PinDir, Problem, TypeDir};
use crate::sys;
use crate::sys::process::{self, Channel, Forked};
use crate::sysctl::{self, Sysctl, SysctlError};
use crate::sysctl_write::ProcSys;
use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Where a pinned namespace comes from (`--net` or `--net=host`; the
/// command-line spelling is in `cli`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A namespace created by this call.
    New,
    /// The caller's own namespace (`--net=host`).
    Host,
}

/// Mount propagation given to a new mount namespace's mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// Keep the propagation copied from the caller's mounts.
    #[default]
    Unchanged,
    /// Receive the host's mounts, send none back.
    Slave,
    /// Neither receive nor send mounts.
    Private,
    /// Receive and send mounts.
    Shared,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMaps {
    pub uid: IdMap,
    pub gid: IdMap,
}

/// A validated pin request. Building one touches nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinPlan {
    pub dir: PathBuf,
    pub name: PinName,
    /// In creation order (the `NsKind` order), each kind at most once.
    pub namespaces: Vec<(NsKind, Source)>,
    pub sysctls: Vec<Sysctl>,
    pub id_maps: Option<IdMaps>,
    pub mnt_propagation: Propagation,
}

/// The raw request, as the command line gives it.
#[derive(Debug, Default, Clone)]
pub struct PinRequest<'a> {
    pub dir: Option<&'a Path>,
    pub name: Option<&'a str>,
    pub namespaces: Vec<(NsKind, Source)>,
    pub sysctls: &'a [String],
    pub uid_mapping: Option<&'a str>,
    pub gid_mapping: Option<&'a str>,
    pub mnt_propagation: Option<Propagation>,
}

impl PinPlan {
    /// Validates everything that can be checked without changing anything.
    pub fn new(req: &PinRequest<'_>) -> Result<PinPlan> {
        let dir = req
            .dir
            .ok_or_else(|| Error::Usage("missing --dir DIR (where to pin)".into()))?;
        if dir.as_os_str().is_empty() {
            return Err(Error::Usage("--dir is empty".into()));
        }
        let dir = std::path::absolute(dir).at("resolve", dir)?;
        let name = req
            .name
            .ok_or_else(|| Error::Usage("missing --filename NAME (the pin name)".into()))?;
        let name = PinName::parse(name)?;

        let mut namespaces = req.namespaces.clone();
        namespaces.sort_by_key(|(k, _)| *k);
        namespaces.dedup_by_key(|(k, _)| *k);
        if namespaces.is_empty() {
            return Err(Error::Usage(
                "no namespace to pin: give at least one of --net, --ipc, --uts, --user, --cgroup, --mnt".into(),
            ));
        }
        if let Some((kind, _)) = namespaces
            .iter()
            .find(|(k, _)| !NsKind::pinnable().any(|p| p == *k))
        {
            return Err(Error::Usage(format!(
                "the {kind} namespace cannot be pinned"
            )));
        }

        let creates_user = namespaces.contains(&(NsKind::User, Source::New));
        let id_maps = match (creates_user, req.uid_mapping, req.gid_mapping) {
            (true, Some(uid), Some(gid)) => Some(IdMaps {
                uid: IdMap::parse("uid", uid)?,
                gid: IdMap::parse("gid", gid)?,
            }),
            (true, _, _) => return Err(Error::Usage(
                "--user creates a user namespace and needs both --uid-mapping and --gid-mapping"
                    .into(),
            )),
            (false, None, None) => None,
            (false, _, _) => {
                return Err(Error::Usage(
                    "--uid-mapping/--gid-mapping given without --user creating a user namespace"
                        .into(),
                ))
            }
        };

        let mnt_propagation = match req.mnt_propagation {
            Some(_) if !namespaces.contains(&(NsKind::Mnt, Source::New)) => {
                return Err(Error::Usage(
                    "--mnt-propagation applies to a new mount namespace: add --mnt".into(),
                ))
            }
            other => other.unwrap_or_default(),
        };

        let mut sysctls = sysctl::parse_all(req.sysctls)?;
        for s in &sysctls {
            if !namespaces.contains(&(s.namespace(), Source::New)) {
                return Err(SysctlError::NamespaceNotCreated {
                    key: s.key(),
                    ns: s.namespace(),
                }
                .into());
            }
        }
        if let Some(maps) = &id_maps {
            sysctl::fit_to_user_namespace(&mut sysctls, &maps.gid)?;
        }

        Ok(PinPlan {
            dir,
            name,
            namespaces,
            sysctls,
            id_maps,
            mnt_propagation,
        })
    }

    fn creates(&self, kind: NsKind) -> bool {
        self.namespaces.contains(&(kind, Source::New))
    }

    /// Flags of the new namespaces other than the user namespace.
    fn unshare_flags(&self) -> CloneFlags {
        self.namespaces
            .iter()
            .filter(|(k, s)| *s == Source::New && *k != NsKind::User)
            .fold(CloneFlags::empty(), |acc, (k, _)| acc | k.clone_flag())
    }

    /// The canonical command line for this plan (CRI-O's form).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            "-d".to_string(),
            self.dir.display().to_string(),
            "-f".to_string(),
            self.name.to_string(),
        ];
        for (kind, source) in &self.namespaces {
            let host = if *source == Source::Host { "=host" } else { "" };
            args.push(format!("--{kind}{host}"));
        }
        if let Some(maps) = &self.id_maps {
            args.push(format!("--uid-mapping={}", maps.uid));
            args.push(format!("--gid-mapping={}", maps.gid));
        }
        args.extend(
            self.sysctls
                .iter()
                .flat_map(|s| ["-s".to_string(), s.to_string()]),
        );
        args
    }

    /// Where the pin of `kind` goes.
    pub fn target(&self, kind: NsKind) -> PathBuf {
        crate::pindir::pin_path(&self.dir, kind, &self.name)
    }
}

/// Pins everything the plan asks for, or nothing.
///
/// Order: read-only checks of every target (a refusal changes nothing);
/// the namespaces and their sysctls (a sysctl the kernel refuses at write
/// time then leaves nothing behind, not even a directory); DIR and the
/// `<type>ns` directories; then, under DIR's lock, each pin. A new mount
/// namespace is the exception: it must be created after `DIR/mntns` is
/// prepared (it copies our mounts), so under the lock too.
pub fn pin(plan: &PinPlan) -> Result<()> {
    sys::setid::refuse_setid()?;
    let proc_sys = open_proc_sys(&plan.sysctls)?;
    let existing = check_targets(plan)?;
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
    journal.commit();
    Ok(())
}

/// `/proc/sys`, opened before anything changes and checked to hold every
/// key; only when there are sysctls to write.
fn open_proc_sys(sysctls: &[Sysctl]) -> Result<Option<ProcSys>> {
    if sysctls.is_empty() {
        return Ok(None);
    }
    let proc_sys = ProcSys::open()?;
    for s in sysctls {
        proc_sys.check_exists(s)?;
    }
    Ok(Some(proc_sys))
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

/// The process whose namespaces get pinned: pinns itself, or a helper child
/// when a user or mount namespace is created (a user namespace needs its maps
/// written from outside; a new mount namespace must not be the one in which
/// we mount the pins). The helper is killed and reaped on drop.
enum NsHolder {
    Caller,
    /// `pid` is None once the helper has been reaped.
    Helper {
        pid: Option<Pid>,
        channel: Channel,
    },
}

const MSG_USERNS: &[u8] = b"userns";
const MSG_MAPPED: &[u8] = b"mapped";
const MSG_READY: &[u8] = b"ready";
const MSG_ERROR: &[u8] = b"error:";

impl NsHolder {
    fn create(plan: &PinPlan, proc_sys: Option<&ProcSys>) -> Result<NsHolder> {
        if plan.creates(NsKind::User) || plan.creates(NsKind::Mnt) {
            return Self::spawn_helper(plan, proc_sys);
        }
        let flags = plan.unshare_flags();
        if !flags.is_empty() {
            sys::namespace::unshare(flags)?;
        }
        apply_sysctls(proc_sys, &plan.sysctls)?;
        Ok(NsHolder::Caller)
    }

    fn ns_path(&self, kind: NsKind) -> PathBuf {
        match self {
            NsHolder::Caller => format!("/proc/thread-self/ns/{kind}").into(),
            NsHolder::Helper { pid: Some(pid), .. } => format!("/proc/{pid}/ns/{kind}").into(),
            NsHolder::Helper { pid: None, .. } => PathBuf::from("/proc/helper-already-exited"),
        }
    }

    fn spawn_helper(plan: &PinPlan, proc_sys: Option<&ProcSys>) -> Result<NsHolder> {
        let (pid, channel) = match process::fork_with_channel()? {
            Forked::Child { channel } => run_helper(plan, proc_sys, &channel),
            Forked::Parent { child, channel } => (child, channel),
        };
        let mut holder = NsHolder::Helper {
            pid: Some(pid),
            channel,
        };
        if let Some(maps) = &plan.id_maps {
            holder.expect_message(MSG_USERNS)?;
            write_id_maps(pid, maps)?;
            holder.send(MSG_MAPPED)?;
        }
        holder.expect_message(MSG_READY)?;
        Ok(holder)
    }

    fn send(&self, msg: &[u8]) -> Result<()> {
        match self {
            NsHolder::Helper { channel, .. } => channel.send(msg),
            NsHolder::Caller => Ok(()),
        }
    }

    fn expect_message(&mut self, want: &[u8]) -> Result<()> {
        let NsHolder::Helper { channel, pid } = self else {
            return Ok(());
        };
        let got = channel.recv()?;
        if got == want {
            return Ok(());
        }
        if let Some(msg) = got.strip_prefix(MSG_ERROR) {
            return Err(Error::Helper(String::from_utf8_lossy(msg).into_owned()));
        }
        // The helper hung up without a word: say how it ended.
        let status = pid.take().map(process::reap);
        match status {
            Some(WaitStatus::Exited(_, process::HELPER_REPORTED)) => Err(Error::AlreadyReported),
            status => Err(Error::Helper(format!(
                "helper process ended before the namespaces were ready ({})",
                status_text(status)
            ))),
        }
    }
}

fn status_text(status: Option<WaitStatus>) -> String {
    match status {
        Some(WaitStatus::Exited(_, code)) => format!("exit status {code}"),
        Some(WaitStatus::Signaled(_, signal, _)) => format!("killed by {signal}"),
        _ => "status unknown".into(),
    }
}

impl Drop for NsHolder {
    fn drop(&mut self) {
        if let NsHolder::Helper { pid: Some(pid), .. } = self {
            process::kill_and_reap(*pid);
        }
    }
}

/// The helper child: creates the namespaces, reports, then waits to be killed.
fn run_helper(plan: &PinPlan, proc_sys: Option<&ProcSys>, channel: &Channel) -> ! {
    let result = helper_create(plan, proc_sys, channel);
    let report = match &result {
        Ok(()) => MSG_READY.to_vec(),
        Err(e) => [MSG_ERROR, e.to_string().as_bytes()].concat(),
    };
    match channel.send(&report) {
        // Hold the namespaces until the parent has pinned them and hangs up.
        Ok(()) => {
            let _ = channel.recv();
            process::exit_child(0)
        }
        // The parent hung up: it failed first and prints its own error; a
        // second line from us would only repeat it in other words. (Should
        // it still be waiting after all, it says how we ended.)
        Err(Error::Call {
            errno: Errno::EPIPE | Errno::ECONNRESET,
            ..
        }) => process::exit_child(1),
        // No way to tell the parent: say it ourselves, once.
        Err(send_error) => {
            let err = result.err().unwrap_or(send_error);
            crate::output::log::error(&err.to_string());
            process::exit_child(process::HELPER_REPORTED)
        }
    }
}

fn helper_create(plan: &PinPlan, proc_sys: Option<&ProcSys>, channel: &Channel) -> Result<()> {
    if let Some(maps) = &plan.id_maps {
        sys::namespace::unshare(CloneFlags::CLONE_NEWUSER)?;
        channel.send(MSG_USERNS)?;
        if channel.recv()? != MSG_MAPPED {
            return Err(Error::Helper("parent did not write the id mappings".into()));
        }
        // ipc sysctls may only be written by the namespace's own root.
        if maps.uid.maps_root() && maps.gid.maps_root() {
            process::become_namespace_root()?;
        }
    }
    let flags = plan.unshare_flags();
    if !flags.is_empty() {
        sys::namespace::unshare(flags)?;
    }
    if plan.creates(NsKind::Mnt) {
        set_propagation(plan.mnt_propagation)?;
    }
    apply_sysctls(proc_sys, &plan.sysctls)
}

fn set_propagation(propagation: Propagation) -> Result<()> {
    let flag = match propagation {
        Propagation::Unchanged => return Ok(()),
        Propagation::Slave => MsFlags::MS_SLAVE,
        Propagation::Private => MsFlags::MS_PRIVATE,
        Propagation::Shared => MsFlags::MS_SHARED,
    };
    sys::mount::set_propagation_recursive(Path::new("/"), flag)
}

fn apply_sysctls(proc_sys: Option<&ProcSys>, sysctls: &[Sysctl]) -> Result<()> {
    match proc_sys {
        Some(proc_sys) => sysctls.iter().try_for_each(|s| proc_sys.apply(s)),
        None => Ok(()),
    }
}

fn write_id_maps(pid: Pid, maps: &IdMaps) -> Result<()> {
    for (file, map) in [("gid_map", &maps.gid), ("uid_map", &maps.uid)] {
        let path = PathBuf::from(format!("/proc/{pid}/{file}"));
        sys::files::write_existing_file(&path, map.to_proc_format().as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(ns: &[(NsKind, Source)], sysctls: &'a [String]) -> PinRequest<'a> {
        PinRequest {
            dir: Some(Path::new("/run/pinns-test")),
            name: Some("pod"),
            namespaces: ns.to_vec(),
            sysctls,
            uid_mapping: None,
            gid_mapping: None,
            mnt_propagation: None,
        }
    }

    #[test]
    fn namespaces_are_sorted_into_creation_order() {
        let plan = PinPlan::new(&req(
            &[
                (NsKind::Net, Source::New),
                (NsKind::Ipc, Source::Host),
                (NsKind::Uts, Source::New),
            ],
            &[],
        ))
        .unwrap();
        let kinds: Vec<_> = plan.namespaces.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, vec![NsKind::Ipc, NsKind::Uts, NsKind::Net]);
        assert_eq!(
            plan.unshare_flags(),
            CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWNET
        );
        assert_eq!(
            plan.target(NsKind::Net),
            PathBuf::from("/run/pinns-test/netns/pod")
        );
    }

    #[test]
    fn sysctl_needs_its_namespace_created() {
        let s = vec!["net.ipv4.ip_forward=1".to_string()];
        let err = PinPlan::new(&req(&[(NsKind::Net, Source::Host)], &s)).unwrap_err();
        assert!(err.to_string().contains("net namespace"), "{err}");
        let err = PinPlan::new(&req(&[(NsKind::Ipc, Source::New)], &s)).unwrap_err();
        assert!(err.to_string().contains("does not create"), "{err}");
    }

    #[test]
    fn user_namespace_needs_both_maps_and_maps_need_it() {
        let mut r = req(&[(NsKind::User, Source::New)], &[]);
        assert!(PinPlan::new(&r).is_err());
        r.uid_mapping = Some("0-100000-65536@");
        assert!(PinPlan::new(&r).is_err());
        r.gid_mapping = Some("0-100000-65536@");
        assert!(PinPlan::new(&r).unwrap().id_maps.is_some());
        r.namespaces = vec![(NsKind::Net, Source::New)];
        assert!(PinPlan::new(&r).is_err());
        r.namespaces = vec![(NsKind::User, Source::Host)];
        assert!(PinPlan::new(&r).is_err());
    }

    #[test]
    fn refuses_an_empty_request() {
        assert!(PinPlan::new(&req(&[], &[])).is_err());
        let mut r = req(&[(NsKind::Net, Source::New)], &[]);
        r.name = Some("../x");
        assert!(PinPlan::new(&r).is_err());
        r.name = None;
        assert!(PinPlan::new(&r).is_err());
    }
}
