//! Whether this process runs setuid, setgid or with file capabilities
//! (`getauxval(AT_SECURE)`).

use crate::error::{Error, Result};

/// Refuses to run setuid or setgid (or with file capabilities): pinns
/// trusts its caller completely. The kernel's AT_SECURE says so without a
/// system call; the ids are read only to name them in the error.
pub fn refuse_setid() -> Result<()> {
    // SAFETY: getauxval only reads the auxiliary vector.
    if unsafe { libc::getauxval(libc::AT_SECURE) } == 0 {
        return Ok(());
    }
    let (uid, euid) = (nix::unistd::getuid(), nix::unistd::geteuid());
    let (gid, egid) = (nix::unistd::getgid(), nix::unistd::getegid());
    Err(Error::Refused(format!(
        "refusing to run setuid/setgid or with file capabilities (uid {uid}, euid {euid}, gid {gid}, egid {egid})"
    )))
}
