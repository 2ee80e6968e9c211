//! `cxr-metrics`: evaluation metrics on plain `f64` slices.
//!
//! The same code selects models in `cxr-train` and reports in `cxr-eval`. Must not depend on Burn,
//! ndarray or any tensor library: pure functions, property-tested against brute-force definitions.

mod auroc;
mod bootstrap;
mod calibration;
mod delong;
mod precision_recall;
mod ranks;
mod threshold;

pub use auroc::{auroc, auroc_masked, class_counts, macro_mean};
pub use bootstrap::{BootstrapCi, bootstrap_auroc, bootstrap_gap};
pub use calibration::{ReliabilityBin, brier, ece, reliability};
pub use delong::{DelongAuc, Z95, delong};
pub use precision_recall::{AtThreshold, at_threshold, average_precision};
pub use threshold::{YoudenPoint, youden};
