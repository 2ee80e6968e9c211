//! Writing the phantom study: the CheXpert-format training site and five external sites, each in
//! its real dataset's on-disk format (see each site's module for the layout).
//!
//! - CheXpert: `chexpert/CheXpert-v1.0-small/{train,valid}.csv` plus
//!   `{train,valid}/patientNNNNN/studyN/viewN_{frontal,lateral}.jpg`. Train labels are written the
//!   way the real file writes them (`1.0`, `0.0`, `-1.0`, blank; "No Finding" only `1.0` or
//!   blank; uncertain labels present); valid labels are clean `1.0`/`0.0`, as radiologists'.
//! - NIH: `nih/Data_Entry_2017.csv` (the real 11-field header), `nih/images/NNNNNNNN_NNN.png`,
//!   and the official `train_val_list.txt` / `test_list.txt` (patient-disjoint).
//! - MIMIC, PadChest, VinDr, BRAX: see [`super::mimic`], [`super::padchest`], [`super::vindr`],
//!   [`super::brax`].
//!
//! Each site root also holds `phantom_truth*.csv` (the generator's ground truth per image) and
//! `phantom_expected_labels.csv` (the harmonized labels a reader must produce from what was
//! written). The whole tree is written under a temporary name and renamed at the end, so an
//! interrupted run never leaves a tree that looks complete.

use super::jobs::{Done, Encoding, Job, chexpert_cell, cell_label, expected_csv, run_jobs, truth_csv, write_csv};
use super::rng::{chance, stream};
use super::site::{Site, SiteKind};
use crate::DataError;
use crate::sources::chexpert::ALL_LABEL_COLUMNS;
use cxr_core::{Finding, Label};
use rand::Rng;
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
    /// MIMIC-CXR-JPG-format patients.
    pub mimic_patients: usize,
    /// PadChest-format patients.
    pub padchest_patients: usize,
    /// VinDr-CXR-format images (one per patient; VinDr has no patient ids).
    pub vindr_images: usize,
    /// BRAX-format patients.
    pub brax_patients: usize,
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
            mimic_patients: 150,
            padchest_patients: 150,
            vindr_images: 150,
            brax_patients: 150,
            shortcut: None,
            lateral_fraction: 0.12,
        }
    }
}

/// One written site.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SiteSummary {
    /// Dataset name (`chexpert`, `nih`, `mimic`, `padchest`, `vindr`, `brax`).
    pub dataset: String,
    /// Its root (what `--root` / `--external NAME=DIR` takes).
    pub root: PathBuf,
    /// Images written.
    pub images: usize,
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
    /// The external sites, in a fixed order (NIH, MIMIC, PadChest, VinDr, BRAX).
    pub external: Vec<SiteSummary>,
    /// Images written per index.
    pub images: Vec<(String, usize)>,
}

const GENERATOR_VERSION: u32 = 2;
/// Share of external-site patients with a drain, independent of findings.
pub(crate) const EXTERNAL_DRAIN_RATE: f64 = 0.5;
const CHEXPERT_DIR: &str = "chexpert/CheXpert-v1.0-small";

fn chexpert_row(seed: u64, d: &Done, noisy: bool) -> (Vec<String>, [Label; 9]) {
    let mut rng_labels = stream_labels(seed, d.index, false);
    let c = &d.case;
    let mut cells: Vec<String> = vec![
        format!("CheXpert-v1.0-small/{}", d.rel),
        d.sex.to_string(),
        d.age.to_string(),
        if d.lateral { "Lateral" } else { "Frontal" }.to_string(),
        if d.lateral { String::new() } else if d.age.is_multiple_of(4) { "PA".into() } else { "AP".into() },
    ];
    let mut expected = [Label::Missing; 9];
    for col in ALL_LABEL_COLUMNS {
        let cell = match col.parse::<Finding>() {
            Ok(Finding::NoFinding)
                // Real train.csv: "No Finding" is only ever 1.0 or blank.
                if c.has(Finding::NoFinding) => { "1.0" }
            Ok(f) if super::PLANTED.contains(&f) => chexpert_cell(c.has(f), noisy, &mut rng_labels),
            _ if col == "Support Devices"
                && c.drain.is_some() => { "1.0" }
            _ if col == "Lung Opacity" => {
                let t = c.consolidation.is_some() || c.lesion.is_some();
                if t { "1.0" } else if noisy { "" } else { "0.0" }
            }
            _ => if noisy { "" } else { "0.0" },
        };
        if let Ok(f) = col.parse::<Finding>() {
            expected[f.index()] = cell_label(cell);
        }
        cells.push(cell.to_string());
    }
    (cells, expected)
}

