//! A hospital's own data: one CSV (default `<root>/labels.csv`) over PNG, JPEG or DICOM images.
//! This is how a user audits a model on their own site.
//!
//! Columns (header names exact; only `path` is required; any other column is an error listing
//! the valid names):
//! - `path`: the image, relative to the root (must stay inside it unless allowed);
//! - `patient_id`, `study_id`: strings (without `patient_id`, each image is its own patient,
//!   counted);
//! - `view`: `PA`, `AP`, `LATERAL`/`LL`/`RL`, anything else is "other", blank is unknown;
//! - `sex`: `M`, `F`, `O` (or `Male`, `Female`, `Unknown`); `age`: years;
//! - `split`: free text kept as the official split;
//! - any of the nine shared labels by their shared names (`No Finding`, `Cardiomegaly`, …,
//!   `Lung Lesion`): `1` positive, `0` negative, `-1` uncertain, blank missing. A label without a
//!   column is uncovered (masked in every metric).
//!
//! Frontal: view PA or AP. Duplicate key: `path`.

use super::DatasetSplit;
use super::chexpert::parse_label;
use super::csv_index::CsvIndex;
use super::read::{Collector, ReadOptions, manufacturer, parse_age, view_from_position};
use crate::dataset::Sex;
use crate::{DataError, Dataset, Record};
use cxr_core::{Finding, Label, SHARED9, SourceId};
use std::path::Path;

/// Standard index file name.
pub const INDEX_FILE: &str = "labels.csv";

/// The non-label columns.
pub const META_COLUMNS: [&str; 8] = ["path", "patient_id", "study_id", "view", "sex", "age", "split", "manufacturer"];

/// Every valid column name: the metadata columns, then the nine labels.
#[must_use]
pub fn valid_columns() -> Vec<&'static str> {
    META_COLUMNS.iter().copied().chain(SHARED9.iter().map(|f| f.name())).collect()
}

pub(crate) fn read(root: &Path, split: DatasetSplit, opts: &ReadOptions) -> Result<Dataset, DataError> {
    if split != DatasetSplit::All {
        return Err(DataError::Invalid("generic: read `all` (a `split` column is kept as a field of each record)".into()));
    }
    let index = opts.labels.clone().unwrap_or_else(|| root.join(INDEX_FILE));
    let mut csv = CsvIndex::read(&index)?;
    let valid = valid_columns();
    for h in csv.headers() {
        if !valid.contains(&h.as_str()) {
            return Err(DataError::BadField {
                path: index.clone(),
                row: 1,
                field: h.clone(),
                message: format!("unknown column {h:?}; valid columns: {}", valid.join(", ")),
            });
        }
    }
    let c_path = csv.column(&["path"])?;
    let [c_pat, c_study, c_view, c_sex, c_age, c_split, c_maker] = ["patient_id", "study_id", "view", "sex", "age", "split", "manufacturer"].map(|n| csv.optional_column(&[n]));
    let label_cols: Vec<(usize, Finding)> = SHARED9.iter().filter_map(|&f| csv.optional_column(&[f.name()]).map(|c| (c, f))).collect();
    let mut covered = [false; 9];
    for &(_, f) in &label_cols {
        covered[f.index()] = true;
    }
    let mut c = Collector::new(opts);
    for row in csv.rows() {
        let parsed = row.and_then(|row| {
            let rel = row.get(c_path, "path")?;
            if rel.is_empty() {
                return Err(row.bad("path", "empty"));
            }
            c.unique(&row, "path", rel)?;
            let file = c.join(root, rel).map_err(|m| row.bad("path", m))?;
            let patient = row.opt(c_pat, "patient_id")?;
            let mut r = Record::new(rel, file, if patient.is_empty() { rel } else { patient }).with_view(view_from_position(row.opt(c_view, "view")?));
            let study = row.opt(c_study, "study_id")?;
            r.study_id = (!study.is_empty()).then(|| study.to_string());
            r.sex = Sex::parse(row.opt(c_sex, "sex")?).map_err(|m| row.bad("sex", m))?;
            r.age = parse_age(row.opt(c_age, "age")?).map_err(|m| row.bad("age", m))?;
            r.manufacturer = manufacturer(row.opt(c_maker, "manufacturer")?);
            let split = row.opt(c_split, "split")?;
            r.official_split = (!split.is_empty()).then(|| split.to_string());
            let labels = c.labels(|| {
                let mut labels = [Label::Missing; 9];
                for &(col, f) in &label_cols {
                    labels[f.index()] = parse_label(row.get(col, f.name())?).map_err(|m| row.bad(f.name(), m.replace("1.0, 0.0, -1.0", "1, 0, -1")))?;
                }
                Ok(labels)
            })?;
            Ok((r, labels, patient.is_empty()))
        });
        if let Some((r, l, no_patient)) = c.accept(parsed)? {
            if no_patient {
                c.report.count("generic: no patient_id (image used as its own patient)");
            }
            c.rows.push((r, l));
        }
    }
    c.finish(SourceId::Generic, split.name(), root, vec![index], covered)
}
