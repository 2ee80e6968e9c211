//! Writing phantom sites in the real datasets' on-disk formats.
//!
//! - CheXpert: `chexpert/CheXpert-v1.0-small/{train,valid}.csv` plus
//!   `{train,valid}/patientNNNNN/studyN/viewN_{frontal,lateral}.jpg`. Train labels are written the
//!   way the real file writes them (`1.0`, `0.0`, `-1.0`, blank; "No Finding" only `1.0` or
//!   blank; uncertain labels present); valid labels are clean `1.0`/`0.0`, as radiologists'.
//! - NIH: `nih/Data_Entry_2017.csv` (the real 11-field header) plus `nih/images/NNNNNNNN_NNN.png`.
//!
//! Each site root also holds `phantom_truth.csv` (the generator's ground truth per image). The
//! whole tree is written under a temporary name and renamed at the end, so an interrupted run
//! never leaves a tree that looks complete.

use super::case::{Artifact, Case, sample_case};
use super::render::{render, render_lateral};
use super::rng::{chance, stream, uniform};
use super::site::{Site, SiteKind};
use crate::DataError;
use crate::sources::chexpert::ALL_LABEL_COLUMNS;
use cxr_core::{Finding, SHARED9};
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhantomConfig {
    /// Master seed.
    pub seed: u64,
    /// Nominal image height in pixels.
    pub size: u32,
    /// CheXpert-format training patients (`train.csv`).
    pub chexpert_train_patients: usize,
    /// CheXpert-format validation patients (`valid.csv`, the internal test set).
    pub chexpert_valid_patients: usize,
    /// NIH-format patients.
    pub nih_patients: usize,
    /// Plant a chest drain co-occurring with this finding at the training site.
    pub shortcut: Option<Finding>,
    /// Fraction of CheXpert studies that also get a lateral view.
    pub lateral_fraction: f64,
}

