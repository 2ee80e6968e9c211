//! `results.json`: per dataset and label the four state counts, AUROC ("undefined", never 0,
//! when a class is absent) with DeLong and patient-level bootstrap 95% intervals, AUPRC, the
//! confusion metrics at the card's frozen operating point, calibration (ECE over 15 bins, Brier,
//! reliability bins); macro-AUROC and macro-F1 over defined labels; and the generalization gap
//! internal test − external per label (with a bootstrap interval) over the labels defined on both
//! sides. Every interval is seeded, so a rerun gives the same bytes.

use crate::policy::PolicyRecord;
use cxr_core::{Finding, ModelCard};
use cxr_data::Dataset;
use cxr_metrics::{at_threshold, auroc_masked, average_precision, bootstrap_auroc, bootstrap_gap, brier, delong, ece, reliability};
use serde::Serialize;
use serde_json::{Value, json};

/// Results schema version.
pub const RESULTS_SCHEMA_VERSION: u32 = 3;

/// Bootstrap replicates for every interval.
pub const BOOTSTRAP_REPLICATES: usize = 1000;
/// Bootstrap seed (fixed: the intervals are part of the byte-identical results).
pub const BOOTSTRAP_SEED: u64 = 20_261_125;
/// ECE and reliability bins.
pub const CALIBRATION_BINS: usize = 15;

/// A dataset's role in the study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetRole {
    /// The training site's held-out test split (CheXpert `valid.csv`).
    InternalTest,
    /// Another site.
    External,
}

/// One label on one dataset.
#[derive(Debug, Clone, Serialize)]
pub struct LabelResult {
    /// Finding.
    pub finding: Finding,
    /// Whether the dataset labels this finding at all.
    pub covered: bool,
    /// Source states: positive, negative, uncertain, missing (they sum to the image count).
    pub counts: StateCounts,
    /// Positives and negatives after the evaluation policy.
    pub evaluated_positive: usize,
    /// See `evaluated_positive`.
    pub evaluated_negative: usize,
    /// AUROC, or the string "undefined".
    pub auroc: Value,
    /// DeLong 95% interval and variance, or "undefined".
    pub auroc_ci_delong: Value,
    /// Percentile bootstrap 95% interval resampling patients, or "undefined".
    pub auroc_ci_bootstrap: Value,
    /// Average precision (threshold-free AUPRC), or "undefined".
    pub auprc: Value,
    /// Counts, precision, recall, specificity and F1 at the card's frozen threshold, or
    /// "undefined" when the card has none for this label.
    pub at_operating_point: Value,
    /// ECE (15 bins), Brier score and reliability bins over the evaluated images, or "undefined".
    pub calibration: Value,
    /// The evaluated entries, kept for the gap intervals (not serialized).
    #[serde(skip)]
    pub evaluated: Evaluated,
}

/// Scores, hard labels and patient clusters of the evaluated images of one label.
#[derive(Debug, Clone, Default)]
pub struct Evaluated {
    /// Scores.
    pub scores: Vec<f64>,
    /// Labels.
    pub positive: Vec<bool>,
    /// Patient cluster per image.
    pub clusters: Vec<usize>,
}

/// The four source states.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StateCounts {
    /// Positive.
    pub positive: usize,
    /// Negative.
    pub negative: usize,
    /// Uncertain.
    pub uncertain: usize,
    /// Missing.
    pub missing: usize,
}

