//! The nine findings of the shared label space (datasets.md §3), with stable names.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One of the nine shared labels. Alignment across datasets is always by `Finding` identity,
/// never by column index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Finding {
    #[serde(rename = "No Finding")]
    NoFinding,
    #[serde(rename = "Cardiomegaly")]
    Cardiomegaly,
    #[serde(rename = "Atelectasis")]
    Atelectasis,
    #[serde(rename = "Consolidation")]
    Consolidation,
    #[serde(rename = "Pleural Effusion")]
    PleuralEffusion,
    #[serde(rename = "Pneumothorax")]
    Pneumothorax,
    #[serde(rename = "Pneumonia")]
    Pneumonia,
    #[serde(rename = "Edema")]
    Edema,
    #[serde(rename = "Lung Lesion")]
    LungLesion,
}

/// The shared label space in its canonical order.
pub const SHARED9: [Finding; 9] = [
    Finding::NoFinding,
    Finding::Cardiomegaly,
    Finding::Atelectasis,
    Finding::Consolidation,
    Finding::PleuralEffusion,
    Finding::Pneumothorax,
    Finding::Pneumonia,
    Finding::Edema,
    Finding::LungLesion,
];

impl Finding {
    /// The display name, spelled as in datasets.md §3 (and as CheXpert's column).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::NoFinding => "No Finding",
            Self::Cardiomegaly => "Cardiomegaly",
            Self::Atelectasis => "Atelectasis",
            Self::Consolidation => "Consolidation",
            Self::PleuralEffusion => "Pleural Effusion",
            Self::Pneumothorax => "Pneumothorax",
            Self::Pneumonia => "Pneumonia",
            Self::Edema => "Edema",
            Self::LungLesion => "Lung Lesion",
        }
    }

    /// Position in [`SHARED9`].
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of the nine shared findings.
#[derive(Debug, thiserror::Error)]
#[error("unknown finding {name:?}; valid names: {}", SHARED9.map(Finding::name).join(", "))]
pub struct FindingParseError {
    /// The name that was given.
    pub name: String,
}

impl FromStr for Finding {
    type Err = FindingParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SHARED9
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| FindingParseError { name: s.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_str() {
        for (i, f) in SHARED9.into_iter().enumerate() {
            assert_eq!(f.index(), i);
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.name()));
            assert_eq!(serde_json::from_str::<Finding>(&json).unwrap(), f);
            assert_eq!(f.name().parse::<Finding>().unwrap(), f);
        }
    }

    #[test]
    fn unknown_name_lists_valid_ones() {
        let e = "Effusion".parse::<Finding>().unwrap_err().to_string();
        assert!(e.contains("\"Effusion\"") && e.contains("Pleural Effusion"), "{e}");
    }
}
