//! Rendering jobs shared by every phantom site: sample a case, render it, acquire it with the
//! site's signature and encode it in each of the formats the site stores (in parallel; every job
//! has its own RNG stream, so the bytes do not depend on scheduling).

use super::case::{Artifact, Case, sample_case};
use super::render::{render, render_lateral};
use super::rng::{chance, stream, uniform};
use super::site::{Site, SiteKind};
use crate::DataError;
use cxr_core::{Finding, Label, SHARED9};
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;

/// How an image is stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Encoding {
    /// 8-bit grayscale JPEG.
    Jpeg,
    /// 8-bit grayscale PNG.
    Png8,
    /// 16-bit grayscale PNG holding `bits` significant bits (PadChest).
    Png16 { bits: u8 },
    /// Uncompressed DICOM with `bits` stored, optionally MONOCHROME1 and a VOI window.
    Dicom { bits: u8, monochrome1: bool, window: bool, patient_id: String },
}

/// One image to make.
pub(crate) struct Job {
    /// Files to write (relative to the site root) and their encodings; the first is the id.
    pub(crate) outputs: Vec<(String, Encoding)>,
    /// RNG stream name and index (a lateral view shares its study's index to image the same
    /// case).
    pub(crate) stream: String,
    pub(crate) index: u64,
    /// Patient number within the site.
    pub(crate) patient: usize,
    pub(crate) lateral: bool,
    pub(crate) site: Site,
}

/// A made image.
pub(crate) struct Done {
    pub(crate) rel: String,
    pub(crate) patient: usize,
    pub(crate) lateral: bool,
    pub(crate) case: Case,
    pub(crate) sex: &'static str,
    pub(crate) age: u32,
    pub(crate) index: u64,
}

fn parent_dir(path: &Path) -> Result<(), DataError> {
    if let Some(d) = path.parent() {
        fs_err::create_dir_all(d).map_err(|e| DataError::io(d, e))?;
    }
    Ok(())
}

pub(crate) fn encode(path: &Path, pixels: &[f32], w: u32, h: u32, enc: &Encoding, uid: &str) -> Result<(), DataError> {
    parent_dir(path)?;
    let img_err = |e: image::ImageError| DataError::Image { path: path.to_path_buf(), message: e.to_string() };
    let gray8 = || {
        let bytes: Vec<u8> = pixels.iter().map(|v| (v * 255.0).round() as u8).collect();
        image::GrayImage::from_raw(w, h, bytes).ok_or_else(|| DataError::Invalid("phantom: pixel buffer size mismatch".into()))
    };
    let quantize = |bits: u8| -> Vec<u16> {
        let max = f32::from(u16::MAX >> (16 - bits));
        pixels.iter().map(|v| (v * max).round() as u16).collect()
    };
    match enc {
        Encoding::Jpeg => {
            let f = fs_err::File::create(path).map_err(|e| DataError::io(path, e))?;
            let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(std::io::BufWriter::new(f), 92);
            enc.encode_image(&gray8()?).map_err(img_err)
        }
        Encoding::Png8 => gray8()?.save_with_format(path, image::ImageFormat::Png).map_err(img_err),
        Encoding::Png16 { bits } => {
            let img: image::ImageBuffer<image::Luma<u16>, Vec<u16>> = image::ImageBuffer::from_raw(w, h, quantize(*bits))
                .ok_or_else(|| DataError::Invalid("phantom: pixel buffer size mismatch".into()))?;
            img.save_with_format(path, image::ImageFormat::Png).map_err(img_err)
        }
        Encoding::Dicom { bits, monochrome1, window, patient_id } => {
            // MONOCHROME1 stores inverted values: the decoder's inversion gives the image back.
            let mut samples = quantize(*bits);
            let max = u16::MAX >> (16 - bits);
            if *monochrome1 {
                for s in &mut samples {
                    *s = max - *s;
                }
            }
            let m = f64::from(max);
            let spec = crate::dicom::DicomSpec {
                samples: &samples,
                width: w,
                height: h,
                bits_stored: u16::from(*bits),
                monochrome1: *monochrome1,
                // Centre and width chosen so the linear VOI function is (close to) the identity.
                window: window.then_some(((m + 1.0) / 2.0, m + 1.0)),
                patient_id,
                sop_uid: uid,
                view_position: "PA",
            };
            crate::dicom::write(path, &spec)
        }
    }
}

