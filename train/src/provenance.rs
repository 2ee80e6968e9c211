//! `provenance.json`: what produced a run (not hashed: it differs between machines).

use serde::Serialize;
use std::path::Path;

/// Versions, host and timings.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// Program and version.
    pub program: String,
    /// Burn version linked.
    pub burn_version: &'static str,
    /// Git commit of the working tree the program ran from, if it is a git checkout.
    pub git_commit: Option<String>,
    /// blake3 of the workspace's Cargo.lock, when found.
    pub cargo_lock_blake3: Option<String>,
    /// Host name.
    pub host: Option<String>,
    /// Logical CPUs.
    pub cpus: usize,
    /// Unix time at start (seconds).
    pub started_unix: u64,
    /// Unix time at the end (seconds), once finished.
    pub finished_unix: Option<u64>,
    /// Wall seconds of training, once finished.
    pub train_seconds: Option<f64>,
}

/// Seconds since the Unix epoch.
#[must_use]
pub fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The current git commit, if `git` and a checkout are available.
#[must_use]
pub fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git").args(["rev-parse", "HEAD"]).stderr(std::process::Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Provenance {
    /// Collect at start.
    #[must_use]
    pub fn collect(program: &str) -> Self {
        let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
        Self {
            program: format!("{program} {}", env!("CARGO_PKG_VERSION")),
            burn_version: "0.22.1",
            git_commit: git_commit(),
            cargo_lock_blake3: fs_err::read(&lock).ok().map(|b| blake3::hash(&b).to_hex().to_string()),
            host: fs_err::read_to_string("/etc/hostname").ok().map(|s| s.trim().to_string()),
            cpus: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            started_unix: now_unix(),
            finished_unix: None,
            train_seconds: None,
        }
    }
}
