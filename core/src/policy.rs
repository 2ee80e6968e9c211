//! Label policy: how uncertain and blank labels become training targets or evaluation labels.
//!
//! Applied by training and, separately, by evaluation; both record the policy they used.

use crate::Label;
use serde::{Deserialize, Serialize};

/// What an uncertain label means (the uncertainty-label strategies of Irvin et al. 2019 and
/// Pham et al. 2021).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum UncertainPolicy {
    /// Masked out (U-Ignore).
    Ignore,
    /// Counted as positive (U-Ones).
    Positive,
    /// Counted as negative (U-Zeros).
    Negative,
    /// A fixed soft target (training only), see [`LabelPolicy::smooth_target`].
    Smooth,
    /// U-Ones+LSR (training only): a soft target drawn from Uniform(0.55, 0.85), one fixed draw
    /// per image and finding, seeded by the run's seed.
    OnesLsr,
    /// U-Zeros+LSR (training only): a soft target drawn from Uniform(0, 0.30), likewise.
    ZerosLsr,
}

impl UncertainPolicy {
    /// The label-smoothing range of an LSR strategy (Pham et al. 2021, arXiv 1911.06475).
    #[must_use]
    pub fn lsr_range(self) -> Option<(f32, f32)> {
        match self {
            Self::OnesLsr => Some((0.55, 0.85)),
            Self::ZerosLsr => Some((0.0, 0.30)),
            _ => None,
        }
    }
}

/// What a blank ("not mentioned") label means, for findings the source does label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlankPolicy {
    /// Not mentioned counts as absent.
    Negative,
    /// Masked out.
    Ignore,
}

/// The full policy. Default (the training default of design.md §6): blank → negative,
/// uncertain → ignore, so every head, CheXpert's "No Finding" included, has both classes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelPolicy {
    /// Meaning of `Uncertain`.
    #[serde(default = "default_uncertain")]
    pub uncertain: UncertainPolicy,
    /// Meaning of a blank cell of a labelled finding.
    #[serde(default = "default_blank")]
    pub blank: BlankPolicy,
    /// Soft target for `uncertain = "smooth"`: the centre of the U-Ones+LSR range (0.55–0.85) of
    /// Pham et al. 2021.
    #[serde(default = "default_smooth")]
    pub smooth_target: f32,
}

fn default_uncertain() -> UncertainPolicy {
    UncertainPolicy::Ignore
}
fn default_blank() -> BlankPolicy {
    BlankPolicy::Negative
}
fn default_smooth() -> f32 {
    0.7
}

impl Default for LabelPolicy {
    fn default() -> Self {
        Self { uncertain: default_uncertain(), blank: default_blank(), smooth_target: default_smooth() }
    }
}

/// A policy that cannot be used where it was given.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Evaluation needs hard 0/1 labels.
    #[error("uncertain = \"{0}\" gives soft targets and cannot be an evaluation policy; use ignore, positive or negative")]
    SmoothInEvaluation(&'static str),
    /// Out-of-range soft target.
    #[error("smooth_target must lie in [0, 1], got {0}")]
    SmoothOutOfRange(f32),
}

