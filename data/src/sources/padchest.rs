//! PadChest (datasets.md §1.4): `PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv` (or
//! `.csv.gz`); 16-bit PNGs under `<ImageDir>/<ImageID>` (one folder per zip) or in one flat
//! folder.
//!
//! `Labels` is a Python list literal: elements are stripped, `''` dropped, and matched exactly
//! (never by substring) against [`LABELS`]. A null cell (`nan`) or one holding only `''` makes all
//! nine labels missing (counted); otherwise a label is positive when one of its tokens is present,
//! else negative. `normal` is kept even beside a finding (counted), and `exclude` / `suboptimal
//! study` rows are kept and counted so they can be filtered. There is no uncertain state. A token
//! outside the shipped vocabulary ([`VOCABULARY`], all 193 labels of the real file) is counted as
//! unknown. Frontal: `Projection` PA, AP or AP_horizontal (`ViewPosition_DICOM` is unreliable).
//! Patient ids are 35–39-digit numbers kept as strings. `BitsStored_DICOM` scales the PNGs.

use super::DatasetSplit;
use super::csv_index::CsvIndex;
use super::read::{Collector, ReadOptions, label_file, manufacturer};
use crate::dataset::Sex;
use crate::{DataError, Dataset, Record, View};
use cxr_core::{Finding, Label, SourceId};
use std::collections::HashMap;
use std::path::Path;

pub use super::padchest_vocabulary::VOCABULARY;

/// Label element (stripped, exact) → shared finding (datasets.md §3).
pub const LABELS: &[(&str, Finding)] = &[
    ("normal", Finding::NoFinding),
    ("cardiomegaly", Finding::Cardiomegaly),
    ("atelectasis", Finding::Atelectasis),
    ("atelectasis basal", Finding::Atelectasis),
    ("laminar atelectasis", Finding::Atelectasis),
    ("lobar atelectasis", Finding::Atelectasis),
    ("segmental atelectasis", Finding::Atelectasis),
    ("round atelectasis", Finding::Atelectasis),
    ("total atelectasis", Finding::Atelectasis),
    ("consolidation", Finding::Consolidation),
    ("pleural effusion", Finding::PleuralEffusion),
    ("loculated pleural effusion", Finding::PleuralEffusion),
    ("loculated fissural effusion", Finding::PleuralEffusion),
    ("hydropneumothorax", Finding::PleuralEffusion),
    ("empyema", Finding::PleuralEffusion),
    ("pneumothorax", Finding::Pneumothorax),
    ("hydropneumothorax", Finding::Pneumothorax),
    ("pneumonia", Finding::Pneumonia),
    ("atypical pneumonia", Finding::Pneumonia),
    ("pulmonary edema", Finding::Edema),
    ("nodule", Finding::LungLesion),
    ("multiple nodules", Finding::LungLesion),
    ("mass", Finding::LungLesion),
    ("pulmonary mass", Finding::LungLesion),
];

/// Standard index file name (`.gz` also accepted).
pub const INDEX_FILE: &str = "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv";

/// Parse a Python list literal of strings (`['a', ' b', "c'd"]`) into its elements.
///
/// # Errors
/// A message when the cell is not such a list.
pub fn parse_list(cell: &str) -> Result<Vec<String>, String> {
    let s = cell.trim();
    let inner = s.strip_prefix('[').and_then(|t| t.strip_suffix(']')).ok_or_else(|| format!("expected a list like ['a', 'b'], got {s:?}"))?;
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(q) = chars.next() else { break };
        if q != '\'' && q != '"' {
            return Err(format!("expected a quoted string in {s:?}"));
        }
        let mut item = String::new();
        loop {
            match chars.next() {
                None => return Err(format!("unterminated string in {s:?}")),
                Some('\\') => item.push(chars.next().ok_or_else(|| format!("dangling escape in {s:?}"))?),
                Some(c) if c == q => break,
                Some(c) => item.push(c),
            }
        }
        out.push(item);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(c) => return Err(format!("unexpected {c:?} after an element in {s:?}")),
        }
    }
    Ok(out)
}