/// The labels stream of a CheXpert or NIH image (kept from generator version 1 so those sites'
/// bytes are unchanged).
fn stream_labels(seed: u64, index: u64, nih: bool) -> rand_chacha::ChaCha8Rng {
    stream(seed, "labels", index ^ (u64::from(nih) << 40))
}

fn nih_tokens(c: &super::Case, rng: &mut impl Rng) -> (String, [Label; 9]) {
    let mut t = Vec::new();
    // NIH labels are text-mined: each true finding is missed with a small probability.
    let mut keep = |truth: bool| truth && !chance(rng, 0.03);
    if keep(c.has(Finding::Cardiomegaly)) { t.push("Cardiomegaly"); }
    if keep(c.has(Finding::PleuralEffusion)) { t.push("Effusion"); }
    if keep(c.has(Finding::Pneumothorax)) { t.push("Pneumothorax"); }
    if keep(c.has(Finding::Consolidation)) { t.push("Consolidation"); }
    if let Some(n) = c.lesion
        && keep(true) { t.push(if n.r >= 0.045 { "Mass" } else { "Nodule" }); }
    t.sort_unstable();
    let mut expected = [Label::Negative; 9];
    for tok in &t {
        let f = match *tok {
            "Cardiomegaly" => Finding::Cardiomegaly,
            "Effusion" => Finding::PleuralEffusion,
            "Pneumothorax" => Finding::Pneumothorax,
            "Consolidation" => Finding::Consolidation,
            _ => Finding::LungLesion,
        };
        expected[f.index()] = Label::Positive;
    }
    if t.is_empty() {
        expected[Finding::NoFinding.index()] = Label::Positive;
        ("No Finding".into(), expected)
    } else {
        (t.join("|"), expected)
    }
}

fn chexpert_jobs(cfg: &PhantomConfig, split: &str, patients: std::ops::Range<usize>, stream_name: &str) -> Vec<Job> {
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
                jobs.push(Job { outputs: vec![(rel, Encoding::Jpeg)], stream: stream_name.to_string(), index, patient: p, lateral: lat, site });
                index += 1;
            }
        }
    }
    jobs
}

fn write_chexpert(root: &Path, cfg: &PhantomConfig, images: &mut Vec<(String, usize)>) -> Result<usize, DataError> {
    let mut header = vec!["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA"];
    header.extend(ALL_LABEL_COLUMNS);
    let ntr = cfg.chexpert_train_patients;
    let mut expected = Vec::new();
    let mut total = 0;
    for (split, range, stream_name, noisy) in [
        ("train", 1..ntr + 1, "chexpert-train", true),
        ("valid", ntr + 1..ntr + 1 + cfg.chexpert_valid_patients, "chexpert-valid", false),
    ] {
        let jobs = chexpert_jobs(cfg, split, range, stream_name);
        let done = run_jobs(jobs, root, cfg.seed, cfg.size, cfg.shortcut, EXTERNAL_DRAIN_RATE)?;
        let mut rows = Vec::new();
        for d in &done {
            let (cells, e) = chexpert_row(cfg.seed, d, noisy);
            expected.push((cells[0].clone(), e));
            rows.push(cells);
        }
        write_csv(&root.join(format!("{split}.csv")), &header, &rows)?;
        truth_csv(&root.join(format!("phantom_truth_{split}.csv")), &done, |d| format!("CheXpert-v1.0-small/{}", d.rel))?;
        images.push((format!("chexpert/{split}"), done.len()));
        total += done.len();
    }
    expected_csv(&root.join("phantom_expected_labels.csv"), &expected)?;
    Ok(total)
}