impl LabelPolicy {
    /// Check the policy's values.
    ///
    /// # Errors
    /// A smooth target outside `[0, 1]`.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if !(0.0..=1.0).contains(&self.smooth_target) {
            return Err(PolicyError::SmoothOutOfRange(self.smooth_target));
        }
        Ok(())
    }

    /// Check that the policy yields hard labels, as evaluation requires.
    ///
    /// # Errors
    /// [`PolicyError::SmoothInEvaluation`].
    pub fn validate_for_evaluation(&self) -> Result<(), PolicyError> {
        self.validate()?;
        match self.uncertain {
            UncertainPolicy::Smooth => Err(PolicyError::SmoothInEvaluation("smooth")),
            UncertainPolicy::OnesLsr => Err(PolicyError::SmoothInEvaluation("ones_lsr")),
            UncertainPolicy::ZerosLsr => Err(PolicyError::SmoothInEvaluation("zeros_lsr")),
            _ => Ok(()),
        }
    }

    /// The target for one label, or `None` when it is masked. `covered` says whether the source
    /// labels this finding at all: a finding the source lacks is masked whatever the blank policy.
    /// The LSR strategies give the middle of their range here; training draws with
    /// [`Self::target_drawn`].
    #[must_use]
    pub fn target(&self, label: Label, covered: bool) -> Option<f32> {
        self.target_drawn(label, covered, 0.5)
    }

    /// [`Self::target`] with `u` in `[0, 1)` placing an LSR target within its range
    /// (`lo + u·(hi − lo)`); the other strategies ignore `u`.
    #[must_use]
    pub fn target_drawn(&self, label: Label, covered: bool, u: f32) -> Option<f32> {
        if !covered {
            return None;
        }
        match label {
            Label::Positive => Some(1.0),
            Label::Negative => Some(0.0),
            Label::Uncertain => match self.uncertain {
                UncertainPolicy::Ignore => None,
                UncertainPolicy::Positive => Some(1.0),
                UncertainPolicy::Negative => Some(0.0),
                UncertainPolicy::Smooth => Some(self.smooth_target),
                UncertainPolicy::OnesLsr | UncertainPolicy::ZerosLsr => {
                    let (lo, hi) = self.uncertain.lsr_range()?;
                    Some(lo + u * (hi - lo))
                }
            },
            Label::Missing => match self.blank {
                BlankPolicy::Negative => Some(0.0),
                BlankPolicy::Ignore => None,
            },
        }
    }

    /// The hard (0/1) label for metrics, or `None` when masked or when the policy gives a soft
    /// target (`smooth`): metrics never see soft labels.
    #[must_use]
    pub fn hard_label(&self, label: Label, covered: bool) -> Option<bool> {
        match self.target(label, covered) {
            Some(t) if t == 1.0 => Some(true),
            Some(t) if t == 0.0 => Some(false),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_blank_negative_uncertain_ignore() {
        let p = LabelPolicy::default();
        assert_eq!(p.target(Label::Positive, true), Some(1.0));
        assert_eq!(p.target(Label::Negative, true), Some(0.0));
        assert_eq!(p.target(Label::Uncertain, true), None);
        assert_eq!(p.target(Label::Missing, true), Some(0.0));
        assert_eq!(p.target(Label::Positive, false), None, "uncovered findings are always masked");
    }

    #[test]
    fn every_uncertain_policy() {
        let mk = |u| LabelPolicy { uncertain: u, blank: BlankPolicy::Ignore, smooth_target: 0.7 };
        assert_eq!(mk(UncertainPolicy::Positive).target(Label::Uncertain, true), Some(1.0));
        assert_eq!(mk(UncertainPolicy::Negative).target(Label::Uncertain, true), Some(0.0));
        assert_eq!(mk(UncertainPolicy::Smooth).target(Label::Uncertain, true), Some(0.7));
        assert_eq!(mk(UncertainPolicy::Ignore).target(Label::Missing, true), None);
        assert!(mk(UncertainPolicy::Smooth).validate_for_evaluation().is_err());
        assert!(mk(UncertainPolicy::Ignore).validate_for_evaluation().is_ok());
        assert_eq!(mk(UncertainPolicy::Positive).hard_label(Label::Uncertain, true), Some(true));
        assert_eq!(mk(UncertainPolicy::Smooth).hard_label(Label::Uncertain, true), None, "soft targets are not labels");
        assert_eq!(mk(UncertainPolicy::Ignore).hard_label(Label::Negative, false), None);
    }

    #[test]
    fn lsr_targets_span_their_ranges_and_are_never_labels() {
        for (u, lo, hi) in [(UncertainPolicy::OnesLsr, 0.55, 0.85), (UncertainPolicy::ZerosLsr, 0.0, 0.30)] {
            let p = LabelPolicy { uncertain: u, ..LabelPolicy::default() };
            assert_eq!(p.target_drawn(Label::Uncertain, true, 0.0), Some(lo));
            let top = p.target_drawn(Label::Uncertain, true, 1.0).expect("target");
            assert!((top - hi).abs() < 1e-6, "{top} vs {hi}");
            assert_eq!(p.target_drawn(Label::Positive, true, 0.3), Some(1.0), "only uncertain labels are smoothed");
            assert_eq!(p.target_drawn(Label::Uncertain, false, 0.3), None);
            assert_eq!(p.hard_label(Label::Uncertain, true), None);
            assert!(p.validate_for_evaluation().is_err());
        }
        let p: LabelPolicy = toml::from_str("uncertain = \"ones_lsr\"").unwrap();
        assert_eq!(p.uncertain, UncertainPolicy::OnesLsr);
    }

    #[test]
    fn toml_rejects_unknown_keys() {
        let ok: LabelPolicy = toml::from_str("uncertain = \"positive\"").unwrap();
        assert_eq!(ok.uncertain, UncertainPolicy::Positive);
        assert!(toml::from_str::<LabelPolicy>("uncertan = \"positive\"").is_err());
    }
}
