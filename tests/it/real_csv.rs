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
    let (rows, report) = nih::parse_index(&csv).expect("parse");
    assert!(report.unknown_tokens.is_empty(), "every NIH token is in the vocabulary: {:?}", report.unknown_tokens);
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

fn shared_meta(name: &str) -> Option<PathBuf> {
    super::support::shared_dir().map(|s| s.join("data/meta").join(name))
}

#[test]
fn chexpert_demographics_as_documented() {
    let Some(gz) = shared_meta("chexpert_train.csv.gz") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    // Read straight from the .csv.gz through --labels' route.
    let opts = cxr_data::ReadOptions { labels: Some(gz), ..cxr_data::ReadOptions::default() };
    let ds = cxr_data::open_dataset(cxr_core::SourceId::Chexpert, tmp.path(), cxr_data::DatasetSplit::All, &opts).expect("read");
    assert_eq!(ds.len(), 223_414);
    let sex = |s: cxr_data::Sex| ds.records.iter().filter(|r| r.sex == Some(s)).count();
    assert_eq!((sex(cxr_data::Sex::Male), sex(cxr_data::Sex::Female), sex(cxr_data::Sex::Other)), (132_636, 90_777, 1));
    assert_eq!(ds.records.iter().filter(|r| r.age.is_none()).count(), 3, "age 0 means unknown");
    let studies: HashSet<&str> = ds.records.iter().filter_map(|r| r.study_id.as_deref()).collect();
    assert_eq!(studies.len(), 187_641);
    assert!(ds.records.iter().all(|r| r.official_split.as_deref() == Some("train")), "split inferred from the file name");
}

#[test]
fn padchest_csv_harmonizes_as_documented_and_as_pandas_does() {
    let Some(gz) = shared_meta("PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv.gz") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let opts = cxr_data::ReadOptions { labels: Some(gz), ..cxr_data::ReadOptions::default() };
    let ds = cxr_data::open_dataset(cxr_core::SourceId::Padchest, tmp.path(), cxr_data::DatasetSplit::All, &opts).expect("read");
    assert_eq!(ds.len(), 160_861);
    assert_eq!(ds.records.iter().filter(|r| r.frontal).count(), 110_633);
    let patients: HashSet<&str> = ds.records.iter().map(|r| r.patient_id.as_str()).collect();
    assert_eq!(patients.len(), 67_625);
    assert!(ds.records.iter().all(|r| r.patient_id.len() >= 35 || r.patient_id.is_empty()), "ids kept as strings, never as numbers");
    let views = |v: View| ds.records.iter().filter(|r| r.view == v).count();
    assert_eq!((views(View::PA), views(View::AP), views(View::Lateral), views(View::Unknown), views(View::Other)), (91_728, 14_346 + 4_559, 49_579, 8, 630 + 11));
    let c = |k: &str| ds.report.counters.get(k).copied().unwrap_or(0);
    assert_eq!(c("padchest: labels null or empty (all missing)"), 103 + 777);
    assert_eq!(c("padchest: `normal` beside a finding (kept)"), 108);
    assert_eq!(c("padchest: `exclude` rows (kept)"), 1_312);
    assert_eq!(c("padchest: `suboptimal study` rows (kept)"), 1_839);
    assert!(ds.report.unknown_tokens.is_empty(), "the shipped vocabulary covers the real file: {:?}", ds.report.unknown_tokens);
    assert!(ds.records.iter().all(|r| matches!(r.bits_stored, Some(10 | 12))));
    // Positives per label, all 160,861 images: what scripts/bench_padchest_pandas.py computes
    // with pandas + ast.literal_eval under the same rules (an independent implementation).
    let expect = [
        (Finding::NoFinding, 50_616),
        (Finding::Cardiomegaly, 15_022),
        (Finding::Atelectasis, 8_961),
        (Finding::Consolidation, 2_497),
        (Finding::PleuralEffusion, 10_021),
        (Finding::Pneumothorax, 573),
        (Finding::Pneumonia, 8_174),
        (Finding::Edema, 1_456),
        (Finding::LungLesion, 5_015),
    ];
    for (f, p) in expect {
        assert_eq!(ds.labels.counts(f), [p, 160_861 - 880 - p, 0, 880], "{f}");
    }
}

