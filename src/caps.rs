//! Linux capabilities as sets of bits, by the kernel's numbers and names
//! (`include/uapi/linux/capability.h`); what each command needs, and why.
//! Pure: the system calls are in `sys::caps`.

use std::fmt;

/// The kernel's capability names, by number (0 ..= CAP_CHECKPOINT_RESTORE).
const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

pub const SETGID: u8 = 6;
pub const SETUID: u8 = 7;
pub const NET_ADMIN: u8 = 12;
pub const SYS_CHROOT: u8 = 18;
pub const SYS_PTRACE: u8 = 19;
pub const SYS_ADMIN: u8 = 21;

/// A set of capabilities, bit N for capability N (the kernel's layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSet(pub u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapsError {
    #[error("unknown capability {0:?} in {1:?} (names as in capabilities(7), e.g. cap_net_raw, or none)")]
    Unknown(String, String),
    #[error("capability list {0:?} is empty (use none for no capability)")]
    Empty(String),
}

impl CapSet {
    pub fn contains(self, cap: u8) -> bool {
        self.0 & (1 << cap) != 0
    }

    pub fn with(self, cap: u8) -> CapSet {
        CapSet(self.0 | 1 << cap)
    }

    /// The capabilities in `self` that `have` lacks.
    pub fn missing_from(self, have: CapSet) -> CapSet {
        CapSet(self.0 & !have.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Numbers of the capabilities in the set, ascending.
    pub fn iter(self) -> impl Iterator<Item = u8> {
        (0..64u8).filter(move |&c| self.contains(c))
    }

    /// Parses `none` or a comma-separated list of names, with or without the
    /// `cap_` prefix, in any case: `cap_net_raw,SYS_PTRACE`.
    pub fn parse(text: &str) -> Result<CapSet, CapsError> {
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("none") {
            return Ok(CapSet(0));
        }
        if trimmed.is_empty() {
            return Err(CapsError::Empty(text.to_string()));
        }
        trimmed.split(',').try_fold(CapSet(0), |set, word| {
            let upper = word.trim().to_ascii_uppercase();
            let name = match upper.strip_prefix("CAP_") {
                Some(_) => upper.clone(),
                None => format!("CAP_{upper}"),
            };
            let number = NAMES
                .iter()
                .position(|n| *n == name)
                .ok_or_else(|| CapsError::Unknown(word.trim().to_string(), text.to_string()))?;
            Ok(set.with(number as u8))
        })
    }

    /// Parses the hexadecimal form of `/proc/PID/status` (`CapEff:\t...`).
    pub fn from_status_hex(hex: &str) -> Option<CapSet> {
        u64::from_str_radix(hex.trim(), 16).ok().map(CapSet)
    }
}

/// The name of capability `cap`, or `cap_N` for one newer than this table.
pub fn name(cap: u8) -> String {
    match NAMES.get(cap as usize) {
        Some(n) => n.to_string(),
        None => format!("CAP_{cap}"),
    }
}

/// Lower-case names joined by commas, as capabilities(7) and `--caps`
/// write them; `none` for the empty set.
impl fmt::Display for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<String> = self.iter().map(|c| name(c).to_lowercase()).collect();
        f.write_str(&names.join(","))
    }
}

/// `CapEff:` of a `/proc/PID/status` text.
pub fn effective_from_status(status: &str) -> Option<CapSet> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(CapSet::from_status_hex)
}

/// What a command needs, each capability with the reason it is needed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Needs(Vec<(u8, &'static str)>);

impl Needs {
    pub fn new() -> Needs {
        Needs::default()
    }

    pub fn with(mut self, cap: u8, why: &'static str) -> Needs {
        self.0.push((cap, why));
        self
    }

    /// The one-line refusal when `effective` lacks some of them, naming each
    /// missing capability and what it is for; `None` when all are there.
    pub fn check(&self, command: &str, effective: CapSet) -> Option<String> {
        let missing: Vec<String> = self
            .0
            .iter()
            .filter(|(cap, _)| !effective.contains(*cap))
            .map(|(cap, why)| format!("{} ({why})", name(*cap)))
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "{command} needs {}: not in this process's effective capabilities",
                missing.join(", ")
            )
        })
    }
}

/// `pin`: namespaces are created with unshare(2) and bind-mounted; the uid
/// and gid maps of a new user namespace take CAP_SETUID and CAP_SETGID
/// (several ranges, written by the parent); a network sysctl written in a
/// new network namespace owned by the caller's user namespace takes
/// CAP_NET_ADMIN.
pub fn pin_needs(new_userns: bool, net_sysctls: bool) -> Needs {
    let mut needs = Needs::new().with(SYS_ADMIN, "to create and mount namespaces");
    if new_userns {
        needs = needs
            .with(SETUID, "to write the uid map")
            .with(SETGID, "to write the gid map");
    } else if net_sysctls {
        needs = needs.with(NET_ADMIN, "to write net.* sysctls");
    }
    needs
}

/// Reading another user's `/proc/PID/ns/*` takes CAP_SYS_PTRACE: without
/// it a pod's processes would be missed, and its pins look unused.
const PTRACE_WHY: &str = "to see every user's processes in /proc/PID/ns";

