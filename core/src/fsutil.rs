//! Atomic file writes: a reader never sees a half-written output.

use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` atomically: write a temporary file in the same directory, flush it to
/// disk, then rename it over the destination.
///
/// # Errors
/// Any I/O error, naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    {
        let mut f = fs_err::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs_err::rename(&tmp, path)
}

/// Serialize `value` as pretty JSON (with a trailing newline) and write it atomically.
///
/// # Errors
/// Serialization or I/O errors, naming the file.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let mut s = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    s.push('\n');
    write_atomic(path, s.as_bytes())
}

