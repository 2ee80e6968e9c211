//! Building a cache: parallel preparation in rayon workers, writes from one thread (HDF5
//! serializes every call), a `.partial` file that an interrupted build resumes, and a rename when
//! every image has been attempted.

use super::{FORMAT, FORMAT_VERSION, LABEL_ENCODING, h5err};
use crate::{DataError, Dataset, Prepared, prepare_record};
use cxr_core::{Depth, Label, PreprocessSpec, SHARED9};
use hdf5::types::VarLenUnicode;
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Storage type of `/images`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheDtype {
    /// `uint8` when the working depth is 8 bits (the spec reduces to 8 bits, or the first image is
    /// 8-bit), else `uint16`.
    Auto,
    /// `uint8`: every image must be 8-bit at the working depth.
    U8,
    /// `uint16`: any image.
    U16,
}

/// What a build did.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// The finished file.
    pub path: PathBuf,
    /// Rows (the dataset's images).
    pub images: usize,
    /// Stored by this call.
    pub written_now: usize,
    /// Stored by an earlier, interrupted call.
    pub resumed: usize,
    /// Images that could not be prepared: `(id, error)`; they stay unwritten and are decoded (and
    /// fail the same way) when a run needs them.
    pub failed: Vec<(String, String)>,
    /// `uint8` or `uint16`.
    pub dtype: &'static str,
    /// The spec's cache key.
    pub cache_key: String,
    /// Whether the cache already existed, complete.
    pub already_complete: bool,
}

fn vlu(s: &str) -> VarLenUnicode {
    s.parse().unwrap_or_default()
}

/// BLAKE3 (hex) of a file's bytes: the key a cached image is found by.
///
/// # Errors
/// The file cannot be read (named).
pub fn file_blake3(path: &Path) -> Result<String, DataError> {
    let bytes = fs_err::read(path).map_err(|e| DataError::Image { path: path.to_path_buf(), message: e.to_string() })?;
    Ok(blake3::hash(&bytes).to_hex().to_string())
}

fn label_code(l: Label) -> i8 {
    match l {
        Label::Positive => 1,
        Label::Negative => 0,
        Label::Uncertain => -1,
        Label::Missing => -9,
    }
}

fn read_key(file: &hdf5::File) -> Option<String> {
    file.attr("cache_key").ok()?.read_scalar::<VarLenUnicode>().ok().map(|v| v.as_str().to_string())
}

fn ids_of(file: &hdf5::File) -> hdf5::Result<Vec<String>> {
    Ok(file.dataset("index/id")?.read_raw::<VarLenUnicode>()?.iter().map(|v| v.as_str().to_string()).collect())
}