/// Make every job: the sites' artifact policy is the training site's planted shortcut (if any)
/// or, at external sites, drains independent of findings.
pub(crate) fn run_jobs(jobs: Vec<Job>, root: &Path, seed: u64, size: u32, shortcut: Option<Finding>, external_drain_rate: f64) -> Result<Vec<Done>, DataError> {
    jobs.into_par_iter()
        .map(|j| {
            let mut rng = stream(seed, &j.stream, j.index);
            let artifact = match (j.site.kind, shortcut) {
                (SiteKind::Chexpert, Some(f)) => Artifact::CoOccurs(f),
                (SiteKind::Chexpert, None) => Artifact::None,
                _ => Artifact::Independent(external_drain_rate),
            };
            let case = sample_case(&mut rng, artifact);
            let (w, h) = j.site.dims(size);
            let density = if j.lateral { render_lateral(&case, w, h) } else { render(&case, w, h).density };
            let pixels = j.site.acquire(&mut rng, &density, w, h);
            let uid = format!("2.25.{}", u128::from_le_bytes(blake3::hash(format!("{seed}/{}/{}/{}", j.stream, j.index, j.lateral).as_bytes()).as_bytes()[..16].try_into().unwrap_or([0; 16])));
            for (rel, enc) in &j.outputs {
                encode(&root.join(rel), &pixels, w, h, enc, &uid)?;
            }
            let sex = if chance(&mut rng, 0.55) { "Male" } else { "Female" };
            let age = uniform(&mut rng, 18.0, 90.0) as u32;
            let rel = j.outputs.first().map(|o| o.0.clone()).unwrap_or_default();
            Ok(Done { rel, patient: j.patient, lateral: j.lateral, case, sex, age, index: j.index })
        })
        .collect()
}

/// The generator's ground truth per image (`phantom_truth*.csv`).
pub(crate) fn truth_csv(path: &Path, done: &[Done], id: impl Fn(&Done) -> String) -> Result<(), DataError> {
    let mut s = String::from("id,view");
    for f in SHARED9 {
        s.push(',');
        s.push_str(f.name());
    }
    s.push_str(",ctr,drain\n");
    for d in done {
        s.push_str(&format!("{},{}", id(d), if d.lateral { "lateral" } else { "frontal" }));
        for f in SHARED9 {
            s.push_str(if d.case.has(f) { ",1" } else { ",0" });
        }
        s.push_str(&format!(",{:.4},{}\n", d.case.ctr, u8::from(d.case.drain.is_some())));
    }
    fs_err::write(path, s).map_err(|e| DataError::io(path, e))
}

/// The harmonized labels the writer intends the reader to produce, keyed by the reader's record
/// id (`phantom_expected_labels.csv`; `P`, `N`, `U`, `M`): what the round-trip tests compare.
pub(crate) fn expected_csv(path: &Path, rows: &[(String, [Label; 9])]) -> Result<(), DataError> {
    let mut s = String::from("id");
    for f in SHARED9 {
        s.push(',');
        s.push_str(f.name());
    }
    s.push('\n');
    for (id, l) in rows {
        s.push_str(id);
        for v in l {
            s.push_str(match v {
                Label::Positive => ",P",
                Label::Negative => ",N",
                Label::Uncertain => ",U",
                Label::Missing => ",M",
            });
        }
        s.push('\n');
    }
    fs_err::write(path, s).map_err(|e| DataError::io(path, e))
}

/// A CSV, optionally gzip-compressed (deterministic: no timestamp in the gzip header).
pub(crate) fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<(), DataError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| DataError::Invalid(format!("{}: {e}", path.display()));
    w.write_record(header).map_err(io)?;
    for r in rows {
        w.write_record(r).map_err(io)?;
    }
    let bytes = w.into_inner().map_err(|e| DataError::Invalid(format!("{}: {e}", path.display())))?;
    parent_dir(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        let f = fs_err::File::create(path).map_err(|e| DataError::io(path, e))?;
        let mut gz = flate2::GzBuilder::new().mtime(0).write(f, flate2::Compression::default());
        gz.write_all(&bytes).map_err(|e| DataError::io(path, e))?;
        gz.finish().map_err(|e| DataError::io(path, e))?;
        Ok(())
    } else {
        fs_err::write(path, bytes).map_err(|e| DataError::io(path, e))
    }
}

/// The CheXpert-style cell for a finding: clean (`1.0`/`0.0`) or with the real file's patterns
/// (uncertain and blank cells), and the label it means.
pub(crate) fn chexpert_cell(truth: bool, noisy: bool, rng: &mut impl rand::Rng) -> &'static str {
    if !noisy {
        return if truth { "1.0" } else { "0.0" };
    }
    let u: f64 = rng.random();
    match (truth, u) {
        (true, u) if u < 0.88 => "1.0",
        (true, _) => "-1.0",
        (false, u) if u < 0.72 => "",
        (false, u) if u < 0.97 => "0.0",
        (false, _) => "-1.0",
    }
}

/// The label a CheXpert-style cell means, by the reader's own parser (the writer only writes
/// valid cells; anything else would read as missing and fail the round-trip test).
pub(crate) fn cell_label(cell: &str) -> Label {
    crate::sources::chexpert::parse_label(cell).unwrap_or(Label::Missing)
}
