//! CheXpert (datasets.md §1.1): `train.csv` / `valid.csv` with `Path, Sex, Age, Frontal/Lateral,
//! AP/PA` and 14 label columns holding `1.0`, `0.0`, `-1.0` or blank. Paths start with
//! `CheXpert-v1.0-small/` or `CheXpert-v1.0/`; the prefix is stripped and the rest joined to the
//! root (the folder holding the CSVs). The patient id is the `patientNNNNN` path component, the
//! study id `patientNNNNN/studyN`.
//!
//! Mapping: `1.0` → positive, `0.0` → negative, `-1.0` → uncertain, blank → missing. No
//! "No Finding" propagation: the harmonizer keeps the source's information; the label policy
//! decides what blank and uncertain mean. Frontal: `Frontal/Lateral == Frontal`.

use super::DatasetSplit;
use super::csv_index::{CsvIndex, Row};
use super::read::{Collector, ReadOptions, parse_age};
use crate::dataset::Sex;
use crate::{DataError, Dataset, Record, View};
use cxr_core::{Finding, Label, SourceId};
use std::path::{Path, PathBuf};

/// Raw column → shared finding (CheXpert, MIMIC-CXR-JPG and BRAX share these column names).
pub const LABELS: &[(&str, Finding)] = &[
    ("No Finding", Finding::NoFinding),
    ("Cardiomegaly", Finding::Cardiomegaly),
    ("Atelectasis", Finding::Atelectasis),
    ("Consolidation", Finding::Consolidation),
    ("Pleural Effusion", Finding::PleuralEffusion),
    ("Pneumothorax", Finding::Pneumothorax),
    ("Pneumonia", Finding::Pneumonia),
    ("Edema", Finding::Edema),
    ("Lung Lesion", Finding::LungLesion),
];

/// The 14 label columns of the real files, in order (for writers).
pub const ALL_LABEL_COLUMNS: [&str; 14] = [
    "No Finding",
    "Enlarged Cardiomediastinum",
    "Cardiomegaly",
    "Lung Opacity",
    "Lung Lesion",
    "Edema",
    "Consolidation",
    "Pneumonia",
    "Atelectasis",
    "Pneumothorax",
    "Pleural Effusion",
    "Pleural Other",
    "Fracture",
    "Support Devices",
];

/// The index files of the official splits.
pub const INDEX_FILES: [(&str, &str); 2] = [("train", "train.csv"), ("valid", "valid.csv")];

/// Parse one label cell (`1.0`/`1`, `0.0`/`0`, `-1.0`/`-1`, blank).
///
/// # Errors
/// A message for any other value.
pub fn parse_label(cell: &str) -> Result<Label, String> {
    match cell {
        "" => Ok(Label::Missing),
        "1.0" | "1" => Ok(Label::Positive),
        "0.0" | "0" => Ok(Label::Negative),
        "-1.0" | "-1" => Ok(Label::Uncertain),
        other => Err(format!("expected 1.0, 0.0, -1.0 or blank, got {other:?}")),
    }
}

/// Columns of the nine CheXpert-style labels in an index.
pub(crate) fn label_columns(csv: &CsvIndex) -> Result<Vec<(usize, &'static str, Finding)>, DataError> {
    LABELS.iter().map(|&(name, f)| csv.column(&[name]).map(|c| (c, name, f))).collect()
}

