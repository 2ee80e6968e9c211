//! `cxr-metrics`: evaluation metrics on plain `f64` slices.
//!
//! The same code selects models in `cxr-train` and reports in `cxr-eval`. Must not depend on Burn,
//! ndarray or any tensor library: pure functions, property-tested against brute-force definitions.

mod auroc;
mod threshold;

pub use auroc::{auroc, auroc_masked, class_counts, macro_mean};
pub use threshold::{YoudenPoint, youden};
