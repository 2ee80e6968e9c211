//! Dataset adapters, one file per source. Each reads the source's own index files, keeps its
//! information intact (four label states), and maps its labels to the shared findings through a
//! declarative table (`LABELS` in each file): the single source of truth, rendered for auditors
//! by [`mapping_markdown`] into `docs/label-mapping.md`.

pub mod brax;
pub mod chexpert;
mod csv_index;
pub mod generic;
mod mapping_doc;
pub mod mimic;
pub mod nih;
pub mod padchest;
mod padchest_vocabulary;
mod read;
pub mod vindr;

pub use mapping_doc::mapping_markdown;
pub use read::{ReadOptions, VindrVoting, resolve_inside_root, view_from_position};

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
    /// Every image the source lists (CheXpert: train and valid; the official split of each
    /// image is a field of its record).
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

/// Read a dataset's index.
///
/// # Errors
/// A missing folder or index file, a malformed row (naming file, row and field; skipped and
/// listed instead under `lenient`), a duplicate key, a path escaping the root, or no images.
pub fn open_dataset(source: SourceId, root: &Path, split: DatasetSplit, opts: &ReadOptions) -> Result<Dataset, DataError> {
    if !root.is_dir() {
        return Err(DataError::NotFound { path: root.to_path_buf(), what: format!("{source} dataset folder") });
    }
    match source {
        SourceId::Chexpert => chexpert::read(root, split, opts),
        SourceId::Mimic => mimic::read(root, split, opts),
        SourceId::Nih => nih::read(root, split, opts),
        SourceId::Padchest => padchest::read(root, split, opts),
        SourceId::Vindr => vindr::read(root, split, opts),
        SourceId::Brax => brax::read(root, split, opts),
        SourceId::Generic => generic::read(root, split, opts),
    }
}
