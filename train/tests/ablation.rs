//! The ablation smoke test: every optimizer with BCE, and every loss and uncertainty strategy
//! with AdamW, takes a few steps on a small ResNet-18 and a fixed, learnable batch without a
//! non-finite loss, and lowers the training loss. (The uncertainty strategies differ in their
//! targets, so those are built through the label policy as the loader builds them.)

use burn::prelude::*;
use burn::tensor::TensorData;
use cxr_core::{Finding, Label, LabelPolicy, RawConfig, ResolvedRun, UncertainPolicy};
use cxr_train::batches::targets;
use cxr_train::learner::{Learner, MicroBatch};
use cxr_train::schedule::At;

const N: usize = 4;
const K: usize = 3;
const S: usize = 32;
const LABELS: [Finding; K] = [Finding::Cardiomegaly, Finding::Edema, Finding::Pneumothorax];

fn run(lr: f64, extra: &str) -> ResolvedRun {
    let toml = format!("labels = [\"Cardiomegaly\", \"Edema\", \"Pneumothorax\"]\n[model]\narch = \"resnet18\"\nimage_size = {S}\n[train]\nepochs = 1\nbatch_size = {N}\nlr = {lr}\n{extra}");
    let raw = RawConfig::from_toml(&toml).unwrap_or_else(|e| panic!("{toml}: {e}"));
    raw.resolve(|_| Ok(()), "test").unwrap_or_else(|e| panic!("{toml}: {e}"))
}

/// Label of image `i` for finding `f`: a fixed pattern with uncertain entries.
fn label(i: usize, f: usize) -> Label {
    match (i * 7 + f * 3) % 5 {
        0 | 1 => Label::Positive,
        2 => Label::Uncertain,
        _ => Label::Negative,
    }
}

/// Images whose quadrant brightness encodes the positive findings, so the batch is learnable.
fn batch(policy: &LabelPolicy, device: &Device) -> MicroBatch {
    let mut px = vec![0.0f32; N * S * S];
    let (mut t, mut m) = (Vec::new(), Vec::new());
    for i in 0..N {
        let mut row = [Label::Missing; 9];
        for (f, finding) in LABELS.iter().enumerate() {
            row[finding.index()] = label(i, f);
            if label(i, f) == Label::Positive {
                for y in (f % 2) * S / 2..(f % 2 + 1) * S / 2 {
                    for x in (f / 2) * S / 2..(f / 2 + 1) * S / 2 {
                        px[i * S * S + y * S + x] += 1.0;
                    }
                }
            }
        }
        let (ti, mi) = targets(policy, &LABELS, &row, &[true; 9], 7, &format!("img-{i}"));
        t.extend(ti);
        m.extend(mi);
    }
    for (j, p) in px.iter_mut().enumerate() {
        *p += 0.1 * ((j as f32) * 0.37).sin();
    }
    (Tensor::from_data(TensorData::new(px, [N, 1, S, S]), device), Tensor::from_data(TensorData::new(t, [N, K]), device), Tensor::from_data(TensorData::new(m, [N, K]), device))
}

/// Train `steps` steps on the batch; the loss on it (by the run's own objective: first and last
/// step's loss) must fall and stay finite.
fn lowers_the_loss(name: &str, lr: f64, extra: &str, steps: u64) {
    let run = run(lr, extra);
    let device = Device::flex().autodiff();
    device.seed(11);
    let model = cxr_models::build("resnet18", K, 1, 0.0, &device).expect("model");
    let mut learner = Learner::new(&run, model, &device).expect("learner");
    let b = batch(&run.label_policy, &device);
    let micro = vec![b.clone(); run.train.grad_accumulation as usize];
    let gap_before = score_gap(&learner, &b);
    let mut losses = Vec::new();
    for step in 0..steps {
        let (l, _) = learner.step(&micro, At { step, total_steps: steps, epoch: 0 }).unwrap_or_else(|e| panic!("{name}: step {step}: loss {}", e.value));
        losses.push(l[0]);
    }
    eprintln!("{name}: {losses:?}");
    assert!(losses.iter().all(|l| l.is_finite()));
    if extra.contains("auc") {
        // The AUC losses are min-max objectives whose value rises as α ascends (LibAUC: "not a
        // progress monitor"); what they lower is the ranking error, so the check is that the
        // gap between positive and negative scores widens.
        let after = score_gap(&learner, &b);
        assert!(after > gap_before + 1e-3, "{name}: positive-negative score gap {gap_before} → {after}");
        eprintln!("{name}: score gap {gap_before} → {after}");
    } else {
        let (first, last) = (losses[0], losses[losses.len() - 1]);
        assert!(last < first, "{name}: training loss {first} → {last} ({losses:?})");
    }
}