#[test]
fn vindr_kaggle_boxes_vote_as_documented() {
    let Some(gz) = shared_meta("vinbigdata-train.csv.gz") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let opts = cxr_data::ReadOptions { labels: Some(gz.clone()), ..cxr_data::ReadOptions::default() };
    let ds = cxr_data::open_dataset(cxr_core::SourceId::Vindr, tmp.path(), cxr_data::DatasetSplit::All, &opts).expect("read");
    assert_eq!(ds.len(), 15_000);
    assert!(ds.records.iter().all(|r| r.frontal && r.official_split.as_deref() == Some("train")));
    assert!(ds.report.counters.is_empty() && ds.report.unknown_tokens.is_empty(), "{:?}", ds.report);
    // "No finding" is given by all three radiologists or by none.
    assert_eq!(ds.labels.counts(Finding::NoFinding)[..2], [10_606, 4_394]);
    for f in [Finding::Edema, Finding::Pneumonia] {
        assert!(!ds.labels.covered[f.index()], "{f} is not in the Kaggle file");
        assert_eq!(ds.labels.counts(f)[3], 15_000);
    }
    // Majority of distinct radiologists, recounted here from the raw rows.
    let mut text = String::new();
    flate2::read::GzDecoder::new(fs_err::File::open(&gz).expect("gz")).read_to_string(&mut text).expect("gunzip");
    let mut votes: std::collections::HashMap<(&str, &str), HashSet<&str>> = std::collections::HashMap::new();
    for l in text.lines().skip(1) {
        let c: Vec<&str> = l.split(',').collect();
        votes.entry((c[0], c[1])).or_default().insert(c[3]);
    }
    for (class, f) in [("Cardiomegaly", Finding::Cardiomegaly), ("Pleural effusion", Finding::PleuralEffusion), ("Nodule/Mass", Finding::LungLesion), ("Pneumothorax", Finding::Pneumothorax)] {
        let majority = votes.iter().filter(|((_, c), r)| *c == class && r.len() >= 2).count();
        let any = votes.iter().filter(|((_, c), _)| *c == class).count();
        assert_eq!(ds.labels.counts(f)[0], majority, "{class}");
        let any_opts = cxr_data::ReadOptions { vindr_voting: cxr_data::VindrVoting::Any, ..opts.clone() };
        let ds_any = cxr_data::open_dataset(cxr_core::SourceId::Vindr, tmp.path(), cxr_data::DatasetSplit::All, &any_opts).expect("read");
        assert_eq!(ds_any.labels.counts(f)[0], any, "{class} (any radiologist)");
        assert!(any > majority, "{class}");
    }
}

#[test]
fn summary_cli_on_a_real_label_file() {
    let Some(gz) = shared_meta("Data_Entry_2017_v2020.csv.gz") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let out = super::support::ok(&super::support::run("cxr-data", &["summary", "--dataset", "nih", "--root", super::support::s(tmp.path()), "--labels", super::support::s(&gz)]), "summary");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["dataset"], "nih");
    assert_eq!(v["images"], 112_120);
    assert_eq!(v["frontal_images"], 112_120);
    assert_eq!(v["patients"], 30_805);
    assert_eq!(v["labels"]["all"]["Pleural Effusion"]["positive"], 13_317);
    assert_eq!(v["labels"]["frontal"]["No Finding"]["positive"], 60_361);
    for scope in ["all", "frontal"] {
        let l = &v["labels"][scope]["Lung Lesion"];
        let sum: u64 = ["positive", "negative", "uncertain", "missing"].iter().map(|k| l[k].as_u64().expect("count")).sum();
        assert_eq!(sum, 112_120);
    }
}
