//! `cxr-runtime`: finding and loading ONNX Runtime, and building sessions.
//!
//! ONNX Runtime is loaded at run time (`ort`'s `load-dynamic`), never downloaded. The library is
//! found by, in order: an explicit path (`--ort-lib`), the `ORT_DYLIB_PATH` environment variable
//! (set for cargo by `.cargo/config.toml`), then `<executable dir>/lib/`, so an installed binary
//! works outside cargo. Sessions are built from the very bytes that were hashed
//! (`commit_from_memory`), so what was checked is what runs.
//!
//! Must not depend on Burn or on ort's `training` / `download-binaries` features.

use ort::ep::{self, ExecutionProvider};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// SHA-256 hex of bytes (the model identity that `model.onnx.sha256` records).
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// One `sha256sum`-format line for `file_name`, as written beside a model.
#[must_use]
pub fn sha256sum_line(sha256_hex: &str, file_name: &str) -> String {
    format!("{sha256_hex}  {file_name}\n")
}

/// The command that installs the library into the project.
pub const SETUP_COMMAND: &str = "scripts/setup.sh";

/// Execution providers a user can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// The CPU provider (always available).
    Cpu,
    /// NVIDIA CUDA.
    Cuda,
    /// NVIDIA TensorRT.
    TensorRt,
}

impl Provider {
    /// Parse `cpu`, `cuda` or `tensorrt`.
    ///
    /// # Errors
    /// A message listing the valid names.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            "tensorrt" => Ok(Self::TensorRt),
            _ => Err(format!("unknown execution provider {s:?}; valid: cpu, cuda, tensorrt")),
        }
    }

    /// Stable name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
            Self::TensorRt => "tensorrt",
        }
    }
}

/// Runtime failures.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No library found in any of the three places.
    #[error("ONNX Runtime library not found. Looked in: {tried}. Install it with `{SETUP_COMMAND}` (from the repository root), or pass --ort-lib PATH or set ORT_DYLIB_PATH")]
    LibraryNotFound {
        /// The places looked at, in order.
        tried: String,
    },
    /// The library exists but could not be loaded.
    #[error("cannot load ONNX Runtime from {path}: {message}")]
    Load {
        /// Library path.
        path: PathBuf,
        /// Loader message.
        message: String,
    },
    /// A requested execution provider is unavailable.
    #[error("execution provider {provider} is not available: {message}. The CPU build of ONNX Runtime (the onnxruntime wheel) has none; install the onnxruntime-gpu wheel's libraries (CUDA 13, cuDNN; TensorRT 10 separately) and point --ort-lib at its libonnxruntime.so")]
    ProviderUnavailable {
        /// Provider name.
        provider: &'static str,
        /// ORT's message.
        message: String,
    },
    /// Any other ORT error.
    #[error("ONNX Runtime: {0}")]
    Ort(String),
}

impl From<ort::Error> for RuntimeError {
    fn from(e: ort::Error) -> Self {
        Self::Ort(e.to_string())
    }
}

/// Where the library was found.
#[derive(Debug, Clone)]
pub struct LoadedRuntime {
    /// The library file.
    pub path: PathBuf,
    /// How it was found: `--ort-lib`, `ORT_DYLIB_PATH` or `executable dir`.
    pub found_by: &'static str,
}

/// Locate the library without loading it.
///
/// # Errors
/// [`RuntimeError::LibraryNotFound`] listing the places tried.
pub fn locate(explicit: Option<&Path>) -> Result<LoadedRuntime, RuntimeError> {
    let mut tried = Vec::new();
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(LoadedRuntime { path: p.to_path_buf(), found_by: "--ort-lib" });
        }
        tried.push(format!("--ort-lib {}", p.display()));
    }
    match std::env::var_os("ORT_DYLIB_PATH") {
        Some(p) if Path::new(&p).is_file() => return Ok(LoadedRuntime { path: PathBuf::from(p), found_by: "ORT_DYLIB_PATH" }),
        Some(p) => tried.push(format!("ORT_DYLIB_PATH={}", Path::new(&p).display())),
        None => tried.push("ORT_DYLIB_PATH (unset)".into()),
    }
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(|d| d.join("lib"))) {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("libonnxruntime.so"))).collect())
            .unwrap_or_default();
        found.sort();
        if let Some(p) = found.into_iter().next() {
            return Ok(LoadedRuntime { path: p, found_by: "executable dir" });
        }
        tried.push(format!("{}/libonnxruntime.so*", dir.display()));
    }
    Err(RuntimeError::LibraryNotFound { tried: tried.join("; ") })
}

static ENV: OnceLock<Result<(LoadedRuntime, ort::environment::Environment), String>> = OnceLock::new();

/// Load the library (once per process) and build the ORT environment.
///
/// # Errors
/// Not found, or not loadable.
pub fn init(explicit: Option<&Path>) -> Result<&'static (LoadedRuntime, ort::environment::Environment), RuntimeError> {
    let rt = locate(explicit)?;
    let r = ENV.get_or_init(|| {
        let builder = ort::init_from(&rt.path).map_err(|e| format!("{}: {e}", rt.path.display()))?;
        let env = builder.with_name("cxr").build().map_err(|e| e.to_string())?;
        Ok((rt.clone(), env))
    });
    r.as_ref().map_err(|message| RuntimeError::Load { path: rt.path.clone(), message: message.clone() })
}

