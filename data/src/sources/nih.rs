//! NIH ChestX-ray14 (datasets.md §1.3): `Data_Entry_2017.csv` (or `_v2020`; `Patient Gender` or
//! `Patient Sex`), `|`-separated `Finding Labels` tokens matched exactly, PNGs under `images/`
//! (NIH Box) or `images_NNN/images/` (Kaggle mirror), official split from `train_val_list.txt`
//! and `test_list.txt` when present.
//!
//! NIH labels cover its vocabulary exhaustively: a finding is positive when one of its tokens is
//! present, else negative; nothing is uncertain or missing. A token outside the vocabulary is
//! counted and reported, and ignored for the labels. Every image is frontal (PA or AP).

use super::DatasetSplit;
use super::csv_index::CsvIndex;
use super::read::{Collector, ReadOptions, label_file, parse_age};
use crate::dataset::{ReadReport, Sex};
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

/// The full NIH vocabulary; any other token is counted as unknown.
pub const VOCABULARY: [&str; 15] = [
    "Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Effusion", "Emphysema", "Fibrosis",
    "Hernia", "Infiltration", "Mass", "No Finding", "Nodule", "Pleural_Thickening", "Pneumonia",
    "Pneumothorax",
];

/// The index file names, newest first.
pub const INDEX_FILES: [&str; 2] = ["Data_Entry_2017_v2020.csv", "Data_Entry_2017.csv"];

/// The official split lists.
pub const SPLIT_FILES: [(&str, &str); 2] = [("train_val", "train_val_list.txt"), ("test", "test_list.txt")];

/// A record with its nine labels.
pub type LabeledRecord = (Record, [Label; 9]);

/// Labels of one `Finding Labels` cell; unknown tokens are counted in `report`.
pub fn parse_tokens(cell: &str, report: &mut ReadReport) -> [Label; 9] {
    let mut labels = [Label::Negative; 9];
    for tok in cell.split('|').map(str::trim) {
        if !VOCABULARY.contains(&tok) {
            report.unknown_token(tok);
        }
        for &(t, f) in LABELS {
            if t == tok {
                labels[f.index()] = Label::Positive;
            }
        }
    }
    labels
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

/// The official split of each image name, from the list files present.
fn official_splits(root: &Path) -> Result<HashMap<String, &'static str>, DataError> {
    let mut map = HashMap::new();
    for (split, file) in SPLIT_FILES {
        let p = root.join(file);
        if p.is_file() {
            let text = fs_err::read_to_string(&p).map_err(|e| DataError::io(&p, e))?;
            for (i, name) in text.lines().map(str::trim).enumerate().filter(|(_, l)| !l.is_empty()) {
                if let Some(prev) = map.insert(name.to_string(), split) {
                    return Err(DataError::BadField { path: p, row: i as u64 + 1, field: "Image Index".into(), message: format!("{name:?} is already in the {prev} list") });
                }
            }
        }
    }
    Ok(map)
}

fn parse_into(c: &mut Collector<'_>, index: &Path, splits: &HashMap<String, &'static str>) -> Result<(), DataError> {
    let mut csv = CsvIndex::read(index)?;
    let c_img = csv.column(&["Image Index"])?;
    let c_lab = csv.column(&["Finding Labels"])?;
    let c_pat = csv.column(&["Patient ID"])?;
    let c_view = csv.column(&["View Position"])?;
    let c_sex = csv.optional_column(&["Patient Gender", "Patient Sex"]);
    let c_age = csv.optional_column(&["Patient Age"]);
    for row in csv.rows() {
        let parsed = row.and_then(|row| {
            let name = row.get(c_img, "Image Index")?;
            if name.is_empty() || name.contains(['/', '\\']) || name == ".." {
                return Err(row.bad("Image Index", format!("expected an image file name, got {name:?}")));
            }
            c.unique(&row, "Image Index", name)?;
            let labels = if c.opts.manifest_only { [Label::Missing; 9] } else { parse_tokens(row.get(c_lab, "Finding Labels")?, &mut c.report) };
            let patient = row.get(c_pat, "Patient ID")?;
            if patient.is_empty() || !patient.bytes().all(|b| b.is_ascii_digit()) {
                return Err(row.bad("Patient ID", format!("expected an integer, got {patient:?}")));
            }
            let view = match row.get(c_view, "View Position")? {
                "PA" => View::PA,
                "AP" => View::AP,
                "" => View::Unknown,
                _ => View::Other,
            };
            let mut r = Record::new(name, PathBuf::from(name), patient).with_view(view);
            r.sex = Sex::parse(row.opt(c_sex, "Patient Gender")?).map_err(|m| row.bad("Patient Gender", m))?;
            r.age = parse_age(row.opt(c_age, "Patient Age")?).map_err(|m| row.bad("Patient Age", m))?;
            r.official_split = splits.get(name).map(|s| (*s).to_string());
            Ok((r, labels))
        });
        c.push(parsed)?;
    }
    Ok(())
}

/// Parse an NIH index into records (image path = the image name) and labels, without
/// filtering; unknown tokens are counted in the returned report.
///
/// # Errors
/// A missing column or a malformed row, naming file, row and field.
pub fn parse_index(index: &Path) -> Result<(Vec<LabeledRecord>, ReadReport), DataError> {
    let opts = ReadOptions::default();
    let mut c = Collector::new(&opts);
    parse_into(&mut c, index, &HashMap::new())?;
    Ok((c.rows, c.report))
}

pub(crate) fn read(root: &Path, split: DatasetSplit, opts: &ReadOptions) -> Result<Dataset, DataError> {
    if split != DatasetSplit::All {
        return Err(DataError::Invalid("nih: read the `all` index (the official split is a field of each record)".into()));
    }
    let index = label_file(opts, root, &INDEX_FILES, "NIH index")?;
    let splits = official_splits(root)?;
    let mut c = Collector::new(opts);
    parse_into(&mut c, &index, &splits)?;
    if !splits.is_empty() {
        let unlisted = c.rows.iter().filter(|(r, _)| r.official_split.is_none()).count();
        for _ in 0..unlisted {
            c.report.count("nih: image in neither official split list");
        }
    }
    // Images are found by name in any of the two layouts; one not found keeps a path under
    // images/ and is reported as missing when images are located.
    let images = if opts.locate_images { image_map(root)? } else { HashMap::new() };
    for (r, _) in &mut c.rows {
        r.path = images.get(&r.id).cloned().unwrap_or_else(|| root.join("images").join(&r.id));
    }
    c.finish(SourceId::Nih, split.name(), root, vec![index], [true; 9])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_map_exactly() {
        let mut rep = ReadReport::default();
        let l = parse_tokens("Cardiomegaly|Effusion", &mut rep);
        assert_eq!(l[Finding::Cardiomegaly.index()], Label::Positive);
        assert_eq!(l[Finding::PleuralEffusion.index()], Label::Positive);
        assert_eq!(l[Finding::NoFinding.index()], Label::Negative);
        let l = parse_tokens("Nodule", &mut rep);
        assert_eq!(l[Finding::LungLesion.index()], Label::Positive);
        assert_eq!(parse_tokens("No Finding", &mut rep)[0], Label::Positive);
        assert!(rep.unknown_tokens.is_empty());
        let l = parse_tokens("Effusions|Mass", &mut rep);
        assert_eq!(l[Finding::PleuralEffusion.index()], Label::Negative);
        assert_eq!(rep.unknown_tokens.get("Effusions"), Some(&1));
    }
}
