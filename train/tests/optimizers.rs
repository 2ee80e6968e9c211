//! Every optimizer against its reference trajectory (methods.md §2.0): 4 steps on a probe
//! module holding a stem matrix and bias, a 4-D convolution filter, a hidden matrix and bias and
//! a head matrix, λ > 0, f32, absolute tolerance 1e-6. The fixture and the script that made it:
//! `tests/fixtures/optim_trajectories.json`, `scripts/optim_reference.py`.

use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::TensorData;
use cxr_core::OptimizerConfig;
use cxr_train::optim::params::ParamList;
use cxr_train::optim::sharpness::{Sharpness, perturbed};
use cxr_train::optim::{Phase, TrainOptimizer};
use serde_json::Value;

/// Field names are the fixture's; matrices are stored as Burn's Linear stores them, (in, out).
#[derive(Module, Debug)]
struct Probe {
    stem_weight: Param<Tensor<2>>,
    stem_bias: Param<Tensor<1>>,
    conv_weight: Param<Tensor<4>>,
    hidden_weight: Param<Tensor<2>>,
    hidden_bias: Param<Tensor<1>>,
    head_weight: Param<Tensor<2>>,
}

const NAMES: [&str; 6] = ["stem_weight", "stem_bias", "conv_weight", "hidden_weight", "hidden_bias", "head_weight"];

fn fixture() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/optim_trajectories.json")).expect("fixture");
    serde_json::from_str(&text).expect("json")
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number") as f32).collect()
}

/// A torch-layout flat vector as the Burn-layout tensor data of parameter `name`.
fn burn_layout(shape: &[usize], torch: Vec<f32>) -> TensorData {
    if shape.len() == 2 {
        let (o, i) = (shape[0], shape[1]);
        let t: Vec<f32> = (0..i * o).map(|k| torch[(k % o) * i + k / o]).collect();
        TensorData::new(t, [i, o])
    } else {
        TensorData::new(torch, shape.to_vec())
    }
}

struct Setup {
    shapes: Vec<Vec<usize>>,
    theta: Vec<TensorData>,
    w: Vec<TensorData>,
    u: Vec<TensorData>,
}

fn setup(f: &Value) -> Setup {
    let ps = f["params"].as_array().expect("params");
    let shapes: Vec<Vec<usize>> = ps.iter().map(|p| p["shape"].as_array().expect("shape").iter().map(|d| d.as_u64().expect("dim") as usize).collect()).collect();
    let field = |k: &str| ps.iter().zip(&shapes).map(|(p, s)| burn_layout(s, floats(&p[k]))).collect();
    Setup { theta: field("theta"), w: field("w"), u: field("u"), shapes }
}

fn probe(s: &Setup, device: &Device) -> Probe {
    let p2 = |i: usize| Param::from_tensor(Tensor::<2>::from_data(s.theta[i].clone(), device));
    let p1 = |i: usize| Param::from_tensor(Tensor::<1>::from_data(s.theta[i].clone(), device));
    Probe { stem_weight: p2(0), stem_bias: p1(1), conv_weight: Param::from_tensor(Tensor::<4>::from_data(s.theta[2].clone(), device)), hidden_weight: p2(3), hidden_bias: p1(4), head_weight: p2(5) }
}

/// Σ ½·w·θ² + (1 + 0.5·step)·u·θ + 0.3·sin(2θ) over every element: a loss that moves with the
/// step, as a mini-batch's does.
fn loss(m: &Probe, s: &Setup, device: &Device, step: usize) -> Tensor<1> {
    let c = 1.0 + 0.5 * step as f32;
    let term = |t: Tensor<1>, i: usize| -> Tensor<1> {
        let flat = |d: &TensorData| Tensor::<1>::from_floats(d.clone().try_to_vec::<f32>().expect("f32").as_slice(), device);
        let (w, u) = (flat(&s.w[i]), flat(&s.u[i]).mul_scalar(c));
        (t.clone().mul(t.clone()).mul(w).mul_scalar(0.5) + t.clone().mul(u) + t.mul_scalar(2.0).sin().mul_scalar(0.3)).sum()
    };
    let flat = |i: usize| -> usize { s.shapes[i].iter().product() };
    term(m.stem_weight.val().reshape([flat(0)]), 0)
        + term(m.stem_bias.val(), 1)
        + term(m.conv_weight.val().reshape([flat(2)]), 2)
        + term(m.hidden_weight.val().reshape([flat(3)]), 3)
        + term(m.hidden_bias.val(), 4)
        + term(m.head_weight.val().reshape([flat(5)]), 5)
}

