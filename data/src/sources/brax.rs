//! BRAX 1.1.0 (datasets.md §1.6): `master_spreadsheet_update.csv` with the 14 CheXpert label
//! columns, `ViewPosition`, and the image paths `PngPath` (`images/id_…/Study_…/Series_…/
//! image-….png`) and `DicomPath` (`Anonymized_DICOMs/…/image-….dcm`), relative to the root.
//! PNGs are read by default; [`ReadOptions::brax_dicom`] reads the DICOMs instead.
//!
//! Labels as CheXpert (`1`, `0`, `-1`, blank; `1.0` etc. also accepted), no "No Finding"
//! propagation. Frontal: `ViewPosition` PA or AP; about a quarter of the rows have none (unknown
//! view, counted). Duplicate key: the image path read. Ages are 5-year groups (`85 or more`).

use super::DatasetSplit;
use super::chexpert::{label_columns, parse_labels};
use super::csv_index::CsvIndex;
use super::read::{Collector, ReadOptions, label_file, manufacturer, parse_age, view_from_position};
use crate::dataset::Sex;
use crate::{DataError, Dataset, Record};
use cxr_core::SourceId;
use std::path::Path;

/// Standard index file name.
pub const INDEX_FILE: &str = "master_spreadsheet_update.csv";

pub(crate) fn read(root: &Path, split: DatasetSplit, opts: &ReadOptions) -> Result<Dataset, DataError> {
    if split != DatasetSplit::All {
        return Err(DataError::Invalid("brax: has no official split; read `all`".into()));
    }
    let index = label_file(opts, root, &[INDEX_FILE], "BRAX index")?;
    let mut csv = CsvIndex::read(&index)?;
    let (path_col, path_name) = if opts.brax_dicom { ("DicomPath", "DicomPath") } else { ("PngPath", "PngPath") };
    let c_path = csv.column(&[path_col])?;
    let c_pat = csv.column(&["PatientID"])?;
    let c_study = csv.optional_column(&["AccessionNumber"]);
    let c_view = csv.column(&["ViewPosition"])?;
    let c_sex = csv.optional_column(&["PatientSex"]);
    let c_age = csv.optional_column(&["PatientAge"]);
    let c_maker = csv.optional_column(&["Manufacturer"]);
    let cols = label_columns(&csv)?;
    let mut c = Collector::new(opts);
    for row in csv.rows() {
        let parsed = row.and_then(|row| {
            let rel = row.get(c_path, path_name)?;
            if rel.is_empty() {
                return Err(row.bad(path_name, "empty"));
            }
            c.unique(&row, path_name, rel)?;
            let file = c.join(root, rel).map_err(|m| row.bad(path_name, m))?;
            let patient = row.get(c_pat, "PatientID")?;
            if patient.is_empty() {
                return Err(row.bad("PatientID", "empty"));
            }
            let mut r = Record::new(rel, file, patient).with_view(view_from_position(row.get(c_view, "ViewPosition")?));
            let study = row.opt(c_study, "AccessionNumber")?;
            r.study_id = (!study.is_empty()).then(|| study.to_string());
            r.sex = Sex::parse(row.opt(c_sex, "PatientSex")?).map_err(|m| row.bad("PatientSex", m))?;
            r.age = parse_age(row.opt(c_age, "PatientAge")?).map_err(|m| row.bad("PatientAge", m))?;
            r.manufacturer = manufacturer(row.opt(c_maker, "Manufacturer")?);
            let labels = c.labels(|| parse_labels(&row, &cols))?;
            Ok((r, labels))
        });
        c.push(parsed)?;
    }
    c.finish(SourceId::Brax, split.name(), root, vec![index], [true; 9])
}