/// `cleanup`: unmounting (and the private mount namespace that reads pin
/// ages) takes CAP_SYS_ADMIN; the orphan sweep must see every process.
/// Removing empty cgroups alone needs none of these.
pub fn cleanup_needs(pins: bool, orphans: bool) -> Needs {
    let mut needs = Needs::new();
    if pins {
        needs = needs.with(SYS_ADMIN, "to unmount pins and read their ages");
    }
    if orphans {
        needs = needs.with(SYS_PTRACE, PTRACE_WHY);
    }
    needs
}

/// `list`: pin ages (a private mount namespace) and processes of every user.
pub fn list_needs() -> Needs {
    Needs::new()
        .with(SYS_ADMIN, "to read pin ages")
        .with(SYS_PTRACE, PTRACE_WHY)
}

/// `inspect`: a child joins the pod's namespaces to look inside.
pub fn inspect_needs() -> Needs {
    Needs::new()
        .with(SYS_ADMIN, "to join the pod's namespaces")
        .with(SYS_PTRACE, PTRACE_WHY)
}

/// `enter`: setns(2) takes CAP_SYS_ADMIN, and joining a mount namespace
/// CAP_SYS_CHROOT too; the pod's tasks (whose CPUs are avoided) are found
/// through every user's `/proc/PID/ns`.
pub fn enter_needs(joins_mnt: bool) -> Needs {
    let needs = Needs::new()
        .with(SYS_ADMIN, "to join namespaces")
        .with(SYS_PTRACE, "to find every task of the pod");
    if joins_mnt {
        needs.with(SYS_CHROOT, "to join a mount namespace")
    } else {
        needs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_lists_in_every_spelling() {
        assert_eq!(CapSet::parse("none").unwrap(), CapSet(0));
        assert_eq!(CapSet::parse("NONE").unwrap(), CapSet(0));
        let want = CapSet(0).with(13).with(SYS_PTRACE);
        for text in [
            "cap_net_raw,cap_sys_ptrace",
            "CAP_NET_RAW,CAP_SYS_PTRACE",
            "net_raw, sys_ptrace",
            "sys_ptrace,net_raw",
        ] {
            assert_eq!(CapSet::parse(text).unwrap(), want, "{text}");
        }
        assert_eq!(
            CapSet::parse("cap_checkpoint_restore").unwrap(),
            CapSet(1 << 40)
        );
    }

    #[test]
    fn refuses_unknown_names() {
        assert!(matches!(CapSet::parse(""), Err(CapsError::Empty(_))));
        assert!(matches!(
            CapSet::parse("cap_net_raw,cap_fly"),
            Err(CapsError::Unknown(w, _)) if w == "cap_fly"
        ));
        assert!(CapSet::parse("cap_net_raw,").is_err());
        assert!(CapSet::parse("all").is_err());
    }

    #[test]
    fn decodes_proc_status() {
        let status = "Name:\tsleep\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\n\
                      CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n";
        let eff = effective_from_status(status).unwrap();
        // Docker's and CRI-O's default set.
        assert_eq!(
            eff.to_string(),
            "cap_chown,cap_dac_override,cap_fowner,cap_fsetid,cap_kill,cap_setgid,cap_setuid,\
             cap_setpcap,cap_net_bind_service,cap_net_raw,cap_sys_chroot,cap_mknod,\
             cap_audit_write,cap_setfcap"
        );
        assert_eq!(effective_from_status("Name:\tx\n"), None);
        assert_eq!(CapSet(0).to_string(), "none");
        assert_eq!(name(50), "CAP_50");
    }

    #[test]
    fn refusal_names_each_missing_capability_once() {
        let have = CapSet(0).with(SYS_ADMIN);
        assert_eq!(cleanup_needs(true, false).check("cleanup", have), None);
        assert_eq!(
            cleanup_needs(false, false).check("cleanup", CapSet(0)),
            None
        );
        let line = cleanup_needs(true, true).check("cleanup", have).unwrap();
        assert!(
            line.contains("CAP_SYS_PTRACE") && !line.contains("CAP_SYS_ADMIN"),
            "{line}"
        );
        assert!(!line.contains('\n'));
        let line = pin_needs(true, true).check("pin", CapSet(0)).unwrap();
        for cap in ["CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID"] {
            assert!(line.contains(cap), "{line}");
        }
        assert!(
            !line.contains("CAP_NET_ADMIN"),
            "owned by the new user namespace: {line}"
        );
        assert!(pin_needs(false, true)
            .check("pin", have)
            .unwrap()
            .contains("CAP_NET_ADMIN"));
        assert!(enter_needs(true)
            .check("enter", have.with(SYS_PTRACE))
            .unwrap()
            .contains("CAP_SYS_CHROOT"));
        assert_eq!(
            enter_needs(false).check("enter", have.with(SYS_PTRACE)),
            None
        );
    }

    proptest! {
        #[test]
        fn display_and_parse_round_trip(bits in 0u64..(1 << 41)) {
            let set = CapSet(bits);
            prop_assert_eq!(CapSet::parse(&set.to_string()).unwrap(), set);
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = CapSet::parse(&s);
        }
    }
}
