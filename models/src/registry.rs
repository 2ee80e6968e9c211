//! The registry: one explicit list of every variant (ripgrep / onnx-ir style, no link-time
//! magic). Adding a variant is one row here plus its family's constructor.

use crate::archs::{convnext, densenet, dpn, efficientnet, mobilenetv3, regnet, repvgg, resnet, tresnet, xception};
use crate::{Backbone, ClassifierHead, Model};
use burn::prelude::*;

/// A registered variant.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    /// timm / torchvision name.
    pub name: &'static str,
    /// Family.
    pub family: &'static str,
    /// Paper.
    pub paper: &'static str,
    /// Reference input size (the pretrained weights' evaluation crop).
    pub default_size: u32,
    /// Trainable parameters of the reference (3 channels, 1000 classes; torchvision 0.24 / timm
    /// 1.0.31), checked by the conformance test.
    pub reference_params: usize,
    /// Published GMACs at `default_size` (methods.md §6), checked against the exporter's count.
    pub reference_gmacs: f64,
    /// Constructor (input channels).
    pub build: fn(in_chans: usize, device: &Device) -> Backbone,
}

impl Variant {
    /// The smallest input side the architecture takes (every stage keeps at least one pixel).
    #[must_use]
    pub fn min_size(&self) -> u32 {
        32
    }

    /// Input sides must be a multiple of this (TResNet's space-to-depth stem folds 4×4 blocks).
    #[must_use]
    pub fn size_multiple(&self) -> u32 {
        if self.family == "tresnet" { 4 } else { 1 }
    }
}

/// An input size an architecture cannot take.
#[derive(Debug, thiserror::Error)]
#[error("{arch} cannot take {size}×{size} inputs: {why}")]
pub struct InputSizeError {
    /// Architecture.
    pub arch: String,
    /// Requested side.
    pub size: u32,
    /// The rule broken.
    pub why: String,
}

/// Check an input side against an architecture, before anything is built.
///
/// # Errors
/// [`UnknownArch`] (boxed) or [`InputSizeError`].
pub fn check_input_size(arch: &str, size: u32) -> Result<(), InputSizeError> {
    let v = check_arch(arch).map_err(|e| InputSizeError { arch: arch.to_string(), size, why: e.to_string() })?;
    if size < v.min_size() {
        return Err(InputSizeError { arch: arch.to_string(), size, why: format!("the smallest side it takes is {} px", v.min_size()) });
    }
    if !size.is_multiple_of(v.size_multiple()) {
        return Err(InputSizeError { arch: arch.to_string(), size, why: format!("the side must be a multiple of {} (its space-to-depth stem)", v.size_multiple()) });
    }
    Ok(())
}

/// One line per family: each family file lists its variants.
const FAMILIES: &[&[Variant]] = &[resnet::VARIANTS, densenet::VARIANTS, efficientnet::VARIANTS, mobilenetv3::VARIANTS, convnext::VARIANTS, regnet::VARIANTS, repvgg::VARIANTS, xception::VARIANTS, dpn::VARIANTS, tresnet::VARIANTS];

static ALL: std::sync::LazyLock<Vec<Variant>> = std::sync::LazyLock::new(|| FAMILIES.iter().flat_map(|f| f.iter().copied()).collect());

/// Every registered variant.
#[must_use]
pub fn variants() -> &'static [Variant] {
    &ALL
}

/// An architecture name that is not registered.
#[derive(Debug, thiserror::Error)]
#[error("unknown architecture {name:?}. Valid options: {}", variants().iter().map(|v| v.name).collect::<Vec<_>>().join(", "))]
pub struct UnknownArch {
    /// The name given.
    pub name: String,
}

/// Check a name against the registry.
///
/// # Errors
/// [`UnknownArch`] listing the valid names.
pub fn check_arch(name: &str) -> Result<&'static Variant, UnknownArch> {
    variants().iter().find(|v| v.name == name).ok_or_else(|| UnknownArch { name: name.to_string() })
}

/// Build a freshly initialised model.
///
/// # Errors
/// [`UnknownArch`].
pub fn build(name: &str, num_classes: usize, in_chans: usize, dropout: f64, device: &Device) -> Result<Model, UnknownArch> {
    let v = check_arch(name)?;
    let backbone = (v.build)(in_chans, device);
    let head = ClassifierHead::new(backbone.info().embed_dim, num_classes, dropout, device);
    Ok(Model { backbone, head })
}