/// One dataset.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetResult {
    /// Source name.
    pub dataset: String,
    /// Index read.
    pub split: String,
    /// Role.
    pub role: DatasetRole,
    /// Manifest hash.
    pub manifest_hash: String,
    /// Images evaluated.
    pub images: usize,
    /// Index rows not evaluated, counted.
    pub excluded: usize,
    /// And listed.
    pub excluded_items: Vec<cxr_data::Excluded>,
    /// Malformed rows skipped (`--lenient`), unknown label tokens and noteworthy counts.
    pub read_report: cxr_data::ReadReport,
    /// The evaluation label policy applied (and where it came from).
    pub label_policy: PolicyRecord,
    /// Per label, in the card's order.
    pub labels: Vec<LabelResult>,
    /// Mean AUROC over the defined labels, or "undefined".
    pub macro_auroc: Value,
    /// The labels in that mean.
    pub macro_auroc_labels: Vec<Finding>,
    /// Covered labels left out of the macro mean (a single class after the policy).
    pub macro_auroc_left_out: Vec<Finding>,
    /// Mean F1 at the frozen operating points over the labels where it is defined, or "undefined".
    pub macro_f1: Value,
    /// Per-subgroup AUROC (sex, age band, view, manufacturer: the fields the dataset has).
    pub subgroups: Value,
    /// Subgroup fields this dataset lacks.
    pub subgroup_fields_absent: Vec<&'static str>,
    /// Hashes: the image manifest, the sealed predictions, the index and label files.
    pub audit: Value,
}

fn num_or_undefined(v: Option<f64>) -> Value {
    v.map_or_else(|| json!("undefined"), |x| json!(x))
}

fn label_metrics(ev: &Evaluated, threshold: Option<f64>) -> [Value; 5] {
    let (s, y) = (&ev.scores, &ev.positive);
    let ci_delong = delong(s, y).map_or_else(|| json!("undefined"), |d| json!({"low": d.ci_low, "high": d.ci_high, "variance": d.variance}));
    let ci_boot = bootstrap_auroc(s, y, Some(&ev.clusters), BOOTSTRAP_REPLICATES, BOOTSTRAP_SEED)
        .map_or_else(|| json!("undefined"), |b| json!({"low": b.low, "high": b.high, "replicates": b.replicates, "rejected": b.rejected, "unit": "patient"}));
    let auprc = num_or_undefined(average_precision(s, y));
    let at_op = match threshold {
        Some(t) if !s.is_empty() => {
            let r = at_threshold(s, y, t);
            json!({"threshold": t, "tp": r.tp, "fp": r.fp, "tn": r.tn, "fn": r.fn_,
                   "precision": num_or_undefined(r.precision), "recall": num_or_undefined(r.recall),
                   "specificity": num_or_undefined(r.specificity), "f1": num_or_undefined(r.f1)})
        }
        _ => json!("undefined"),
    };
    let cal = match (ece(s, y, CALIBRATION_BINS), brier(s, y), reliability(s, y, CALIBRATION_BINS)) {
        (Some(e), Some(b), Some(r)) => json!({"ece": e, "bins": CALIBRATION_BINS, "brier": b, "reliability": r}),
        _ => json!("undefined"),
    };
    [ci_delong, ci_boot, auprc, at_op, cal]
}

