//! VinDr-CXR (datasets.md §1.5): PhysioNet `annotations/image_labels_train.csv` (one row per
//! image and radiologist, 3 per image), `annotations/image_labels_test.csv` (one consensus row
//! per image), or the Kaggle box-level `train.csv` (one row per box, radiologist and class). The
//! kind of a label file is recognized by its header. Images: `train/<image_id>.dicom` and
//! `test/<image_id>.dicom`.
//!
//! Voting (train, both formats): for each image and class, the number of distinct radiologists
//! who marked it; positive with a strict majority (2 of 3, default), or with any vote
//! ([`VindrVoting::Any`]); an option makes a minority vote uncertain instead of negative. Test
//! rows are consensus and read as they are. The Kaggle file has no Edema and no Pneumonia: those
//! are uncovered (missing). Every image is PA; there is no patient id, so the image id is used.

use super::DatasetSplit;
use super::csv_index::CsvIndex;
use super::read::{Collector, ReadOptions, VindrVoting};
use crate::{DataError, Dataset, Record, View};
use cxr_core::{Finding, Label, SourceId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Class name → shared finding, for both the image-label columns and the Kaggle `class_name`.
pub const LABELS: &[(&str, Finding)] = &[
    ("No finding", Finding::NoFinding),
    ("Cardiomegaly", Finding::Cardiomegaly),
    ("Atelectasis", Finding::Atelectasis),
    ("Consolidation", Finding::Consolidation),
    ("Pleural effusion", Finding::PleuralEffusion),
    ("Pneumothorax", Finding::Pneumothorax),
    ("Pneumonia", Finding::Pneumonia),
    ("Edema", Finding::Edema),
    ("Nodule/Mass", Finding::LungLesion),
];

/// The 28 label columns of the PhysioNet image-label files (test spells `Other disease`).
pub const IMAGE_LABEL_COLUMNS: [&str; 28] = [
    "Aortic enlargement", "Atelectasis", "Calcification", "Cardiomegaly", "Clavicle fracture",
    "Consolidation", "Edema", "Emphysema", "Enlarged PA", "ILD", "Infiltration", "Lung Opacity",
    "Lung cavity", "Lung cyst", "Mediastinal shift", "Nodule/Mass", "Pleural effusion",
    "Pleural thickening", "Pneumothorax", "Pulmonary fibrosis", "Rib fracture", "Other lesion",
    "COPD", "Lung tumor", "Pneumonia", "Tuberculosis", "Other diseases", "No finding",
];

/// The 15 classes of the Kaggle box-level file.
pub const KAGGLE_CLASSES: [&str; 15] = [
    "Aortic enlargement", "Atelectasis", "Calcification", "Cardiomegaly", "Consolidation", "ILD",
    "Infiltration", "Lung Opacity", "Nodule/Mass", "Other lesion", "Pleural effusion",
    "Pleural thickening", "Pneumothorax", "Pulmonary fibrosis", "No finding",
];

/// Standard places of the PhysioNet label files, with their split.
pub const IMAGE_LABEL_FILES: [(&str, &str); 2] = [("train", "annotations/image_labels_train.csv"), ("test", "annotations/image_labels_test.csv")];
/// The Kaggle box-level file at the root.
pub const KAGGLE_FILE: &str = "train.csv";

/// What a label file holds, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelFileKind {
    /// PhysioNet `image_labels_train.csv`: one row per radiologist.
    ImageLabelsPerReader,
    /// PhysioNet `image_labels_test.csv`: one consensus row per image.
    ImageLabelsConsensus,
    /// Kaggle `train.csv`: one row per box.
    KaggleBoxes,
}

fn kind_of(csv: &CsvIndex) -> Result<LabelFileKind, DataError> {
    let has = |n: &str| csv.headers().iter().any(|h| h == n);
    match (has("image_id"), has("rad_id"), has("class_name"), has("No finding")) {
        (true, true, true, _) => Ok(LabelFileKind::KaggleBoxes),
        (true, true, false, true) => Ok(LabelFileKind::ImageLabelsPerReader),
        (true, false, false, true) => Ok(LabelFileKind::ImageLabelsConsensus),
        _ => Err(DataError::Invalid(format!(
            "{}: not a VinDr-CXR label file (expected image_labels_train.csv: image_id, rad_id, 28 labels; image_labels_test.csv: image_id, 28 labels; or Kaggle train.csv: image_id, class_name, class_id, rad_id, boxes); header: {}",
            csv.path.display(),
            csv.headers().join(", ")
        ))),
    }
}

