//! A complete classifier: a backbone from the zoo plus the shared head.

use crate::archs::{convnext::ConvNeXt, densenet::DenseNet, dpn::Dpn, efficientnet::EfficientNet, mobilenetv3::MobileNetV3, regnet::RegNet, repvgg::RepVgg, resnet::ResNet, tresnet::TResNet, xception::Xception};
use crate::{BurnOps, ClassifierHead, Ops};
use cxr_core::CamSupport;
use burn::prelude::*;

/// What a backbone promises about its last feature map (timm's `feature_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureInfo {
    /// Channels of the last feature map (D).
    pub num_features: usize,
    /// Input side / feature-map side.
    pub reduction: usize,
    /// The reference implementation's classifier name (initializer prefix).
    pub head_name: &'static str,
    /// Width of the pooled embedding the classifier reads (D, except where the head has its own
    /// layers before the classifier: MobileNetV3's `conv_head`).
    pub embed_dim: usize,
    /// What the `cam` output is for this head.
    pub cam: CamSupport,
}

impl FeatureInfo {
    /// A plain GAP → linear head over `num_features` channels.
    #[must_use]
    pub fn linear_head(num_features: usize, reduction: usize, head_name: &'static str) -> Self {
        Self { num_features, reduction, head_name, embed_dim: num_features, cam: CamSupport::LinearHead }
    }
}

/// What every family implements (timm's `forward_features` / `forward_head(pre_logits=True)`).
pub trait Family {
    /// Spatial features `[N, D, h, w]` (after the final activation, what the pool sees).
    fn features<O: Ops>(&self, o: &mut O, x: O::T) -> O::T;
    /// Feature information.
    fn info(&self) -> FeatureInfo;
    /// The pooled embedding the classifier reads (default: global average pool).
    fn embed<O: Ops>(&self, o: &mut O, features: O::T) -> O::V {
        o.global_avg_pool(features)
    }
    /// What the classifier is applied to at every position for the `cam` output (default: the
    /// features themselves); `None` where the head has no class maps.
    fn cam_input<O: Ops>(&self, o: &mut O, features: O::T) -> Option<O::T> {
        let _ = o;
        Some(features)
    }
}

/// One enum over every family with the [`Family`] dispatch (an enum, not a trait object,
/// because Burn's `Module` has generic methods and the optimizer needs one concrete type).
macro_rules! zoo {
    ($($(#[$doc:meta])* $variant:ident($ty:ty)),* $(,)?) => {
        /// Every registered backbone family.
        // One model per process and its fields are handles to tensors: boxing would buy nothing.
        #[allow(clippy::large_enum_variant)]
        #[derive(Module, Debug)]
        pub enum Backbone {
            $($(#[$doc])* $variant($ty),)*
        }

        impl Backbone {
            /// Spatial features `[N, D, h, w]`.
            pub fn features<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
                match self { $(Self::$variant(m) => m.features(o, x),)* }
            }
            /// Feature information.
            #[must_use]
            pub fn info(&self) -> FeatureInfo {
                match self { $(Self::$variant(m) => m.info(),)* }
            }
            /// The pooled embedding `[N, E]`.
            pub fn embed<O: Ops>(&self, o: &mut O, features: O::T) -> O::V {
                match self { $(Self::$variant(m) => m.embed(o, features),)* }
            }
            /// The class maps' input, if the head has class maps.
            pub fn cam_input<O: Ops>(&self, o: &mut O, features: O::T) -> Option<O::T> {
                match self { $(Self::$variant(m) => m.cam_input(o, features),)* }
            }
        }
    };
}

zoo! {
    /// ResNet, ResNeXt, SE-ResNet.
    ResNet(ResNet),
    /// DenseNet.
    DenseNet(DenseNet),
    /// EfficientNet and EfficientNetV2.
    EfficientNet(EfficientNet),
    /// MobileNetV3.
    MobileNetV3(MobileNetV3),
    /// ConvNeXt and ConvNeXt V2.
    ConvNeXt(ConvNeXt),
    /// RegNetY.
    RegNet(RegNet),
    /// RepVGG.
    RepVgg(RepVgg),
    /// Xception.
    Xception(Xception),
    /// Dual Path Networks.
    Dpn(Dpn),
    /// TResNet.
    TResNet(TResNet),
}

/// All outputs of the exported graph.
#[derive(Debug, Clone)]
pub struct Outputs<O: Ops> {
    /// `[N, K]`.
    pub logits: O::V,
    /// `[N, K]`, sigmoid of the logits.
    pub probabilities: O::V,
    /// `[N, D]`.
    pub embedding: O::V,
    /// `[N, D, h, w]`.
    pub features: O::T,
    /// `[N, K, h, w]`, absent where the head has no exact class maps.
    pub cam: Option<O::T>,
}

/// Backbone + head.
#[derive(Module, Debug)]
pub struct Model {
    /// Feature extractor.
    pub backbone: Backbone,
    /// GAP → dropout → linear.
    pub head: ClassifierHead,
}

impl Model {
    /// Logits only (the training path; no CAM work).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut o = BurnOps;
        let f = self.backbone.features(&mut o, x);
        let e = self.backbone.embed(&mut o, f);
        self.head.run(&mut o, self.backbone.info().head_name, e)
    }

    /// Every output, through any [`Ops`]: Burn tensors for the parity reference, ONNX nodes for
    /// export. Written once.
    pub fn run_all<O: Ops>(&self, o: &mut O, x: O::T) -> Outputs<O> {
        let head_name = self.backbone.info().head_name;
        let features = self.backbone.features(o, x);
        let embedding = self.backbone.embed(o, features.clone());
        let logits = self.head.run(o, head_name, embedding.clone());
        let probabilities = o.sigmoid(logits.clone());
        let cam = self.backbone.cam_input(o, features.clone()).map(|f| o.class_maps(head_name, &self.head.fc, f));
        Outputs { logits, probabilities, embedding, features, cam }
    }

    /// Number of output labels.
    #[must_use]
    pub fn num_classes(&self) -> usize {
        self.head.fc.weight.dims()[1]
    }
}