/// Trainable parameters, as PyTorch's `parameters()` counts them (Burn's `num_params` also
/// counts BatchNorm running statistics, which PyTorch keeps as buffers).
#[must_use]
pub fn trainable_params(model: &Model) -> usize {
    struct Trainable {
        path: Vec<String>,
        count: usize,
    }
    impl burn::module::ModuleVisitor for Trainable {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
            if !matches!(self.path.last().map(String::as_str), Some("running_mean" | "running_var")) {
                self.count += p.shape().num_elements();
            }
        }
    }
    let mut t = Trainable { path: Vec::new(), count: 0 };
    burn::module::Module::visit(model, &mut t);
    t.count
}

#[cfg(test)]
mod conformance {
    //! Every registered variant passes the same checks (timm's tests/test_models.py).
    use super::*;
    use crate::{BurnOps, OnnxOps};
    use burn::tensor::Distribution;

    fn close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-4 + 1e-4 * y.abs(), "{what}: {x} vs {y}");
        }
    }

    fn vals<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().expect("f32")
    }

    #[test]
    fn every_variant_conforms() {
        let names: Vec<&str> = variants().iter().map(|v| v.name).collect();
        let unique: std::collections::HashSet<&&str> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "variant names must be unique");
        let device = Device::flex();
        for v in variants() {
            let reference = build(v.name, 1000, 3, 0.0, &device).expect("build");
            assert_eq!(trainable_params(&reference), v.reference_params, "{}: trainable parameter count differs from the reference", v.name);
            drop(reference);
            let model = build(v.name, 9, 1, 0.0, &device).expect("build");
            let info = model.backbone.info();
            let x = Tensor::<4>::random([2, 1, 64, 64], Distribution::Normal(0.0, 1.0), &device);
            let o = model.run_all(&mut BurnOps, x.clone());
            assert_eq!(o.logits.dims(), [2, 9], "{}", v.name);
            assert_eq!(o.probabilities.dims(), [2, 9]);
            assert_eq!(o.embedding.dims(), [2, info.embed_dim]);
            let side = 64 / info.reduction;
            assert_eq!(o.features.dims(), [2, info.num_features, side, side], "{}: features", v.name);
            close(&vals(model.forward(x)), &vals(o.logits.clone()), "forward == run_all logits");
            let w = model.head.fc.weight.val();
            let b = model.head.fc.bias.as_ref().expect("bias").val();
            close(&vals(o.embedding.clone().matmul(w.clone()) + b.clone().unsqueeze::<2>()), &vals(o.logits.clone()), "embedding·W+b");
            match (info.cam, &o.cam) {
                (cxr_core::CamSupport::LinearHead, Some(cam)) => {
                    assert_eq!(cam.dims(), [2, 9, side, side]);
                    // GAP(features) is the embedding, and logits − mean_hw(cam) is the bias for
                    // every sample: the CAM contract.
                    let gap = o.features.clone().mean_dim(3).mean_dim(2).reshape([2, info.num_features]);
                    close(&vals(gap), &vals(o.embedding.clone()), "GAP(features) == embedding");
                    let cam_mean = cam.clone().mean_dim(3).mean_dim(2).reshape([2, 9]);
                    close(&vals(o.logits.clone() - cam_mean), &vals(b).repeat(2), "logits − mean(cam)");
                }
                (cxr_core::CamSupport::NormalizedPositions, Some(cam)) => assert_eq!(cam.dims(), [2, 9, side, side]),
                (cxr_core::CamSupport::Unsupported, None) => {}
                (rule, cam) => panic!("{}: cam rule {rule:?} but cam output present: {}", v.name, cam.is_some()),
            }
            // Recording the graph succeeds and every initializer name is unique.
            let mut rec = OnnxOps::new();
            let _ = model.run_all(&mut rec, "image".to_string());
            rec.finish().unwrap_or_else(|e| panic!("{}: {e}", v.name));
            // The smallest input it declares runs, and so does an odd size that fits its rules.
            let min = v.min_size() as usize;
            let odd = (min + 5).next_multiple_of(v.size_multiple() as usize);
            for side in [min, odd] {
                let y = model.forward(Tensor::random([1, 1, side, side], Distribution::Default, &device));
                assert_eq!(y.dims(), [1, 9], "{} at {side}", v.name);
                assert!(vals(y).iter().all(|a| a.is_finite()), "{} at {side}", v.name);
            }
            assert!(check_input_size(v.name, v.min_size() - 1).is_err());
            // Three-channel input and another label count build too.
            let m3 = build(v.name, 4, 3, 0.1, &device).expect("build rgb");
            assert_eq!(m3.forward(Tensor::random([1, 3, 64, 64], Distribution::Default, &device)).dims(), [1, 4]);
        }
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let e = build("resnet19", 9, 1, 0.0, &Device::flex()).expect_err("error").to_string();
        assert!(e.contains("\"resnet19\"") && e.contains("Valid options: resnet18"), "{e}");
    }
}
