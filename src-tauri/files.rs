//! Files only their owner can read: the data directory (0700), the database and its WAL/SHM
//! companions, exports and backups (0600) on Unix. Elsewhere the OS's per-user folders apply.
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Creates `dir` (and its parents, as 0700) and makes `dir` itself private to the user.
pub fn private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| Error::io(dir, e))?;
    restrict(dir)
}

/// Creates `path` empty if it does not exist, private to the user; an existing file is made
/// private. (SQLite gives `-wal` and `-shm` the database file's mode.)
pub fn private_file(path: &Path) -> Result<()> {
    // Never truncating: two processes opening a new history at once both get here, and the
    // second must not empty the database the first has just written ("database disk image is
    // malformed", "no such table" in `concurrent_first_opens_all_succeed`).
    match private_options().create_new(true).open(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    restrict(path)
}

/// Writes `bytes` to `path` through a private temporary file renamed into place, so a failure
/// leaves no half file and no other user can read it.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let tmp = path.with_extension("part");
    let written = open_private(&tmp).and_then(|mut f| {
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&tmp, e))
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

fn open_private(path: &Path) -> Result<File> {
    private_options()
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

/// Options to write a file that, if they create it, only its owner can read (0600).
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Takes group and other access away (the owner's own bits are left as they are: a folder the
/// user made read-only stays read-only).
#[cfg(unix)]
fn restrict(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & !0o077))
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_path: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn a_private_file_is_created_empty_and_an_existing_one_keeps_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hindsight.db");
        private_file(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        // Another process has written the database meanwhile: opening it again keeps it.
        std::fs::write(&path, b"SQLite format 3\0").unwrap();
        private_file(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"SQLite format 3\0");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0);
        }
    }
}
