//! The MIMIC-CXR-JPG-format phantom site: `files/pXX/pSUBJECT/sSTUDY/DICOM_ID.jpg` (8-bit JPEG,
//! frontal views with some laterals imaging the same case), and the four CSVs gzip-compressed
//! as distributed: `mimic-cxr-2.0.0-{chexpert,negbio,metadata,split}.csv.gz`. Labels are per
//! study with CheXpert-style uncertain and blank cells; a few studies have no label row (all
//! missing) and a few frontal images have no ViewPosition (unknown view).

use super::jobs::{Encoding, Job, cell_label, chexpert_cell, expected_csv, run_jobs, truth_csv, write_csv};
use super::rng::{chance, stream};
use super::site::{Site, SiteKind};
use super::write::{EXTERNAL_DRAIN_RATE, PhantomConfig};
use crate::DataError;
use cxr_core::{Finding, Label};
use rand::Rng;
use std::collections::HashMap;
use std::path::Path;

const LABEL_COLUMNS: [&str; 14] = [
    "Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Enlarged Cardiomediastinum", "Fracture",
    "Lung Lesion", "Lung Opacity", "No Finding", "Pleural Effusion", "Pleural Other", "Pneumonia",
    "Pneumothorax", "Support Devices",
];

/// 40 hex characters in 5 dash-separated groups, from a hash of `key`.
pub(crate) fn hex_id(key: &str) -> String {
    let h = blake3::hash(key.as_bytes()).to_hex();
    let s = &h.as_str()[..40];
    (0..5).map(|i| &s[i * 8..i * 8 + 8]).collect::<Vec<_>>().join("-")
}

struct Study {
    subject: String,
    study: String,
    index: u64,
    split: &'static str,
}

pub(crate) fn write(root: &Path, cfg: &PhantomConfig) -> Result<usize, DataError> {
    let site = Site::new(SiteKind::Mimic);
    let mut jobs = Vec::new();
    let mut studies = Vec::new();
    let mut views: HashMap<String, &'static str> = HashMap::new();
    let mut study_of_image: Vec<usize> = Vec::new();
    for p in 1..=cfg.mimic_patients {
        let mut rng = stream(cfg.seed, "mimic-studies", p as u64);
        let subject = format!("{}", 10_000_000 + p * 1_013);
        let split = match p % 10 {
            0 => "test",
            1 => "validate",
            _ => "train",
        };
        for s in 0..1 + usize::from(chance(&mut rng, 0.4)) {
            let study = format!("{}", 50_000_000 + (p * 10 + s) * 7);
            let index = studies.len() as u64;
            let lateral = chance(&mut rng, 0.35);
            for lat in std::iter::once(false).chain(lateral.then_some(true)) {
                let id = hex_id(&format!("mimic/{}/{subject}/{study}/{lat}", cfg.seed));
                let u: f64 = rng.random();
                let view = match (lat, u) {
                    (true, u) if u < 0.8 => "LATERAL",
                    (true, _) => "LL",
                    (false, u) if u < 0.55 => "PA",
                    (false, u) if u < 0.94 => "AP",
                    (false, _) => "",
                };
                views.insert(id.clone(), view);
                let rel = format!("files/p{}/p{subject}/s{study}/{id}.jpg", &subject[..2]);
                jobs.push(Job { outputs: vec![(rel, Encoding::Jpeg)], stream: "mimic".into(), index, patient: p, lateral: lat, site });
                study_of_image.push(studies.len());
            }
            studies.push(Study { subject: subject.clone(), study, index, split });
        }
    }
    let done = run_jobs(jobs, root, cfg.seed, cfg.size, None, EXTERNAL_DRAIN_RATE)?;
    let id_of = |rel: &str| rel.rsplit('/').next().unwrap_or(rel).trim_end_matches(".jpg").to_string();

    // Per-study labels from the study's case (the frontal image comes first).
    let mut label_rows = (Vec::new(), Vec::new());
    let mut study_labels: Vec<[Label; 9]> = vec![[Label::Missing; 9]; studies.len()];
    let mut labeled = vec![false; studies.len()];
    for (d, &si) in done.iter().zip(&study_of_image) {
        if labeled[si] || d.lateral {
            continue;
        }
        labeled[si] = true;
        let st = &studies[si];
        let mut rng = stream(cfg.seed, "mimic-labels", st.index);
        if chance(&mut rng, 0.03) {
            continue; // no label row: every label missing
        }
        for (file_rows, noise) in [(&mut label_rows.0, 0u64), (&mut label_rows.1, 1u64)] {
            let mut rng = stream(cfg.seed, "mimic-labels", st.index ^ (noise << 40));
            let mut row = vec![st.subject.clone(), st.study.clone()];
            let mut expected = [Label::Missing; 9];
            for col in LABEL_COLUMNS {
                let cell = match col.parse::<Finding>() {
                    Ok(Finding::NoFinding) => if d.case.has(Finding::NoFinding) { "1.0" } else { "" },
                    Ok(f) if super::PLANTED.contains(&f) => chexpert_cell(d.case.has(f), true, &mut rng),
                    _ if col == "Support Devices" => if d.case.drain.is_some() { "1.0" } else { "" },
                    _ => "",
                };
                if let Ok(f) = col.parse::<Finding>() {
                    expected[f.index()] = cell_label(cell);
                }
                row.push(cell.to_string());
            }
            file_rows.push(row);
            if noise == 0 {
                study_labels[si] = expected;
            }
        }
    }
    let mut header = vec!["subject_id", "study_id"];
    header.extend(LABEL_COLUMNS);
    write_csv(&root.join("mimic-cxr-2.0.0-chexpert.csv.gz"), &header, &label_rows.0)?;
    write_csv(&root.join("mimic-cxr-2.0.0-negbio.csv.gz"), &header, &label_rows.1)?;

    let (w, h) = site.dims(cfg.size);
    let mut meta = Vec::new();
    let mut split = Vec::new();
    let mut expected = Vec::new();
    for (d, &si) in done.iter().zip(&study_of_image) {
        let st = &studies[si];
        let id = id_of(&d.rel);
        let view = views.get(&id).copied().unwrap_or("");
        let described = if view.is_empty() { String::new() } else if d.lateral { "lateral".into() } else { "postero-anterior".into() };
        meta.push(vec![
            id.clone(), st.subject.clone(), st.study.clone(), "CHEST (PA AND LAT)".into(), view.to_string(),
            h.to_string(), w.to_string(), "21800506".into(), "213014.531".into(), "CHEST (PA AND LAT)".into(), described, "Erect".into(),
        ]);
        split.push(vec![id.clone(), st.study.clone(), st.subject.clone(), st.split.to_string()]);
        expected.push((id, study_labels[si]));
    }
    write_csv(
        &root.join("mimic-cxr-2.0.0-metadata.csv.gz"),
        &["dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription", "ViewPosition", "Rows", "Columns", "StudyDate", "StudyTime", "ProcedureCodeSequence_CodeMeaning", "ViewCodeSequence_CodeMeaning", "PatientOrientationCodeSequence_CodeMeaning"],
        &meta,
    )?;
    write_csv(&root.join("mimic-cxr-2.0.0-split.csv.gz"), &["dicom_id", "study_id", "subject_id", "split"], &split)?;
    truth_csv(&root.join("phantom_truth.csv"), &done, |d| id_of(&d.rel))?;
    expected_csv(&root.join("phantom_expected_labels.csv"), &expected)?;
    Ok(done.len())
}
