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
    /// Per-epoch training time and throughput (from `train_log.jsonl`, so epochs run before an
    /// interruption are included).
    pub epochs: Vec<EpochTiming>,
    /// Peak resident memory of the process that finished the run (Linux `VmHWM`).
    pub peak_rss_bytes: Option<u64>,
    /// The HDF5 image cache of the finishing process, and how many image reads it served.
    pub cache: Option<serde_json::Value>,
}

/// One epoch's cost, for the study's efficiency table.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct EpochTiming {
    /// Epoch (1-based).
    pub epoch: u32,
    /// Wall seconds of the training pass (validation excluded).
    pub seconds: f64,
    /// Training images per second.
    #[serde(default)]
    pub images_per_second: f64,
}

impl EpochTiming {
    /// Read the timings from a run's `train_log.jsonl`.
    ///
    /// # Errors
    /// An unreadable or malformed log, named.
    pub fn from_log(path: &Path) -> anyhow::Result<Vec<Self>> {
        use anyhow::Context;
        let text = fs_err::read_to_string(path)?;
        text.lines().enumerate().map(|(i, l)| serde_json::from_str::<Self>(l).with_context(|| format!("{} line {}: not an epoch record", path.display(), i + 1))).collect()
    }
}

/// Peak resident set size of this process, from `/proc/self/status` (`None` elsewhere).
#[must_use]
pub fn peak_rss_bytes() -> Option<u64> {
    let status = fs_err::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
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
            epochs: Vec::new(),
            peak_rss_bytes: None,
            cache: None,
        }
    }
}
