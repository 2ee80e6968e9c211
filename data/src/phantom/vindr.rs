//! The VinDr-CXR-format phantom site (PhysioNet layout): `train/<image_id>.dicom` and
//! `test/<image_id>.dicom` (MONOCHROME1, 14 bits stored, with a VOI window), and
//! `annotations/image_labels_train.csv` (one row per radiologist, three per image, each reader
//! missing or over-calling findings independently) and `annotations/image_labels_test.csv` (one
//! consensus row per image, `Other disease` in the singular, as in the real file).

use super::jobs::{Encoding, Job, expected_csv, run_jobs, truth_csv, write_csv};
use super::rng::{chance, stream};
use super::site::{Site, SiteKind};
use super::write::{EXTERNAL_DRAIN_RATE, PhantomConfig};
use crate::DataError;
use crate::sources::vindr::IMAGE_LABEL_COLUMNS;
use cxr_core::{Finding, Label};
use std::path::Path;

/// VinDr column → the planted finding it reports.
fn finding_of(col: &str) -> Option<Finding> {
    match col {
        "Cardiomegaly" => Some(Finding::Cardiomegaly),
        "Pleural effusion" => Some(Finding::PleuralEffusion),
        "Pneumothorax" => Some(Finding::Pneumothorax),
        "Consolidation" => Some(Finding::Consolidation),
        "Nodule/Mass" => Some(Finding::LungLesion),
        _ => None,
    }
}

pub(crate) fn write(root: &Path, cfg: &PhantomConfig) -> Result<usize, DataError> {
    let site = Site::new(SiteKind::Vindr);
    let mut jobs = Vec::new();
    let mut ids = Vec::new();
    for i in 0..cfg.vindr_images {
        let id = blake3::hash(format!("vindr/{}/{i}", cfg.seed).as_bytes()).to_hex()[..32].to_string();
        let split = if i % 5 == 4 { "test" } else { "train" };
        let enc = Encoding::Dicom { bits: 14, monochrome1: true, window: true, patient_id: id.clone() };
        jobs.push(Job { outputs: vec![(format!("{split}/{id}.dicom"), enc)], stream: "vindr".into(), index: i as u64, patient: i, lateral: false, site });
        ids.push((id, split));
    }
    let done = run_jobs(jobs, root, cfg.seed, cfg.size, None, EXTERNAL_DRAIN_RATE)?;
    let (mut train, mut test, mut expected) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (d, (id, split))) in done.iter().zip(&ids).enumerate() {
        let mut rng = stream(cfg.seed, "vindr-readers", i as u64);
        let marks = |rng: &mut rand_chacha::ChaCha8Rng, consensus: bool| -> Vec<bool> {
            let mut m: Vec<bool> = IMAGE_LABEL_COLUMNS
                .iter()
                .map(|c| match finding_of(c) {
                    Some(f) if consensus => d.case.has(f),
                    Some(f) => if d.case.has(f) { !chance(rng, 0.12) } else { chance(rng, 0.04) },
                    None if *c == "No finding" => false,
                    // Shared-space findings the generator does not draw (Atelectasis, Edema,
                    // Pneumonia) are never marked, as at the other sites; readers over-call only
                    // classes outside the shared space.
                    None if crate::sources::vindr::LABELS.iter().any(|(n, _)| n == c) => false,
                    None => !consensus && chance(rng, 0.02),
                })
                .collect();
            let any = m.iter().zip(IMAGE_LABEL_COLUMNS).any(|(b, c)| *b && c != "No finding");
            let last = m.len() - 1;
            m[last] = !any;
            m
        };
        let cell = |b: bool| if b { "1".to_string() } else { "0".to_string() };
        let mut labels = [Label::Negative; 9];
        if *split == "test" {
            let m = marks(&mut rng, true);
            test.push(std::iter::once(id.clone()).chain(m.iter().map(|&b| cell(b))).collect::<Vec<_>>());
            for (b, c) in m.iter().zip(IMAGE_LABEL_COLUMNS) {
                if let Some(&(_, f)) = crate::sources::vindr::LABELS.iter().find(|(n, _)| *n == c) {
                    labels[f.index()] = if *b { Label::Positive } else { Label::Negative };
                }
            }
        } else {
            let mut votes = vec![0u32; IMAGE_LABEL_COLUMNS.len()];
            for r in 0..3 {
                let rad = format!("R{}", 8 + (i + r * 3) % 10);
                let m = marks(&mut rng, false);
                for (v, b) in votes.iter_mut().zip(&m) {
                    *v += u32::from(*b);
                }
                train.push([id.clone(), rad].into_iter().chain(m.iter().map(|&b| cell(b))).collect::<Vec<_>>());
            }
            for (v, c) in votes.iter().zip(IMAGE_LABEL_COLUMNS) {
                if let Some(&(_, f)) = crate::sources::vindr::LABELS.iter().find(|(n, _)| *n == c) {
                    labels[f.index()] = if *v >= 2 { Label::Positive } else { Label::Negative };
                }
            }
        }
        expected.push((id.clone(), labels));
    }
    let mut h_train = vec!["image_id", "rad_id"];
    h_train.extend(IMAGE_LABEL_COLUMNS);
    let mut h_test = vec!["image_id"];
    h_test.extend(IMAGE_LABEL_COLUMNS.iter().map(|c| if *c == "Other diseases" { "Other disease" } else { c }));
    write_csv(&root.join("annotations/image_labels_train.csv"), &h_train, &train)?;
    write_csv(&root.join("annotations/image_labels_test.csv"), &h_test, &test)?;
    truth_csv(&root.join("phantom_truth.csv"), &done, |d| d.rel.rsplit('/').next().unwrap_or("").trim_end_matches(".dicom").to_string())?;
    expected_csv(&root.join("phantom_expected_labels.csv"), &expected)?;
    Ok(done.len())
}
