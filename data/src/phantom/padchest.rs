//! The PadChest-format phantom site: `PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv` (the
//! real 36 columns, first header cell empty, `None` for missing DICOM fields) and 16-bit PNGs
//! holding 12 or 10 significant bits (`BitsStored_DICOM`) under `<ImageDir>/<ImageID>`. Labels
//! are Python list literals with the real file's traps: leading spaces, `''` elements, `['']`
//! and `nan` cells, `normal`, distractor labels that contain a mapped word (`pericardial
//! effusion`, `pseudonodule`), subtypes (`loculated pleural effusion`, `hydropneumothorax`),
//! `exclude` and `suboptimal study`. Projections PA, AP, AP_horizontal, L and UNK.

use super::jobs::{Encoding, Job, expected_csv, run_jobs, truth_csv, write_csv};
use super::rng::{chance, stream};
use super::site::{Site, SiteKind};
use super::write::{EXTERNAL_DRAIN_RATE, PhantomConfig};
use crate::DataError;
use cxr_core::{Finding, Label};
use rand::Rng;
use std::path::Path;

const HEADER: [&str; 36] = [
    "", "ImageID", "ImageDir", "StudyDate_DICOM", "StudyID", "PatientID", "PatientBirth", "PatientSex_DICOM", "ViewPosition_DICOM",
    "Projection", "MethodProjection", "Pediatric", "Modality_DICOM", "Manufacturer_DICOM", "PhotometricInterpretation_DICOM",
    "PixelRepresentation_DICOM", "PixelAspectRatio_DICOM", "SpatialResolution_DICOM", "BitsStored_DICOM", "WindowCenter_DICOM",
    "WindowWidth_DICOM", "Rows_DICOM", "Columns_DICOM", "XRayTubeCurrent_DICOM", "Exposure_DICOM", "ExposureInuAs_DICOM",
    "ExposureTime", "RelativeXRayExposure_DICOM", "ReportID", "Report", "MethodLabel", "Labels", "Localizations",
    "LabelsLocalizationsBySentence", "labelCUIS", "LocalizationsCUIS",
];

/// Labels a radiologist would write for a case, with the findings they mean.
fn tokens(c: &super::Case, rng: &mut impl Rng) -> (Vec<&'static str>, [Label; 9]) {
    let mut t: Vec<&'static str> = Vec::new();
    let mut l = [Label::Negative; 9];
    let say = |t: &mut Vec<&'static str>, l: &mut [Label; 9], tok: &'static str, fs: &[Finding]| {
        t.push(tok);
        for f in fs {
            l[f.index()] = Label::Positive;
        }
    };
    let miss = |rng: &mut dyn rand::RngCore| rng.random::<f64>() < 0.03;
    if c.has(Finding::Cardiomegaly) && !miss(rng) {
        say(&mut t, &mut l, "cardiomegaly", &[Finding::Cardiomegaly]);
    }
    let eff = c.has(Finding::PleuralEffusion) && !miss(rng);
    let ptx = c.has(Finding::Pneumothorax) && !miss(rng);
    if eff && ptx && chance(rng, 0.5) {
        say(&mut t, &mut l, "hydropneumothorax", &[Finding::PleuralEffusion, Finding::Pneumothorax]);
    } else {
        if eff {
            say(&mut t, &mut l, if chance(rng, 0.7) { "pleural effusion" } else { "loculated pleural effusion" }, &[Finding::PleuralEffusion]);
        }
        if ptx {
            say(&mut t, &mut l, "pneumothorax", &[Finding::Pneumothorax]);
        }
    }
    if c.has(Finding::Consolidation) && !miss(rng) {
        say(&mut t, &mut l, "consolidation", &[Finding::Consolidation]);
        if chance(rng, 0.4) {
            say(&mut t, &mut l, "air bronchogram", &[]);
        }
    }
    if let Some(n) = c.lesion
        && !miss(rng) {
            say(&mut t, &mut l, if n.r >= 0.045 { "mass" } else if chance(rng, 0.2) { "multiple nodules" } else { "nodule" }, &[Finding::LungLesion]);
        }
    // Distractors: not findings of the shared space, some containing a mapped word.
    for d in ["chronic changes", "kyphosis", "pericardial effusion", "pseudonodule", "aortic elongation", "scoliosis"] {
        if chance(rng, 0.08) {
            say(&mut t, &mut l, d, &[]);
        }
    }
    if c.drain.is_some() {
        say(&mut t, &mut l, "chest drain tube", &[]);
    }
    if !l[1..].contains(&Label::Positive) {
        // "normal" only when nothing of ours was said (distractors may stay beside it).
        say(&mut t, &mut l, "normal", &[Finding::NoFinding]);
    }
    (t, l)
}

