//! What a reader returns: the manifest (records) and, separately, the label table, plus a read
//! report listing everything that was skipped, excluded or unusual (never dropped silently).

use cxr_core::{Finding, Label, SHARED9, SourceId};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Acquisition view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum View {
    /// Postero-anterior.
    PA,
    /// Antero-posterior (supine and erect; PadChest's `AP_horizontal` too).
    AP,
    /// Lateral (any lateral or decubitus projection).
    Lateral,
    /// A stated view that is none of the above (oblique, LL on a frontal CheXpert row, …).
    Other,
    /// No view stated: excluded from the frontal set and counted.
    Unknown,
}

/// Patient sex as the source states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Sex {
    /// Male.
    Male,
    /// Female.
    Female,
    /// Other or unknown as stated by the source (BRAX `O`, CheXpert `Unknown`).
    Other,
}

impl Sex {
    /// Parse the spellings the sources use (`M`/`F`/`O`, `Male`/`Female`/`Unknown`); blank and
    /// `None` give `Ok(None)`.
    ///
    /// # Errors
    /// A message for any other value.
    pub fn parse(s: &str) -> Result<Option<Self>, String> {
        match s.trim() {
            "" | "None" | "nan" => Ok(None),
            "M" | "Male" | "male" => Ok(Some(Self::Male)),
            "F" | "Female" | "female" => Ok(Some(Self::Female)),
            "O" | "Other" | "Unknown" | "U" => Ok(Some(Self::Other)),
            other => Err(format!("expected M, F, O, Male, Female or Unknown, got {other:?}")),
        }
    }
}

/// One image of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// The source's key for this image (its duplicate key): CheXpert `Path`, MIMIC `dicom_id`,
    /// NIH `Image Index`, PadChest `ImageID`, VinDr `image_id`, BRAX and generic the image path.
    pub id: String,
    /// Image file on this machine.
    pub path: PathBuf,
    /// Patient id, kept as a string (PadChest ids have 35–39 digits).
    pub patient_id: String,
    /// Study id, where the source has one.
    pub study_id: Option<String>,
    /// View.
    pub view: View,
    /// Whether the source's frontal rule (datasets.md §3) counts this image as frontal.
    pub frontal: bool,
    /// Sex, where present.
    pub sex: Option<Sex>,
    /// Age in years, where present (BRAX 5-year groups: the group's lower bound).
    pub age: Option<f32>,
    /// The source's official split (`train`, `valid`, `validate`, `test`, …), where it has one.
    pub official_split: Option<String>,
    /// Bits stored per sample, where the index states it (PadChest `BitsStored_DICOM`): scales
    /// 16-bit PNGs (see [`crate::load_gray_hinted`]).
    pub bits_stored: Option<u8>,
    /// Scanner manufacturer, where the index states it (PadChest `Manufacturer_DICOM`, BRAX's
    /// integer code, a generic `manufacturer` column): a subgroup for the evaluator.
    pub manufacturer: Option<String>,
}

impl Record {
    /// A record with only the required fields; everything optional unknown, view unknown.
    #[must_use]
    pub fn new(id: impl Into<String>, path: PathBuf, patient_id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            path,
            patient_id: patient_id.into(),
            study_id: None,
            view: View::Unknown,
            frontal: false,
            sex: None,
            age: None,
            official_split: None,
            bits_stored: None,
            manufacturer: None,
        }
    }

    /// Set the view and derive `frontal` (PA or AP).
    #[must_use]
    pub fn with_view(mut self, view: View) -> Self {
        self.view = view;
        self.frontal = matches!(view, View::PA | View::AP);
        self
    }
}

/// An index row that was not taken, and why (counted and listed in outputs, never dropped
/// silently).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Excluded {
    /// Record id.
    pub id: String,
    /// Reason.
    pub reason: String,
}

/// A malformed row skipped under `--lenient`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedRow {
    /// The error, naming file, row and field.
    pub error: String,
}

/// Everything unusual met while reading, for the summary and the evaluation outputs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ReadReport {
    /// Malformed rows skipped (only under `--lenient`; otherwise the first one is an error).
    pub skipped_rows: Vec<SkippedRow>,
    /// Label tokens outside the source's vocabulary, with their counts (ignored for the labels).
    pub unknown_tokens: BTreeMap<String, usize>,
    /// Named counts of noteworthy rows (e.g. `view unknown`, `padchest: labels null`).
    pub counters: BTreeMap<String, usize>,
    /// Whether paths outside the dataset root were allowed (`--allow-outside-root`).
    pub outside_root_allowed: bool,
    /// Image paths outside the dataset root that were allowed.
    pub outside_root_paths: usize,
}

impl ReadReport {
    /// Add one to a named counter.
    pub fn count(&mut self, name: &str) {
        *self.counters.entry(name.to_string()).or_default() += 1;
    }