fn partial_path(out: &Path) -> PathBuf {
    let mut p = out.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

/// Check an existing file (finished or partial) against the spec and the dataset.
fn check_existing(path: &Path, file: &hdf5::File, spec: &PreprocessSpec, ds: &Dataset) -> Result<(), DataError> {
    let key = read_key(file).unwrap_or_default();
    if key != spec.cache_key() {
        return Err(DataError::Invalid(format!(
            "{}: holds images prepared for a different preprocessing (cache key {}…, this spec's {}…); refusing to mix specs in one cache: choose another output file or delete this one",
            path.display(),
            &key[..key.len().min(12)],
            &spec.cache_key()[..12]
        )));
    }
    let ids = ids_of(file).map_err(|e| h5err(path, &e))?;
    if ids.len() != ds.records.len() || ids.iter().zip(&ds.records).any(|(a, r)| *a != r.id) {
        return Err(DataError::Invalid(format!("{}: was built for a different image list ({} images; this dataset has {}); choose another output file", path.display(), ids.len(), ds.records.len())));
    }
    Ok(())
}

fn create(path: &Path, spec: &PreprocessSpec, ds: &Dataset, eight_bit: bool) -> hdf5::Result<hdf5::File> {
    let file = hdf5::File::create(path)?;
    let n = ds.records.len();
    let size = spec.size as usize;
    let put = |name: &str, v: &str| -> hdf5::Result<()> { file.new_attr::<VarLenUnicode>().create(name)?.write_scalar(&vlu(v)) };
    put("format", FORMAT)?;
    file.new_attr::<u32>().create("format_version")?.write_scalar(&FORMAT_VERSION)?;
    put("cache_key", &spec.cache_key())?;
    put("spec", &serde_json::to_string(spec).unwrap_or_default())?;
    file.new_attr::<u32>().create("size")?.write_scalar(&spec.size)?;
    put("dataset", ds.source.name())?;
    put("split", &ds.split)?;
    put("root", &ds.root.display().to_string())?;
    put("created_by", concat!("cxr-data ", env!("CARGO_PKG_VERSION")))?;
    let shape = (n, size, size);
    if eight_bit {
        file.new_dataset::<u8>().chunk((1, size, size)).shape(shape).create("images")?;
    } else {
        file.new_dataset::<u16>().chunk((1, size, size)).shape(shape).create("images")?;
    }
    let index = file.create_group("index")?;
    let strings = |f: &dyn Fn(&crate::Record) -> String| Array1::from_iter(ds.records.iter().map(|r| vlu(&f(r))));
    index.new_dataset_builder().with_data(&strings(&|r| r.id.clone())).create("id")?;
    index.new_dataset_builder().with_data(&strings(&|r| r.path.strip_prefix(&ds.root).unwrap_or(&r.path).display().to_string())).create("path")?;
    index.new_dataset_builder().with_data(&strings(&|r| r.patient_id.clone())).create("patient_id")?;
    index.new_dataset_builder().with_data(&Array1::from_elem(n, vlu(""))).create("blake3")?;
    index.new_dataset_builder().with_data(&Array1::<u16>::zeros(n)).create("levels")?;
    index.new_dataset_builder().with_data(&Array1::<u8>::zeros(n)).create("written")?;
    let labels = file.create_group("labels")?;
    for f in SHARED9 {
        let col = Array1::from_iter(ds.labels.rows.iter().map(|row| label_code(row[f.index()])));
        let d = labels.new_dataset_builder().with_data(&col).create(f.name())?;
        d.new_attr::<VarLenUnicode>().create("encoding")?.write_scalar(&vlu(LABEL_ENCODING))?;
    }
    Ok(file)
}

/// Build (or resume, or confirm) the cache of every image of `ds` under `spec` at `out`;
/// `on_image` is called once per image attempted.
///
/// # Errors
/// An existing cache or partial file for a different spec or image list (never mixed), a 16-bit
/// image for an 8-bit cache without a conversion rule, or HDF5 I/O — each naming the file.
pub fn build_cache(out: &Path, spec: &PreprocessSpec, ds: &Dataset, dtype: CacheDtype, on_image: &(dyn Fn() + Sync)) -> Result<BuildReport, DataError> {
    let n = ds.records.len();
    let mut report = BuildReport { path: out.to_path_buf(), images: n, written_now: 0, resumed: 0, failed: Vec::new(), dtype: "uint8", cache_key: spec.cache_key(), already_complete: false };
    if out.is_file() {
        let file = hdf5::File::open(out).map_err(|e| h5err(out, &e))?;
        check_existing(out, &file, spec, ds)?;
        let written: Vec<u8> = file.dataset("index/written").and_then(|d| d.read_raw()).map_err(|e| h5err(out, &e))?;
        report.resumed = written.iter().filter(|&&w| w == 1).count();
        report.dtype = if file.dataset("images").and_then(|d| d.dtype()).map_err(|e| h5err(out, &e))?.size() == 1 { "uint8" } else { "uint16" };
        report.already_complete = true;
        return Ok(report);
    }
    let partial = partial_path(out);
    let e = |e: hdf5::Error| h5err(&partial, &e);
    let file = if partial.is_file() {
        let file = hdf5::File::open_rw(&partial).map_err(e)?;
        check_existing(&partial, &file, spec, ds)?;
        file
    } else {
        let eight_bit = match dtype {
            CacheDtype::U8 => true,
            CacheDtype::U16 => false,
            CacheDtype::Auto if spec.depth == Depth::Eight => true,
            CacheDtype::Auto => match ds.records.first() {
                Some(r) => prepare_record(spec, r).map(|p| p.levels == 255).unwrap_or(false),
                None => true,
            },
        };
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs_err::create_dir_all(parent).map_err(|err| DataError::Io { path: parent.to_path_buf(), source: err })?;
        }
        create(&partial, spec, ds, eight_bit).map_err(e)?
    };
    let images = file.dataset("images").map_err(e)?;
    let eight_bit = images.dtype().map_err(e)?.size() == 1;
    report.dtype = if eight_bit { "uint8" } else { "uint16" };
    let written_ds = file.dataset("index/written").map_err(e)?;
    let levels_ds = file.dataset("index/levels").map_err(e)?;
    let mut written: Vec<u8> = written_ds.read_raw().map_err(e)?;
    let mut levels: Vec<u16> = levels_ds.read_raw().map_err(e)?;
    let hashes_ds = file.dataset("index/blake3").map_err(e)?;
    let mut hashes: Vec<VarLenUnicode> = hashes_ds.read_raw().map_err(e)?;
    report.resumed = written.iter().filter(|&&w| w == 1).count();
    let todo: Vec<usize> = (0..n).filter(|&i| written[i] == 0).collect();
    let size = spec.size as usize;
    // Blocks keep both cores busy while bounding memory (256 images of 1024² u16 = 512 MiB).
    let block = (256 * 224 * 224 / (size * size)).clamp(4, 256);
    for rows in todo.chunks(block) {
        let prepared: Vec<(usize, Result<(String, Prepared), DataError>)> = rows
            .par_iter()
            .map(|&i| {
                let rec = &ds.records[i];
                let r = file_blake3(&rec.path).and_then(|h| Ok((h, prepare_record(spec, rec)?)));
                on_image();
                (i, r)
            })
            .collect();
        for (i, r) in prepared {
            match r {
                Ok((hash, p)) => {
                    if eight_bit && p.levels != 255 {
                        return Err(DataError::Invalid(format!(
                            "{}: a 16-bit image for the 8-bit cache {}; 8-bit storage needs a conversion rule: set preprocess.depth = \"8bit\" (round(v * 255)) or build with --dtype u16",
                            ds.records[i].path.display(),
                            partial.display()
                        )));
                    }
                    if eight_bit {
                        levels[i] = p.levels;
                        let a = Array2::from_shape_vec((size, size), p.pixels.iter().map(|&v| v as u8).collect()).map_err(|err| DataError::Invalid(err.to_string()))?;
                        images.write_slice(&a, super::image_row(i)).map_err(e)?;
                    } else {
                        levels[i] = p.levels;
                        let a = Array2::from_shape_vec((size, size), p.pixels).map_err(|err| DataError::Invalid(err.to_string()))?;
                        images.write_slice(&a, super::image_row(i)).map_err(e)?;
                    }
                    written[i] = 1;
                    hashes[i] = vlu(&hash);
                    report.written_now += 1;
                }
                Err(err) => report.failed.push((ds.records[i].id.clone(), err.to_string())),
            }
        }
        // Levels before flags, flags last: a row counts only once its pixels and levels are stored.
        levels_ds.write(&Array1::from_vec(levels.clone())).map_err(e)?;
        hashes_ds.write(&Array1::from_vec(hashes.clone())).map_err(e)?;
        written_ds.write(&Array1::from_vec(written.clone())).map_err(e)?;
        file.flush().map_err(e)?;
    }
    drop((images, written_ds, levels_ds, hashes_ds));
    file.close().map_err(e)?;
    fs_err::rename(&partial, out).map_err(|err| DataError::Io { path: out.to_path_buf(), source: err })?;
    Ok(report)
}
