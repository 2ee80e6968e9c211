//! The evaluation label policy of each dataset: what an uncertain and a blank label mean when the
//! metrics are computed. Each source has a documented default (README, "Evaluation label
//! policy"); `--uncertain`/`--blank` override it for every dataset and `--policy` for one. The
//! policy used, and where it came from, is recorded in the results next to the four state counts.

use cxr_core::{BlankPolicy, LabelPolicy, SourceId, UncertainPolicy};
use serde::{Deserialize, Serialize};

/// The default evaluation policy of a source.
///
/// - CheXpert, MIMIC-CXR-JPG, BRAX (CheXpert-labeler output), VinDr-CXR (uncertain only with
///   `--vindr-minority-uncertain`), NIH (neither state occurs): uncertain → masked, blank →
///   negative (the labeler's "not mentioned").
/// - PadChest: a finding absent from a labelled report is already negative; a blank is a report
///   with no labels at all, so blank → masked.
/// - Generic (a hospital's own file): a blank cell is "not annotated", so blank → masked.
#[must_use]
pub fn default_policy(source: SourceId) -> LabelPolicy {
    let blank = match source {
        SourceId::Padchest | SourceId::Generic => BlankPolicy::Ignore,
        _ => BlankPolicy::Negative,
    };
    LabelPolicy { uncertain: UncertainPolicy::Ignore, blank, ..LabelPolicy::default() }
}

/// Where a dataset's policy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyOrigin {
    /// The source's default.
    Default,
    /// `--uncertain` / `--blank` for every dataset.
    AllDatasets,
    /// `--policy SOURCE:...`.
    ThisDataset,
}

/// The policy a dataset was evaluated under.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PolicyRecord {
    /// Meaning of uncertain.
    pub uncertain: UncertainPolicy,
    /// Meaning of blank.
    pub blank: BlankPolicy,
    /// Where it came from.
    pub origin: PolicyOrigin,
}

impl PolicyRecord {
    /// As a [`LabelPolicy`].
    #[must_use]
    pub fn policy(&self) -> LabelPolicy {
        LabelPolicy { uncertain: self.uncertain, blank: self.blank, ..LabelPolicy::default() }
    }
}

/// The user's overrides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyOverrides {
    /// `--uncertain`.
    pub uncertain: Option<UncertainPolicy>,
    /// `--blank`.
    pub blank: Option<BlankPolicy>,
    /// `--policy SOURCE:uncertain=..,blank=..`, in order given.
    pub per_dataset: Vec<(SourceId, Option<UncertainPolicy>, Option<BlankPolicy>)>,
}

impl PolicyOverrides {
    /// The policy for `source`.
    #[must_use]
    pub fn resolve(&self, source: SourceId) -> PolicyRecord {
        let d = default_policy(source);
        let mut r = PolicyRecord { uncertain: d.uncertain, blank: d.blank, origin: PolicyOrigin::Default };
        if self.uncertain.is_some() || self.blank.is_some() {
            r.origin = PolicyOrigin::AllDatasets;
        }
        r.uncertain = self.uncertain.unwrap_or(r.uncertain);
        r.blank = self.blank.unwrap_or(r.blank);
        for (s, u, b) in &self.per_dataset {
            if *s == source {
                r.origin = PolicyOrigin::ThisDataset;
                r.uncertain = u.unwrap_or(r.uncertain);
                r.blank = b.unwrap_or(r.blank);
            }
        }
        r
    }
}

/// Parse `ignore`, `positive` or `negative`.
///
/// # Errors
/// The valid names.
pub fn parse_uncertain(s: &str) -> Result<UncertainPolicy, String> {
    match s {
        "ignore" | "mask" => Ok(UncertainPolicy::Ignore),
        "positive" => Ok(UncertainPolicy::Positive),
        "negative" => Ok(UncertainPolicy::Negative),
        _ => Err(format!("expected ignore (mask), positive or negative, got {s:?} (smooth gives soft targets, not labels)")),
    }
}

/// Parse `negative` or `ignore`.
///
/// # Errors
/// The valid names.
pub fn parse_blank(s: &str) -> Result<BlankPolicy, String> {
    match s {
        "negative" => Ok(BlankPolicy::Negative),
        "ignore" | "mask" => Ok(BlankPolicy::Ignore),
        _ => Err(format!("expected negative or ignore (mask), got {s:?}")),
    }
}

/// Parse `SOURCE:uncertain=X,blank=Y` (either part optional).
///
/// # Errors
/// A message naming the bad part.
pub fn parse_dataset_policy(s: &str) -> Result<(SourceId, Option<UncertainPolicy>, Option<BlankPolicy>), String> {
    let (src, rest) = s.split_once(':').ok_or_else(|| format!("expected SOURCE:uncertain=X,blank=Y, got {s:?}"))?;
    let source = SourceId::parse(src)?;
    let (mut u, mut b) = (None, None);
    for part in rest.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some(("uncertain", v)) => u = Some(parse_uncertain(v)?),
            Some(("blank", v)) => b = Some(parse_blank(v)?),
            _ => return Err(format!("{part:?}: expected uncertain=ignore|positive|negative or blank=negative|ignore")),
        }
    }
    if u.is_none() && b.is_none() {
        return Err(format!("{s:?} sets nothing"));
    }
    Ok((source, u, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_global_then_per_dataset() {
        let none = PolicyOverrides::default();
        assert_eq!(none.resolve(SourceId::Mimic).blank, BlankPolicy::Negative);
        assert_eq!(none.resolve(SourceId::Padchest).blank, BlankPolicy::Ignore);
        assert_eq!(none.resolve(SourceId::Padchest).origin, PolicyOrigin::Default);
        let o = PolicyOverrides {
            uncertain: Some(UncertainPolicy::Positive),
            blank: None,
            per_dataset: vec![parse_dataset_policy("mimic:uncertain=negative,blank=ignore").unwrap()],
        };
        let m = o.resolve(SourceId::Mimic);
        assert_eq!((m.uncertain, m.blank, m.origin), (UncertainPolicy::Negative, BlankPolicy::Ignore, PolicyOrigin::ThisDataset));
        let c = o.resolve(SourceId::Chexpert);
        assert_eq!((c.uncertain, c.blank, c.origin), (UncertainPolicy::Positive, BlankPolicy::Negative, PolicyOrigin::AllDatasets));
        assert!(parse_dataset_policy("mimic:uncertain=smooth").unwrap_err().contains("smooth"));
        assert!(parse_dataset_policy("mimic").is_err());
        assert!(parse_dataset_policy("mars:blank=ignore").is_err());
    }
}
