//! The first step of a pin: the raw request from the command line, checked
//! into a [`PinPlan`] without touching anything.

use crate::error::{Error, PathContext, Result};
use crate::idmap::IdMap;
use crate::name::PinName;
use crate::ns::NsKind;
use crate::sysctl::{self, Sysctl, SysctlError};
use nix::sched::CloneFlags;
use std::path::{Path, PathBuf};

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

    pub(super) fn creates(&self, kind: NsKind) -> bool {
        self.namespaces.contains(&(kind, Source::New))
    }

    /// Flags of the new namespaces other than the user namespace.
    pub(crate) fn unshare_flags(&self) -> CloneFlags {
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
