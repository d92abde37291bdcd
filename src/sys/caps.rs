//! Capability system calls: capget/capset (version 3, two 32-bit words per
//! set), the bounding and ambient sets, no_new_privs. One capget is all the
//! up-front check of a pin costs.

use crate::caps::CapSet;
use crate::error::{Error, Result};
use nix::errno::Errno;

pub(super) const VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct Header {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// This thread's effective, permitted and inheritable sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sets {
    pub effective: CapSet,
    pub permitted: CapSet,
    pub inheritable: CapSet,
}

fn join(words: [Data; 2], pick: fn(&Data) -> u32) -> CapSet {
    CapSet(u64::from(pick(&words[0])) | u64::from(pick(&words[1])) << 32)
}

pub fn current() -> Result<Sets> {
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: header and a two-element data array, as version 3 expects.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if rc != 0 {
        return Err(Error::call("capget", Errno::last()));
    }
    Ok(Sets {
        effective: join(data, |d| d.effective),
        permitted: join(data, |d| d.permitted),
        inheritable: join(data, |d| d.inheritable),
    })
}

fn set(sets: Sets) -> Result<()> {
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let word = |s: CapSet, i: u32| (s.0 >> (32 * i)) as u32;
    let data = [0, 1].map(|i| Data {
        effective: word(sets.effective, i),
        permitted: word(sets.permitted, i),
        inheritable: word(sets.inheritable, i),
    });
    // SAFETY: header and a two-element data array, as version 3 expects.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    if rc != 0 {
        return Err(Error::call("capset", Errno::last()));
    }
    Ok(())
}

fn prctl(op: libc::c_int, arg2: libc::c_ulong, arg3: libc::c_ulong, what: &str) -> Result<()> {
    // SAFETY: integer arguments only.
    let rc = unsafe { libc::prctl(op, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    if rc != 0 {
        return Err(Error::call(what.to_string(), Errno::last()));
    }
    Ok(())
}

/// The highest capability number this kernel knows.
fn last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Limits this process, and all it runs, to `keep` (within what it has):
/// no_new_privs, every other capability dropped from the bounding set, then
/// effective = permitted = inheritable = ambient = `keep`. The ambient set
/// carries them across an exec by a non-root user too; for root the
/// bounding set is what limits the command.
pub fn restrict_to(keep: CapSet) -> Result<()> {
    let have = current()?;
    let keep = CapSet(keep.0 & have.permitted.0);
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, "set no_new_privs")?;
    // Dropping from the bounding set takes CAP_SETPCAP: before capset.
    for cap in (0..=last_cap()).filter(|&c| !keep.contains(c)) {
        prctl(
            libc::PR_CAPBSET_DROP,
            cap.into(),
            0,
            &format!("drop {} from the bounding set", crate::caps::name(cap)),
        )?;
    }
    set(Sets {
        effective: keep,
        permitted: keep,
        inheritable: keep,
    })?;
    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
        0,
        "clear the ambient set",
    )?;
    for cap in keep.iter() {
        prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
            cap.into(),
            &format!("raise {} in the ambient set", crate::caps::name(cap)),
        )?;
    }
    Ok(())
}
