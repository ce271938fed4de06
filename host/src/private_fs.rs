//! Directories and files only the service's own user may touch.
//!
//! The data directory holds the store (with every source's secrets) and
//! the compile cache holds native code the service loads and runs. Both are
//! created `0700` and the database files `0600`, set explicitly rather than
//! left to the umask. A cache directory that someone else could write into
//! is refused ([`check_private_dir`]): a planted file there would run as
//! the service.

use std::io;
use std::path::Path;

/// Mode of directories created here.
pub const DIR_MODE: u32 = 0o700;
/// Mode of the store's files.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and any missing ancestors, each `0700` whatever the umask.
/// Directories that exist already are left as they are.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir(parent)?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    match builder.create(dir) {
        Ok(()) => set_mode(dir, DIR_MODE),
        // Made by someone else meanwhile (another replica, a racing task).
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates `file` empty if it does not exist (never truncating it), and
/// makes it `0600` either way.
pub fn create_file(file: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options.open(file)?;
    set_mode(file, FILE_MODE)
}

/// Makes `file` `0600` if it exists.
pub fn restrict_file(file: &Path) -> io::Result<()> {
    match set_mode(file, FILE_MODE) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Why `dir` is not private to this user, if it is not: owned by another
/// user, or writable by its group or by others.
pub fn check_private_dir(dir: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(dir).map_err(|e| e.to_string())?;
    if !meta.is_dir() {
        return Err("it is not a directory".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(format!("it is owned by uid {}, not by this process's uid {me}", meta.uid()));
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(format!("its group or other users can write to it (mode {mode:04o})"));
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0)
    }

    #[test]
    fn created_directories_and_files_are_private_whatever_the_umask_allows() {
        let temp = tempfile::tempdir().expect("tmp");
        let root = temp.path().join("a");
        let deep = root.join("b").join("c");
        create_dir(&deep).expect("create");
        for d in [&root, &root.join("b"), &deep] {
            assert_eq!(mode(d), 0o700, "{}", d.display());
        }
        assert_eq!(check_private_dir(&deep), Ok(()));

        // An existing file keeps its content and becomes 0600.
        let file = deep.join("f.db");
        std::fs::write(&file, b"kept").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        create_file(&file).expect("create file");
        assert_eq!((mode(&file), std::fs::read(&file).ok()), (0o600, Some(b"kept".to_vec())));
        restrict_file(&deep.join("missing")).expect("a missing file is fine");
    }

    #[test]
    fn a_directory_others_can_write_is_not_private() {
        let temp = tempfile::tempdir().expect("tmp");
        for (m, private) in [(0o700, true), (0o755, true), (0o770, false), (0o777, false), (0o1777, false)] {
            std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(m)).expect("chmod");
            let verdict = check_private_dir(temp.path());
            assert_eq!(verdict.is_ok(), private, "{m:o}: {verdict:?}");
        }
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
}
