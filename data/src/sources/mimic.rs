//! MIMIC-CXR-JPG 2.0.0 (datasets.md §1.2): per-study labels in `mimic-cxr-2.0.0-chexpert.csv`
//! (or `-negbio.csv`) joined on (subject_id, study_id) with the per-image
//! `mimic-cxr-2.0.0-metadata.csv` (ViewPosition) and `mimic-cxr-2.0.0-split.csv` (official
//! split, by dicom_id); each `.csv` or `.csv.gz`. Images at
//! `files/pXX/pSUBJECT/sSTUDY/DICOM_ID.jpg` (XX = the first two digits of subject_id).
//!
//! Labels as CheXpert (`1.0`, `0.0`, `-1.0`, blank). A study without a label row keeps all nine
//! labels missing and is counted. Frontal: `ViewPosition` PA or AP; a blank ViewPosition is an
//! unknown view. Duplicate keys: dicom_id (metadata, split), (subject_id, study_id) (labels).

use super::DatasetSplit;
use super::chexpert::{label_columns, parse_labels};
use super::csv_index::{CsvIndex, find_plain_or_gz};
use super::read::{Collector, ReadOptions, label_file, view_from_position};
use crate::{DataError, Dataset, Record};
use cxr_core::{Label, SourceId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Standard file names, the label files in order of preference.
pub const LABEL_FILES: [&str; 2] = ["mimic-cxr-2.0.0-chexpert.csv", "mimic-cxr-2.0.0-negbio.csv"];
/// Per-image metadata.
pub const METADATA_FILE: &str = "mimic-cxr-2.0.0-metadata.csv";
/// Official split.
pub const SPLIT_FILE: &str = "mimic-cxr-2.0.0-split.csv";

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// Per-study labels keyed by (subject_id, study_id).
fn read_labels(c: &mut Collector<'_>, path: &Path) -> Result<HashMap<(String, String), [Label; 9]>, DataError> {
    let mut csv = CsvIndex::read(path)?;
    let c_sub = csv.column(&["subject_id"])?;
    let c_study = csv.column(&["study_id"])?;
    let cols = label_columns(&csv)?;
    let mut map = HashMap::new();
    for row in csv.rows() {
        let parsed = row.and_then(|row| {
            let sub = row.get(c_sub, "subject_id")?.to_string();
            let study = row.get(c_study, "study_id")?.to_string();
            if !digits(&sub, 8) {
                return Err(row.bad("subject_id", format!("expected 8 digits, got {sub:?}")));
            }
            if !digits(&study, 8) {
                return Err(row.bad("study_id", format!("expected 8 digits, got {study:?}")));
            }
            c.unique(&row, "study_id", &format!("{sub}/{study}"))?;
            Ok(((sub, study), parse_labels(&row, &cols)?))
        });
        if let Some((k, v)) = c.accept(parsed)? {
            map.insert(k, v);
        }
    }
    Ok(map)
}

/// Official split by dicom_id.
fn read_split(c: &mut Collector<'_>, path: &Path) -> Result<HashMap<String, String>, DataError> {
    let mut csv = CsvIndex::read(path)?;
    let c_id = csv.column(&["dicom_id"])?;
    let c_split = csv.column(&["split"])?;
    let mut map = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for row in csv.rows() {
        let parsed = row.and_then(|row| {
            let id = row.get(c_id, "dicom_id")?.to_string();
            if !seen.insert(id.clone()) {
                return Err(row.bad("dicom_id", format!("duplicate dicom_id {id:?}")));
            }
            let split = row.get(c_split, "split")?;
            if !matches!(split, "train" | "validate" | "test") {
                return Err(row.bad("split", format!("expected train, validate or test, got {split:?}")));
            }
            Ok((id, split.to_string()))
        });
        if let Some((k, v)) = c.accept(parsed)? {
            map.insert(k, v);
        }
    }
    Ok(map)
}

pub(crate) fn read(root: &Path, split: DatasetSplit, opts: &ReadOptions) -> Result<Dataset, DataError> {
    if split != DatasetSplit::All {
        return Err(DataError::Invalid("mimic: read the `all` index (the official split is a field of each record)".into()));
    }
    let labels_path = label_file(opts, root, &LABEL_FILES, "MIMIC-CXR-JPG labels")?;
    let meta_path = find_plain_or_gz(root, METADATA_FILE)
        .ok_or_else(|| DataError::NotFound { path: root.join(METADATA_FILE), what: "MIMIC-CXR-JPG metadata (or .gz)".into() })?;
    let split_path = find_plain_or_gz(root, SPLIT_FILE);
    let mut c = Collector::new(opts);
    // The label file is a separate file: not opened when reading the manifest only.
    let labels = if opts.manifest_only { HashMap::new() } else { read_labels(&mut c, &labels_path)? };
    let splits = match &split_path {
        Some(p) => read_split(&mut c, p)?,
        None => HashMap::new(),
    };
    let mut meta = CsvIndex::read(&meta_path)?;
    let c_id = meta.column(&["dicom_id"])?;
    let c_sub = meta.column(&["subject_id"])?;
    let c_study = meta.column(&["study_id"])?;
    let c_view = meta.column(&["ViewPosition"])?;
    let mut unlabeled = 0;
    let mut unsplit = 0;
    for row in meta.rows() {
        let parsed = row.and_then(|row| {
            let id = row.get(c_id, "dicom_id")?;
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
                return Err(row.bad("dicom_id", format!("expected hex groups separated by '-', got {id:?}")));
            }
            c.unique(&row, "dicom_id", id)?;
            let sub = row.get(c_sub, "subject_id")?;
            let study = row.get(c_study, "study_id")?;
            if !digits(sub, 8) {
                return Err(row.bad("subject_id", format!("expected 8 digits, got {sub:?}")));
            }
            if !digits(study, 8) {
                return Err(row.bad("study_id", format!("expected 8 digits, got {study:?}")));
            }
            let view = view_from_position(row.get(c_view, "ViewPosition")?);
            let rel = format!("files/p{}/p{sub}/s{study}/{id}.jpg", &sub[..2]);
            let mut r = Record::new(id, root.join(rel), sub).with_view(view);
            r.study_id = Some(study.to_string());
            r.official_split = splits.get(id).cloned();
            let l = labels.get(&(sub.to_string(), study.to_string())).copied();
            Ok((r, l))
        });
        if let Some((r, l)) = c.accept(parsed)? {
            if l.is_none() && !opts.manifest_only {
                unlabeled += 1;
            }
            if split_path.is_some() && r.official_split.is_none() {
                unsplit += 1;
            }
            c.rows.push((r, l.unwrap_or([Label::Missing; 9])));
        }
    }
    if unlabeled > 0 {
        c.report.counters.insert("mimic: image of a study without a label row (all missing)".into(), unlabeled);
    }
    if unsplit > 0 {
        c.report.counters.insert("mimic: image not in the split file".into(), unsplit);
    }
    let mut files: Vec<PathBuf> = vec![labels_path, meta_path];
    files.extend(split_path);
    c.finish(SourceId::Mimic, split.name(), root, files, [true; 9])
}
