//! HDF5 image caches for the evaluator (`--cache`, built with the `cache` feature; the default
//! build links no libhdf5). A cache must have been built for the card's preprocessing (its key
//! is checked when opened) and is looked up by each file's content hash, so an image edited since
//! is decoded rather than served stale. Without the feature, asking for a cache is an error.

use cxr_core::PreprocessSpec;
use cxr_data::{DataError, Prepared};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Open caches and a count of the images they served.
#[derive(Debug, Default)]
pub struct Caches {
    #[cfg(feature = "cache")]
    open: Vec<cxr_data::ImageCache>,
    hits: AtomicUsize,
}

impl Caches {
    /// No cache: every image is decoded.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// Open `paths` for `spec`.
    ///
    /// # Errors
    /// A cache built for another preprocessing (both keys named), an unreadable file, or any
    /// path at all in a build without the `cache` feature.
    pub fn open(paths: &[PathBuf], spec: &PreprocessSpec) -> Result<Self, DataError> {
        #[cfg(feature = "cache")]
        {
            let open = paths.iter().map(|p| cxr_data::ImageCache::open(p, spec)).collect::<Result<_, _>>()?;
            Ok(Self { open, hits: AtomicUsize::new(0) })
        }
        #[cfg(not(feature = "cache"))]
        {
            let _ = spec;
            match paths.first() {
                None => Ok(Self::none()),
                Some(p) => Err(DataError::Invalid(format!(
                    "{}: this cxr-eval was built without HDF5 cache support; rebuild it with `cargo build --release -p cxr-evaluate --features cache` (needs libhdf5), or leave --cache out to decode images",
                    p.display()
                ))),
            }
        }
    }

    /// The prepared image of the file with content hash `file_blake3`, if a cache holds it.
    #[must_use]
    pub fn get(&self, file_blake3: &str) -> Option<Result<Prepared, DataError>> {
        #[cfg(feature = "cache")]
        for c in &self.open {
            if let Some(found) = c.get(file_blake3) {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Some(found);
            }
        }
        let _ = file_blake3;
        None
    }

    /// Images served from a cache so far.
    #[must_use]
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }
}
