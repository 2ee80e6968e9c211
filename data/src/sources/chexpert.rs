//! CheXpert (datasets.md §1.1): `train.csv` / `valid.csv` with `Path, Sex, Age, Frontal/Lateral,
//! AP/PA` and 14 label columns holding `1.0`, `0.0`, `-1.0` or blank.
//!
//! Mapping: `1.0` → positive, `0.0` → negative, `-1.0` → uncertain, blank → missing. No
//! "No Finding" propagation: the harmonizer keeps the source's information; the label policy
//! decides what blank and uncertain mean.

use super::DatasetSplit;
use super::csv_index::CsvIndex;
use crate::{DataError, Dataset, Record, View};
use cxr_core::{Finding, Label, SourceId};
use std::path::{Path, PathBuf};

/// Raw column → shared finding.
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

/// Parse one label cell.
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

/// The `patientNNNNN` component of a CheXpert path.
fn patient_of(path: &str) -> Option<&str> {
    path.split('/').find(|c| c.len() > 7 && c.starts_with("patient") && c[7..].bytes().all(|b| b.is_ascii_digit()))
}

/// Strip the `CheXpert-v1.0-small/` or `CheXpert-v1.0/` prefix and join the rest to `root`.
fn image_path(root: &Path, path: &str) -> PathBuf {
    let rel = match path.split_once('/') {
        Some((first, rest)) if first.starts_with("CheXpert-v1.0") => rest,
        _ => path,
    };
    root.join(rel)
}

/// Parse a CheXpert index CSV into records (paths joined to `root`, existence not checked) and
/// four-state labels, without filtering: what the real-CSV tests check.
///
/// # Errors
/// A missing column or a malformed row, naming file, row and field.
pub fn parse_index(csv_path: &Path, root: &Path) -> Result<Vec<(Record, [Label; 9])>, DataError> {
    let csv = CsvIndex::read(csv_path)?;
    let c_path = csv.column(&["Path"])?;
    let c_fl = csv.column(&["Frontal/Lateral"])?;
    let c_appa = csv.column(&["AP/PA"])?;
    let label_cols: Vec<(usize, &str, Finding)> = LABELS
        .iter()
        .map(|&(name, f)| csv.column(&[name]).map(|c| (c, name, f)))
        .collect::<Result<_, _>>()?;

    let mut out = Vec::with_capacity(csv.len());
    for row in csv.rows() {
        let path = row.get(c_path, "Path")?;
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
        let mut labels = [Label::Missing; 9];
        for &(c, name, f) in &label_cols {
            labels[f.index()] = parse_label(row.get(c, name)?).map_err(|m| row.bad(name, m))?;
        }
        let record = Record { id: path.to_string(), path: image_path(root, path), patient_id: patient.to_string(), view, frontal };
        out.push((record, labels));
    }
    Ok(out)
}

pub(crate) fn read(root: &Path, split: DatasetSplit, frontal_only: bool) -> Result<Dataset, DataError> {
    let file = match split {
        DatasetSplit::Train => "train.csv",
        DatasetSplit::Valid => "valid.csv",
        DatasetSplit::All => {
            return Err(DataError::Invalid("chexpert: choose the train or valid index".into()));
        }
    };
    let index = root.join(file);
    let parsed = parse_index(&index, root)?;
    Ok(Dataset::assemble(SourceId::Chexpert, split.name(), root, index, parsed, frontal_only, |r| {
        if r.path.is_file() { Ok(r.path.clone()) } else { Err(format!("image file not found: {}", r.path.display())) }
    }))
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
        assert_eq!(image_path(Path::new("/d"), p), PathBuf::from("/d/train/patient00002/study2/view1_frontal.jpg"));
        assert_eq!(patient_of("train/x/study1/v.jpg"), None);
    }
}
