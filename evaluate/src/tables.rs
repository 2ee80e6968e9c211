//! CSV tables a pandas user reads directly (`pd.read_csv`): one row per fact, "undefined" as an
//! empty cell (NaN), plain column names. Per run: `tables/labels.csv`, `tables/datasets.csv`,
//! `tables/gaps.csv`, `tables/subgroups.csv`; across runs (`cxr-eval tables`): architecture ×
//! dataset macro-AUROC and macro-gap tables.

use serde_json::Value;

/// A cell: numbers as written by serde_json (shortest round trip), strings as they are,
/// "undefined" and null as empty.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) if s == "undefined" => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn csv_text(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(r);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The per-run tables, as (relative file name, CSV text), from a `results.json` document.
#[must_use]
pub fn run_tables(doc: &Value) -> Vec<(String, String)> {
    let run_id = cell(&doc["model"]["run_id"]);
    let arch = cell(&doc["model"]["arch"]);
    let empty = Vec::new();
    let datasets = doc["datasets"].as_array().unwrap_or(&empty);
    let mut labels = Vec::new();
    let mut summary = Vec::new();
    let mut subgroups = Vec::new();
    for d in datasets {
        let name = cell(&d["dataset"]);
        summary.push(vec![
            run_id.clone(), arch.clone(), name.clone(), cell(&d["split"]), cell(&d["role"]), cell(&d["images"]), cell(&d["excluded"]),
            cell(&d["macro_auroc"]), cell(&d["macro_f1"]),
            d["macro_auroc_labels"].as_array().map_or(0, Vec::len).to_string(),
            d["macro_auroc_left_out"].as_array().map_or(String::new(), |a| a.iter().map(cell).collect::<Vec<_>>().join("|")),
            cell(&d["label_policy"]["uncertain"]), cell(&d["label_policy"]["blank"]), cell(&d["label_policy"]["origin"]),
        ]);
        for l in d["labels"].as_array().unwrap_or(&empty) {
            let c = &l["counts"];
            let op = &l["at_operating_point"];
            let cal = &l["calibration"];
            labels.push(vec![
                run_id.clone(), arch.clone(), name.clone(), cell(&l["finding"]), cell(&l["covered"]),
                cell(&c["positive"]), cell(&c["negative"]), cell(&c["uncertain"]), cell(&c["missing"]),
                cell(&l["evaluated_positive"]), cell(&l["evaluated_negative"]),
                cell(&l["auroc"]), cell(&l["auroc_ci_delong"]["low"]), cell(&l["auroc_ci_delong"]["high"]),
                cell(&l["auroc_ci_bootstrap"]["low"]), cell(&l["auroc_ci_bootstrap"]["high"]), cell(&l["auprc"]),
                cell(&op["threshold"]), cell(&op["precision"]), cell(&op["recall"]), cell(&op["specificity"]), cell(&op["f1"]),
                cell(&cal["ece"]), cell(&cal["brier"]),
            ]);
        }
        if let Some(fields) = d["subgroups"].as_object() {
            for (field, groups) in fields {
                for (group, g) in groups.as_object().into_iter().flatten() {
                    for (finding, v) in g["labels"].as_object().into_iter().flatten() {
                        subgroups.push(vec![
                            run_id.clone(), arch.clone(), name.clone(), field.clone(), group.clone(), finding.clone(),
                            cell(&v["evaluated"]), cell(&v["positive"]), cell(&v["negative"]), cell(&v["auroc"]),
                            cell(&v["auroc_ci_delong"]["low"]), cell(&v["auroc_ci_delong"]["high"]),
                        ]);
                    }
                }
            }
        }
    }
    let mut gaps = Vec::new();
    for g in doc["generalization_gap"].as_array().unwrap_or(&empty) {
        let ext = cell(&g["external"]);
        for (finding, v) in g["per_label"].as_object().into_iter().flatten() {
            gaps.push(vec![
                run_id.clone(), arch.clone(), ext.clone(), finding.clone(), cell(&v["internal"]), cell(&v["external"]), cell(&v["gap"]),
                cell(&v["gap_ci_bootstrap"]["low"]), cell(&v["gap_ci_bootstrap"]["high"]),
            ]);
        }
        gaps.push(vec![run_id.clone(), arch.clone(), ext, "macro".into(), cell(&g["internal_macro_auroc"]), cell(&g["external_macro_auroc"]), cell(&g["macro_gap"]), String::new(), String::new()]);
    }
    vec![
        ("tables/labels.csv".into(), csv_text(&["run_id", "arch", "dataset", "label", "covered", "positive", "negative", "uncertain", "missing", "evaluated_positive", "evaluated_negative", "auroc", "auroc_delong_low", "auroc_delong_high", "auroc_bootstrap_low", "auroc_bootstrap_high", "auprc", "threshold", "precision", "recall", "specificity", "f1", "ece", "brier"], &labels)),
        ("tables/datasets.csv".into(), csv_text(&["run_id", "arch", "dataset", "split", "role", "images", "excluded", "macro_auroc", "macro_f1", "labels_in_macro", "left_out", "uncertain_policy", "blank_policy", "policy_origin"], &summary)),
        ("tables/gaps.csv".into(), csv_text(&["run_id", "arch", "external", "label", "internal_auroc", "external_auroc", "gap", "gap_low", "gap_high"], &gaps)),
        ("tables/subgroups.csv".into(), csv_text(&["run_id", "arch", "dataset", "field", "group", "label", "evaluated", "positive", "negative", "auroc", "auroc_delong_low", "auroc_delong_high"], &subgroups)),
    ]
}

