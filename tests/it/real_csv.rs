//! Harmonization checked on the real label CSVs (datasets.md §1, counts marked CSV).

use cxr_core::{Finding, Label};
use cxr_data::View;
use cxr_data::sources::{chexpert, nih};
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

fn gunzip_to(src: &Path, dir: &Path, name: &str) -> PathBuf {
    let mut text = String::new();
    flate2::read::GzDecoder::new(fs_err::File::open(src).expect("open gz")).read_to_string(&mut text).expect("gunzip");
    let out = dir.join(name);
    fs_err::write(&out, text).expect("write");
    out
}

fn count(rows: &[(cxr_data::Record, [Label; 9])], f: Finding, l: Label) -> usize {
    rows.iter().filter(|(_, r)| r[f.index()] == l).count()
}

#[test]
fn chexpert_train_csv_harmonizes_as_documented() {
    let Some(shared) = super::support::shared_dir() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let csv = gunzip_to(&shared.join("data/meta/chexpert_train.csv.gz"), tmp.path(), "train.csv");
    let rows = chexpert::parse_index(&csv, tmp.path()).expect("parse");
    assert_eq!(rows.len(), 223_414);
    assert_eq!(rows.iter().filter(|(r, _)| r.frontal).count(), 191_027);
    // "No Finding" is only ever 1.0 or blank in train.csv: no negatives, no uncertain.
    assert_eq!(count(&rows, Finding::NoFinding, Label::Positive), 22_381);
    assert_eq!(count(&rows, Finding::NoFinding, Label::Negative), 0);
    assert_eq!(count(&rows, Finding::NoFinding, Label::Uncertain), 0);
    // The four states partition every label column.
    for f in cxr_core::SHARED9 {
        let total: usize = [Label::Positive, Label::Negative, Label::Uncertain, Label::Missing].iter().map(|&l| count(&rows, f, l)).sum();
        assert_eq!(total, rows.len(), "{f}");
    }
    assert!(count(&rows, Finding::Atelectasis, Label::Uncertain) > 1000, "uncertain labels are kept as uncertain");
    let patients: HashSet<&str> = rows.iter().map(|(r, _)| r.patient_id.as_str()).collect();
    assert_eq!(patients.len(), 64_540);
    let views = |v: View| rows.iter().filter(|(r, _)| r.view == v).count();
    assert_eq!((views(View::AP), views(View::PA), views(View::Other)), (161_590, 29_420, 17));
    // Image paths drop the CheXpert-v1.0-small/ prefix and join the root.
    assert!(rows[0].0.path.starts_with(tmp.path().join("train")), "{:?}", rows[0].0.path);
}

#[test]
fn nih_data_entry_harmonizes_as_documented() {
    let Some(shared) = super::support::shared_dir() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let csv = gunzip_to(&shared.join("data/meta/Data_Entry_2017_v2020.csv.gz"), tmp.path(), "Data_Entry_2017_v2020.csv");
    let rows = nih::parse_index(&csv).expect("parse");
    assert_eq!(rows.len(), 112_120);
    assert_eq!(count(&rows, Finding::NoFinding, Label::Positive), 60_361);
    assert_eq!(count(&rows, Finding::PleuralEffusion, Label::Positive), 13_317, "Effusion → Pleural Effusion");
    assert_eq!(count(&rows, Finding::Pneumothorax, Label::Positive), 5_302);
    assert_eq!(count(&rows, Finding::Cardiomegaly, Label::Positive), 2_776);
    assert_eq!(count(&rows, Finding::Pneumonia, Label::Positive), 1_431);
    // Lung Lesion = Mass ∪ Nodule, counted independently from the raw tokens.
    let text = fs_err::read_to_string(&csv).expect("read");
    let lesion = text.lines().skip(1).filter(|l| l.split(',').nth(1).is_some_and(|t| t.split('|').any(|x| x == "Mass" || x == "Nodule"))).count();
    assert_eq!(count(&rows, Finding::LungLesion, Label::Positive), lesion);
    assert!(lesion > 6_331 && lesion < 5_782 + 6_331);
    // Exhaustive vocabulary: nothing uncertain or missing.
    for f in cxr_core::SHARED9 {
        assert_eq!(count(&rows, f, Label::Positive) + count(&rows, f, Label::Negative), rows.len(), "{f}");
    }
    let patients: HashSet<&str> = rows.iter().map(|(r, _)| r.patient_id.as_str()).collect();
    assert_eq!(patients.len(), 30_805);
    let views = |v: View| rows.iter().filter(|(r, _)| r.view == v).count();
    assert_eq!((views(View::PA), views(View::AP)), (67_310, 44_810));
}