/// Metrics of one dataset.
#[must_use]
pub fn dataset_result(card: &ModelCard, policy: PolicyRecord, ds: &Dataset, role: DatasetRole, probs: &[Vec<f32>], audit: Value) -> DatasetResult {
    let label_policy = policy;
    let policy = &policy.policy();
    let mut per_label_inputs = Vec::new();
    let mut labels = Vec::new();
    let (mut defined, mut names, mut left_out, mut f1s) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut patients = std::collections::HashMap::new();
    let cluster: Vec<usize> = ds.records.iter().map(|r| { let n = patients.len(); *patients.entry(r.patient_id.as_str()).or_insert(n) }).collect();
    for (k, &f) in card.labels.iter().enumerate() {
        let [p, n, u, m] = ds.labels.counts(f);
        let y = ds.labels.hard_labels(policy, f);
        let scores: Vec<f64> = probs.iter().map(|row| f64::from(row[k])).collect();
        let a = auroc_masked(&scores, &y);
        if ds.labels.covered[f.index()] {
            per_label_inputs.push((f.name().to_string(), scores.clone(), y.clone()));
        }
        if let Some(a) = a {
            defined.push(a);
            names.push(f);
        } else if ds.labels.covered[f.index()] {
            left_out.push(f);
        }
        let mut ev = Evaluated::default();
        for ((&sc, t), &c) in scores.iter().zip(&y).zip(&cluster) {
            if let Some(t) = t {
                ev.scores.push(sc);
                ev.positive.push(*t);
                ev.clusters.push(c);
            }
        }
        let threshold = card.operating_points.iter().find(|o| o.finding == f).and_then(|o| o.threshold);
        let [auroc_ci_delong, auroc_ci_bootstrap, auprc, at_operating_point, calibration] = label_metrics(&ev, threshold);
        if let Some(f1) = at_operating_point.get("f1").and_then(Value::as_f64)
            && a.is_some()
        {
            f1s.push(f1);
        }
        labels.push(LabelResult {
            finding: f,
            covered: ds.labels.covered[f.index()],
            counts: StateCounts { positive: p, negative: n, uncertain: u, missing: m },
            evaluated_positive: y.iter().filter(|v| **v == Some(true)).count(),
            evaluated_negative: y.iter().filter(|v| **v == Some(false)).count(),
            auroc: num_or_undefined(a),
            auroc_ci_delong,
            auroc_ci_bootstrap,
            auprc,
            at_operating_point,
            calibration,
            evaluated: ev,
        });
    }
    let macro_auroc = (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64);
    let macro_f1 = (!f1s.is_empty()).then(|| f1s.iter().sum::<f64>() / f1s.len() as f64);
    let (subgroups, subgroup_fields_absent) = crate::subgroups::subgroups(&ds.records, &per_label_inputs);
    DatasetResult {
        dataset: ds.source.name().to_string(),
        split: ds.split.clone(),
        role,
        manifest_hash: ds.manifest_hash(),
        images: ds.len(),
        excluded: ds.excluded.len(),
        excluded_items: ds.excluded.clone(),
        read_report: ds.report.clone(),
        label_policy,
        labels,
        macro_auroc: num_or_undefined(macro_auroc),
        macro_auroc_labels: names,
        macro_auroc_left_out: left_out,
        macro_f1: num_or_undefined(macro_f1),
        subgroups,
        subgroup_fields_absent,
        audit,
    }
}

/// Internal test − external, over the labels whose AUROC is defined on both.
#[must_use]
pub fn gaps(results: &[DatasetResult]) -> Vec<Value> {
    let Some(internal) = results.iter().find(|r| r.role == DatasetRole::InternalTest) else {
        return Vec::new();
    };
    results
        .iter()
        .filter(|r| r.role == DatasetRole::External)
        .map(|ext| {
            let mut per = serde_json::Map::new();
            let (mut sum_i, mut sum_e, mut labels) = (0.0, 0.0, Vec::new());
            for (li, le) in internal.labels.iter().zip(&ext.labels) {
                if let (Some(a), Some(b)) = (li.auroc.as_f64(), le.auroc.as_f64()) {
                    let (i, e) = (&li.evaluated, &le.evaluated);
                    let ci = bootstrap_gap((&i.scores, &i.positive, Some(&i.clusters)), (&e.scores, &e.positive, Some(&e.clusters)), BOOTSTRAP_REPLICATES, BOOTSTRAP_SEED)
                        .map_or_else(|| json!("undefined"), |b| json!({"low": b.low, "high": b.high, "replicates": b.replicates, "rejected": b.rejected, "unit": "patient"}));
                    per.insert(li.finding.name().to_string(), json!({ "internal": a, "external": b, "gap": a - b, "gap_ci_bootstrap": ci }));
                    sum_i += a;
                    sum_e += b;
                    labels.push(li.finding);
                }
            }
            let n = labels.len() as f64;
            json!({
                "internal": format!("{}/{}", internal.dataset, internal.split),
                "external": format!("{}/{}", ext.dataset, ext.split),
                "labels": labels,
                "per_label": per,
                "internal_macro_auroc": if labels.is_empty() { json!("undefined") } else { json!(sum_i / n) },
                "external_macro_auroc": if labels.is_empty() { json!("undefined") } else { json!(sum_e / n) },
                "macro_gap": if labels.is_empty() { json!("undefined") } else { json!((sum_i - sum_e) / n) },
            })
        })
        .collect()
}
