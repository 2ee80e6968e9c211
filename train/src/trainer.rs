//! The training loop.

use crate::batches::{Batch, Feed, load_batch};
use crate::learner::Learner;
use crate::loss::masked_bce_with_logits;
use crate::optim::TrainOptimizer;
use crate::provenance::{EpochTiming, Provenance, now_unix, peak_rss_bytes};
use crate::run_dir::{RunDir, Status, TrainComplete, TrainState};
use crate::schedule::At;
use anyhow::{Context, bail};
use burn::prelude::*;
use burn::tensor::TensorData;
use cxr_core::{OperatingPoint, OptimizerConfig, RawConfig, ResolvedRun, SourceId, write_atomic, write_json_atomic};
use cxr_data::{Dataset, DatasetSplit, ImageCache, ReadOptions, Role, open_dataset, role_of};
use cxr_metrics::{auroc_masked, macro_mean, youden};
use cxr_models::{Model, build, check_arch, checkpoint};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use std::path::{Path, PathBuf};

/// Where the training data lives on this machine (never hashed).
#[derive(Debug, Clone)]
pub struct MachineSettings {
    /// CheXpert root (the folder holding `train.csv`).
    pub train_root: PathBuf,
    /// Where run directories go.
    pub runs_dir: PathBuf,
    /// The reference weights file `model.pretrained` names by SHA-256.
    pub weights: Option<PathBuf>,
    /// An HDF5 cache of the training images, built for the run's preprocessing.
    pub cache: Option<PathBuf>,
}

/// What `train` did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Run directory.
    pub run_dir: PathBuf,
    /// Run id.
    pub run_id: String,
    /// Whether the run had already finished (nothing was trained).
    pub already_complete: bool,
    /// Completion record.
    pub complete: TrainComplete,
}

fn to_tensor(b: &Batch, c: usize, s: usize, k: usize, device: &Device) -> (Tensor<4>, Tensor<2>, Tensor<2>) {
    let x = Tensor::from_data(TensorData::new(b.images.clone(), [b.n, c, s, s]), device);
    let y = Tensor::from_data(TensorData::new(b.targets.clone(), [b.n, k]), device);
    let m = Tensor::from_data(TensorData::new(b.masks.clone(), [b.n, k]), device);
    (x, y, m)
}

/// Validation pass: mean masked loss and per-label probabilities.
fn predict(model: &Model, ds: &Dataset, run: &ResolvedRun, cache: Option<&ImageCache>, bs: usize) -> anyhow::Result<(f64, Vec<Vec<f64>>)> {
    let device = Device::flex();
    let m = model.valid();
    let (c, s, k) = (run.preprocess.channels as usize, run.preprocess.size as usize, run.labels.len());
    let mut probs = vec![Vec::with_capacity(ds.len()); k];
    let (mut loss_sum, mut n) = (0.0, 0usize);
    let idx: Vec<usize> = (0..ds.len()).collect();
    for chunk in idx.chunks(bs) {
        let b = load_batch(ds, chunk, &Feed { cache, ..Feed::plain(&run.preprocess, run.train.seed) }, &run.label_policy, &run.labels)?;
        let (x, y, mask) = to_tensor(&b, c, s, k, &device);
        let logits = m.forward(x);
        let l: f32 = masked_bce_with_logits(logits.clone(), y, mask).into_scalar();
        loss_sum += f64::from(l) * chunk.len() as f64;
        n += chunk.len();
        let p: Vec<f32> = burn::tensor::activation::sigmoid(logits).into_data().try_to_vec::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
        for (i, v) in p.iter().enumerate() {
            probs[i % k].push(f64::from(*v));
        }
    }
    Ok((loss_sum / n.max(1) as f64, probs))
}

fn aurocs(run: &ResolvedRun, ds: &Dataset, probs: &[Vec<f64>]) -> Vec<Option<f64>> {
    run.labels.iter().zip(probs).map(|(&f, p)| auroc_masked(p, &ds.labels.hard_labels(&run.label_policy, f))).collect()
}

fn operating_points(run: &ResolvedRun, ds: &Dataset, probs: &[Vec<f64>]) -> Vec<OperatingPoint> {
    run.labels
        .iter()
        .zip(probs)
        .map(|(&f, p)| {
            let (s, y): (Vec<f64>, Vec<bool>) = p.iter().zip(ds.labels.hard_labels(&run.label_policy, f)).filter_map(|(&s, t)| t.map(|t| (s, t))).unzip();
            let yp = youden(&s, &y);
            OperatingPoint { finding: f, threshold: yp.map(|p| p.threshold), youden_j: yp.map(|p| p.j), n_positive: y.iter().filter(|&&b| b).count(), n_negative: y.iter().filter(|&&b| !b).count() }
        })
        .collect()
}