/// What one Labels cell says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Null (`nan`) or only `''`: all nine labels missing.
    Empty,
    /// The stripped, non-empty tokens.
    Tokens(Vec<String>),
    /// Not read (manifest only).
    Unread,
}

/// Read a Labels cell.
///
/// # Errors
/// A message when the cell is neither `nan` nor a list of strings.
pub fn parse_cell(cell: &str) -> Result<Cell, String> {
    let c = cell.trim();
    if c == "nan" || c.is_empty() {
        return Ok(Cell::Empty);
    }
    let tokens: Vec<String> = parse_list(c)?.into_iter().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
    Ok(if tokens.is_empty() { Cell::Empty } else { Cell::Tokens(tokens) })
}

/// The nine labels of a token list.
#[must_use]
pub fn labels_of(tokens: &[String]) -> [Label; 9] {
    let mut l = [Label::Negative; 9];
    for t in tokens {
        for &(name, f) in LABELS {
            if name == t {
                l[f.index()] = Label::Positive;
            }
        }
    }
    l
}

fn known(token: &str) -> bool {
    VOCABULARY.binary_search_by(|(t, _)| (*t).cmp(token)).is_ok()
}

fn view_of(projection: &str) -> View {
    match projection {
        "PA" => View::PA,
        "AP" | "AP_horizontal" => View::AP,
        "L" => View::Lateral,
        "" | "UNK" | "None" => View::Unknown,
        _ => View::Other,
    }
}