/// Votes of one image: the distinct radiologists and, per shared finding, who marked it.
#[derive(Default)]
struct Votes {
    readers: Vec<String>,
    marked: [Vec<String>; 9],
}

fn decide(v: &Votes, opts: &ReadOptions, covered: [bool; 9]) -> [Label; 9] {
    let n = v.readers.len();
    let mut out = [Label::Missing; 9];
    for i in 0..9 {
        if !covered[i] {
            continue;
        }
        let k = v.marked[i].len();
        let positive = match opts.vindr_voting {
            VindrVoting::Majority => 2 * k > n,
            VindrVoting::Any => k >= 1,
        };
        out[i] = if positive {
            Label::Positive
        } else if k >= 1 && opts.vindr_single_vote_uncertain {
            Label::Uncertain
        } else {
            Label::Negative
        };
    }
    out
}

fn binary(row: &super::csv_index::Row, col: usize, name: &str) -> Result<bool, DataError> {
    match row.get(col, name)? {
        "1" | "1.0" => Ok(true),
        "0" | "0.0" => Ok(false),
        other => Err(row.bad(name, format!("expected 0 or 1, got {other:?}"))),
    }
}

fn image_id(row: &super::csv_index::Row, col: usize) -> Result<&str, DataError> {
    let id = row.get(col, "image_id")?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(row.bad("image_id", format!("expected a hexadecimal image id, got {id:?}")));
    }
    Ok(id)
}

fn read_file(c: &mut Collector<'_>, root: &Path, path: &Path, split_hint: Option<&str>) -> Result<[bool; 9], DataError> {
    let mut csv = CsvIndex::read(path)?;
    let kind = kind_of(&csv)?;
    let split = match kind {
        LabelFileKind::ImageLabelsConsensus => "test",
        _ => split_hint.unwrap_or("train"),
    };
    let c_id = csv.column(&["image_id"])?;
    let mut covered = [true; 9];
    let mut order: Vec<String> = Vec::new();
    let mut votes: HashMap<String, Votes> = HashMap::new();
    match kind {
        LabelFileKind::KaggleBoxes => {
            covered[Finding::Edema.index()] = false;
            covered[Finding::Pneumonia.index()] = false;
            let c_rad = csv.column(&["rad_id"])?;
            let c_class = csv.column(&["class_name"])?;
            for row in csv.rows() {
                let parsed = row.and_then(|row| {
                    let id = image_id(&row, c_id)?.to_string();
                    let rad = row.get(c_rad, "rad_id")?.to_string();
                    if rad.is_empty() {
                        return Err(row.bad("rad_id", "empty"));
                    }
                    let class = if c.opts.manifest_only { String::new() } else { row.get(c_class, "class_name")?.to_string() };
                    Ok((id, rad, class))
                });
                let Some((id, rad, class)) = c.accept(parsed)? else { continue };
                if !c.opts.manifest_only && !KAGGLE_CLASSES.contains(&class.as_str()) {
                    c.report.unknown_token(&class);
                }
                let v = votes.entry(id.clone()).or_insert_with(|| {
                    order.push(id.clone());
                    Votes::default()
                });
                if !v.readers.contains(&rad) {
                    v.readers.push(rad.clone());
                }
                if let Some(&(_, f)) = LABELS.iter().find(|(n, _)| *n == class)
                    && !v.marked[f.index()].contains(&rad) {
                        v.marked[f.index()].push(rad);
                    }
            }
        }
        LabelFileKind::ImageLabelsPerReader | LabelFileKind::ImageLabelsConsensus => {
            let cols: Vec<(usize, &str, Finding)> = LABELS.iter().map(|&(n, f)| csv.column(&[n]).map(|c| (c, n, f))).collect::<Result<_, _>>()?;
            let c_rad = csv.optional_column(&["rad_id"]);
            for row in csv.rows() {
                let parsed = row.and_then(|row| {
                    let id = image_id(&row, c_id)?.to_string();
                    let rad = match c_rad {
                        Some(col) => {
                            let r = row.get(col, "rad_id")?;
                            if r.is_empty() {
                                return Err(row.bad("rad_id", "empty"));
                            }
                            c.unique(&row, "(image_id, rad_id)", &format!("{id}/{r}"))?;
                            r.to_string()
                        }
                        None => {
                            c.unique(&row, "image_id", &id)?;
                            "consensus".to_string()
                        }
                    };
                    let marks: Vec<(Finding, bool)> = if c.opts.manifest_only {
                        Vec::new()
                    } else {
                        cols.iter().map(|&(col, n, f)| binary(&row, col, n).map(|b| (f, b))).collect::<Result<_, _>>()?
                    };
                    Ok((id, rad, marks))
                });
                let Some((id, rad, marks)) = c.accept(parsed)? else { continue };
                let v = votes.entry(id.clone()).or_insert_with(|| {
                    order.push(id.clone());
                    Votes::default()
                });
                v.readers.push(rad.clone());
                for (f, b) in marks {
                    if b {
                        v.marked[f.index()].push(rad.clone());
                    }
                }
            }
        }
    }
    let folder = if split == "test" { "test" } else { "train" };
    for id in order {
        let v = &votes[&id];
        if kind != LabelFileKind::ImageLabelsConsensus && v.readers.len() != 3 {
            c.report.count("vindr: training image without exactly 3 radiologists");
        }
        let labels = if c.opts.manifest_only {
            [Label::Missing; 9]
        } else if kind == LabelFileKind::ImageLabelsConsensus {
            std::array::from_fn(|i| if v.marked[i].is_empty() { Label::Negative } else { Label::Positive })
        } else {
            decide(v, c.opts, covered)
        };
        let mut r = Record::new(id.clone(), root.join(folder).join(format!("{id}.dicom")), id.clone()).with_view(View::PA);
        r.official_split = Some(split.to_string());
        c.rows.push((r, labels));
    }
    Ok(covered)
}

