//! Errors that name the file, and the row and field where there is one.

use std::path::PathBuf;

/// A dataset or image problem.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The dataset folder or a required index file is absent.
    #[error("{}: not found ({what})", path.display())]
    NotFound {
        /// Missing path.
        path: PathBuf,
        /// What was expected there.
        what: String,
    },
    /// An I/O error.
    #[error("{}: {source}", path.display())]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A CSV file without a required column.
    #[error("{}: missing column {column:?}", path.display())]
    MissingColumn {
        /// File.
        path: PathBuf,
        /// Column name.
        column: String,
    },
    /// A malformed CSV row (row = line number, the header being line 1).
    #[error("{}: row {row}, field {field:?}: {message}", path.display())]
    BadField {
        /// File.
        path: PathBuf,
        /// 1-based line number.
        row: u64,
        /// Column name.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A row the CSV parser itself could not read.
    #[error("{}: row {row}: {message}", path.display())]
    BadRow {
        /// File.
        path: PathBuf,
        /// 1-based line number.
        row: u64,
        /// What is wrong.
        message: String,
    },
    /// An image that cannot be decoded or is unusable.
    #[error("{}: cannot use image: {message}", path.display())]
    Image {
        /// File.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An index with no usable row.
    #[error("{}: no images (empty dataset{})", path.display(), if *skipped > 0 { format!("; {skipped} malformed rows skipped") } else { String::new() })]
    Empty {
        /// Index file.
        path: PathBuf,
        /// Rows skipped as malformed.
        skipped: usize,
    },
    /// An image path that resolves outside the dataset root.
    #[error("{}: resolves to {} outside the dataset root {} (pass --allow-outside-root for data on network storage)", path.display(), target.display(), root.display())]
    OutsideRoot {
        /// Path as given.
        path: PathBuf,
        /// Where it resolves.
        target: PathBuf,
        /// Dataset root.
        root: PathBuf,
    },
    /// Invalid arguments to a data function.
    #[error("{0}")]
    Invalid(String),
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}
