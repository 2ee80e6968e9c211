//! The HDF5 image cache: images after the cached preprocessing stages (ROI crop, aspect, resize,
//! intensity mapping; see [`cxr_core::PreprocessSpec`]) as integers, so repeated runs skip
//! decoding. Built by `cxr-data cache build`; read by training and (with the `cache` feature) the
//! evaluator, which refuse a cache whose key differs from the spec they use.
//!
//! Layout (open it with h5py: `h5py.File(path)["images"][i]` is image `i`):
//!
//! | path | type | content |
//! |---|---|---|
//! | `/` attributes | | `format` = `"cxr-image-cache"`, `format_version`, `cache_key` (see [`cxr_core::PreprocessSpec::cache_key`]), `spec` (the spec as JSON), `size`, `dataset`, `split`, `root`, `created_by` |
//! | `/images` | `uint8` or `uint16` `[N, size, size]`, one chunk per image | the prepared image; a value `v` means `v / levels[i]` |
//! | `/index/id` | string `[N]` | the dataset's image key (CheXpert `Path`, MIMIC `dicom_id`, …) |
//! | `/index/path` | string `[N]` | the image file, relative to `root` |
//! | `/index/patient_id` | string `[N]` | patient |
//! | `/index/blake3` | string `[N]` | BLAKE3 of the image file's bytes: readers look images up by content, so an edited file is decoded, never served stale |
//! | `/index/levels` | `uint16` `[N]` | the image's top level: 255 (8-bit working depth) or 65535 |
//! | `/index/written` | `uint8` `[N]` | 1 once the image is stored (an interrupted build resumes from the others) |
//! | `/labels/<finding>` | `int8` `[N]` | 1 positive, 0 negative, −1 uncertain, −9 missing (attribute `encoding`) |

mod build;
mod read;

pub use build::{BuildReport, CacheDtype, build_cache, file_blake3};
pub use read::ImageCache;

/// The `format` attribute.
pub const FORMAT: &str = "cxr-image-cache";
/// The `format_version` attribute.
pub const FORMAT_VERSION: u32 = 1;
/// The label encoding stored in `/labels/*`.
pub const LABEL_ENCODING: &str = "1 positive, 0 negative, -1 uncertain, -9 missing";

fn h5err(path: &std::path::Path, e: &hdf5::Error) -> crate::DataError {
    crate::DataError::Invalid(format!("{}: {e}", path.display()))
}

/// The selection of image `i` in `/images` (ndarray's `s!` macro expands to unsafe code, which
/// the workspace forbids).
fn image_row(i: usize) -> hdf5::Hyperslab {
    use hdf5::SliceOrIndex;
    vec![SliceOrIndex::Index(i), SliceOrIndex::from(..), SliceOrIndex::from(..)].into()
}

/// A cache's attributes and counts, for `cxr-data cache info`.
///
/// # Errors
/// Not an HDF5 file, or not a cache.
pub fn info(path: &std::path::Path) -> Result<serde_json::Value, crate::DataError> {
    use hdf5::types::VarLenUnicode;
    let e = |err: hdf5::Error| h5err(path, &err);
    let file = hdf5::File::open(path).map_err(e)?;
    let s = |name: &str| file.attr(name).and_then(|a| a.read_scalar::<VarLenUnicode>()).map(|v| v.as_str().to_string()).ok();
    if s("format").as_deref() != Some(FORMAT) {
        return Err(crate::DataError::Invalid(format!("{}: not an image cache (no format = {FORMAT:?} attribute)", path.display())));
    }
    let images = file.dataset("images").map_err(e)?;
    let written: Vec<u8> = file.dataset("index/written").and_then(|d| d.read_raw()).map_err(e)?;
    let spec: serde_json::Value = s("spec").and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    Ok(serde_json::json!({
        "path": path, "format": FORMAT, "format_version": file.attr("format_version").and_then(|a| a.read_scalar::<u32>()).ok(),
        "cache_key": s("cache_key"), "spec": spec, "dataset": s("dataset"), "split": s("split"), "root": s("root"), "created_by": s("created_by"),
        "shape": images.shape(), "dtype": if images.dtype().map_err(e)?.size() == 1 { "uint8" } else { "uint16" },
        "images": written.len(), "written": written.iter().filter(|&&w| w == 1).count(),
    }))
}