fn values(m: &Probe) -> Vec<Vec<f32>> {
    let v = |d: TensorData| d.try_to_vec::<f32>().expect("f32");
    vec![
        v(m.stem_weight.val().into_data()),
        v(m.stem_bias.val().into_data()),
        v(m.conv_weight.val().into_data()),
        v(m.hidden_weight.val().into_data()),
        v(m.hidden_bias.val().into_data()),
        v(m.head_weight.val().into_data()),
    ]
}

fn compare(case: &str, step: usize, got: &Probe, want: &Value, s: &Setup) -> f32 {
    let mut worst = 0.0f32;
    let mut report = Vec::new();
    for ((name, g), shape) in NAMES.iter().zip(values(got)).zip(&s.shapes) {
        let w = burn_layout(shape, floats(&want[*name])).try_to_vec::<f32>().expect("f32");
        let (k, d) = g.iter().zip(&w).map(|(a, b)| (a - b).abs()).enumerate().fold((0, 0.0f32), |acc, (k, d)| if d > acc.1 { (k, d) } else { acc });
        worst = worst.max(d);
        report.push(format!("{name}[{k}] |Δ| {d:e} (burn {} vs {})", g[k], w[k]));
    }
    assert!(worst <= 1e-6, "{case}: step {step}:\n  {}", report.join("\n  "));
    worst
}

fn config(name: &str) -> OptimizerConfig {
    let toml = match name {
        "rmsprop" => "name = \"rmsprop\"\nmomentum = 0.9\ncentered = true".to_string(),
        "soap" => "name = \"soap\"\nprecondition_frequency = 2".to_string(),
        other => format!("name = \"{other}\""),
    };
    let mut c: OptimizerConfig = toml::from_str(&toml).expect("config");
    if let OptimizerConfig::ScheduleFreeAdamw { warmup_steps, .. } = &mut c {
        *warmup_steps = 2;
    }
    c
}

fn run_case(name: &str, f: &Value) -> f32 {
    let case = &f["cases"][name];
    let s = setup(f);
    let device = Device::flex().autodiff();
    let mut model = probe(&s, &device);
    let params = ParamList::of(&model);
    let cfg = config(name);
    let lr = case["lr"].as_f64().expect("lr");
    let mut optim = TrainOptimizer::new(&cfg, case["weight_decay"].as_f64().expect("wd"), params.clone());
    let sharp = Sharpness::of(&cfg);
    let mut worst = 0.0f32;
    for (t, want) in case["steps"].as_array().expect("steps").iter().enumerate() {
        optim.set_phase(Phase { epoch: u64::from(t >= 2), auc_step: t % 2 == 1, averaged: false });
        let mut grads = GradientsParams::from_grads(loss(&model, &s, &device, t).backward(), &model);
        if let Some(rule) = sharp {
            let probe = perturbed(&model, &grads, &params, rule);
            grads = GradientsParams::from_grads(loss(&probe, &s, &device, t).backward(), &probe);
        }
        model = optim.step(lr, model, grads);
        worst = worst.max(compare(name, t + 1, &model, want, &s));
    }
    if let Some(x) = case.get("eval_x") {
        let averaged = optim.averaged(model);
        worst = worst.max(compare(&format!("{name} (averaged x)"), 0, &averaged, x, &s));
    }
    eprintln!("{name}: largest |Δ| over 4 steps {worst:e} ({})", case["source"].as_str().unwrap_or(""));
    worst
}

macro_rules! cases {
    ($($name:ident),*) => {$(
        #[test]
        fn $name() {
            run_case(stringify!($name), &fixture());
        }
    )*};
}

cases!(adamw, rmsprop, schedule_free_adamw, lion, soap, adan, muon, mars, sam, asam, pesg, pdsca);

#[test]
fn muon_sends_stem_head_and_vectors_to_adamw() {
    let f = fixture();
    let s = setup(&f);
    let model = probe(&s, &Device::flex().autodiff());
    let aux = ParamList::of(&model).muon_aux_paths();
    assert_eq!(aux, ["stem_weight", "stem_bias", "hidden_bias", "head_weight"]);
}
