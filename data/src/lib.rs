//! `cxr-data`: dataset readers, label harmonization to the shared space, patient-level splits,
//! the single `preprocess` function, and the phantom generator.
//!
//! One preprocessing implementation feeds both Burn tensors (train) and ONNX Runtime (evaluate),
//! so train/test preprocessing skew is impossible. Must not depend on Burn or ONNX Runtime.

mod dataset;
pub mod dicom;
mod error;
mod image_io;
pub mod phantom;
mod preprocess;
pub mod sources;
mod split;

pub use dataset::{Dataset, Excluded, LabelTable, ReadReport, Record, Sex, SkippedRow, View};
pub use error::DataError;
pub use image_io::{GrayImage, load_gray, load_gray_hinted};
pub use preprocess::{preprocess, preprocess_file, preprocess_record};
pub use sources::{DatasetSplit, ReadOptions, VindrVoting, open_dataset};
pub use split::{Role, role_of};