/// Build a session from model bytes on `provider` with default provider options and no
/// fall-back (see [`session_with`]).
///
/// # Errors
/// [`RuntimeError::ProviderUnavailable`] or an ORT error.
pub fn session(env: &ort::environment::Environment, bytes: &[u8], provider: Provider, threads: usize) -> Result<Session, RuntimeError> {
    session_with(env, bytes, &EpOptions::new(provider), threads).map(|(s, _)| s)
}

/// How to run on an execution provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpOptions {
    /// The provider asked for.
    pub provider: Provider,
    /// GPU ordinal (CUDA, TensorRT).
    pub device_id: i32,
    /// TensorRT: build fp16 engines.
    pub trt_fp16: bool,
    /// TensorRT: cache built engines (and timing data) in this folder.
    pub trt_engine_cache: Option<PathBuf>,
    /// Run on the CPU, recorded, when the provider is unavailable (default: an error).
    pub fallback: bool,
}

impl EpOptions {
    /// Defaults: device 0, fp32, no engine cache, no fall-back.
    #[must_use]
    pub fn new(provider: Provider) -> Self {
        Self { provider, device_id: 0, trt_fp16: false, trt_engine_cache: None, fallback: false }
    }
}

/// The provider a session really runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RanOn {
    /// The provider of the session.
    pub provider: Provider,
    /// When it is not the one asked for: the provider asked for and why it was unavailable.
    pub fell_back_from: Option<(Provider, String)>,
}

/// Build a session from model bytes: `threads` intra-op threads, deterministic compute, on the
/// requested provider. A GPU provider that is missing or fails to register is
/// [`RuntimeError::ProviderUnavailable`] naming the missing library, never a silent CPU run;
/// with `fallback` the session runs on the CPU instead and [`RanOn`] says so. TensorRT is
/// registered ahead of CUDA, so nodes TensorRT does not take run on CUDA, not on the CPU.
///
/// # Errors
/// [`RuntimeError::ProviderUnavailable`] or an ORT error.
pub fn session_with(env: &ort::environment::Environment, bytes: &[u8], ep_opts: &EpOptions, threads: usize) -> Result<(Session, RanOn), RuntimeError> {
    match build(env, bytes, ep_opts, threads) {
        Ok(s) => Ok((s, RanOn { provider: ep_opts.provider, fell_back_from: None })),
        Err(RuntimeError::ProviderUnavailable { message, .. }) if ep_opts.fallback && ep_opts.provider != Provider::Cpu => {
            let s = build(env, bytes, &EpOptions::new(Provider::Cpu), threads)?;
            Ok((s, RanOn { provider: Provider::Cpu, fell_back_from: Some((ep_opts.provider, message)) }))
        }
        Err(e) => Err(e),
    }
}

fn build(env: &ort::environment::Environment, bytes: &[u8], o: &EpOptions, threads: usize) -> Result<Session, RuntimeError> {
    let e = |x: ort::Error<ort::session::builder::SessionBuilder>| RuntimeError::Ort(ort::Error::<()>::from(x).to_string());
    let mut b = Session::builder(env)?
        .with_optimization_level(GraphOptimizationLevel::Level3).map_err(e)?
        .with_intra_threads(threads.max(1)).map_err(e)?
        .with_inter_threads(1).map_err(e)?
        .with_deterministic_compute(true).map_err(e)?;
    let provider = o.provider;
    let unavailable = |message: String| RuntimeError::ProviderUnavailable { provider: provider.name(), message };
    // With load-dynamic, a GPU provider lives in a shared library beside libonnxruntime.so.
    let missing = |lib: &str| {
        let dir = ENV.get().and_then(|r| r.as_ref().ok()).and_then(|(rt, _)| rt.path.parent().map(Path::to_path_buf)).unwrap_or_default();
        unavailable(format!("{} is missing or does not load, so this ONNX Runtime has no {} provider", dir.join(lib).display(), provider.name()))
    };
    let cuda = || ep::CUDA::default().with_device_id(o.device_id).build().error_on_failure();
    match provider {
        Provider::Cpu => {}
        Provider::Cuda => {
            if !ep::CUDA::is_available().unwrap_or(false) {
                return Err(missing("libonnxruntime_providers_cuda.so"));
            }
            b = b.with_execution_providers([cuda()]).map_err(|x| unavailable(ort::Error::<()>::from(x).to_string()))?;
        }
        Provider::TensorRt => {
            if !ep::TensorRT::is_available().unwrap_or(false) {
                return Err(missing("libonnxruntime_providers_tensorrt.so"));
            }
            let mut trt = ep::TensorRT::default().with_device_id(o.device_id).with_fp16(o.trt_fp16);
            if let Some(dir) = &o.trt_engine_cache {
                let d = dir.display().to_string();
                trt = trt.with_engine_cache(true).with_engine_cache_path(&d).with_timing_cache(true).with_timing_cache_path(&d);
            }
            b = b.with_execution_providers([trt.build().error_on_failure(), cuda()]).map_err(|x| unavailable(ort::Error::<()>::from(x).to_string()))?;
        }
    }
    Ok(b.commit_from_memory(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_library_lists_the_places_and_the_setup_command() {
        let e = locate(Some(Path::new("/nonexistent/libonnxruntime.so"))).err();
        // ORT_DYLIB_PATH may be set by cargo and valid; only check the message when nothing is found.
        if let Some(e) = e {
            let m = e.to_string();
            assert!(m.contains("--ort-lib /nonexistent") && m.contains(SETUP_COMMAND), "{m}");
        }
    }

    #[test]
    fn provider_names() {
        assert_eq!(Provider::parse("cuda").unwrap(), Provider::Cuda);
        assert!(Provider::parse("gpu").unwrap_err().contains("cpu, cuda, tensorrt"));
    }
}
