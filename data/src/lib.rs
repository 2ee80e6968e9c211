//! `cxr-data`: dataset readers, label harmonization to the shared space, patient-level splits,
//! the single `preprocess` function, and the phantom generator.
//!
//! One preprocessing implementation feeds both Burn tensors (train) and ONNX Runtime (evaluate),
//! so train/test preprocessing skew is impossible. Must not depend on Burn or ONNX Runtime.

mod dataset;
mod error;
mod image_io;
pub mod phantom;
mod preprocess;
pub mod sources;
mod split;

pub use dataset::{Dataset, Excluded, LabelTable, Record, View};
pub use error::DataError;
pub use image_io::{GrayImage, load_gray};
pub use preprocess::{preprocess, preprocess_file};
pub use sources::{DatasetSplit, open_dataset};
pub use split::{Role, role_of};