fn epoch_seed(seed: u64, epoch: u32) -> u64 {
    let h = blake3::hash(format!("{seed}\0epoch\0{epoch}").as_bytes());
    u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap_or([0; 8]))
}

/// The weights to validate and checkpoint after an epoch. For Schedule-Free AdamW the averaged
/// point x (the training point y stays in `model`), with BatchNorm statistics recomputed at x by
/// `bn_batches` training batches in training mode, as the schedule_free README asks; for every
/// other rule, the model itself.
#[allow(clippy::too_many_arguments)]
fn evaluation_weights(
    model: &Model,
    optim: &TrainOptimizer,
    run: &ResolvedRun,
    ds: &Dataset,
    cache: Option<&ImageCache>,
    order: &[usize],
    c: usize,
    s: usize,
    k: usize,
    device: &Device,
) -> anyhow::Result<Model> {
    let OptimizerConfig::ScheduleFreeAdamw { bn_batches, .. } = run.train.optimizer else {
        return Ok(model.clone());
    };
    // A copy with its own running-statistics cells, so recomputing them leaves y's alone.
    let x = optim.averaged(model.valid().train());
    for chunk in order.chunks(run.train.batch_size as usize).take(bn_batches as usize) {
        let b = load_batch(ds, chunk, &Feed { cache, ..Feed::plain(&run.preprocess, run.train.seed) }, &run.label_policy, &run.labels)?;
        let (images, _, _) = to_tensor(&b, c, s, k, device);
        drop(x.forward(images));
    }
    Ok(x)
}

/// Split the training index into train and internal-validation subsets by patient hash.
#[must_use]
pub fn split_roles(ds: &Dataset, val_fraction: f64) -> (Dataset, Dataset) {
    let roles: Vec<Role> = ds.records.iter().map(|r| role_of(SourceId::Chexpert, &r.patient_id, val_fraction)).collect();
    (ds.subset(|i| roles[i] == Role::Train), ds.subset(|i| roles[i] == Role::Validation))
}