fn write_nih(root: &Path, cfg: &PhantomConfig) -> Result<usize, DataError> {
    let site = Site::new(SiteKind::Nih);
    let mut jobs = Vec::new();
    let mut index = 0;
    for p in 1..=cfg.nih_patients {
        let mut rng = stream(cfg.seed, "nih-followups", p as u64);
        let n = 1 + usize::from(chance(&mut rng, 0.5)) + usize::from(chance(&mut rng, 0.2));
        for fu in 0..n {
            jobs.push(Job { outputs: vec![(format!("images/{p:08}_{fu:03}.png"), Encoding::Png8)], stream: "nih".into(), index, patient: p, lateral: false, site });
            index += 1;
        }
    }
    let done = run_jobs(jobs, root, cfg.seed, cfg.size, None, EXTERNAL_DRAIN_RATE)?;
    let (w, h) = site.dims(cfg.size);
    let mut text = String::from(
        "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]\n",
    );
    let (mut last_patient, mut follow_up) = (0, 0);
    let mut expected = Vec::new();
    let (mut train_val, mut test) = (String::new(), String::new());
    for d in &done {
        follow_up = if d.patient == last_patient { follow_up + 1 } else { 0 };
        last_patient = d.patient;
        let name = d.rel.trim_start_matches("images/");
        let (tokens, e) = nih_tokens(&d.case, &mut stream_labels(cfg.seed, d.index, true));
        let view = if d.age % 3 == 0 { "AP" } else { "PA" };
        let sex = &d.sex[..1];
        text.push_str(&format!("{name},{tokens},{follow_up},{},{},{sex},{view},{w},{h},0.143,0.143\n", d.patient, d.age));
        expected.push((name.to_string(), e));
        // The official lists are patient-disjoint: about a fifth of the patients are test.
        let list = if d.patient % 5 == 0 { &mut test } else { &mut train_val };
        list.push_str(name);
        list.push('\n');
    }
    let idx = root.join("Data_Entry_2017.csv");
    fs_err::write(&idx, text).map_err(|e| DataError::io(&idx, e))?;
    for (f, t) in [("train_val_list.txt", train_val), ("test_list.txt", test)] {
        fs_err::write(root.join(f), t).map_err(|e| DataError::io(root.join(f), e))?;
    }
    truth_csv(&root.join("phantom_truth.csv"), &done, |d| d.rel.trim_start_matches("images/").to_string())?;
    expected_csv(&root.join("phantom_expected_labels.csv"), &expected)?;
    Ok(done.len())
}

fn check_existing(out: &Path, cfg: &PhantomConfig) -> Result<Option<PhantomSummary>, DataError> {
    let summary_path = out.join("phantom.json");
    if summary_path.is_file() {
        let text = fs_err::read_to_string(&summary_path).map_err(|e| DataError::io(&summary_path, e))?;
        let prev: Option<PhantomSummary> = serde_json::from_str(&text).ok();
        if let Some(prev) = prev.filter(|p| p.config == *cfg && p.generator_version == GENERATOR_VERSION) {
            return Ok(Some(prev));
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
    Ok(None)
}

/// Generate the phantom study into `out` (idempotent: an existing tree with the same config is
/// kept; one with a different config is refused).
///
/// # Errors
/// I/O or encoding errors naming the file, or an existing tree made with another config.
pub fn generate(out: &Path, cfg: &PhantomConfig) -> Result<PhantomSummary, DataError> {
    if let Some(prev) = check_existing(out, cfg)? {
        return Ok(prev);
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
    fs_err::create_dir_all(&chex).map_err(|e| DataError::io(&chex, e))?;
    let mut images = Vec::new();
    write_chexpert(&chex, cfg, &mut images)?;
    let mut external = Vec::new();
    type Writer = fn(&Path, &PhantomConfig) -> Result<usize, DataError>;
    let sites: [(&str, Writer); 5] = [
        ("nih", write_nih),
        ("mimic", super::mimic::write),
        ("padchest", super::padchest::write),
        ("vindr", super::vindr::write),
        ("brax", super::brax::write),
    ];
    for (name, write) in sites {
        let root = tmp.join(name);
        fs_err::create_dir_all(&root).map_err(|e| DataError::io(&root, e))?;
        let n = write(&root, cfg)?;
        images.push((format!("{name}/all"), n));
        external.push(SiteSummary { dataset: name.into(), root: out.join(name), images: n });
    }
    let summary = PhantomSummary {
        generator_version: GENERATOR_VERSION,
        config: cfg.clone(),
        chexpert_root: out.join(CHEXPERT_DIR),
        nih_root: out.join("nih"),
        external,
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