    /// Add one occurrence of an unknown token.
    pub fn unknown_token(&mut self, token: &str) {
        *self.unknown_tokens.entry(token.to_string()).or_default() += 1;
    }
}

/// The four-state labels of the nine shared findings, one row per record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelTable {
    /// Whether the source labels each finding at all (in [`SHARED9`] order). A finding the
    /// source lacks is `Missing` in every row and masked whatever the blank policy.
    pub covered: [bool; 9],
    /// Rows, aligned with [`Dataset::records`]; columns in [`SHARED9`] order.
    pub rows: Vec<[Label; 9]>,
}

impl LabelTable {
    /// Hard labels of one finding under `policy`, one per row (`None` = masked).
    #[must_use]
    pub fn hard_labels(&self, policy: &cxr_core::LabelPolicy, f: Finding) -> Vec<Option<bool>> {
        let covered = self.covered[f.index()];
        self.rows.iter().map(|r| policy.hard_label(r[f.index()], covered)).collect()
    }

    /// Counts of (positive, negative, uncertain, missing) for one finding.
    #[must_use]
    pub fn counts(&self, f: Finding) -> [usize; 4] {
        count_states(self.rows.iter(), f)
    }
}

/// Counts of (positive, negative, uncertain, missing) for one finding over `rows`.
pub(crate) fn count_states<'a>(rows: impl Iterator<Item = &'a [Label; 9]>, f: Finding) -> [usize; 4] {
    let mut c = [0; 4];
    for r in rows {
        c[match r[f.index()] {
            Label::Positive => 0,
            Label::Negative => 1,
            Label::Uncertain => 2,
            Label::Missing => 3,
        }] += 1;
    }
    c
}

/// A read dataset split.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Source.
    pub source: SourceId,
    /// Which index was read (e.g. `train`, `valid`, `all`).
    pub split: String,
    /// Dataset root.
    pub root: PathBuf,
    /// Index files that were read.
    pub index_files: Vec<PathBuf>,
    /// Included images.
    pub records: Vec<Record>,
    /// Their labels.
    pub labels: LabelTable,
    /// Rows not taken (non-frontal under `frontal_only`, image not found).
    pub excluded: Vec<Excluded>,
    /// Skipped rows, unknown tokens and counters.
    pub report: ReadReport,
}

impl Dataset {
    /// blake3 over the included records, their labels and the exclusions: the dataset's identity
    /// in run hashes. Image bytes are not hashed (too slow for real datasets); paths and labels are.
    #[must_use]
    pub fn manifest_hash(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(format!("{}\n{}\n", self.source, self.split).as_bytes());
        for (r, l) in self.records.iter().zip(&self.labels.rows) {
            h.update(format!("{}\t{}\t{:?}\t{:?}\n", r.id, r.patient_id, r.view, l).as_bytes());
        }
        for e in &self.excluded {
            h.update(format!("x\t{}\t{}\n", e.id, e.reason).as_bytes());
        }
        for s in &self.report.skipped_rows {
            h.update(format!("s\t{}\n", s.error).as_bytes());
        }
        h.finalize().to_hex().to_string()
    }

    /// blake3 over what the evaluator predicts on: the source, the split, each included record's
    /// id, patient, view and frontal flag, and the exclusions; never the labels. A manifest read
    /// without labels ([`crate::ReadOptions::manifest_only`]) and the full read of the same index
    /// hash alike, which is how the label phase checks it reads the images that were sealed.
    #[must_use]
    pub fn image_manifest_hash(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(format!("{}\n{}\n", self.source, self.split).as_bytes());
        for r in &self.records {
            h.update(format!("{}\t{}\t{:?}\t{}\n", r.id, r.patient_id, r.view, r.frontal).as_bytes());
        }
        for e in &self.excluded {
            h.update(format!("x\t{}\t{}\n", e.id, e.reason).as_bytes());
        }
        h.finalize().to_hex().to_string()
    }

    /// Keep only the records whose index satisfies `keep`, preserving order and labels.
    #[must_use]
    pub fn subset(&self, keep: impl Fn(usize) -> bool) -> Self {
        let idx: Vec<usize> = (0..self.records.len()).filter(|&i| keep(i)).collect();
        Self {
            records: idx.iter().map(|&i| self.records[i].clone()).collect(),
            labels: LabelTable {
                covered: self.labels.covered,
                rows: idx.iter().map(|&i| self.labels.rows[i]).collect(),
            },
            ..self.clone()
        }
    }

    /// Number of included images.
    #[must_use]
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no image is included.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The nine findings with their coverage.
    pub fn findings(&self) -> impl Iterator<Item = (Finding, bool)> + '_ {
        SHARED9.into_iter().map(|f| (f, self.labels.covered[f.index()]))
    }
}
