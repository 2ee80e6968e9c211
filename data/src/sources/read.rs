//! What every reader shares: the options, lenient row handling, duplicate keys, paths that must
//! stay inside the dataset root, and assembling the dataset (frontal filter, image location).

use super::csv_index::Row;
use crate::dataset::{Dataset, Excluded, LabelTable, ReadReport, Record, SkippedRow, View};
use crate::DataError;
use cxr_core::{Label, SourceId};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// How VinDr-CXR radiologist rows become one label (datasets.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VindrVoting {
    /// Positive when at least 2 of 3 radiologists (a strict majority) marked it (default).
    #[default]
    Majority,
    /// Positive when any radiologist marked it (torchxrayvision's rule).
    Any,
}

/// Reading options; everything off by default.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Move non-frontal images (and those of unknown view) to the exclusion list.
    pub frontal_only: bool,
    /// Skip malformed rows (each listed in the report) instead of stopping at the first.
    pub lenient: bool,
    /// Allow image paths outside the dataset root (`..`, absolute, symlinks pointing out), for
    /// data on network storage; recorded in the report.
    pub allow_outside_root: bool,
    /// The label file, when it is not at its standard place under the root.
    pub labels: Option<PathBuf>,
    /// Check that each image file exists (missing ones go to the exclusion list) and stays
    /// inside the root after resolving symlinks. Off: work from the label files alone.
    pub locate_images: bool,
    /// VinDr voting rule.
    pub vindr_voting: VindrVoting,
    /// VinDr: an image with exactly one vote of three is uncertain instead of negative.
    pub vindr_single_vote_uncertain: bool,
    /// BRAX: read the DICOMs (`DicomPath`) instead of the PNGs (`PngPath`).
    pub brax_dicom: bool,
    /// Read the image manifest only: no label cell is parsed and no label-only file is opened
    /// (every label `Missing`, no finding covered). The evaluator reads this way before it seals
    /// its predictions, and reads the labels only afterwards.
    pub manifest_only: bool,
}

/// Collects parsed rows: lenient skipping, duplicate keys, the report.
pub(crate) struct Collector<'o> {
    pub(crate) opts: &'o ReadOptions,
    pub(crate) report: ReadReport,
    pub(crate) rows: Vec<(Record, [Label; 9])>,
    seen: HashMap<String, u64>,
}

impl<'o> Collector<'o> {
    pub(crate) fn new(opts: &'o ReadOptions) -> Self {
        let report = ReadReport { outside_root_allowed: opts.allow_outside_root, ..ReadReport::default() };
        Self { opts, report, rows: Vec::new(), seen: HashMap::new() }
    }

    /// `Ok(Some)` for a good value; a row-level error is skipped and listed under `lenient`
    /// (`Ok(None)`), otherwise returned.
    pub(crate) fn accept<T>(&mut self, r: Result<T, DataError>) -> Result<Option<T>, DataError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e @ (DataError::BadField { .. } | DataError::BadRow { .. })) if self.opts.lenient => {
                self.report.skipped_rows.push(SkippedRow { error: e.to_string() });
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Error when `key` was seen before in this index (the duplicate key is per dataset).
    pub(crate) fn unique(&mut self, row: &Row, field: &str, key: &str) -> Result<(), DataError> {
        if let Some(first) = self.seen.get(key) {
            return Err(row.bad(field, format!("duplicate {field} {key:?} (first at row {first})")));
        }
        self.seen.insert(key.to_string(), row.line);
        Ok(())
    }

    /// The labels of a row: `parse()` unless reading the manifest only, when no label cell is
    /// touched.
    pub(crate) fn labels(&self, parse: impl FnOnce() -> Result<[Label; 9], DataError>) -> Result<[Label; 9], DataError> {
        if self.opts.manifest_only { Ok([Label::Missing; 9]) } else { parse() }
    }

    /// Accept a parsed row (or skip it under `lenient`).
    pub(crate) fn push(&mut self, r: Result<(Record, [Label; 9]), DataError>) -> Result<(), DataError> {
        if let Some(v) = self.accept(r)? {
            self.rows.push(v);
        }
        Ok(())
    }

    /// Resolve a path the index gives relative to `root`, refusing one that escapes it.
    pub(crate) fn join(&mut self, root: &Path, rel: &str) -> Result<PathBuf, String> {
        let p = Path::new(rel);
        let escapes = p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir | Component::Prefix(_)));
        if escapes {
            if !self.opts.allow_outside_root {
                return Err(format!("path {rel:?} escapes the dataset root {} (pass --allow-outside-root for data on network storage)", root.display()));
            }
            self.report.outside_root_paths += 1;
        }
        Ok(root.join(p))
    }

    /// Build the dataset: an empty index is an error; non-frontal rows (under `frontal_only`)
    /// and images that cannot be found go to the exclusion list with their reason.
    pub(crate) fn finish(
        mut self,
        source: SourceId,
        split: &str,
        root: &Path,
        index_files: Vec<PathBuf>,
        covered: [bool; 9],
    ) -> Result<Dataset, DataError> {
        if self.rows.is_empty() {
            let path = index_files.first().cloned().unwrap_or_else(|| root.to_path_buf());
            return Err(DataError::Empty { path, skipped: self.report.skipped_rows.len() });
        }
        let canonical_root = if self.opts.locate_images { Some(fs_err::canonicalize(root).map_err(|e| DataError::io(root, e))?) } else { None };
        let (mut records, mut labels, mut excluded) = (Vec::new(), Vec::new(), Vec::new());
        for (record, l) in std::mem::take(&mut self.rows) {
            if record.view == View::Unknown {
                self.report.count("view unknown (not frontal)");
            }
            if self.opts.frontal_only && !record.frontal {
                let reason = if record.view == View::Unknown { "view unknown" } else { "not frontal" };
                excluded.push(Excluded { id: record.id, reason: reason.into() });
                continue;
            }
            if let Some(croot) = &canonical_root {
                match resolve_inside_root(&record.path, croot, self.opts.allow_outside_root) {
                    Err(DataError::Io { .. }) => {
                        excluded.push(Excluded { id: record.id, reason: format!("image file not found: {}", record.path.display()) });
                        continue;
                    }
                    Err(e) => return Err(e),
                    Ok(real) if !real.starts_with(croot) => self.report.outside_root_paths += 1,
                    Ok(_) => {}
                }
            }
            records.push(record);
            labels.push(l);
        }
        Ok(Dataset {
            source,
            split: split.to_string(),
            root: root.to_path_buf(),
            index_files,
            records,
            labels: LabelTable { covered: if self.opts.manifest_only { [false; 9] } else { covered }, rows: labels },
            excluded,
            report: self.report,
        })
    }
}

