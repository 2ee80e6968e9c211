//! Dataset adapters, one file per source. Each reads the source's own index files, keeps its
//! information intact (four label states), and maps its columns to the shared findings through a
//! declarative table.

pub mod chexpert;
mod csv_index;
pub mod nih;

use crate::{DataError, Dataset};
use cxr_core::SourceId;
use std::path::Path;

/// Which index of a dataset to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetSplit {
    /// CheXpert `train.csv`.
    Train,
    /// CheXpert `valid.csv` (the internal test set).
    Valid,
    /// Every image the source lists (external datasets).
    All,
}

impl DatasetSplit {
    /// Stable name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Valid => "valid",
            Self::All => "all",
        }
    }
}

/// Read a dataset's index. `frontal_only` moves non-frontal images to the exclusion list.
///
/// # Errors
/// A missing folder or index file, a malformed row (naming file, row and field), or a source this
/// build cannot read yet.
pub fn open_dataset(
    source: SourceId,
    root: &Path,
    split: DatasetSplit,
    frontal_only: bool,
) -> Result<Dataset, DataError> {
    if !root.is_dir() {
        return Err(DataError::NotFound {
            path: root.to_path_buf(),
            what: format!("{source} dataset folder"),
        });
    }
    match source {
        SourceId::Chexpert => chexpert::read(root, split, frontal_only),
        SourceId::Nih => nih::read(root, split, frontal_only),
        other => Err(DataError::Invalid(format!(
            "dataset {other}: no reader in this build yet (readable: chexpert, nih)"
        ))),
    }
}
