//! The model card: the contract between the exporter and the evaluator, stored as JSON in the
//! ONNX file's `metadata_props` under [`CARD_METADATA_KEY`] and beside it as `model_card.json`.
//!
//! It holds no timings, dates or absolute paths, so the same checkpoint exports to the same bytes.

use crate::{Finding, LabelPolicy, PreprocessSpec};
use serde::{Deserialize, Serialize};

/// Key of the card in the ONNX `metadata_props`.
pub const CARD_METADATA_KEY: &str = "cxr.card";
/// Current card schema; the evaluator refuses other versions.
pub const CARD_SCHEMA_VERSION: u32 = 1;

/// A frozen decision threshold for one finding, chosen on internal validation (Youden's J).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatingPoint {
    /// Finding.
    pub finding: Finding,
    /// Probability threshold (predict positive when `p >= threshold`); `None` when internal
    /// validation had only one class for this finding.
    pub threshold: Option<f64>,
    /// Youden's J = TPR − FPR at the threshold.
    pub youden_j: Option<f64>,
    /// Positives in internal validation.
    pub n_positive: usize,
    /// Negatives in internal validation.
    pub n_negative: usize,
}

/// How the `cam` output relates to the logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CamSupport {
    /// GAP → linear head: `cam` is a 1×1 convolution of `features` with the classifier weights
    /// (no bias), so `logits − mean_hw(cam)` equals the bias for every sample.
    LinearHead,
    /// GAP → LayerNorm → linear (ConvNeXt): `cam` is the classifier applied (no bias) to the
    /// layer-normalized features at every position. Localisation only: its spatial mean is not
    /// the logit.
    NormalizedPositions,
    /// The head is not GAP → linear; no `cam` output.
    Unsupported,
}

/// Names and shapes of the graph's inputs and outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputsContract {
    /// Input name, `[N, C, H, W]` float32.
    pub input: String,
    /// `[N, K]` raw scores.
    pub logits: String,
    /// `[N, K]` sigmoid of the logits.
    pub probabilities: String,
    /// `[N, D]` pooled features the classifier sees.
    pub embedding: String,
    /// `[N, D, h, w]` last feature map.
    pub features: String,
    /// `[N, K, h, w]` class activation maps.
    pub cam: String,
    /// D.
    pub num_features: usize,
    /// Whether `embedding` and `features` exist (false for adopted models, which only promise
    /// `logits` and `probabilities`).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub features_available: bool,
    /// Width of `embedding` where it differs from D (a head with layers before the classifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_dim: Option<usize>,
    /// Input side / feature side.
    pub feature_reduction: usize,
    /// What `cam` means.
    pub cam_support: CamSupport,
}

fn yes() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_true(b: &bool) -> bool {
    *b
}

impl OutputsContract {
    /// The standard names.
    #[must_use]
    pub fn standard(num_features: usize, feature_reduction: usize, cam_support: CamSupport) -> Self {
        Self {
            input: "image".into(),
            logits: "logits".into(),
            probabilities: "probabilities".into(),
            embedding: "embedding".into(),
            features: "features".into(),
            cam: "cam".into(),
            num_features,
            features_available: true,
            embedding_dim: None,
            feature_reduction,
            cam_support,
        }
    }
}

/// Who wrote the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExporterInfo {
    /// Program name.
    pub name: String,
    /// Program version.
    pub version: String,
    /// ONNX opset.
    pub opset: i64,
    /// ONNX IR version.
    pub ir_version: i64,
}

/// The parity gate's tolerance: `|a − b| ≤ atol + rtol·|b|` elementwise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParityTolerance {
    /// Absolute part.
    pub atol: f64,
    /// Relative part.
    pub rtol: f64,
}

/// The model card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// [`CARD_SCHEMA_VERSION`] at writing time.
    pub schema_version: u32,
    /// Run id (`<arch>-<hash12>`).
    pub run_id: String,
    /// Full blake3 of the resolved config.
    pub config_hash: String,
    /// Architecture name.
    pub arch: String,
    /// Ordered output labels.
    pub labels: Vec<Finding>,
    /// Label policy used in training.
    pub label_policy: LabelPolicy,
    /// Preprocessing the model expects.
    pub preprocess: PreprocessSpec,
    /// Frozen thresholds from internal validation, one per label.
    pub operating_points: Vec<OperatingPoint>,
    /// Graph interface.
    pub outputs: OutputsContract,
    /// blake3 over every weight and running statistic (module path, shape, little-endian f32
    /// values, in module order): equal for equal weights, whatever ids the checkpoint file holds.
    pub weights_blake3: String,
    /// Exporter identity.
    pub exporter: ExporterInfo,
    /// Parity tolerance the export passed.
    pub parity: ParityTolerance,
    /// Git commit of the training code, when known.
    pub source_commit: Option<String>,
    /// Size and cost (absent in cards written before it was counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efficiency: Option<Efficiency>,
    /// Where a model not trained and exported here came from (`cxr-export adopt`); absent for
    /// native exports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

/// A third-party model brought under the card contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    /// `adopted`.
    pub kind: String,
    /// SHA-256 of the file as it was given.
    pub original_sha256: String,
    /// Its file name.
    pub original_file: String,
    /// The graph output that was wrapped, and the columns taken from it (in label order).
    pub original_output: String,
    /// Column of `original_output` per label.
    pub columns: Vec<usize>,
    /// What that output was declared to be: `logits` or `sigmoid` (probabilities).
    pub activation: String,
}

/// Parameters and multiply-accumulates of the exported graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Efficiency {
    /// Trainable parameters (PyTorch's `parameters()` count: BatchNorm running statistics
    /// excluded).
    pub params: u64,
    /// Multiply-accumulates (one multiply-add = 1, as torchvision, timm and fvcore count) of
    /// convolutions and matrix products on the path to `logits`, for one image of `input`.
    pub macs: u64,
    /// `[C, H, W]` the MACs are counted at (the card's input).
    pub input: [u32; 3],
}

/// A card the evaluator must refuse.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// Not JSON or not this schema.
    #[error("model card is not valid: {0}")]
    Invalid(String),
}

impl ModelCard {
    /// Parse and check a card.
    ///
    /// # Errors
    /// Wrong schema version, no labels, repeated labels, or operating points that do not match
    /// the labels.
    pub fn from_json(text: &str) -> Result<Self, CardError> {
        let card: Self = serde_json::from_str(text).map_err(|e| CardError::Invalid(e.to_string()))?;
        card.validate()?;
        Ok(card)
    }

    /// Check internal consistency.
    ///
    /// # Errors
    /// See [`ModelCard::from_json`].
    pub fn validate(&self) -> Result<(), CardError> {
        if self.schema_version != CARD_SCHEMA_VERSION {
            return Err(CardError::Invalid(format!("schema_version {} is not supported (this build reads {CARD_SCHEMA_VERSION})", self.schema_version)));
        }
        let mut seen = std::collections::HashSet::new();
        if self.labels.is_empty() || !self.labels.iter().all(|f| seen.insert(*f)) {
            return Err(CardError::Invalid("labels must be non-empty and unique".into()));
        }
        let ops: Vec<Finding> = self.operating_points.iter().map(|o| o.finding).collect();
        if ops != self.labels {
            return Err(CardError::Invalid("operating_points must list the labels in the same order".into()));
        }
        self.preprocess.validate().map_err(CardError::Invalid)?;
        if self.preprocess.needs_fitting() {
            return Err(CardError::Invalid("preprocess: histogram standardization without its learned landmarks".into()));
        }
        Ok(())
    }

    /// Canonical JSON (pretty, trailing newline), as written to `model_card.json`.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
