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

/// Σ ½·w·θ² + u·θ + 0.3·sin(2θ) over every element.
fn loss(m: &Probe, s: &Setup, device: &Device) -> Tensor<1> {
    fn term<const D: usize>(t: Tensor<D>, w: &TensorData, u: &TensorData, device: &Device) -> Tensor<1> {
        let w = Tensor::<D>::from_data(w.clone(), device);
        let u = Tensor::<D>::from_data(u.clone(), device);
        (t.clone().mul(t.clone()).mul(w).mul_scalar(0.5) + t.clone().mul(u) + t.mul_scalar(2.0).sin().mul_scalar(0.3)).sum()
    }
    term(m.stem_weight.val(), &s.w[0], &s.u[0], device)
        + term(m.stem_bias.val(), &s.w[1], &s.u[1], device)
        + term(m.conv_weight.val(), &s.w[2], &s.u[2], device)
        + term(m.hidden_weight.val(), &s.w[3], &s.u[3], device)
        + term(m.hidden_bias.val(), &s.w[4], &s.u[4], device)
        + term(m.head_weight.val(), &s.w[5], &s.u[5], device)
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
    for ((name, g), shape) in NAMES.iter().zip(values(got)).zip(&s.shapes) {
        let w = burn_layout(shape, floats(&want[*name])).try_to_vec::<f32>().expect("f32");
        for (k, (a, b)) in g.iter().zip(&w).enumerate() {
            let d = (a - b).abs();
            worst = worst.max(d);
            assert!(d <= 1e-6, "{case}: step {step}, {name}[{k}]: burn {a} vs reference {b} (|Δ| = {d:e})");
        }
    }
    worst
}

fn config(name: &str) -> OptimizerConfig {
    let toml = match name {
        "rmsprop" => "name = \"rmsprop\"\nmomentum = 0.9\ncentered = true".to_string(),
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
        let mut grads = GradientsParams::from_grads(loss(&model, &s, &device).backward(), &model);
        if let Some(rule) = sharp {
            let probe = perturbed(&model, &grads, &params, rule);
            grads = GradientsParams::from_grads(loss(&probe, &s, &device).backward(), &probe);
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

cases!(adamw, rmsprop, schedule_free_adamw, lion, adan, muon, mars, sam, asam, pesg, pdsca);

#[test]
fn muon_sends_stem_head_and_vectors_to_adamw() {
    let f = fixture();
    let s = setup(&f);
    let model = probe(&s, &Device::flex().autodiff());
    let aux = ParamList::of(&model).muon_aux_paths();
    assert_eq!(aux, ["stem_weight", "stem_bias", "hidden_bias", "head_weight"]);
}