fn python_list(tokens: &[&str], rng: &mut impl Rng) -> String {
    let items: Vec<String> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| if i > 0 && chance(rng, 0.3) { format!("' {t}'") } else { format!("'{t}'") })
        .collect();
    let mut s = items.join(", ");
    if chance(rng, 0.05) {
        s.push_str(", ''");
    }
    format!("[{s}]")
}

pub(crate) fn write(root: &Path, cfg: &PhantomConfig) -> Result<usize, DataError> {
    let site = Site::new(SiteKind::Padchest);
    let mut jobs = Vec::new();
    let mut meta = Vec::new();
    for p in 1..=cfg.padchest_patients {
        let mut rng = stream(cfg.seed, "padchest-patients", p as u64);
        let patient = format!("{}", u128::from_le_bytes(blake3::hash(format!("padchest/{}/{p}", cfg.seed).as_bytes()).as_bytes()[..16].try_into().unwrap_or([0; 16])) % 10u128.pow(37) + 10u128.pow(36));
        let birth = 1930 + (p * 37) % 70;
        for s in 0..1 + usize::from(chance(&mut rng, 0.3)) {
            let index = meta.len() as u64;
            let u: f64 = rng.random();
            let (projection, lateral) = match u {
                u if u < 0.55 => ("PA", false),
                u if u < 0.67 => ("AP_horizontal", false),
                u if u < 0.72 => ("AP", false),
                u if u < 0.96 => ("L", true),
                _ => ("UNK", false),
            };
            let bits: u8 = if chance(&mut rng, 0.1) { 10 } else { 12 };
            let dir = (p + s) % 3;
            let image_id = format!("{}_{}.png", &patient[..20], &blake3::hash(format!("{p}/{s}").as_bytes()).to_hex()[..6]);
            let study = format!("{}{}", &patient[..12], 100 + s);
            let date = format!("20{:02}{:02}{:02}", 10 + (p + s) % 8, 1 + p % 12, 1 + s * 3 + p % 20);
            jobs.push(Job { outputs: vec![(format!("{dir}/{image_id}"), Encoding::Png16 { bits })], stream: "padchest".into(), index, patient: p, lateral, site });
            meta.push((image_id, dir, study, patient.clone(), birth, date, projection, bits));
        }
    }
    let done = run_jobs(jobs, root, cfg.seed, cfg.size, None, EXTERNAL_DRAIN_RATE)?;
    let (w, h) = site.dims(cfg.size);
    let mut rows = Vec::new();
    let mut expected = Vec::new();
    for (i, (d, (image_id, dir, study, patient, birth, date, projection, bits))) in done.iter().zip(&meta).enumerate() {
        let mut rng = stream(cfg.seed, "padchest-labels", i as u64);
        let u: f64 = rng.random();
        let (cell, labels) = if u < 0.02 {
            ("nan".to_string(), [Label::Missing; 9])
        } else if u < 0.04 {
            ("['']".to_string(), [Label::Missing; 9])
        } else {
            let (mut t, l) = tokens(&d.case, &mut rng);
            if chance(&mut rng, 0.02) {
                t.push("exclude");
            } else if chance(&mut rng, 0.02) {
                t.push("suboptimal study");
            }
            (python_list(&t, &mut rng), l)
        };
        let sex = match i % 50 {
            0 => "O",
            _ if d.sex == "Male" => "M",
            _ => "F",
        };
        let mut row: Vec<String> = vec![
            i.to_string(), image_id.clone(), dir.to_string(), date.clone(), study.clone(), patient.clone(), format!("{birth}.0"), sex.into(),
            "None".into(), (*projection).into(), "Manual review of DICOM fields".into(), "No".into(), "CR".into(), "PhilipsMedicalSystems".into(),
            "MONOCHROME2".into(), "0".into(), "None".into(), "0.139".into(), bits.to_string(), "None".into(), "None".into(), h.to_string(),
            w.to_string(), "None".into(), "None".into(), "None".into(), "None".into(), "None".into(), (1000 + i).to_string(),
            "informe sin hallazgos".into(), if i % 4 == 0 { "Physician" } else { "RNN_model" }.into(), cell, "[]".into(), "[]".into(), "[]".into(), "[]".into(),
        ];
        row.truncate(HEADER.len());
        rows.push(row);
        expected.push((image_id.clone(), labels));
    }
    write_csv(&root.join("PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv"), &HEADER, &rows)?;
    truth_csv(&root.join("phantom_truth.csv"), &done, |d| d.rel.rsplit('/').next().unwrap_or("").to_string())?;
    expected_csv(&root.join("phantom_expected_labels.csv"), &expected)?;
    Ok(done.len())
}
