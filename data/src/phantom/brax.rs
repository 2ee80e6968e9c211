//! The BRAX-format phantom site: `master_spreadsheet_update.csv` with every image stored twice,
//! as an 8-bit PNG (`PngPath`, `images/id_…/Study_…/Series_…/image-….png`) and as a MONOCHROME2
//! DICOM with 12 bits stored and no VOI window (`DicomPath`, `Anonymized_DICOMs/…/image-….dcm`).
//! Labels in the CheXpert columns as `1`, `0`, `-1` or blank; about a fifth of the rows have no
//! ViewPosition; ages in 5-year groups up to `85 or more`; sex `M`, `F` or `O`.

use super::jobs::{Encoding, Job, cell_label, chexpert_cell, expected_csv, run_jobs, truth_csv, write_csv};
use super::rng::{chance, stream};
use super::site::{Site, SiteKind};
use super::write::{EXTERNAL_DRAIN_RATE, PhantomConfig};
use crate::DataError;
use crate::sources::chexpert::ALL_LABEL_COLUMNS;
use cxr_core::{Finding, Label};
use rand::Rng;
use std::path::Path;

pub(crate) fn write(root: &Path, cfg: &PhantomConfig) -> Result<usize, DataError> {
    let site = Site::new(SiteKind::Brax);
    let mut jobs = Vec::new();
    let mut meta = Vec::new();
    for p in 1..=cfg.brax_patients {
        let mut rng = stream(cfg.seed, "brax-patients", p as u64);
        let pid = format!("{:x}", blake3::hash(format!("brax/{}/{p}", cfg.seed).as_bytes()).as_bytes()[..6].iter().fold(0u64, |a, &b| a << 8 | u64::from(b)));
        let study = format!("{}", 1_000_000 + p * 17);
        let u: f64 = rng.random();
        let (view, lateral) = match u {
            u if u < 0.45 => ("PA", false),
            u if u < 0.72 => ("AP", false),
            u if u < 0.93 => ("", false),
            _ => ("LL", true),
        };
        let index = meta.len() as u64;
        let uid = format!("1.2.{}.{}", p, index);
        let dir = format!("id_{pid}/Study_{study}/Series_{}", 100 + p);
        let png = format!("images/{dir}/image-{uid}.png");
        let dcm = format!("Anonymized_DICOMs/{dir}/image-{uid}.dcm");
        let outputs = vec![(png.clone(), Encoding::Png8), (dcm.clone(), Encoding::Dicom { bits: 12, monochrome1: false, window: false, patient_id: pid.clone() })];
        jobs.push(Job { outputs, stream: "brax".into(), index, patient: p, lateral, site });
        meta.push((pid, study, view, png, dcm));
    }
    let done = run_jobs(jobs, root, cfg.seed, cfg.size, None, EXTERNAL_DRAIN_RATE)?;
    let (w, h) = site.dims(cfg.size);
    let mut header = vec!["PatientID", "PatientSex", "PatientAge", "AccessionNumber", "StudyDate"];
    header.extend(ALL_LABEL_COLUMNS);
    header.extend(["ViewPosition", "Rows", "Columns", "Manufacturer", "DicomPath", "PngPath"]);
    let mut rows = Vec::new();
    let mut expected = Vec::new();
    for (i, (d, (pid, study, view, png, dcm))) in done.iter().zip(&meta).enumerate() {
        let mut rng = stream(cfg.seed, "brax-labels", i as u64);
        let sex = match i % 40 {
            0 => "O",
            _ if d.sex == "Male" => "M",
            _ => "F",
        };
        let age = if d.age >= 85 { "85 or more".to_string() } else { format!("{}-{}", d.age / 5 * 5, d.age / 5 * 5 + 4) };
        let mut row = vec![pid.clone(), sex.to_string(), age, study.clone(), "2000-01-01".to_string()];
        let mut labels = [Label::Missing; 9];
        for col in ALL_LABEL_COLUMNS {
            let cell = match col.parse::<Finding>() {
                Ok(Finding::NoFinding) => if d.case.has(Finding::NoFinding) { "1.0" } else { "" },
                Ok(f) if super::PLANTED.contains(&f) => chexpert_cell(d.case.has(f), chance(&mut rng, 0.7), &mut rng),
                _ if col == "Support Devices" => if d.case.drain.is_some() { "1.0" } else { "" },
                _ => "",
            };
            if let Ok(f) = col.parse::<Finding>() {
                labels[f.index()] = cell_label(cell);
            }
            // BRAX writes integers.
            row.push(cell.trim_end_matches(".0").to_string());
        }
        row.extend([view.to_string(), h.to_string(), w.to_string(), (i % 3).to_string(), dcm.clone(), png.clone()]);
        rows.push(row);
        expected.push((png.clone(), labels));
    }
    write_csv(&root.join("master_spreadsheet_update.csv"), &header, &rows)?;
    truth_csv(&root.join("phantom_truth.csv"), &done, |d| d.rel.clone())?;
    expected_csv(&root.join("phantom_expected_labels.csv"), &expected)?;
    Ok(done.len())
}
