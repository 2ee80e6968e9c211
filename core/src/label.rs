//! The four states a source label can be in (datasets.md §3).

use serde::{Deserialize, Serialize};

/// What the source says about one finding in one image. Readers keep the source's information
/// intact; what `Uncertain` and `Missing` *mean* is decided by a [`crate::LabelPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Stated present (CheXpert `1.0`, an NIH token present).
    Positive,
    /// Stated absent (CheXpert `0.0`, NIH token absent).
    Negative,
    /// Stated uncertain (CheXpert `-1.0`).
    Uncertain,
    /// Not mentioned (a blank CheXpert cell), or a finding the source does not label at all.
    Missing,
}
