//! Per-subgroup AUROC: for each field the dataset has (sex, age band, view, manufacturer), each
//! group's evaluated images, their class counts, AUROC and DeLong 95% interval ("undefined" when
//! the group has a single class). Groups are listed in a fixed order, so results stay
//! byte-identical.

use cxr_data::{Record, Sex, View};
use cxr_metrics::{auroc_masked, delong};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Age bands in years (lower bound inclusive).
pub const AGE_BANDS: [(f32, &str); 4] = [(0.0, "0-39"), (40.0, "40-59"), (60.0, "60-79"), (80.0, "80+")];

fn age_band(age: f32) -> &'static str {
    AGE_BANDS.iter().rev().find(|(lo, _)| age >= *lo).map_or(AGE_BANDS[0].1, |(_, n)| n)
}

/// The group of a record under each field, `None` when the record lacks the field.
fn group(field: &str, r: &Record) -> Option<String> {
    match field {
        "sex" => r.sex.map(|s| match s {
            Sex::Male => "male".to_string(),
            Sex::Female => "female".to_string(),
            Sex::Other => "other".to_string(),
        }),
        "age_band" => r.age.map(|a| age_band(a).to_string()),
        "view" => match r.view {
            View::AP => Some("AP".to_string()),
            View::PA => Some("PA".to_string()),
            _ => None,
        },
        "manufacturer" => r.manufacturer.clone(),
        _ => None,
    }
}

/// One label's scores and evaluation targets over every image of a dataset (`None`: masked).
pub type LabelScores = (String, Vec<f64>, Vec<Option<bool>>);

/// The fields.
pub const FIELDS: [&str; 4] = ["sex", "age_band", "view", "manufacturer"];

/// Subgroup results of one dataset: `{field: {group: {images, labels: {finding: {...}}}}}` for
/// the fields present, and the absent fields listed.
#[must_use]
pub fn subgroups(records: &[Record], labels: &[LabelScores]) -> (Value, Vec<&'static str>) {
    let mut out = Map::new();
    let mut absent = Vec::new();
    for field in FIELDS {
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, r) in records.iter().enumerate() {
            if let Some(g) = group(field, r) {
                groups.entry(g).or_default().push(i);
            }
        }
        if groups.is_empty() {
            absent.push(field);
            continue;
        }
        let mut gm = Map::new();
        for (g, idx) in groups {
            let mut lm = Map::new();
            for (name, scores, y) in labels {
                let s: Vec<f64> = idx.iter().map(|&i| scores[i]).collect();
                let yy: Vec<Option<bool>> = idx.iter().map(|&i| y[i]).collect();
                let (mut ss, mut ys) = (Vec::new(), Vec::new());
                for (a, b) in s.iter().zip(&yy) {
                    if let Some(b) = b {
                        ss.push(*a);
                        ys.push(*b);
                    }
                }
                let pos = ys.iter().filter(|v| **v).count();
                let auroc = auroc_masked(&s, &yy);
                let ci = delong(&ss, &ys).map_or_else(|| json!("undefined"), |d| json!({"low": d.ci_low, "high": d.ci_high}));
                lm.insert(name.clone(), json!({
                    "evaluated": ys.len(), "positive": pos, "negative": ys.len() - pos,
                    "auroc": auroc.map_or_else(|| json!("undefined"), |a| json!(a)),
                    "auroc_ci_delong": ci,
                }));
            }
            gm.insert(g, json!({"images": idx.len(), "labels": lm}));
        }
        out.insert(field.to_string(), Value::Object(gm));
    }
    (Value::Object(out), absent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn groups_match_a_direct_computation() {
        let mk = |i: usize, sex: Sex, age: f32| {
            let mut r = Record::new(format!("{i}"), PathBuf::new(), format!("p{i}")).with_view(if i.is_multiple_of(2) { View::AP } else { View::PA });
            r.sex = Some(sex);
            r.age = Some(age);
            r
        };
        let records: Vec<Record> = (0..8).map(|i| mk(i, if i < 4 { Sex::Male } else { Sex::Female }, 30.0 + 10.0 * i as f32)).collect();
        let scores = vec![0.9, 0.1, 0.8, 0.3, 0.2, 0.7, 0.6, 0.4];
        let y = vec![Some(true), Some(false), Some(true), Some(false), Some(true), None, Some(false), Some(true)];
        let (v, absent) = subgroups(&records, &[("A".into(), scores.clone(), y.clone())]);
        assert_eq!(absent, vec!["manufacturer"]);
        let male = &v["sex"]["male"]["labels"]["A"];
        assert_eq!(male["auroc"], json!(1.0));
        assert_eq!(male["evaluated"], json!(4));
        let female = &v["sex"]["female"]["labels"]["A"];
        // Female: scores 0.2 (pos), 0.6 (neg), 0.4 (pos) → P(pos > neg) = 0/2.
        assert_eq!(female["auroc"], json!(0.0));
        assert_eq!(v["age_band"]["0-39"]["images"], json!(1));
        assert_eq!(v["age_band"]["0-39"]["labels"]["A"]["auroc"], json!("undefined"));
        assert_eq!(v["age_band"]["80+"]["images"], json!(3), "80, 90 and 100");
        assert_eq!(v["view"]["AP"]["images"], json!(4));
    }
}