/// Mean over labels of E₊[σ(logit)] − E₋[σ(logit)] on the batch (known, hard labels).
fn score_gap(learner: &Learner, (x, y, m): &MicroBatch) -> f32 {
    let p = burn::tensor::activation::sigmoid(learner.model.forward(x.clone())).into_data().try_to_vec::<f32>().expect("p");
    let (y, m) = (y.clone().into_data().try_to_vec::<f32>().expect("y"), m.clone().into_data().try_to_vec::<f32>().expect("m"));
    let mut gap = 0.0;
    for f in 0..K {
        let pick = |pos: bool| {
            let v: Vec<f32> = (0..N).filter(|i| m[i * K + f] == 1.0 && (y[i * K + f] > 0.5) == pos).map(|i| p[i * K + f]).collect();
            v.iter().sum::<f32>() / v.len().max(1) as f32
        };
        gap += pick(true) - pick(false);
    }
    gap / K as f32
}

macro_rules! ablation {
    ($($test:ident: $lr:expr, $extra:expr, $steps:expr;)*) => {$(
        #[test]
        fn $test() {
            lowers_the_loss(stringify!($test), $lr, $extra, $steps);
        }
    )*};
}

ablation! {
    adamw_bce: 0.001, "", 4;
    rmsprop_bce: 0.001, "[train.optimizer]\nname = \"rmsprop\"", 4;
    muon_bce: 0.02, "[train.optimizer]\nname = \"muon\"", 4;
    schedule_free_adamw_bce: 0.001, "[train.optimizer]\nname = \"schedule_free_adamw\"\nwarmup_steps = 2", 4;
    lion_bce: 0.0001, "[train.optimizer]\nname = \"lion\"", 4;
    soap_bce: 0.003, "[train.optimizer]\nname = \"soap\"\nprecondition_frequency = 2", 5;
    adan_bce: 0.001, "[train.optimizer]\nname = \"adan\"", 4;
    mars_bce: 0.001, "[train.optimizer]\nname = \"mars\"", 4;
    sam_bce: 0.001, "[train.optimizer]\nname = \"sam\"", 4;
    asam_bce: 0.001, "[train.optimizer]\nname = \"asam\"", 4;
    pesg_auc_m: 0.05, "[train.optimizer]\nname = \"pesg\"\n[train.loss]\nname = \"auc_m\"", 4;
    pdsca_compositional_auc: 0.05, "[train.optimizer]\nname = \"pdsca\"\n[train.loss]\nname = \"compositional_auc\"", 6;
    adamw_focal: 0.001, "[train.loss]\nname = \"focal\"", 4;
    pesg_auc_m_v2: 0.05, "[train.optimizer]\nname = \"pesg\"\n[train.loss]\nname = \"auc_m\"\nversion = \"v2\"", 4;
    adamw_cosine_clip_accumulate: 0.001, "grad_accumulation = 2\n[train.schedule]\nname = \"cosine\"\nwarmup_steps = 2\n[train.grad_clip]\nmax_norm = 1.0", 4;
}

fn with_policy(name: &str, uncertain: &str) {
    lowers_the_loss(name, 0.001, &format!("[label_policy]\nuncertain = \"{uncertain}\""), 4);
}

#[test]
fn u_ignore() {
    with_policy("u_ignore", "ignore");
}

#[test]
fn u_zeros() {
    with_policy("u_zeros", "negative");
}

#[test]
fn u_ones() {
    with_policy("u_ones", "positive");
}

#[test]
fn u_ones_lsr() {
    with_policy("u_ones_lsr", "ones_lsr");
}

#[test]
fn u_zeros_lsr() {
    with_policy("u_zeros_lsr", "zeros_lsr");
}

#[test]
fn the_strategies_give_different_targets() {
    let device = Device::flex();
    let t = |u| {
        let p = LabelPolicy { uncertain: u, ..LabelPolicy::default() };
        let (_, y, m) = batch(&p, &device);
        (y.into_data().try_to_vec::<f32>().expect("y"), m.into_data().try_to_vec::<f32>().expect("m"))
    };
    let (ignore, ones, ones_lsr, zeros_lsr) = (t(UncertainPolicy::Ignore), t(UncertainPolicy::Positive), t(UncertainPolicy::OnesLsr), t(UncertainPolicy::ZerosLsr));
    assert!(ignore.1.contains(&0.0) && ones.1.iter().all(|m| *m == 1.0));
    let soft: Vec<f32> = ones_lsr.0.iter().zip(&ignore.1).filter(|(_, m)| **m == 0.0).map(|(y, _)| *y).collect();
    assert!(!soft.is_empty() && soft.iter().all(|y| (0.55..=0.85).contains(y)), "{soft:?}");
    assert!(zeros_lsr.0.iter().zip(&ignore.1).filter(|(_, m)| **m == 0.0).all(|(y, _)| (0.0..=0.30).contains(y)));
}

