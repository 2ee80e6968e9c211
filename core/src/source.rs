//! Dataset sources (`SourceId`, torchxrayvision's `item["source"]`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an image comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceId {
    /// CheXpert (the training site).
    Chexpert,
    /// MIMIC-CXR-JPG.
    Mimic,
    /// NIH ChestX-ray14.
    Nih,
    /// PadChest.
    Padchest,
    /// VinDr-CXR.
    Vindr,
    /// BRAX.
    Brax,
    /// A hospital's own data in the generic CSV format (the site a user audits).
    Generic,
}

impl SourceId {
    /// All sources.
    pub const ALL: [SourceId; 7] =
        [Self::Chexpert, Self::Mimic, Self::Nih, Self::Padchest, Self::Vindr, Self::Brax, Self::Generic];

    /// Stable lowercase name (used in CLI arguments and file names).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Chexpert => "chexpert",
            Self::Mimic => "mimic",
            Self::Nih => "nih",
            Self::Padchest => "padchest",
            Self::Vindr => "vindr",
            Self::Brax => "brax",
            Self::Generic => "generic",
        }
    }

    /// Parse a stable name.
    ///
    /// # Errors
    /// A message listing the valid names.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|x| x.name() == s).ok_or_else(|| {
            format!(
                "unknown dataset {s:?}; valid: {}",
                Self::ALL.map(SourceId::name).join(", ")
            )
        })
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
