//! `cxr-eval predict`: deployment inference over image files and folders, without labels.
//!
//! Per image: the nine probabilities, the positive calls at the card's frozen operating points,
//! the view stated by a DICOM header (a non-frontal view is flagged; `--frontal-only` refuses
//! it), and on every row the model's SHA-256 and card version. Same hash check and preprocessing
//! as `run`. A failed image becomes an error row (nothing is dropped) and the run exits with
//! [`EXIT_IMAGE_ERRORS`]. `--deidentify` keeps paths, patient identifiers and DICOM tags out of
//! every output: rows are keyed by input order and the image file's blake3.

use crate::infer::{Input, Outcome, progress, run_stream};
use crate::integrity::OpenModel;
use cxr_data::View;
use serde_json::{Map, Value, json};
use std::io::Write;
use std::path::PathBuf;

/// Exit code of a `predict` run in which at least one image failed (its error row is written).
pub const EXIT_IMAGE_ERRORS: u8 = 3;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated, with a header.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Options.
#[derive(Debug, Clone)]
pub struct PredictOptions {
    /// Images and folders.
    pub inputs: Vec<PathBuf>,
    /// Output format.
    pub format: Format,
    /// Refuse non-frontal DICOM views (error rows).
    pub frontal_only: bool,
    /// Keep identifiers out of the output.
    pub deidentify: bool,
    /// Images per batch.
    pub batch_size: usize,
}

/// What predict found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Images predicted.
    pub predicted: usize,
    /// Error rows.
    pub failed: usize,
}

fn view_name(v: Option<View>) -> &'static str {
    match v {
        Some(View::PA) => "PA",
        Some(View::AP) => "AP",
        Some(View::Lateral) => "lateral",
        Some(View::Other) => "other",
        Some(View::Unknown) | None => "unknown",
    }
}

/// The view a DICOM file states (`None` for PNG/JPEG or no tag).
fn stated_view(p: &std::path::Path) -> Result<Option<View>, String> {
    let is_dicom = p.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("dcm") || e.eq_ignore_ascii_case("dicom"));
    if !is_dicom {
        return Ok(None);
    }
    cxr_data::dicom::view_position(p).map_err(|e| e.to_string())
}