fn save_bytes(path: &Path, bytes: &[u8]) -> anyhow::Result<String> {
    write_atomic(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(blake3::hash(bytes).to_hex().to_string())
}

/// SHA-256 (hex) of a file: how `model.pretrained` names a weight file.
///
/// # Errors
/// An unreadable file.
pub fn file_sha256(path: &Path) -> anyhow::Result<String> {
    use sha2::Digest;
    Ok(format!("{:x}", sha2::Sha256::digest(fs_err::read(path)?)))
}

/// Load the reference weights the config names (by SHA-256) from the file given on this
/// machine: classifier replaced by the label head, stem summed to one channel where the run is
/// grayscale. The load report goes to `pretrained.json`.
fn start_from_weights(model: cxr_models::Model, run: &cxr_core::ResolvedRun, machine: &MachineSettings, config_path: &Path, dir: &RunDir) -> anyhow::Result<cxr_models::Model> {
    match (&run.model.pretrained, &machine.weights) {
        (None, None) => Ok(model),
        (None, Some(path)) => bail!(
            "--weights {} was given but {} has no model.pretrained; add model.pretrained = \"<SHA-256 of the file>\" so the run id records which weights it started from",
            path.display(),
            config_path.display()
        ),
        (Some(want), None) => bail!("{}: model.pretrained names weights with SHA-256 {want}; give the file with --weights", config_path.display()),
        (Some(want), Some(path)) => {
            let got = file_sha256(path)?;
            if &got != want {
                bail!("{}: SHA-256 {got} does not match model.pretrained {want} in {}", path.display(), config_path.display());
            }
            let (model, report) = cxr_models::weights::load_file(model, &run.model.arch, path, &cxr_models::weights::LoadOptions { replace_head: true })?;
            tracing::info!(
                "loaded {} tensors from {} (classifier replaced: {} keys; stem adapted: {})",
                report.loaded,
                path.display(),
                report.replaced_head.len(),
                report.adapted_stem.as_deref().unwrap_or("no")
            );
            write_json_atomic(
                &dir.file("pretrained.json"),
                &serde_json::json!({
                    "sha256": got, "file_name": path.file_name().map(|n| n.to_string_lossy().to_string()),
                    "tensors_loaded": report.loaded, "classifier_replaced": report.replaced_head,
                    "stem_summed_to_one_channel": report.adapted_stem, "ignored_buffers": report.ignored,
                }),
            )?;
            Ok(model)
        }
    }
}

/// Train (or resume, or report an already finished run).
///
/// # Errors
/// Config, data, I/O or checkpoint errors, with the file named.
pub fn train(config_path: &Path, machine: &MachineSettings) -> anyhow::Result<Outcome> {
    let raw = RawConfig::from_file(config_path)?;
    let config_text = fs_err::read_to_string(config_path)?;
    let full = open_dataset(raw.data.train, &machine.train_root, DatasetSplit::Train, &ReadOptions { frontal_only: raw.data.frontal_only, locate_images: true, ..ReadOptions::default() })?;
    let run = raw.resolve(|a| check_arch(a).map(|_| ()).map_err(|e| e.to_string()), &full.manifest_hash())?;
    cxr_models::check_input_size(&run.model.arch, run.model.image_size).with_context(|| format!("{}: model.image_size", config_path.display()))?;
    let run_id = run.run_id().0;
    let (dir, status) = RunDir::open(&machine.runs_dir, &run, &config_text)?;
    let mut state = match status {
        Status::Complete(complete) => {
            tracing::info!("run {run_id} already complete in {}", dir.path.display());
            return Ok(Outcome { run_dir: dir.path, run_id, already_complete: true, complete });
        }
        Status::Resume(s) => {
            tracing::info!("resuming run {run_id} after epoch {}", s.epochs_done);
            s
        }
        Status::Fresh => TrainState::default(),
    };
    let (train_ds, val_ds) = split_roles(&full, run.data.val_fraction);
    if train_ds.is_empty() || val_ds.is_empty() {
        bail!("{}: the patient split left {} training and {} validation images; need both non-empty", machine.train_root.display(), train_ds.len(), val_ds.len());
    }
    write_json_atomic(
        &dir.file("data_manifest.json"),
        &serde_json::json!({
            "dataset": run.data.train, "root_manifest_hash": full.manifest_hash(),
            "train_images": train_ds.len(), "validation_images": val_ds.len(),
            "validation_manifest_hash": val_ds.manifest_hash(),
            "excluded": full.excluded.len(), "excluded_items": full.excluded,
        }),
    )?;
    // The spec every image below goes through, completed from the training set where it learns
    // something (histogram landmarks); `resolved.json` keeps the spec as configured.
    let mut run = run;
    run.preprocess = crate::preprocess_fit::complete_spec(&run.preprocess, &train_ds, &dir)?;
    let cache = match &machine.cache {
        Some(p) => Some(ImageCache::open(p, &run.preprocess)?),
        None => None,
    };
    let mut prov = Provenance::collect("cxr-train");
    if !dir.file("provenance.json").is_file() {
        write_json_atomic(&dir.file("provenance.json"), &prov)?;
    }

    let device = Device::flex().autodiff();
    device.seed(run.train.seed);
    let (c, s, k) = (run.preprocess.channels as usize, run.preprocess.size as usize, run.labels.len());
    let mut model = build(&run.model.arch, k, c, run.model.dropout, &device)?;
    if state.epochs_done == 0 {
        model = start_from_weights(model, &run, machine, config_path, &dir)?;
    }
    let mut learner = Learner::new(&run, model, &device)?;
    if state.epochs_done > 0 {
        let ed = dir.epoch_dir(state.epochs_done);
        checkpoint::load_bytes(&mut learner.model, fs_err::read(ed.join("model.bpk"))?).with_context(|| format!("resuming from {}", ed.display()))?;
        learner.optim.load_bytes(fs_err::read(ed.join("optimizer.bpk"))?).with_context(|| format!("resuming from {}", ed.join("optimizer.bpk").display()))?;
        if let Some(h) = &mut learner.head {
            h.load(&ed, &device)?;
        }
        dir.truncate_log(state.epochs_done as usize)?;
    }

    let bs = run.train.batch_size as usize;
    let accumulation = run.train.grad_accumulation as usize;
    let steps_per_epoch = train_ds.len().div_ceil(bs).div_ceil(accumulation) as u64;
    let total_steps = steps_per_epoch * u64::from(run.train.epochs);
    let t0 = std::time::Instant::now();
    while state.epochs_done < run.train.epochs && !state.stopped_early {
        let epoch = state.epochs_done + 1;
        let e0 = std::time::Instant::now();
        device.seed(epoch_seed(run.train.seed, epoch));
        let mut order: Vec<usize> = (0..train_ds.len()).collect();
        order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(epoch_seed(run.train.seed, epoch)));
        let bar =
            ProgressBar::new(order.len() as u64).with_style(ProgressStyle::with_template("epoch {msg} [{bar:30}] {pos}/{len} images, loss {prefix}").unwrap_or_else(|_| ProgressStyle::default_bar()));
        bar.set_message(format!("{epoch}/{}", run.train.epochs));
        let (mut loss_sum, mut seen) = (0.0f64, 0usize);
        let mut step = u64::from(epoch - 1) * steps_per_epoch;
        let mut lr = run.train.lr;
        let batches: Vec<&[usize]> = order.chunks(bs).collect();
        for group in batches.chunks(accumulation) {
            let micro = group
                .iter()
                .map(|chunk| {
                    Ok(to_tensor(
                        &load_batch(
                            &train_ds,
                            chunk,
                            &Feed { cache: cache.as_ref(), augment: run.train.augment.as_ref().map(|a| (a, epoch)), ..Feed::plain(&run.preprocess, run.train.seed) },
                            &run.label_policy,
                            &run.labels,
                        )?,
                        c,
                        s,
                        k,
                        &device,
                    ))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let (losses, used) = learner.step(&micro, At { step, total_steps, epoch: epoch - 1 }).map_err(|e| {
                let first = seen + group[..e.micro_batch].iter().map(|c| c.len()).sum::<usize>();
                let kept = if epoch > 1 { format!("keeps its last complete checkpoint (after epoch {})", epoch - 1) } else { "keeps its last complete checkpoint: none, no epoch had finished".into() };
                anyhow::anyhow!(
                    "training diverged at epoch {epoch}, optimizer step {} (images {}..{} of the epoch's order): the loss is {}; {} {kept}",
                    step + 1,
                    first + 1,
                    first + group[e.micro_batch].len(),
                    e.value,
                    dir.path.display(),
                )
            })?;
            lr = used;
            for (chunk, l) in group.iter().zip(losses) {
                loss_sum += f64::from(l) * chunk.len() as f64;
                seen += chunk.len();
                bar.inc(chunk.len() as u64);
            }
            bar.set_prefix(format!("{:.4}", loss_sum / seen.max(1) as f64));
            step += 1;
        }
        bar.finish_and_clear();
        let seconds = e0.elapsed().as_secs_f64();
        // The weights to validate and checkpoint: Schedule-Free's averaged point with BatchNorm
        // statistics recomputed there, every other rule's current weights.
        let eval_model = evaluation_weights(&learner.model, &learner.optim, &run, &train_ds, cache.as_ref(), &order, c, s, k, &device)?;
        let (val_loss, probs) = predict(&eval_model, &val_ds, &run, cache.as_ref(), bs.max(32))?;
        let au = aurocs(&run, &val_ds, &probs);
        let macro_auc = macro_mean(&au);
        let better = match (macro_auc, state.best_score) {
            (Some(a), Some(b)) => a > b,
            (Some(_), None) => true,
            (None, _) => state.best_epoch.is_none(),
        };
        // Save the epoch's state first, then the log line, then state.json (the commit point).
        let ed = dir.epoch_dir(epoch);
        fs_err::create_dir_all(&ed)?;
        save_bytes(&ed.join("model.bpk"), &checkpoint::to_bytes(&learner.model.valid())?)?;
        save_bytes(&ed.join("optimizer.bpk"), &learner.optim.to_bytes()?)?;
        if let Some(h) = &learner.head {
            h.save(&ed)?;
        }
        if better {
            save_bytes(&dir.file(&format!("best-epoch-{epoch:04}.bpk")), &checkpoint::to_bytes(&eval_model.valid())?)?;
        }
        let log = serde_json::json!({
            "epoch": epoch,
            "train_loss": loss_sum / seen.max(1) as f64,
            "val_loss": val_loss,
            "val_auroc": run.labels.iter().zip(&au).map(|(f, a)| (f.name().to_string(), serde_json::json!(a))).collect::<serde_json::Map<_, _>>(),
            "val_macro_auroc": macro_auc,
            "lr": lr,
            "optimizer_steps": step,
            "seconds": seconds,
            "images_per_second": seen as f64 / seconds.max(1e-9),
        });
        dir.append_log(&log)?;
        let prev_best = state.best_epoch;
        state.epochs_done = epoch;
        if better {
            state.best_epoch = Some(epoch);
            state.best_score = macro_auc;
            state.epochs_since_best = 0;
        } else {
            state.epochs_since_best += 1;
        }
        let patience = run.train.early_stopping_patience;
        state.stopped_early = patience > 0 && state.epochs_since_best >= patience;
        write_json_atomic(&dir.file("state.json"), &state)?;
        // Only now is it safe to drop the previous epoch's state and a superseded best.
        if epoch > 1 {
            let old = dir.epoch_dir(epoch - 1);
            if old.is_dir() {
                fs_err::remove_dir_all(old)?;
            }
        }
        if let (true, Some(p)) = (better, prev_best) {
            let _ = fs_err::remove_file(dir.file(&format!("best-epoch-{p:04}.bpk")));
        }
        eprintln!(
            "epoch {epoch}/{}: train loss {:.4}, val loss {val_loss:.4}, val macro-AUROC {}{}",
            run.train.epochs,
            loss_sum / seen.max(1) as f64,
            macro_auc.map_or_else(|| "undefined".into(), |a| format!("{a:.4}")),
            if better { " (best)" } else { "" }
        );
    }

    // Operating points from the selected model on internal validation.
    let best = state.best_epoch.context("no epoch finished")?;
    let best_bytes = fs_err::read(dir.file(&format!("best-epoch-{best:04}.bpk")))?;
    let mut best_model = build(&run.model.arch, k, c, run.model.dropout, &Device::flex())?;
    checkpoint::load_bytes(&mut best_model, best_bytes.clone())?;
    let (_, probs) = predict(&best_model, &val_ds, &run, cache.as_ref(), bs.max(32))?;
    write_json_atomic(&dir.file("operating_points.json"), &operating_points(&run, &val_ds, &probs))?;
    let checkpoint_blake3 = save_bytes(&dir.file("checkpoint.bpk"), &best_bytes)?;
    prov.finished_unix = Some(now_unix());
    prov.train_seconds = Some(t0.elapsed().as_secs_f64());
    prov.epochs = EpochTiming::from_log(&dir.file("train_log.jsonl"))?;
    prov.peak_rss_bytes = peak_rss_bytes();
    prov.cache = cache.as_ref().zip(machine.cache.as_ref()).map(|(c, p)| serde_json::json!({"path": p, "cache_key": run.preprocess.cache_key(), "images": c.len(), "reads_served": c.hits()}));
    write_json_atomic(&dir.file("provenance.json"), &prov)?;
    let complete = TrainComplete { run_id: run_id.clone(), best_epoch: best, best_val_macro_auroc: state.best_score, checkpoint_blake3, epochs_run: state.epochs_done };
    write_json_atomic(&dir.file("train_complete.json"), &complete)?;
    // Finished: the resumable per-epoch state and the best-epoch copy are no longer needed
    // (checkpoint.bpk is the selected model).
    for e in 1..=state.epochs_done {
        let ed = dir.epoch_dir(e);
        if ed.is_dir() {
            fs_err::remove_dir_all(ed)?;
        }
    }
    let _ = fs_err::remove_file(dir.file(&format!("best-epoch-{best:04}.bpk")));
    Ok(Outcome { run_dir: dir.path, run_id, already_complete: false, complete })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::optim::{AdamWConfig, GradientsParams};
    use burn::tensor::Distribution;

    #[test]
    fn a_few_optimizer_steps_lower_the_loss_for_every_variant() {
        for v in cxr_models::variants() {
            let device = Device::flex().autodiff();
            device.seed(3);
            let mut model = build(v.name, 3, 1, 0.0, &device).expect("build");
            let mut optim = AdamWConfig::new().init();
            let x = Tensor::<4>::random([4, 1, 32, 32], Distribution::Normal(0.0, 1.0), &device);
            let y = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0], [4, 3]), &device);
            let m = Tensor::<2>::ones([4, 3], &device);
            let loss = |model: &Model| masked_bce_with_logits(model.forward(x.clone()), y.clone(), m.clone());
            let first: f32 = loss(&model).into_scalar();
            for _ in 0..3 {
                let l = loss(&model);
                let grads = GradientsParams::from_grads(l.backward(), &model);
                model = optim.step(1e-3, model, grads);
            }
            let last: f32 = loss(&model).into_scalar();
            assert!(last < first, "{}: loss {first} → {last}", v.name);
        }
    }

    #[test]
    fn epoch_seeds_differ_and_are_stable() {
        assert_eq!(epoch_seed(0, 1), epoch_seed(0, 1));
        assert_ne!(epoch_seed(0, 1), epoch_seed(0, 2));
        assert_ne!(epoch_seed(0, 1), epoch_seed(1, 1));
    }
}
