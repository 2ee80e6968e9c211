//! What a reader returns: the manifest (records) and, separately, the label table.

use cxr_core::{Finding, Label, SHARED9, SourceId};
use serde::Serialize;
use std::path::PathBuf;

/// Acquisition view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum View {
    /// Postero-anterior.
    PA,
    /// Antero-posterior.
    AP,
    /// Lateral.
    Lateral,
    /// Anything else or unknown (kept as a frontal/non-frontal flag on the record).
    Other,
}

/// One image of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// Stable id within the source (the path as written in the index, or the image name).
    pub id: String,
    /// Image file on this machine.
    pub path: PathBuf,
    /// Patient id, kept as a string.
    pub patient_id: String,
    /// View.
    pub view: View,
    /// Whether the source counts this image as frontal.
    pub frontal: bool,
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
        let mut c = [0; 4];
        for r in &self.rows {
            c[match r[f.index()] {
                Label::Positive => 0,
                Label::Negative => 1,
                Label::Uncertain => 2,
                Label::Missing => 3,
            }] += 1;
        }
        c
    }
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
    /// Rows not taken.
    pub excluded: Vec<Excluded>,
}

impl Dataset {
    /// Build a dataset from parsed index rows: non-frontal rows (when `frontal_only`) and rows
    /// whose image `locate` cannot find go to the exclusion list with their reason, never
    /// silently dropped.
    pub(crate) fn assemble(
        source: cxr_core::SourceId,
        split: &str,
        root: &std::path::Path,
        index: PathBuf,
        parsed: Vec<(Record, [Label; 9])>,
        frontal_only: bool,
        locate: impl Fn(&Record) -> Result<PathBuf, String>,
    ) -> Self {
        let (mut records, mut rows, mut excluded) = (Vec::new(), Vec::new(), Vec::new());
        for (mut record, labels) in parsed {
            if frontal_only && !record.frontal {
                excluded.push(Excluded { id: record.id, reason: "not frontal".into() });
                continue;
            }
            match locate(&record) {
                Ok(path) => {
                    record.path = path;
                    records.push(record);
                    rows.push(labels);
                }
                Err(reason) => excluded.push(Excluded { id: record.id, reason }),
            }
        }
        Self {
            source,
            split: split.to_string(),
            root: root.to_path_buf(),
            index_files: vec![index],
            records,
            labels: LabelTable { covered: [true; 9], rows },
            excluded,
        }
    }

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
