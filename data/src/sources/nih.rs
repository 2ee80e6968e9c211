//! NIH ChestX-ray14 (datasets.md §1.3): `Data_Entry_2017.csv` (or `_v2020`), `|`-separated
//! `Finding Labels` tokens matched exactly, PNGs under `images/` (NIH Box) or
//! `images_NNN/images/` (Kaggle mirror).
//!
//! NIH labels cover its vocabulary exhaustively: a finding is positive when one of its tokens is
//! present, else negative; nothing is uncertain or missing.

use super::DatasetSplit;
use super::csv_index::CsvIndex;
use crate::{DataError, Dataset, Record, View};
use cxr_core::{Finding, Label, SourceId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Token → shared finding (Lung Lesion = Mass ∪ Nodule).
pub const LABELS: &[(&str, Finding)] = &[
    ("No Finding", Finding::NoFinding),
    ("Cardiomegaly", Finding::Cardiomegaly),
    ("Atelectasis", Finding::Atelectasis),
    ("Consolidation", Finding::Consolidation),
    ("Effusion", Finding::PleuralEffusion),
    ("Pneumothorax", Finding::Pneumothorax),
    ("Pneumonia", Finding::Pneumonia),
    ("Edema", Finding::Edema),
    ("Mass", Finding::LungLesion),
    ("Nodule", Finding::LungLesion),
];

/// The full NIH vocabulary; any other token is an error.
pub const VOCABULARY: [&str; 15] = [
    "Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Effusion", "Emphysema", "Fibrosis",
    "Hernia", "Infiltration", "Mass", "No Finding", "Nodule", "Pleural_Thickening", "Pneumonia",
    "Pneumothorax",
];

/// The index file names, newest first.
pub const INDEX_FILES: [&str; 2] = ["Data_Entry_2017_v2020.csv", "Data_Entry_2017.csv"];

/// Labels of one `Finding Labels` cell.
///
/// # Errors
/// A message naming an unknown token.
pub fn parse_tokens(cell: &str) -> Result<[Label; 9], String> {
    let mut labels = [Label::Negative; 9];
    for tok in cell.split('|').map(str::trim) {
        if !VOCABULARY.contains(&tok) {
            return Err(format!("unknown token {tok:?}; NIH tokens: {}", VOCABULARY.join(", ")));
        }
        for &(t, f) in LABELS {
            if t == tok {
                labels[f.index()] = Label::Positive;
            }
        }
    }
    Ok(labels)
}

/// Map every PNG under `images/` and `images_*/images/` by file name.
fn image_map(root: &Path) -> Result<HashMap<String, PathBuf>, DataError> {
    let mut dirs = vec![root.join("images")];
    for e in fs_err::read_dir(root).map_err(|e| DataError::io(root, e))? {
        let e = e.map_err(|e| DataError::io(root, e))?;
        if e.file_name().to_string_lossy().starts_with("images_") {
            dirs.push(e.path().join("images"));
        }
    }
    let mut map = HashMap::new();
    for d in dirs.into_iter().filter(|d| d.is_dir()) {
        for e in fs_err::read_dir(&d).map_err(|e| DataError::io(&d, e))? {
            let e = e.map_err(|e| DataError::io(&d, e))?;
            map.insert(e.file_name().to_string_lossy().into_owned(), e.path());
        }
    }
    Ok(map)
}

/// Parse an NIH index into records (image path left empty: images are located separately) and
/// labels, without filtering.
///
/// # Errors
/// A missing column or a malformed row, naming file, row and field.
pub fn parse_index(index: &Path) -> Result<Vec<(Record, [Label; 9])>, DataError> {
    let csv = CsvIndex::read(index)?;
    let c_img = csv.column(&["Image Index"])?;
    let c_lab = csv.column(&["Finding Labels"])?;
    let c_pat = csv.column(&["Patient ID"])?;
    let c_view = csv.column(&["View Position"])?;
    let mut out = Vec::with_capacity(csv.len());
    for row in csv.rows() {
        let name = row.get(c_img, "Image Index")?;
        if name.is_empty() {
            return Err(row.bad("Image Index", "empty"));
        }
        let labels = parse_tokens(row.get(c_lab, "Finding Labels")?).map_err(|m| row.bad("Finding Labels", m))?;
        let patient = row.get(c_pat, "Patient ID")?;
        if patient.is_empty() || !patient.bytes().all(|b| b.is_ascii_digit()) {
            return Err(row.bad("Patient ID", format!("expected an integer, got {patient:?}")));
        }
        let view = match row.get(c_view, "View Position")? {
            "PA" => View::PA,
            "AP" => View::AP,
            _ => View::Other,
        };
        let frontal = matches!(view, View::PA | View::AP);
        out.push((Record { id: name.to_string(), path: PathBuf::new(), patient_id: patient.to_string(), view, frontal }, labels));
    }
    Ok(out)
}

pub(crate) fn read(root: &Path, split: DatasetSplit, frontal_only: bool) -> Result<Dataset, DataError> {
    if split != DatasetSplit::All {
        return Err(DataError::Invalid("nih: only the `all` index is supported in this build".into()));
    }
    let index = INDEX_FILES.iter().map(|f| root.join(f)).find(|p| p.is_file()).ok_or_else(|| {
        DataError::NotFound { path: root.join(INDEX_FILES[1]), what: format!("NIH index ({})", INDEX_FILES.join(" or ")) }
    })?;
    let images = image_map(root)?;
    let parsed = parse_index(&index)?;
    Ok(Dataset::assemble(SourceId::Nih, split.name(), root, index, parsed, frontal_only, |r| {
        images.get(&r.id).cloned().ok_or_else(|| "image file not found under images/ or images_*/images/".to_string())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_map_exactly() {
        let l = parse_tokens("Cardiomegaly|Effusion").unwrap();
        assert_eq!(l[Finding::Cardiomegaly.index()], Label::Positive);
        assert_eq!(l[Finding::PleuralEffusion.index()], Label::Positive);
        assert_eq!(l[Finding::NoFinding.index()], Label::Negative);
        let l = parse_tokens("Nodule").unwrap();
        assert_eq!(l[Finding::LungLesion.index()], Label::Positive);
        assert!(parse_tokens("Effusions").unwrap_err().contains("\"Effusions\""));
        assert_eq!(parse_tokens("No Finding").unwrap()[0], Label::Positive);
    }
}