/// The nine labels of a row in the CheXpert-style columns.
pub(crate) fn parse_labels(row: &Row, cols: &[(usize, &'static str, Finding)]) -> Result<[Label; 9], DataError> {
    let mut labels = [Label::Missing; 9];
    for &(c, name, f) in cols {
        labels[f.index()] = parse_label(row.get(c, name)?).map_err(|m| row.bad(name, m))?;
    }
    Ok(labels)
}

/// The `patientNNNNN` component of a CheXpert path.
fn patient_of(path: &str) -> Option<&str> {
    path.split('/').find(|c| c.len() > 7 && c.starts_with("patient") && c[7..].bytes().all(|b| b.is_ascii_digit()))
}

/// `patientNNNNN/studyN` of a CheXpert path.
fn study_of(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    parts.windows(2).find(|w| patient_of(w[0]).is_some() && w[1].starts_with("study")).map(|w| format!("{}/{}", w[0], w[1]))
}

/// The path relative to the dataset root: the `CheXpert-v1.0-small/` or `CheXpert-v1.0/`
/// prefix stripped.
fn relative(path: &str) -> &str {
    match path.split_once('/') {
        Some((first, rest)) if first.starts_with("CheXpert-v1.0") => rest,
        _ => path,
    }
}

fn parse_into(c: &mut Collector<'_>, csv_path: &Path, root: &Path, split: Option<&str>) -> Result<(), DataError> {
    let mut csv = CsvIndex::read(csv_path)?;
    let c_path = csv.column(&["Path"])?;
    let c_fl = csv.column(&["Frontal/Lateral"])?;
    let c_appa = csv.column(&["AP/PA"])?;
    let c_sex = csv.optional_column(&["Sex"]);
    let c_age = csv.optional_column(&["Age"]);
    let label_cols = label_columns(&csv)?;
    for row in csv.rows() {
        let parsed = row.and_then(|row| {
            let path = row.get(c_path, "Path")?;
            c.unique(&row, "Path", path)?;
            let patient = patient_of(path).ok_or_else(|| row.bad("Path", format!("no patientNNNNN folder in {path:?}")))?;
            let frontal = match row.get(c_fl, "Frontal/Lateral")? {
                "Frontal" => true,
                "Lateral" => false,
                other => return Err(row.bad("Frontal/Lateral", format!("expected Frontal or Lateral, got {other:?}"))),
            };
            let view = match (frontal, row.get(c_appa, "AP/PA")?) {
                (false, _) => View::Lateral,
                (true, "PA") => View::PA,
                (true, "AP") => View::AP,
                (true, _) => View::Other,
            };
            let sex = Sex::parse(row.opt(c_sex, "Sex")?).map_err(|m| row.bad("Sex", m))?;
            // CheXpert writes unknown ages as 0 (torchxrayvision treats 0 as unknown).
            let age = parse_age(row.opt(c_age, "Age")?).map_err(|m| row.bad("Age", m))?.filter(|&a| a > 0.0);
            let labels = c.labels(|| parse_labels(&row, &label_cols))?;
            let file = c.join(root, relative(path)).map_err(|m| row.bad("Path", m))?;
            let mut record = Record::new(path, file, patient);
            record.view = view;
            record.frontal = frontal;
            record.study_id = study_of(path);
            record.sex = sex;
            record.age = age;
            record.official_split = split.map(str::to_string);
            Ok((record, labels))
        });
        c.push(parsed)?;
    }
    Ok(())
}

/// Parse a CheXpert index CSV into records (paths joined to `root`, existence not checked) and
/// four-state labels, without filtering: what the real-CSV tests check.
///
/// # Errors
/// A missing column or a malformed row, naming file, row and field.
pub fn parse_index(csv_path: &Path, root: &Path) -> Result<Vec<(Record, [Label; 9])>, DataError> {
    let opts = ReadOptions::default();
    let mut c = Collector::new(&opts);
    parse_into(&mut c, csv_path, root, None)?;
    Ok(c.rows)
}

pub(crate) fn read(root: &Path, split: DatasetSplit, opts: &ReadOptions) -> Result<Dataset, DataError> {
    let files: Vec<(Option<&str>, PathBuf)> = if let Some(l) = &opts.labels {
        vec![(None, l.clone())]
    } else {
        let wanted: Vec<(&str, &str)> = match split {
            DatasetSplit::Train => vec![INDEX_FILES[0]],
            DatasetSplit::Valid => vec![INDEX_FILES[1]],
            DatasetSplit::All => INDEX_FILES.to_vec(),
        };
        let found: Vec<(Option<&str>, PathBuf)> = wanted
            .iter()
            .filter_map(|&(s, f)| super::csv_index::find_plain_or_gz(root, f).map(|p| (Some(s), p)))
            .collect();
        if found.is_empty() || (split != DatasetSplit::All && found.len() != wanted.len()) {
            let names: Vec<&str> = wanted.iter().map(|w| w.1).collect();
            return Err(DataError::NotFound { path: root.join(names[0]), what: format!("CheXpert index ({})", names.join(" and/or ")) });
        }
        found
    };
    let mut c = Collector::new(opts);
    for (s, f) in &files {
        let inferred = s.map(str::to_string).or_else(|| {
            let name = f.file_name()?.to_string_lossy().to_string();
            // As torchxrayvision: the split is the substring `train` or `valid` of the file name.
            INDEX_FILES.iter().find(|(s, _)| name.contains(s)).map(|(s, _)| (*s).to_string())
        });
        parse_into(&mut c, f, root, inferred.as_deref())?;
    }
    c.finish(SourceId::Chexpert, split.name(), root, files.into_iter().map(|f| f.1).collect(), [true; 9])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_cells() {
        assert_eq!(parse_label("1.0"), Ok(Label::Positive));
        assert_eq!(parse_label("0.0"), Ok(Label::Negative));
        assert_eq!(parse_label("-1.0"), Ok(Label::Uncertain));
        assert_eq!(parse_label(""), Ok(Label::Missing));
        assert!(parse_label("yes").unwrap_err().contains("\"yes\""));
    }

    #[test]
    fn paths_and_patients() {
        let p = "CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg";
        assert_eq!(patient_of(p), Some("patient00002"));
        assert_eq!(study_of(p).as_deref(), Some("patient00002/study2"));
        assert_eq!(relative(p), "train/patient00002/study2/view1_frontal.jpg");
        assert_eq!(relative("CheXpert-v1.0/valid/patient64541/study1/view1_frontal.jpg"), "valid/patient64541/study1/view1_frontal.jpg");
        assert_eq!(patient_of("train/x/study1/v.jpg"), None);
    }
}