/// Run predict, writing rows to `out` as they are produced.
///
/// # Errors
/// Inputs that do not exist, ORT failures, or a failed write.
pub fn predict(m: &mut OpenModel, o: &PredictOptions, out: &mut impl Write) -> anyhow::Result<Summary> {
    let files = crate::infer::collect_images(&o.inputs)?;
    if files.is_empty() {
        anyhow::bail!("no PNG, JPEG or DICOM files in {}", o.inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    let card = m.card.clone();
    let thresholds: Vec<Option<f64>> = card.labels.iter().map(|f| card.operating_points.iter().find(|op| op.finding == *f).and_then(|op| op.threshold)).collect();
    let names: Vec<&str> = card.labels.iter().map(|f| f.name()).collect();
    let views: Vec<Result<Option<View>, String>> = files.iter().map(|p| stated_view(p)).collect();
    let mut header = vec!["index".to_string()];
    if !o.deidentify {
        header.push("path".into());
    }
    header.extend(["image_blake3", "status", "error", "view", "non_frontal", "model_sha256", "card_run_id", "card_schema_version"].map(String::from));
    header.extend(names.iter().map(|n| format!("p_{n}")));
    header.extend(names.iter().map(|n| format!("positive_{n}")));
    let mut csv_out = csv::WriterBuilder::new().from_writer(Vec::new());
    if o.format == Format::Csv {
        csv_out.write_record(&header)?;
    }
    let flush_csv = |w: &mut csv::Writer<Vec<u8>>, out: &mut dyn Write| -> anyhow::Result<()> {
        let buf = std::mem::replace(w, csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new())).into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        out.write_all(&buf)?;
        Ok(())
    };
    flush_csv(&mut csv_out, out)?;
    let mut summary = Summary { predicted: 0, failed: 0 };
    // Refused views never reach the model; they get their error row in input order.
    let refused: Vec<Option<String>> = views
        .iter()
        .map(|v| match v {
            Err(e) => Some(e.clone()),
            Ok(Some(x @ (View::Lateral | View::Other))) if o.frontal_only => Some(format!("non-frontal view ({}) refused by --frontal-only", view_name(Some(*x)))),
            _ => None,
        })
        .collect();
    let runnable: Vec<usize> = (0..files.len()).filter(|&i| refused[i].is_none()).collect();
    let inputs: Vec<Input> = runnable.iter().map(|&i| Input { path: files[i].clone(), bits_stored: None }).collect();
    let sha = m.verified.sha256.clone();
    let mut next = 0usize; // next file index to write
    let write_row = |i: usize, outcome: Option<&Outcome>, out: &mut dyn Write, summary: &mut Summary| -> anyhow::Result<()> {
        let view = views[i].as_ref().ok().copied().flatten();
        let non_frontal = match view {
            Some(View::Lateral | View::Other) => json!(true),
            Some(View::PA | View::AP) => json!(false),
            _ => Value::Null,
        };
        let (status, error, hash, probs) = match (outcome, &refused[i]) {
            (_, Some(e)) => ("error", e.clone(), String::new(), None),
            (Some(Outcome::Done { image_blake3, probabilities, .. }), None) => ("ok", String::new(), image_blake3.clone(), Some(probabilities.clone())),
            (Some(Outcome::Failed { error, .. }), None) => ("error", error.clone(), String::new(), None),
            (None, None) => ("error", "not run".to_string(), String::new(), None),
        };
        let error = if o.deidentify { error.replace(&files[i].display().to_string(), &format!("<image {i}>")) } else { error };
        if status == "ok" {
            summary.predicted += 1;
        } else {
            summary.failed += 1;
        }
        let calls: Vec<Value> = match &probs {
            Some(p) => p.iter().zip(&thresholds).map(|(v, t)| t.map_or(Value::Null, |t| json!(f64::from(*v) >= t))).collect(),
            None => vec![Value::Null; names.len()],
        };
        match o.format {
            Format::Jsonl => {
                let mut row = Map::new();
                row.insert("index".into(), json!(i));
                if !o.deidentify {
                    row.insert("path".into(), json!(files[i].display().to_string()));
                }
                row.insert("image_blake3".into(), json!(hash));
                row.insert("status".into(), json!(status));
                row.insert("error".into(), if error.is_empty() { Value::Null } else { json!(error) });
                row.insert("view".into(), json!(view_name(view)));
                row.insert("non_frontal".into(), non_frontal);
                row.insert("model_sha256".into(), json!(sha));
                row.insert("card_run_id".into(), json!(card.run_id));
                row.insert("card_schema_version".into(), json!(card.schema_version));
                let pm: Map<String, Value> = names.iter().enumerate().map(|(k, n)| ((*n).to_string(), probs.as_ref().map_or(Value::Null, |p| json!(p[k])))).collect();
                row.insert("probabilities".into(), Value::Object(pm));
                let cm: Map<String, Value> = names.iter().zip(&calls).map(|(n, c)| ((*n).to_string(), c.clone())).collect();
                row.insert("positive".into(), Value::Object(cm));
                writeln!(out, "{}", Value::Object(row))?;
            }
            Format::Csv => {
                let mut rec = vec![i.to_string()];
                if !o.deidentify {
                    rec.push(files[i].display().to_string());
                }
                rec.extend([
                    hash,
                    status.to_string(),
                    error,
                    view_name(view).to_string(),
                    non_frontal.as_bool().map_or(String::new(), |b| b.to_string()),
                    sha.clone(),
                    card.run_id.clone(),
                    card.schema_version.to_string(),
                ]);
                rec.extend((0..names.len()).map(|k| probs.as_ref().map_or(String::new(), |p| format!("{}", p[k]))));
                rec.extend(calls.iter().map(|c| c.as_bool().map_or(String::new(), |b| u8::from(b).to_string())));
                let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
                w.write_record(&rec)?;
                out.write_all(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
            }
        }
        Ok(())
    };
    let bar = progress(inputs.len(), "predict");
    run_stream(&mut m.session, &m.card, &inputs, 0, o.batch_size, &crate::caches::Caches::none(), &bar, |outcomes| {
        for oc in &outcomes {
            let file_index = runnable[oc.index()];
            while next < file_index {
                write_row(next, None, out, &mut summary)?; // refused rows before it
                next += 1;
            }
            write_row(file_index, Some(oc), out, &mut summary)?;
            next = file_index + 1;
        }
        out.flush()?;
        Ok(())
    })?;
    while next < files.len() {
        write_row(next, None, out, &mut summary)?;
        next += 1;
    }
    bar.finish_and_clear();
    out.flush()?;
    Ok(summary)
}
