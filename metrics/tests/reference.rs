//! cxr-metrics against scikit-learn (and DeLong / torchmetrics formulas re-derived in numpy) on
//! fixed data: `tests/fixtures/reference.json`, made by `scripts/metrics_reference.py`.

use cxr_metrics::{at_threshold, auroc, average_precision, brier, delong, ece, reliability};
use serde_json::Value;

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{what}: {a} vs reference {b}");
}

fn opt(v: Option<f64>, r: &Value, what: &str) {
    match (v, r.as_f64()) {
        (Some(a), Some(b)) => close(a, b, what),
        (None, None) => {}
        (a, _) => panic!("{what}: {a:?} vs reference {r}"),
    }
}

#[test]
fn matches_the_reference_implementations() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reference.json")).expect("fixture");
    let doc: Value = serde_json::from_str(&text).expect("json");
    let cases = doc["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 3);
    for c in cases {
        let name = c["name"].as_str().expect("name");
        let s: Vec<f64> = c["scores"].as_array().expect("scores").iter().map(|v| v.as_f64().expect("f64")).collect();
        let y: Vec<bool> = c["labels"].as_array().expect("labels").iter().map(|v| v.as_bool().expect("bool")).collect();
        let f = |k: &str| c[k].as_f64().unwrap_or_else(|| panic!("{name}: {k}"));
        close(auroc(&s, &y).expect("auroc"), f("auroc"), &format!("{name} auroc"));
        let d = delong(&s, &y).expect("delong");
        close(d.auc, f("delong_auc"), &format!("{name} delong auc"));
        close(d.variance, f("delong_variance"), &format!("{name} delong variance"));
        close(average_precision(&s, &y).expect("ap"), f("average_precision"), &format!("{name} AP"));
        close(brier(&s, &y).expect("brier"), f("brier"), &format!("{name} brier"));
        close(ece(&s, &y, 15).expect("ece"), f("ece15"), &format!("{name} ECE"));
        let t = at_threshold(&s, &y, f("threshold"));
        assert_eq!((t.tp, t.fp, t.tn, t.fn_), (f("tp") as usize, f("fp") as usize, f("tn") as usize, f("fn") as usize), "{name}");
        opt(t.precision, &c["precision"], &format!("{name} precision"));
        opt(t.recall, &c["recall"], &format!("{name} recall"));
        opt(t.f1, &c["f1"], &format!("{name} f1"));
        opt(t.specificity, &c["specificity"], &format!("{name} specificity"));
        let r = reliability(&s, &y, 15).expect("reliability");
        let rt: Vec<f64> = c["reliability_true"].as_array().expect("rt").iter().map(|v| v.as_f64().expect("f64")).collect();
        let rp: Vec<f64> = c["reliability_pred"].as_array().expect("rp").iter().map(|v| v.as_f64().expect("f64")).collect();
        assert_eq!(r.len(), rt.len(), "{name}: non-empty bins");
        for ((b, t), p) in r.iter().zip(&rt).zip(&rp) {
            close(b.fraction_positive, *t, &format!("{name} reliability bin {}", b.bin));
            close(b.mean_predicted, *p, &format!("{name} reliability bin {}", b.bin));
        }
    }
}
