//! The registry: one explicit list of every variant (ripgrep / onnx-ir style, no link-time
//! magic). Adding a variant is one row here plus its family's constructor.

use crate::archs::{densenet, resnet};
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
    /// Reference input size.
    pub default_size: u32,
    build: fn(in_chans: usize, device: &Device) -> Backbone,
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: "resnet18",
        family: "resnet",
        paper: "He et al. 2016, arXiv:1512.03385",
        default_size: 224,
        build: |c, d| Backbone::ResNet(resnet::resnet18(c).init(d)),
    },
    Variant {
        name: "resnet34",
        family: "resnet",
        paper: "He et al. 2016, arXiv:1512.03385",
        default_size: 224,
        build: |c, d| Backbone::ResNet(resnet::resnet34(c).init(d)),
    },
    Variant {
        name: "resnet50",
        family: "resnet",
        paper: "He et al. 2016, arXiv:1512.03385",
        default_size: 224,
        build: |c, d| Backbone::ResNet(resnet::resnet50(c).init(d)),
    },
    Variant {
        name: "resnet101",
        family: "resnet",
        paper: "He et al. 2016, arXiv:1512.03385",
        default_size: 224,
        build: |c, d| Backbone::ResNet(resnet::resnet101(c).init(d)),
    },
    Variant {
        name: "resnext101_32x8d",
        family: "resnet",
        paper: "Xie et al. 2017, arXiv:1611.05431",
        default_size: 224,
        build: |c, d| Backbone::ResNet(resnet::resnext101_32x8d(c).init(d)),
    },
    Variant {
        name: "densenet121",
        family: "densenet",
        paper: "Huang et al. 2017, arXiv:1608.06993",
        default_size: 224,
        build: |c, d| Backbone::DenseNet(densenet::densenet121(c).init(d)),
    },
    Variant {
        name: "densenet161",
        family: "densenet",
        paper: "Huang et al. 2017, arXiv:1608.06993",
        default_size: 224,
        build: |c, d| Backbone::DenseNet(densenet::densenet161(c).init(d)),
    },
];

/// Every registered variant.
#[must_use]
pub fn variants() -> &'static [Variant] {
    VARIANTS
}

/// An architecture name that is not registered.
#[derive(Debug, thiserror::Error)]
#[error("unknown architecture {name:?}. Valid options: {}", VARIANTS.iter().map(|v| v.name).collect::<Vec<_>>().join(", "))]
pub struct UnknownArch {
    /// The name given.
    pub name: String,
}

/// Check a name against the registry.
///
/// # Errors
/// [`UnknownArch`] listing the valid names.
pub fn check_arch(name: &str) -> Result<&'static Variant, UnknownArch> {
    VARIANTS.iter().find(|v| v.name == name).ok_or_else(|| UnknownArch { name: name.to_string() })
}

/// Build a freshly initialised model.
///
/// # Errors
/// [`UnknownArch`].
pub fn build(name: &str, num_classes: usize, in_chans: usize, dropout: f64, device: &Device) -> Result<Model, UnknownArch> {
    let v = check_arch(name)?;
    let backbone = (v.build)(in_chans, device);
    let head = ClassifierHead::new(backbone.info().num_features, num_classes, dropout, device);
    Ok(Model { backbone, head })
}

#[cfg(test)]
mod conformance {
    //! Every registered variant passes the same checks (timm's tests/test_models.py).
    use super::*;
    use crate::{BurnOps, OnnxOps};
    use burn::tensor::Distribution;

    /// torchvision's parameter counts (1000 classes, 3 channels), adjusted to 1 channel and 9
    /// classes: conv stem −(stem·2·49) and the classifier D·1000+1000 → D·9+9.
    fn torchvision_params(name: &str) -> usize {
        let (total, d, stem) = match name {
            "resnet18" => (11_689_512, 512, 64),
            "resnet34" => (21_797_672, 512, 64),
            "resnet50" => (25_557_032, 2048, 64),
            "resnet101" => (44_549_160, 2048, 64),
            "resnext101_32x8d" => (88_791_336, 2048, 64),
            "densenet121" => (7_978_856, 1024, 64),
            "densenet161" => (28_681_000, 2208, 96),
            other => panic!("add the reference parameter count of {other}"),
        };
        total - stem * 2 * 49 - (d * 1000 + 1000) + (d * 9 + 9)
    }

    fn close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-4 + 1e-4 * y.abs(), "{what}: {x} vs {y}");
        }
    }

    /// Trainable parameters, as PyTorch's `parameters()` counts them (Burn's `num_params` also
    /// counts BatchNorm running statistics, which PyTorch keeps as buffers).
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
            let model = build(v.name, 9, 1, 0.0, &device).expect("build");
            let mut t = Trainable { path: Vec::new(), count: 0 };
            model.visit(&mut t);
            assert_eq!(t.count, torchvision_params(v.name), "{}: trainable parameter count differs from torchvision", v.name);
            let info = model.backbone.info();
            let x = Tensor::<4>::random([2, 1, 64, 64], Distribution::Normal(0.0, 1.0), &device);
            let o = model.run_all(&mut BurnOps, x.clone());
            assert_eq!(o.logits.dims(), [2, 9], "{}", v.name);
            assert_eq!(o.probabilities.dims(), [2, 9]);
            assert_eq!(o.embedding.dims(), [2, info.num_features]);
            assert_eq!(o.features.dims(), [2, info.num_features, 64 / info.reduction, 64 / info.reduction], "{}: features", v.name);
            assert_eq!(o.cam.dims(), [2, 9, 64 / info.reduction, 64 / info.reduction]);
            close(&vals(model.forward(x)), &vals(o.logits.clone()), "forward == run_all logits");
            // GAP(features)·W + b = logits.
            let w = model.head.fc.weight.val();
            let b = model.head.fc.bias.as_ref().expect("bias").val();
            let gap = o.features.clone().mean_dim(3).mean_dim(2).reshape([2, info.num_features]);
            close(&vals(gap.matmul(w) + b.clone().unsqueeze::<2>()), &vals(o.logits.clone()), "GAP·W+b");
            // logits − mean_hw(cam) is the bias for every sample: the CAM contract.
            let cam_mean = o.cam.clone().mean_dim(3).mean_dim(2).reshape([2, 9]);
            let bias = vals(o.logits.clone() - cam_mean);
            let want: Vec<f32> = vals(b).repeat(2);
            close(&bias, &want, "logits − mean(cam)");
            // Recording the graph succeeds and every initializer name is unique.
            let mut rec = OnnxOps::new();
            let _ = model.run_all(&mut rec, "image".to_string());
            rec.finish().unwrap_or_else(|e| panic!("{}: {e}", v.name));
            // Three-channel input and another label count build too.
            let m3 = build(v.name, 4, 3, 0.1, &device).expect("build rgb");
            assert_eq!(m3.forward(Tensor::random([1, 3, 64, 64], Distribution::Default, &device)).dims(), [1, 4]);
        }
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let e = build("resnet19", 9, 1, 0.0, &Device::flex()).err().expect("error").to_string();
        assert!(e.contains("\"resnet19\"") && e.contains("Valid options: resnet18"), "{e}");
    }
}
