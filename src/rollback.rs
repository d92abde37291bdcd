//! Undo journal: each change a pin makes is recorded as it is made, and
//! undone in reverse order when the journal is dropped without `commit`.
//! Errors (`?`) and panics therefore roll back on their own.

use crate::sys;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Undo {
    /// A directory this call created (left alone if someone filled it).
    RemoveDir(PathBuf),
    /// A pin file this call created.
    RemoveFile(PathBuf),
    /// A namespace bind mount this call made.
    Detach(PathBuf),
    /// A self bind mount made to pin mount namespaces under (left alone if in use).
    UnmountSelfBind(PathBuf),
}

impl Undo {
    fn run(&self) {
        // Best effort: a rollback runs because something already failed, and
        // the first error is the one worth reporting.
        let _ = match self {
            Undo::RemoveDir(p) => std::fs::remove_dir(p).map_err(drop),
            Undo::RemoveFile(p) => std::fs::remove_file(p).map_err(drop),
            Undo::Detach(p) => sys::detach(p).map_err(drop),
            Undo::UnmountSelfBind(p) => sys::unmount_if_unused(p).map_err(drop),
        };
    }
}

#[derive(Debug, Default)]
#[must_use = "a Rollback undoes everything when dropped unless committed"]
pub struct Rollback {
    steps: Vec<Undo>,
}

impl Rollback {
    pub fn push(&mut self, step: Undo) {
        self.steps.push(step);
    }

    /// Keeps every recorded change.
    pub fn commit(mut self) {
        self.steps.clear();
    }
}

impl Drop for Rollback {
    fn drop(&mut self) {
        while let Some(step) = self.steps.pop() {
            step.run();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undoes_in_reverse_unless_committed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        let file = dir.join("f");
        {
            let mut rb = Rollback::default();
            std::fs::create_dir(&dir).unwrap();
            rb.push(Undo::RemoveDir(dir.clone()));
            std::fs::write(&file, "").unwrap();
            rb.push(Undo::RemoveFile(file.clone()));
        }
        // The file had to go first for the directory removal to succeed.
        assert!(!dir.exists());

        let mut rb = Rollback::default();
        std::fs::create_dir(&dir).unwrap();
        rb.push(Undo::RemoveDir(dir.clone()));
        rb.commit();
        assert!(dir.exists());
    }

    #[test]
    fn leaves_a_directory_someone_else_filled() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        {
            let mut rb = Rollback::default();
            std::fs::create_dir(&dir).unwrap();
            rb.push(Undo::RemoveDir(dir.clone()));
            std::fs::write(dir.join("other"), "").unwrap();
        }
        assert!(dir.join("other").exists());
    }
}