#[test]
fn sam_takes_batchnorm_statistics_from_the_first_pass_only() {
    use burn::optim::GradientsParams;
    use cxr_train::optim::params::ParamList;
    use cxr_train::optim::sharpness::{Sharpness, perturbed};
    let device = Device::flex().autodiff();
    device.seed(3);
    let model = cxr_models::build("resnet18", K, 1, 0.0, &device).expect("model");
    let (x, y, m) = batch(&LabelPolicy::default(), &device);
    let fingerprint = |model: &cxr_models::Model| cxr_models::checkpoint::weights_blake3(&model.valid());
    let before = fingerprint(&model);
    let loss = cxr_train::loss::masked_bce_with_logits(model.forward(x.clone()), y.clone(), m.clone());
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let first_pass = fingerprint(&model);
    assert_ne!(before, first_pass, "the first pass updates the running statistics");
    let probe = perturbed(&model, &grads, &ParamList::of(&model), Sharpness::Sam { rho: 0.05 });
    let at_probe = fingerprint(&probe);
    let loss = cxr_train::loss::masked_bce_with_logits(probe.forward(x), y, m);
    let _ = GradientsParams::from_grads(loss.backward(), &probe);
    assert_eq!(fingerprint(&model), first_pass, "the second pass leaves the model's statistics alone");
    assert_ne!(fingerprint(&probe), at_probe, "the probe ran in training mode with its own statistics");
}

#[test]
fn global_norm_clipping_matches_torch_clip_grad_norm() {
    use burn::module::Param;
    use burn::optim::GradientsParams;
    use cxr_core::{ClipScope, GradClipConfig};
    use cxr_train::optim::clip::{clip, global_norm};
    use cxr_train::optim::params::ParamList;
    #[derive(burn::module::Module, Debug)]
    struct Two {
        a: Param<Tensor<2>>,
        b: Param<Tensor<1>>,
    }
    let device = Device::flex().autodiff();
    let two = Two { a: Param::from_tensor(Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &device)), b: Param::from_tensor(Tensor::<1>::from_floats([1.0, -2.0], &device)) };
    let params = ParamList::of(&two);
    // Loss Σ 3·a + Σ b²: gradients 3 everywhere on a (norm 6) and (2, −4) on b (norm √20).
    let grads_of = |two: &Two| GradientsParams::from_grads((two.a.val().mul_scalar(3.0).sum() + two.b.val().powf_scalar(2.0).sum()).backward(), two);
    let mut g = grads_of(&two);
    let total = (36.0f64 + 20.0).sqrt();
    assert!((global_norm(&mut g, &params) - total).abs() < 1e-5);
    // torch.nn.utils.clip_grad_norm_(max_norm=1): every gradient × 1/(‖g‖ + 1e-6).
    let before = clip(&mut g, &params, &GradClipConfig { max_norm: 1.0, over: ClipScope::Global });
    assert!((before - total).abs() < 1e-5);
    let a: Vec<f32> = g.get::<2>(params.0[0].id).expect("a").into_data().try_to_vec().expect("a");
    let want = 3.0 / (total + 1e-6);
    assert!(a.iter().all(|v| (f64::from(*v) - want).abs() < 1e-6), "{a:?} vs {want}");
    assert!((global_norm(&mut g, &params) - 1.0).abs() < 1e-5);
    // Per tensor: a is scaled to norm 1, b to norm 1, independently.
    let mut g = grads_of(&two);
    clip(&mut g, &params, &GradClipConfig { max_norm: 1.0, over: ClipScope::Tensor });
    let b: Vec<f32> = g.get::<1>(params.0[1].id).expect("b").into_data().try_to_vec().expect("b");
    assert!((b[0] - (2.0 / (20.0f64.sqrt() + 1e-6)) as f32).abs() < 1e-6 && (b[1] + (4.0 / (20.0f64.sqrt() + 1e-6)) as f32).abs() < 1e-6, "{b:?}");
    // Below the limit nothing changes.
    let mut g = grads_of(&two);
    clip(&mut g, &params, &GradClipConfig { max_norm: 100.0, over: ClipScope::Global });
    let a: Vec<f32> = g.get::<2>(params.0[0].id).expect("a").into_data().try_to_vec().expect("a");
    assert!(a.iter().all(|v| *v == 3.0));
}
