//! Reading a cache: the key is checked once when opening; each lookup reads one chunk.

use super::{FORMAT, h5err};
use crate::{DataError, Prepared};
use cxr_core::PreprocessSpec;
use hdf5::types::VarLenUnicode;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// An open cache, checked against a spec.
pub struct ImageCache {
    path: PathBuf,
    images: hdf5::Dataset,
    eight_bit: bool,
    size: u32,
    /// File BLAKE3 → (row, levels).
    rows: HashMap<String, (usize, u16)>,
    hits: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for ImageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ImageCache({}, {} images)", self.path.display(), self.rows.len())
    }
}

fn attr_string(file: &hdf5::File, name: &str) -> hdf5::Result<String> {
    Ok(file.attr(name)?.read_scalar::<VarLenUnicode>()?.as_str().to_string())
}

impl ImageCache {
    /// Open `path` for `spec`.
    ///
    /// # Errors
    /// Not a cache, or built for a different preprocessing (both keys named), or unreadable.
    pub fn open(path: &Path, spec: &PreprocessSpec) -> Result<Self, DataError> {
        let err = |e: hdf5::Error| h5err(path, &e);
        if !path.is_file() {
            return Err(DataError::NotFound { path: path.to_path_buf(), what: "image cache".into() });
        }
        let file = hdf5::File::open(path).map_err(err)?;
        if attr_string(&file, "format").ok().as_deref() != Some(FORMAT) {
            return Err(DataError::Invalid(format!("{}: not an image cache (no format = {FORMAT:?} attribute)", path.display())));
        }
        let key = attr_string(&file, "cache_key").map_err(err)?;
        if key != spec.cache_key() {
            let theirs = attr_string(&file, "spec").unwrap_or_default();
            return Err(DataError::Invalid(format!(
                "{}: built for a different preprocessing (cache key {}…, this run's {}…); its spec is {theirs}. Rebuild it with `cxr-data cache build` for this spec, or leave the cache out to decode on the fly",
                path.display(),
                &key[..key.len().min(12)],
                &spec.cache_key()[..12]
            )));
        }
        let images = file.dataset("images").map_err(err)?;
        let shape = images.shape();
        let size = shape.get(1).copied().unwrap_or(0) as u32;
        if shape.len() != 3 || size != spec.size || shape[2] as u32 != spec.size {
            return Err(DataError::Invalid(format!("{}: /images has shape {shape:?}, expected [N, {s}, {s}]", path.display(), s = spec.size)));
        }
        let eight_bit = images.dtype().map_err(err)?.size() == 1;
        let hashes: Vec<VarLenUnicode> = file.dataset("index/blake3").map_err(err)?.read_raw().map_err(err)?;
        let written: Vec<u8> = file.dataset("index/written").map_err(err)?.read_raw().map_err(err)?;
        let levels: Vec<u16> = file.dataset("index/levels").map_err(err)?.read_raw().map_err(err)?;
        let rows = hashes.iter().zip(written.iter().zip(&levels)).enumerate().filter(|(_, (_, (w, _)))| **w == 1).map(|(i, (h, (_, l)))| (h.as_str().to_string(), (i, *l))).collect();
        Ok(Self { path: path.to_path_buf(), images, eight_bit, size, rows, hits: std::sync::atomic::AtomicUsize::new(0) })
    }

    /// Images stored.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Lookups this cache has served since it was opened.
    #[must_use]
    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether no image is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The prepared image of the file whose content has BLAKE3 `file_blake3` (hex), or `None`
    /// when the cache does not hold it. Looking up by content means an image edited since the
    /// cache was built is never served stale: it misses and is decoded.
    #[must_use]
    pub fn get(&self, file_blake3: &str) -> Option<Result<Prepared, DataError>> {
        let &(row, levels) = self.rows.get(file_blake3)?;
        self.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let err = |e: hdf5::Error| DataError::Invalid(format!("{}: image {row}: {e}", self.path.display()));
        let pixels: Result<Vec<u16>, DataError> = if self.eight_bit {
            self.images.read_slice_2d::<u8, _>(super::image_row(row)).map(|a| a.iter().map(|&v| u16::from(v)).collect()).map_err(err)
        } else {
            self.images.read_slice_2d::<u16, _>(super::image_row(row)).map(|a| a.into_raw_vec_and_offset().0).map_err(err)
        };
        Some(pixels.map(|pixels| Prepared { size: self.size, levels, pixels }))
    }
}