impl PhantomConfig {
    /// A small default study.
    #[must_use]
    pub fn small(seed: u64) -> Self {
        Self {
            seed,
            size: 96,
            chexpert_train_patients: 300,
            chexpert_valid_patients: 100,
            nih_patients: 200,
            shortcut: None,
            lateral_fraction: 0.12,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhantomSummary {
    /// Generator version (changes when output bytes would change).
    pub generator_version: u32,
    /// The config.
    pub config: PhantomConfig,
    /// CheXpert dataset root (holds train.csv / valid.csv).
    pub chexpert_root: PathBuf,
    /// NIH dataset root.
    pub nih_root: PathBuf,
    /// Images written per index.
    pub images: Vec<(String, usize)>,
}

const GENERATOR_VERSION: u32 = 1;
/// Share of external-site patients with a drain, independent of findings.
const EXTERNAL_DRAIN_RATE: f64 = 0.5;
const CHEXPERT_DIR: &str = "chexpert/CheXpert-v1.0-small";

struct Job {
    rel: String,
    stream: &'static str,
    index: u64,
    patient: usize,
    lateral: bool,
    site: Site,
}

struct Done {
    rel: String,
    patient: usize,
    lateral: bool,
    case: Case,
    sex: &'static str,
    age: u32,
    rng_labels: rand_chacha::ChaCha8Rng,
}

fn encode(path: &Path, pixels: &[f32], w: u32, h: u32, kind: SiteKind) -> Result<(), DataError> {
    let bytes: Vec<u8> = pixels.iter().map(|v| (v * 255.0).round() as u8).collect();
    let img = image::GrayImage::from_raw(w, h, bytes)
        .ok_or_else(|| DataError::Invalid("phantom: pixel buffer size mismatch".into()))?;
    if let Some(d) = path.parent() {
        fs_err::create_dir_all(d).map_err(|e| DataError::io(d, e))?;
    }
    let res = match kind {
        SiteKind::Chexpert => {
            let f = fs_err::File::create(path).map_err(|e| DataError::io(path, e))?;
            let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(std::io::BufWriter::new(f), 92);
            enc.encode_image(&img)
        }
        SiteKind::Nih => img.save_with_format(path, image::ImageFormat::Png),
    };
    res.map_err(|e| DataError::Image { path: path.to_path_buf(), message: e.to_string() })
}

fn run_jobs(jobs: Vec<Job>, root: &Path, seed: u64, size: u32, shortcut: Option<Finding>) -> Result<Vec<Done>, DataError> {
    jobs.into_par_iter()
        .map(|j| {
            let mut rng = stream(seed, j.stream, j.index);
            let artifact = match (j.site.kind, shortcut) {
                (SiteKind::Chexpert, Some(f)) => Artifact::CoOccurs(f),
                (SiteKind::Chexpert, None) => Artifact::None,
                (SiteKind::Nih, _) => Artifact::Independent(EXTERNAL_DRAIN_RATE),
            };
            let case = sample_case(&mut rng, artifact);
            let (w, h) = j.site.dims(size);
            let density = if j.lateral { render_lateral(&case, w, h) } else { render(&case, w, h).density };
            let pixels = j.site.acquire(&mut rng, &density, w, h);
            encode(&root.join(&j.rel), &pixels, w, h, j.site.kind)?;
            let sex = if chance(&mut rng, 0.55) { "Male" } else { "Female" };
            let age = uniform(&mut rng, 18.0, 90.0) as u32;
            let rng_labels = stream(seed, "labels", j.index ^ (u64::from(j.site.kind == SiteKind::Nih) << 40));
            Ok(Done { rel: j.rel, patient: j.patient, lateral: j.lateral, case, sex, age, rng_labels })
        })
        .collect()
}

/// The CheXpert cell for a finding: clean (valid) or with the real file's patterns (train).
fn chexpert_cell(truth: bool, noisy: bool, rng: &mut impl Rng) -> &'static str {
    if !noisy {
        return if truth { "1.0" } else { "0.0" };
    }
    let u: f64 = rng.random();
    match (truth, u) {
        (true, u) if u < 0.88 => "1.0",
        (true, _) => "-1.0",
        (false, u) if u < 0.72 => "",
        (false, u) if u < 0.97 => "0.0",
        (false, _) => "-1.0",
    }
}

fn chexpert_row(d: &mut Done, noisy: bool) -> Vec<String> {
    let c = &d.case;
    let mut cells: Vec<String> = vec![
        format!("CheXpert-v1.0-small/{}", d.rel),
        d.sex.to_string(),
        d.age.to_string(),
        if d.lateral { "Lateral" } else { "Frontal" }.to_string(),
        if d.lateral { String::new() } else if d.age % 4 == 0 { "PA".into() } else { "AP".into() },
    ];
    for col in ALL_LABEL_COLUMNS {
        let cell = match col.parse::<Finding>() {
            Ok(Finding::NoFinding) => {
                // Real train.csv: "No Finding" is only ever 1.0 or blank.
                if c.has(Finding::NoFinding) { "1.0" } else if noisy { "" } else { "0.0" }
            }
            Ok(f) if super::PLANTED.contains(&f) => chexpert_cell(c.has(f), noisy, &mut d.rng_labels),
            _ if col == "Support Devices" => {
                if c.drain.is_some() { "1.0" } else if noisy { "" } else { "0.0" }
            }
            _ if col == "Lung Opacity" => {
                let t = c.consolidation.is_some() || c.lesion.is_some();
                if t { "1.0" } else if noisy { "" } else { "0.0" }
            }
            _ => if noisy { "" } else { "0.0" },
        };
        cells.push(cell.to_string());
    }
    cells
}

fn nih_tokens(c: &Case, rng: &mut impl Rng) -> String {
    let mut t = Vec::new();
    // NIH labels are text-mined: each true finding is missed with a small probability.
    let mut keep = |truth: bool| truth && !chance(rng, 0.03);
    if keep(c.has(Finding::Cardiomegaly)) { t.push("Cardiomegaly"); }
    if keep(c.has(Finding::PleuralEffusion)) { t.push("Effusion"); }
    if keep(c.has(Finding::Pneumothorax)) { t.push("Pneumothorax"); }
    if keep(c.has(Finding::Consolidation)) { t.push("Consolidation"); }
    if let Some(n) = c.lesion {
        if keep(true) { t.push(if n.r >= 0.045 { "Mass" } else { "Nodule" }); }
    }
    t.sort_unstable();
    if t.is_empty() { "No Finding".into() } else { t.join("|") }
}

fn truth_csv(path: &Path, done: &[Done], id: impl Fn(&Done) -> String) -> Result<(), DataError> {
    let mut s = String::from("id,view");
    for f in SHARED9 {
        s.push(',');
        s.push_str(f.name());
    }
    s.push_str(",ctr,drain\n");
    for d in done {
        s.push_str(&format!("{},{}", id(d), if d.lateral { "lateral" } else { "frontal" }));
        for f in SHARED9 {
            s.push_str(if d.case.has(f) { ",1" } else { ",0" });
        }
        s.push_str(&format!(",{:.4},{}\n", d.case.ctr, u8::from(d.case.drain.is_some())));
    }
    fs_err::write(path, s).map_err(|e| DataError::io(path, e))
}

fn write_csv(path: &Path, header: &[&str], rows: Vec<Vec<String>>) -> Result<(), DataError> {
    let mut w = csv::Writer::from_path(path).map_err(|e| DataError::Invalid(format!("{}: {e}", path.display())))?;
    let io = |e: csv::Error| DataError::Invalid(format!("{}: {e}", path.display()));
    w.write_record(header).map_err(io)?;
    for r in rows {
        w.write_record(&r).map_err(io)?;
    }
    w.flush().map_err(|e| DataError::io(path, e))
}

fn chexpert_jobs(cfg: &PhantomConfig, split: &str, patients: std::ops::Range<usize>, stream_name: &'static str) -> Vec<Job> {
    let site = Site::new(SiteKind::Chexpert);
    let mut jobs = Vec::new();
    let mut index = 0u64;
    for p in patients {
        let mut rng = stream(cfg.seed, "chexpert-studies", p as u64);
        let studies = 1 + usize::from(chance(&mut rng, 0.4)) + usize::from(chance(&mut rng, 0.15));
        for s in 1..=studies {
            let lateral = chance(&mut rng, cfg.lateral_fraction);
            for (v, lat) in std::iter::once(false).chain(lateral.then_some(true)).enumerate() {
                let kind = if lat { "lateral" } else { "frontal" };
                let rel = format!("{split}/patient{p:05}/study{s}/view{}_{kind}.jpg", v + 1);
                jobs.push(Job { rel, stream: stream_name, index, patient: p, lateral: lat, site });
                index += 1;
            }
        }
    }
    jobs
}

/// Generate the phantom study into `out` (idempotent: an existing tree with the same config is
/// kept; one with a different config is refused).
///
/// # Errors
/// I/O or encoding errors naming the file, or an existing tree made with another config.
pub fn generate(out: &Path, cfg: &PhantomConfig) -> Result<PhantomSummary, DataError> {
    let summary_path = out.join("phantom.json");
    if summary_path.is_file() {
        let text = fs_err::read_to_string(&summary_path).map_err(|e| DataError::io(&summary_path, e))?;
        let prev: PhantomSummary = serde_json::from_str(&text).map_err(|e| DataError::Invalid(format!("{}: {e}", summary_path.display())))?;
        if prev.config == *cfg && prev.generator_version == GENERATOR_VERSION {
            return Ok(prev);
        }
        return Err(DataError::Invalid(format!(
            "{} holds a phantom study made with another config or generator version; choose another folder or delete it",
            out.display()
        )));
    }
    if out.exists() && fs_err::read_dir(out).map_err(|e| DataError::io(out, e))?.next().is_some() {
        return Err(DataError::Invalid(format!(
            "{} exists and is not a phantom study (no phantom.json); choose an empty or new folder",
            out.display()
        )));
    }
    if cfg.size < 32 {
        return Err(DataError::Invalid(format!("phantom size must be at least 32 px, got {}", cfg.size)));
    }
    let tmp = out.with_file_name(format!(
        ".{}.partial-{}",
        out.file_name().map_or_else(|| "phantom".into(), |n| n.to_string_lossy().into_owned()),
        std::process::id()
    ));
    if tmp.exists() {
        fs_err::remove_dir_all(&tmp).map_err(|e| DataError::io(&tmp, e))?;
    }
    let chex = tmp.join(CHEXPERT_DIR);
    let nih = tmp.join("nih");
    fs_err::create_dir_all(&chex).map_err(|e| DataError::io(&chex, e))?;
    fs_err::create_dir_all(nih.join("images")).map_err(|e| DataError::io(&nih, e))?;

    let mut header = vec!["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA"];
    header.extend(ALL_LABEL_COLUMNS);
    let mut images = Vec::new();
    let ntr = cfg.chexpert_train_patients;
    for (split, range, stream_name, noisy) in [
        ("train", 1..ntr + 1, "chexpert-train", true),
        ("valid", ntr + 1..ntr + 1 + cfg.chexpert_valid_patients, "chexpert-valid", false),
    ] {
        let jobs = chexpert_jobs(cfg, split, range, stream_name);
        let mut done = run_jobs(jobs, &chex, cfg.seed, cfg.size, cfg.shortcut)?;
        let rows = done.iter_mut().map(|d| chexpert_row(d, noisy)).collect();
        write_csv(&chex.join(format!("{split}.csv")), &header, rows)?;
        truth_csv(&chex.join(format!("phantom_truth_{split}.csv")), &done, |d| format!("CheXpert-v1.0-small/{}", d.rel))?;
        images.push((format!("chexpert/{split}"), done.len()));
    }

    let site = Site::new(SiteKind::Nih);
    let mut jobs = Vec::new();
    let mut index = 0;
    for p in 1..=cfg.nih_patients {
        let mut rng = stream(cfg.seed, "nih-followups", p as u64);
        let n = 1 + usize::from(chance(&mut rng, 0.5)) + usize::from(chance(&mut rng, 0.2));
        for fu in 0..n {
            jobs.push(Job { rel: format!("images/{p:08}_{fu:03}.png"), stream: "nih", index, patient: p, lateral: false, site });
            index += 1;
        }
    }
    let mut done = run_jobs(jobs, &nih, cfg.seed, cfg.size, None)?;
    let (w, h) = site.dims(cfg.size);
    let mut text = String::from(
        "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]\n",
    );
    let mut last_patient = 0;
    let mut follow_up = 0;
    for d in &mut done {
        follow_up = if d.patient == last_patient { follow_up + 1 } else { 0 };
        last_patient = d.patient;
        let name = d.rel.trim_start_matches("images/");
        let tokens = nih_tokens(&d.case, &mut d.rng_labels);
        let view = if d.age % 3 == 0 { "AP" } else { "PA" };
        let sex = &d.sex[..1];
        text.push_str(&format!("{name},{tokens},{follow_up},{},{},{sex},{view},{w},{h},0.143,0.143\n", d.patient, d.age));
    }
    let idx = nih.join("Data_Entry_2017.csv");
    fs_err::write(&idx, text).map_err(|e| DataError::io(&idx, e))?;
    truth_csv(&nih.join("phantom_truth.csv"), &done, |d| d.rel.trim_start_matches("images/").to_string())?;
    images.push(("nih/all".into(), done.len()));

    let summary = PhantomSummary {
        generator_version: GENERATOR_VERSION,
        config: cfg.clone(),
        chexpert_root: out.join(CHEXPERT_DIR),
        nih_root: out.join("nih"),
        images,
    };
    let text = serde_json::to_string_pretty(&summary).map_err(|e| DataError::Invalid(e.to_string()))?;
    let sp = tmp.join("phantom.json");
    fs_err::write(&sp, text).map_err(|e| DataError::io(&sp, e))?;
    if out.exists() {
        // Empty (checked above): replace it.
        fs_err::remove_dir(out).map_err(|e| DataError::io(out, e))?;
    }
    fs_err::rename(&tmp, out).map_err(|e| DataError::io(out, e))?;
    Ok(summary)
}