pub(crate) fn read(root: &Path, split: DatasetSplit, opts: &ReadOptions) -> Result<Dataset, DataError> {
    if split != DatasetSplit::All {
        return Err(DataError::Invalid("padchest: has no official split; read `all`".into()));
    }
    let index = label_file(opts, root, &[INDEX_FILE], "PadChest index")?;
    let mut csv = CsvIndex::read(&index)?;
    let c_id = csv.column(&["ImageID"])?;
    let c_dir = csv.column(&["ImageDir"])?;
    let c_study = csv.column(&["StudyID"])?;
    let c_pat = csv.column(&["PatientID"])?;
    let c_birth = csv.optional_column(&["PatientBirth"]);
    let c_date = csv.optional_column(&["StudyDate_DICOM"]);
    let c_sex = csv.optional_column(&["PatientSex_DICOM"]);
    let c_proj = csv.column(&["Projection"])?;
    let c_bits = csv.optional_column(&["BitsStored_DICOM"]);
    let c_maker = csv.optional_column(&["Manufacturer_DICOM"]);
    let c_labels = csv.column(&["Labels"])?;
    let mut c = Collector::new(opts);
    let mut dir_exists: HashMap<String, bool> = HashMap::new();
    for row in csv.rows() {
        let parsed = row.and_then(|row| {
            let id = row.get(c_id, "ImageID")?;
            if id.is_empty() || id.contains(['/', '\\']) {
                return Err(row.bad("ImageID", format!("expected an image file name, got {id:?}")));
            }
            c.unique(&row, "ImageID", id)?;
            let dir = row.get(c_dir, "ImageDir")?;
            let dir = dir.strip_suffix(".0").unwrap_or(dir);
            if dir.is_empty() || !dir.bytes().all(|b| b.is_ascii_digit()) {
                return Err(row.bad("ImageDir", format!("expected a folder number, got {dir:?}")));
            }
            let patient = row.get(c_pat, "PatientID")?;
            if patient.is_empty() {
                return Err(row.bad("PatientID", "empty"));
            }
            let cell = if c.opts.manifest_only { Cell::Unread } else { parse_cell(row.get(c_labels, "Labels")?).map_err(|m| row.bad("Labels", m))? };
            let labels = match &cell {
                Cell::Empty | Cell::Unread => [Label::Missing; 9],
                Cell::Tokens(t) => labels_of(t),
            };
            let view = view_of(row.get(c_proj, "Projection")?);
            let sub = if opts.locate_images {
                *dir_exists.entry(dir.to_string()).or_insert_with(|| root.join(dir).is_dir())
            } else {
                true
            };
            let path = if sub { root.join(dir).join(id) } else { root.join(id) };
            let mut r = Record::new(id, path, patient).with_view(view);
            r.study_id = Some(row.get(c_study, "StudyID")?.to_string());
            r.sex = Sex::parse(row.opt(c_sex, "PatientSex_DICOM")?).map_err(|m| row.bad("PatientSex_DICOM", m))?;
            let birth = row.opt(c_birth, "PatientBirth")?;
            let date = row.opt(c_date, "StudyDate_DICOM")?;
            r.age = match (birth.split('.').next().and_then(|b| b.parse::<i32>().ok()), date.get(..4).and_then(|d| d.parse::<i32>().ok())) {
                (Some(b), Some(d)) if d >= b => Some((d - b) as f32),
                _ => None,
            };
            r.manufacturer = manufacturer(row.opt(c_maker, "Manufacturer_DICOM")?);
            let bits = row.opt(c_bits, "BitsStored_DICOM")?;
            r.bits_stored = match bits.split('.').next().unwrap_or("") {
                "" | "None" | "nan" => None,
                b => Some(b.parse::<u8>().ok().filter(|v| (1..=16).contains(v)).ok_or_else(|| row.bad("BitsStored_DICOM", format!("expected 1 to 16, got {bits:?}")))?),
            };
            Ok((r, cell, labels))
        });
        let Some((r, cell, labels)) = c.accept(parsed)? else { continue };
        match &cell {
            Cell::Unread => {}
            Cell::Empty => c.report.count("padchest: labels null or empty (all missing)"),
            Cell::Tokens(tokens) => {
                for t in tokens {
                    if !known(t) {
                        c.report.unknown_token(t);
                    }
                }
                if tokens.iter().any(|t| t == "exclude") {
                    c.report.count("padchest: `exclude` rows (kept)");
                }
                if tokens.iter().any(|t| t == "suboptimal study") {
                    c.report.count("padchest: `suboptimal study` rows (kept)");
                }
                if labels[0] == Label::Positive && labels[1..].contains(&Label::Positive) {
                    c.report.count("padchest: `normal` beside a finding (kept)");
                }
            }
        }
        if r.age.is_none() {
            c.report.count("padchest: age unknown");
        }
        c.rows.push((r, labels));
    }
    c.finish(SourceId::Padchest, split.name(), root, vec![index], [true; 9])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_like_python() {
        assert_eq!(parse_list("['a', ' b']").unwrap(), vec!["a", " b"]);
        assert_eq!(parse_list("['']").unwrap(), vec![""]);
        assert_eq!(parse_list("[\"it's\", 'x']").unwrap(), vec!["it's", "x"]);
        assert_eq!(parse_list("[]").unwrap(), Vec::<String>::new());
        assert!(parse_list("normal").is_err());
        assert!(parse_list("['a' 'b']").is_err());
        assert_eq!(parse_cell("nan").unwrap(), Cell::Empty);
        assert_eq!(parse_cell("['']").unwrap(), Cell::Empty);
        assert_eq!(parse_cell("[' pneumonia', '']").unwrap(), Cell::Tokens(vec!["pneumonia".into()]));
    }

    #[test]
    fn tokens_match_exactly_not_by_substring() {
        let l = labels_of(&["pericardial effusion".into(), "pseudonodule".into(), "hydropneumothorax".into()]);
        assert_eq!(l[Finding::PleuralEffusion.index()], Label::Positive, "hydropneumothorax");
        assert_eq!(l[Finding::Pneumothorax.index()], Label::Positive);
        assert_eq!(l[Finding::LungLesion.index()], Label::Negative, "pseudonodule is not a lesion");
        assert_eq!(labels_of(&["pericardial effusion".into()])[Finding::PleuralEffusion.index()], Label::Negative);
    }

    #[test]
    fn every_mapped_token_is_in_the_vocabulary_which_is_sorted() {
        assert!(VOCABULARY.windows(2).all(|w| w[0].0 < w[1].0));
        for (t, _) in LABELS {
            assert!(known(t), "{t}");
        }
    }
}
