//! `cxr-data`: dataset readers, label harmonization to the shared space, patient-level splits,
//! the single `preprocess` function with every preprocessing strategy, the HDF5 image cache
//! (feature `cache`, which links libhdf5), and the phantom generator.
//!
//! One preprocessing implementation feeds both Burn tensors (train) and ONNX Runtime (evaluate),
//! so train/test preprocessing skew is impossible. Must not depend on Burn or ONNX Runtime.

#[cfg(feature = "cache")]
pub mod cache;
mod dataset;
pub mod dicom;
mod error;
mod image_io;
pub mod phantom;
mod preprocess;
pub mod sources;
mod split;

#[cfg(feature = "cache")]
pub use cache::ImageCache;
pub use dataset::{Dataset, Excluded, LabelTable, ReadReport, Record, Sex, SkippedRow, View};
pub use error::DataError;
pub use image_io::{GrayImage, load_gray, load_gray_hinted};
pub use preprocess::{
    FitReport, LandmarkFit, LevelImage, Prepared, Samples, clahe, fit_landmarks, landmarks_of, load_levels, normalize, otsu, prepare, prepare_levels, prepare_path, prepare_record, preprocess,
    preprocess_file, preprocess_record, resize_to_levels, roi_box, roi_crop, standardize,
};
pub use sources::{DatasetSplit, ReadOptions, VindrVoting, open_dataset};
pub use split::{Role, role_of};
