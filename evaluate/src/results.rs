//! `results.json`: per dataset and label the four state counts, AUROC ("undefined", never 0,
//! when a class is absent), macro-AUROC over defined labels, and the generalization gap
//! internal test − external over the labels defined on both sides.

use cxr_core::{Finding, LabelPolicy, ModelCard};
use cxr_data::Dataset;
use cxr_metrics::auroc_masked;
use serde::Serialize;
use serde_json::{Value, json};

/// Results schema version.
pub const RESULTS_SCHEMA_VERSION: u32 = 1;

/// A dataset's role in the study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    /// Per label, in the card's order.
    pub labels: Vec<LabelResult>,
    /// Mean AUROC over the defined labels, or "undefined".
    pub macro_auroc: Value,
    /// The labels in that mean.
    pub macro_auroc_labels: Vec<Finding>,
}

fn num_or_undefined(v: Option<f64>) -> Value {
    v.map_or_else(|| json!("undefined"), |x| json!(x))
}

/// Metrics of one dataset.
#[must_use]
pub fn dataset_result(card: &ModelCard, policy: &LabelPolicy, ds: &Dataset, role: DatasetRole, probs: &[Vec<f32>]) -> DatasetResult {
    let mut labels = Vec::new();
    let (mut defined, mut names) = (Vec::new(), Vec::new());
    for (k, &f) in card.labels.iter().enumerate() {
        let [p, n, u, m] = ds.labels.counts(f);
        let y = ds.labels.hard_labels(policy, f);
        let scores: Vec<f64> = probs.iter().map(|row| f64::from(row[k])).collect();
        let a = auroc_masked(&scores, &y);
        if let Some(a) = a {
            defined.push(a);
            names.push(f);
        }
        labels.push(LabelResult {
            finding: f,
            covered: ds.labels.covered[f.index()],
            counts: StateCounts { positive: p, negative: n, uncertain: u, missing: m },
            evaluated_positive: y.iter().filter(|v| **v == Some(true)).count(),
            evaluated_negative: y.iter().filter(|v| **v == Some(false)).count(),
            auroc: num_or_undefined(a),
        });
    }
    let macro_auroc = (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64);
    DatasetResult {
        dataset: ds.source.name().to_string(),
        split: ds.split.clone(),
        role,
        manifest_hash: ds.manifest_hash(),
        images: ds.len(),
        excluded: ds.excluded.len(),
        excluded_items: ds.excluded.clone(),
        read_report: ds.report.clone(),
        labels,
        macro_auroc: num_or_undefined(macro_auroc),
        macro_auroc_labels: names,
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
                    per.insert(li.finding.name().to_string(), json!({ "internal": a, "external": b, "gap": a - b }));
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