/// Map a stated view position (MIMIC and BRAX `ViewPosition`, the generic `view` column; case
/// ignored): PA, AP, the lateral spellings (`LATERAL`, `LL`, `RL`, `L`, `XTABLE LATERAL`), blank →
/// unknown, anything else (obliques, decubitus, `AP AXIAL`, …) → other.
#[must_use]
pub fn view_from_position(v: &str) -> View {
    match v.trim().to_ascii_uppercase().as_str() {
        "PA" => View::PA,
        "AP" => View::AP,
        "" => View::Unknown,
        "LATERAL" | "LL" | "RL" | "L" | "XTABLE LATERAL" => View::Lateral,
        _ => View::Other,
    }
}

/// The label file: `--labels` when given, else the first of `names` present under `root` (each
/// `.csv` or `.csv.gz`).
pub(crate) fn label_file(opts: &ReadOptions, root: &Path, names: &[&str], what: &str) -> Result<PathBuf, DataError> {
    if let Some(l) = &opts.labels {
        return Ok(l.clone());
    }
    names.iter().find_map(|f| super::csv_index::find_plain_or_gz(root, f)).ok_or_else(|| DataError::NotFound {
        path: root.join(names[0]),
        what: format!("{what} ({}, or .gz)", names.join(" or ")),
    })
}

/// Where `path` really is, refused when it resolves outside `canonical_root` (symlinks followed)
/// unless `allow`: the one inside-root check for locating and for checking images.
///
/// # Errors
/// [`DataError::Io`] when the file cannot be resolved (missing), [`DataError::OutsideRoot`] when
/// it escapes.
pub fn resolve_inside_root(path: &Path, canonical_root: &Path, allow: bool) -> Result<PathBuf, DataError> {
    let real = fs_err::canonicalize(path).map_err(|e| DataError::io(path, e))?;
    if !allow && !real.starts_with(canonical_root) {
        return Err(DataError::OutsideRoot { path: path.to_path_buf(), target: real, root: canonical_root.to_path_buf() });
    }
    Ok(real)
}

/// A manufacturer cell: trimmed; blank, `None` and `nan` give `None`.
pub(crate) fn manufacturer(cell: &str) -> Option<String> {
    let s = cell.trim();
    (!s.is_empty() && s != "None" && s != "nan").then(|| s.to_string())
}

/// Parse an age cell: an integer or decimal number of years, a DICOM age string (`058Y`), a
/// BRAX group (`35-39` → 35, `85 or more` → 85); blank or `None` → `None`.
pub(crate) fn parse_age(cell: &str) -> Result<Option<f32>, String> {
    let s = cell.trim();
    if s.is_empty() || s == "None" || s == "nan" {
        return Ok(None);
    }
    let head = s.strip_suffix('Y').unwrap_or(s);
    let head = head.split_once(" or more").map_or(head, |(a, _)| a);
    let head = head.split_once('-').map_or(head, |(a, _)| a).trim();
    match head.parse::<f32>() {
        Ok(v) if (0.0..=130.0).contains(&v) => Ok(Some(v)),
        _ => Err(format!("expected an age in years (e.g. 58, 058Y, 35-39, 85 or more), got {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(parse_age("58"), Ok(Some(58.0)));
        assert_eq!(parse_age("058Y"), Ok(Some(58.0)));
        assert_eq!(parse_age("35-39"), Ok(Some(35.0)));
        assert_eq!(parse_age("85 or more"), Ok(Some(85.0)));
        assert_eq!(parse_age(""), Ok(None));
        assert!(parse_age("old").unwrap_err().contains("\"old\""));
    }

    #[test]
    fn paths_escaping_the_root_are_refused_unless_allowed() {
        let strict = ReadOptions::default();
        let mut c = Collector::new(&strict);
        assert!(c.join(Path::new("/d"), "a/b.png").is_ok());
        assert!(c.join(Path::new("/d"), "../x.png").unwrap_err().contains("escapes the dataset root"));
        assert!(c.join(Path::new("/d"), "/etc/x.png").is_err());
        let lax = ReadOptions { allow_outside_root: true, ..ReadOptions::default() };
        let mut c = Collector::new(&lax);
        assert!(c.join(Path::new("/d"), "../x.png").is_ok());
        assert_eq!(c.report.outside_root_paths, 1);
    }
}