/// Across runs: one row per model (run id, arch), one column per dataset; macro-AUROC and the
/// macro gap (internal − external). Returns the two CSV texts.
#[must_use]
pub fn across_models(docs: &[Value]) -> (String, String) {
    let mut datasets: Vec<String> = Vec::new();
    let mut externals: Vec<String> = Vec::new();
    for doc in docs {
        for d in doc["datasets"].as_array().into_iter().flatten() {
            let n = cell(&d["dataset"]);
            if !datasets.contains(&n) {
                datasets.push(n);
            }
        }
        for g in doc["generalization_gap"].as_array().into_iter().flatten() {
            let n = cell(&g["external"]);
            if !externals.contains(&n) {
                externals.push(n);
            }
        }
    }
    let (mut auroc_rows, mut gap_rows) = (Vec::new(), Vec::new());
    for doc in docs {
        let head = vec![cell(&doc["model"]["run_id"]), cell(&doc["model"]["arch"])];
        let mut a = head.clone();
        for n in &datasets {
            let d = doc["datasets"].as_array().and_then(|v| v.iter().find(|d| cell(&d["dataset"]) == *n));
            a.push(d.map_or(String::new(), |d| cell(&d["macro_auroc"])));
        }
        auroc_rows.push(a);
        let mut g = head;
        for n in &externals {
            let x = doc["generalization_gap"].as_array().and_then(|v| v.iter().find(|x| cell(&x["external"]) == *n));
            g.push(x.map_or(String::new(), |x| cell(&x["macro_gap"])));
        }
        gap_rows.push(g);
    }
    let mut h1 = vec!["run_id", "arch"];
    h1.extend(datasets.iter().map(String::as_str));
    let mut h2 = vec!["run_id", "arch"];
    h2.extend(externals.iter().map(String::as_str));
    (csv_text(&h1, &auroc_rows), csv_text(&h2, &gap_rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn undefined_is_an_empty_cell_and_models_line_up() {
        let doc = |id: &str, a: Value| json!({"model": {"run_id": id, "arch": "resnet18"},
            "datasets": [{"dataset": "nih", "split": "all", "role": "external", "images": 3, "excluded": 0, "macro_auroc": a, "macro_f1": "undefined",
                          "macro_auroc_labels": [], "macro_auroc_left_out": ["Edema"], "label_policy": {"uncertain": "ignore", "blank": "negative", "origin": "default"},
                          "labels": [{"finding": "Edema", "covered": true, "counts": {"positive": 0, "negative": 3, "uncertain": 0, "missing": 0}, "auroc": "undefined"}]}],
            "generalization_gap": [{"external": "nih/all", "per_label": {}, "internal_macro_auroc": 0.9, "external_macro_auroc": 0.8, "macro_gap": 0.1}]});
        let t = run_tables(&doc("r1", json!(0.75)));
        let labels = &t[0].1;
        assert!(labels.lines().nth(1).unwrap().starts_with("r1,resnet18,nih,Edema,true,0,3,0,0,,,,"), "{labels}");
        assert!(t[2].1.contains("r1,resnet18,nih/all,macro,0.9,0.8,0.1,,"), "{}", t[2].1);
        let (a, g) = across_models(&[doc("r1", json!(0.75)), doc("r2", json!("undefined"))]);
        assert_eq!(a, "run_id,arch,nih\nr1,resnet18,0.75\nr2,resnet18,\n");
        assert_eq!(g, "run_id,arch,nih/all\nr1,resnet18,0.1\nr2,resnet18,0.1\n");
    }
}