pub(crate) fn read(root: &Path, split: DatasetSplit, opts: &ReadOptions) -> Result<Dataset, DataError> {
    if split != DatasetSplit::All {
        return Err(DataError::Invalid("vindr: read the `all` index (the official split is a field of each record)".into()));
    }
    let files: Vec<(Option<&str>, PathBuf)> = match &opts.labels {
        Some(l) => vec![(None, l.clone())],
        None => {
            let physionet: Vec<(Option<&str>, PathBuf)> = IMAGE_LABEL_FILES.iter().filter_map(|&(s, f)| super::csv_index::find_plain_or_gz(root, f).map(|p| (Some(s), p))).collect();
            if physionet.is_empty() {
                let k = super::csv_index::find_plain_or_gz(root, KAGGLE_FILE).ok_or_else(|| DataError::NotFound {
                    path: root.join(IMAGE_LABEL_FILES[0].1),
                    what: format!("VinDr-CXR labels ({}, {} or Kaggle {})", IMAGE_LABEL_FILES[0].1, IMAGE_LABEL_FILES[1].1, KAGGLE_FILE),
                })?;
                vec![(Some("train"), k)]
            } else {
                physionet
            }
        }
    };
    let mut c = Collector::new(opts);
    let mut covered = [true; 9];
    let mut ids = std::collections::HashSet::new();
    for (s, f) in &files {
        let before = c.rows.len();
        let cov = read_file(&mut c, root, f, *s)?;
        for (r, _) in &c.rows[before..] {
            if !ids.insert(r.id.clone()) {
                return Err(DataError::Invalid(format!("{}: image_id {:?} is also in another label file", f.display(), r.id)));
            }
        }
        for i in 0..9 {
            covered[i] &= cov[i];
        }
    }
    if covered != [true; 9] {
        for (_, l) in &mut c.rows {
            for i in 0..9 {
                if !covered[i] {
                    l[i] = Label::Missing;
                }
            }
        }
    }
    c.finish(SourceId::Vindr, split.name(), root, files.into_iter().map(|f| f.1).collect(), covered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn votes(n: usize, k: usize) -> Votes {
        let mut v = Votes { readers: (0..n).map(|i| format!("R{i}")).collect(), ..Votes::default() };
        v.marked[1] = (0..k).map(|i| format!("R{i}")).collect();
        v
    }

    #[test]
    fn voting_rules() {
        let maj = ReadOptions::default();
        let any = ReadOptions { vindr_voting: VindrVoting::Any, ..ReadOptions::default() };
        let unc = ReadOptions { vindr_single_vote_uncertain: true, ..ReadOptions::default() };
        let cov = [true; 9];
        assert_eq!(decide(&votes(3, 2), &maj, cov)[1], Label::Positive);
        assert_eq!(decide(&votes(3, 1), &maj, cov)[1], Label::Negative);
        assert_eq!(decide(&votes(3, 1), &any, cov)[1], Label::Positive);
        assert_eq!(decide(&votes(3, 1), &unc, cov)[1], Label::Uncertain);
        assert_eq!(decide(&votes(3, 0), &unc, cov)[1], Label::Negative);
        let mut partial = cov;
        partial[1] = false;
        assert_eq!(decide(&votes(3, 3), &maj, partial)[1], Label::Missing);
    }
}
