//! `cxr-core`: the vocabulary every other crate shares.
//!
//! Findings (exactly the nine shared labels), the four label states, the label policy, dataset
//! sources, preprocessing settings, the run config and its hash, and the model card (the contract
//! between the exporter and the evaluator).
//!
//! Must not depend on anything heavy: no Burn, no ONNX Runtime, no image or CSV crates. Everyone
//! compiles it.

mod card;
mod config;
mod finding;
mod fsutil;
mod label;
mod policy;
mod preprocess;
mod source;
pub mod training;

pub use card::{CARD_METADATA_KEY, CARD_SCHEMA_VERSION, CamSupport, CardError, Efficiency, ExporterInfo, ModelCard, OperatingPoint, Origin, OutputsContract, ParityTolerance};
pub use config::{ConfigError, DataConfig, LabelsConfig, ModelConfig, PREPROCESS_STRATEGIES, PreprocessConfig, PreprocessStrategy, RawConfig, ResolvedRun, RunId, TrainConfig};
pub use finding::{Finding, FindingParseError, SHARED9};
pub use fsutil::{write_atomic, write_json_atomic};
pub use label::Label;
pub use policy::{BlankPolicy, LabelPolicy, PolicyError, UncertainPolicy};
pub use preprocess::{Aspect, Depth, HISTOGRAM_PERCENTILES, IMAGENET_GRAY, IMAGENET_MEAN, IMAGENET_STD, Intensity, Normalization, PREPROCESS_FIT_FILE, PreprocessSpec, ResizeFilter, RoiCrop, RoiMode};
pub use source::SourceId;
pub use training::{AucVersion, AugmentConfig, ClipScope, GradClipConfig, LossConfig, OPTIMIZER_NAMES, OptimizerConfig, ScheduleConfig};
