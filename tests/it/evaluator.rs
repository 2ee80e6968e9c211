//! The evaluator as a user and an auditor meet it, through the real binary: predictions sealed
//! before any label is read, resume after an interruption, `verify` catching every kind of
//! tampering, deployment `predict`, execution-provider fall-back, per-dataset label policies,
//! subgroups, tables, `bench`, and the bad models it must refuse.

use super::support::{ok, run, s, tiny_model, write_model};
use cxr_onnx::{Message, ModelProto};
use serde_json::Value;
use std::path::{Path, PathBuf};

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    data: PathBuf,
    model: PathBuf,
    bytes: Vec<u8>,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().to_path_buf();
    let data = dir.join("phantom");
    ok(&run("cxr-data", &["phantom", s(&data), "--size", "32", "--train-patients", "12", "--valid-patients", "6", "--nih-patients", "6"]), "phantom");
    let (model, bytes) = tiny_model(&dir.join("model"));
    Fixture { _tmp: tmp, dir, data, model, bytes }
}

impl Fixture {
    fn chexpert(&self) -> PathBuf {
        self.data.join("chexpert/CheXpert-v1.0-small")
    }

    fn run_args(&self, model: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
        let mut a: Vec<String> = ["run", "--model", s(model), "--internal"].map(String::from).to_vec();
        a.push(format!("chexpert={}", s(&self.chexpert())));
        a.extend(["--external".into(), format!("nih={}", s(&self.data.join("nih")))]);
        a.extend(["--out".into(), s(out).into(), "--batch-size".into(), "4".into()]);
        a.extend(extra.iter().map(|x| (*x).to_string()));
        a
    }

    fn eval(&self, out: &Path, extra: &[&str]) -> std::process::Output {
        let args = self.run_args(&self.model, out, extra);
        run("cxr-eval", &args.iter().map(String::as_str).collect::<Vec<_>>())
    }
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(p: &Path) -> Value {
    serde_json::from_str(&fs_err::read_to_string(p).expect("read")).expect("json")
}

/// Replace field `col` of data row `row` (1-based) of a simple CSV file.
fn set_cell(path: &Path, row: usize, col: &str, value: &str) -> String {
    let text = fs_err::read_to_string(path).expect("read");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let c = lines[0].split(',').position(|h| h == col).expect("column");
    let mut cells: Vec<String> = lines[row].split(',').map(String::from).collect();
    let old = std::mem::replace(&mut cells[c], value.to_string());
    lines[row] = cells.join(",");
    fs_err::write(path, lines.join("\n") + "\n").expect("write");
    old
}

#[test]
fn predictions_are_sealed_before_labels_are_read_and_an_interrupted_run_resumes() {
    let fx = fixture();
    let out = fx.dir.join("eval");
    // A bad label cell: the manifest read does not see it, so every dataset is predicted and
    // sealed first; the label read then fails, naming the file, row and field.
    let valid = fx.chexpert().join("valid.csv");
    let old = set_cell(&valid, 1, "Cardiomegaly", "maybe");
    let o = fx.eval(&out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("valid.csv") && stderr(&o).contains("Cardiomegaly") && stderr(&o).contains("maybe"), "{}", stderr(&o));
    for ds in ["chexpert-valid", "nih-all"] {
        assert!(out.join(format!("predictions/{ds}.seal.json")).is_file(), "{ds} sealed before the labels were read:\n{}", stderr(&o));
    }
    assert!(!out.join("results.json").exists());
    set_cell(&valid, 1, "Cardiomegaly", &old);
    let o = fx.eval(&out, &[]);
    ok(&o, "rerun");
    assert!(stderr(&o).contains("already sealed"), "{}", stderr(&o));
    let sealed = fs_err::read(out.join("results.json")).expect("results");
    let doc = json(&out.join("results.json"));
    assert_eq!(doc["schema_version"], 3);
    let nih = &doc["datasets"][1];
    assert_eq!(nih["audit"]["predictions_file"], "predictions/nih-all.csv");
    assert!(nih["audit"]["index_and_label_files"][0]["blake3"].as_str().is_some_and(|h| h.len() == 64));
    let prov = json(&out.join("provenance.json"));
    let events: Vec<&str> = prov["events"].as_array().expect("events").iter().map(|e| e["event"].as_str().expect("event")).collect();
    let first_label = events.iter().position(|e| e.starts_with("read labels")).expect("label event");
    let last_seal = events.iter().rposition(|e| e.starts_with("sealed")).expect("seal event");
    assert!(last_seal < first_label, "{events:?}");

    // Simulate a kill in the middle of NIH: a partial file of two rows and a torn third.
    let pred = out.join("predictions");
    let seal = json(&pred.join("nih-all.seal.json"));
    let text = fs_err::read_to_string(pred.join("nih-all.csv")).expect("csv");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + nih["images"].as_u64().expect("images") as usize, "one row per image");
    let torn = format!("{}\n{}\n{}\n{}", lines[0], lines[1], lines[2], &lines[3][..20]);
    fs_err::write(pred.join("nih-all.partial.csv"), torn).expect("partial");
    fs_err::write(pred.join("nih-all.partial.json"), serde_json::to_string(&seal["binding"]).expect("binding")).expect("binding");
    fs_err::remove_file(pred.join("nih-all.csv")).expect("rm");
    fs_err::remove_file(pred.join("nih-all.seal.json")).expect("rm");
    fs_err::remove_file(out.join("results.json")).expect("rm");
    let o = fx.eval(&out, &[]);
    ok(&o, "resumed run");
    assert!(stderr(&o).contains("nih/all: resuming after 2 of"), "{}", stderr(&o));
    assert_eq!(fs_err::read(out.join("results.json")).expect("results"), sealed, "a resumed run gives the same bytes");

    // Another model into the same folder: refused, never mixed.
    let mut proto = ModelProto::parse_from_bytes(&fx.bytes).expect("proto");
    proto.doc_string = "another model".into();
    let other = write_model(&fx.dir.join("other"), "model.onnx", &proto.write_to_bytes().expect("bytes"));
    let args = fx.run_args(&other, &out, &[]);
    let o = run("cxr-eval", &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("use another --out"), "{}", stderr(&o));
}

#[test]
fn verify_recomputes_everything_and_catches_tampering() {
    let fx = fixture();
    let out = fx.dir.join("eval");
    ok(&fx.eval(&out, &[]), "run");
    let v = run("cxr-eval", &["verify", s(&out), "--reinfer", "5"]);
    let report = ok(&v, "verify");
    let checks: Value = serde_json::from_str(&report).expect("json");
    let names: Vec<&str> = checks.as_array().expect("checks").iter().map(|c| c["check"].as_str().expect("name")).collect();
    for want in ["SHA-256", "image file hashes", "metrics recomputed", "generalization gaps", "tables/labels.csv", "reinfer 5 random images"] {
        assert!(names.iter().any(|n| n.contains(want)), "no {want} check in {names:?}");
    }
    let fails = |o: &std::process::Output, what: &str| {
        assert_eq!(o.status.code(), Some(7), "{}", stderr(o));
        assert!(stderr(o).contains("FAIL") && stderr(o).contains(what), "expected a failed {what} check:\n{}", stderr(o));
    };
    // One digit of a sealed prediction.
    let csv = out.join("predictions/nih-all.csv");
    let orig = fs_err::read_to_string(&csv).expect("csv");
    let line = orig.lines().nth(1).expect("row").to_string();
    let changed = line.replacen(",0.", ",1.", 1);
    fs_err::write(&csv, orig.replacen(&line, &changed, 1)).expect("write");
    fails(&run("cxr-eval", &["verify", s(&out)]), "modified");
    fs_err::write(&csv, &orig).expect("restore");
    // An image file replaced after the run.
    let images: Vec<PathBuf> = fs_err::read_dir(fx.data.join("nih/images")).expect("dir").map(|e| e.expect("e").path()).collect();
    let (a, b) = (&images[0], &images[1]);
    let keep = fs_err::read(a).expect("img");
    fs_err::copy(b, a).expect("swap");
    fails(&run("cxr-eval", &["verify", s(&out)]), "image file hashes");
    fs_err::write(a, &keep).expect("restore");
    // A label changed after the run: the sealed manifest still matches, the metrics do not.
    let index = fx.data.join("nih/Data_Entry_2017.csv");
    let labels = fs_err::read_to_string(&index).expect("index");
    let first = set_cell(&index, 1, "Finding Labels", "Cardiomegaly|Pneumothorax");
    assert_ne!(first, "Cardiomegaly|Pneumothorax");
    fails(&run("cxr-eval", &["verify", s(&out)]), "metrics recomputed");
    fs_err::write(&index, labels).expect("restore");
    // A number edited in results.json.
    let results = out.join("results.json");
    let text = fs_err::read_to_string(&results).expect("results");
    let n = json(&results)["datasets"][0]["images"].as_u64().expect("images");
    fs_err::write(&results, text.replacen(&format!("\"images\": {n}"), &format!("\"images\": {}", n + 1), 1)).expect("write");
    fails(&run("cxr-eval", &["verify", s(&out)]), "metrics recomputed");
    fs_err::write(&results, text).expect("restore");
    ok(&run("cxr-eval", &["verify", s(&out)]), "verify after restoring");
}

#[test]
fn predict_writes_a_row_for_every_image_flags_views_and_deidentifies() {
    let fx = fixture();
    let imgs = fx.dir.join("inbox");
    let sub = imgs.join("ward SECRET-WARD");
    fs_err::create_dir_all(&sub).expect("mkdir");
    let nih: Vec<PathBuf> = fs_err::read_dir(fx.data.join("nih/images")).expect("dir").map(|e| e.expect("e").path()).collect();
    fs_err::copy(&nih[0], imgs.join("a.png")).expect("copy");
    fs_err::copy(&nih[1], sub.join("b.png")).expect("copy");
    let samples: Vec<u16> = (0..32 * 32).map(|i| (i % 4096) as u16).collect();
    for (name, view) in [("lat.dcm", "LL"), ("pa.dcm", "PA")] {
        cxr_data::dicom::write(&sub.join(name), &cxr_data::dicom::DicomSpec { samples: &samples, width: 32, height: 32, bits_stored: 12, monochrome1: false, window: None, patient_id: "PATIENT-4242", sop_uid: "1.2.3.4", view_position: view }).expect("dicom");
    }
    fs_err::write(imgs.join("broken.png"), b"not a png").expect("write");
    fs_err::write(imgs.join("notes.txt"), b"ignored: not an image name").expect("write");
    let sha = cxr_runtime::sha256_hex(&fx.bytes);

    let o = run("cxr-eval", &["predict", "--model", s(&fx.model), s(&imgs)]);
    assert_eq!(o.status.code(), Some(3), "an error row means exit 3: {}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 1 + 5, "a header and one row per image, the broken one included:\n{out}");
    assert!(rows[0].starts_with("index,path,image_blake3,status,error,view,non_frontal,model_sha256,card_run_id,card_schema_version,p_No Finding"), "{}", rows[0]);
    assert!(rows[0].contains("positive_Cardiomegaly"));
    let broken = rows.iter().find(|r| r.contains("broken.png")).expect("broken row");
    assert!(broken.contains(",error,") && broken.contains("cannot"), "{broken}");
    let lat = rows.iter().find(|r| r.contains("lat.dcm")).expect("lateral row");
    assert!(lat.contains(",ok,") && lat.contains(",lateral,true,"), "{lat}");
    assert!(rows.iter().find(|r| r.contains("pa.dcm")).expect("pa").contains(",PA,false,"));
    assert!(rows[1..].iter().all(|r| r.contains(&sha)), "every row carries the model's SHA-256");
    assert!(stderr(&o).contains("4 images predicted, 1 error rows"), "{}", stderr(&o));

    let o = run("cxr-eval", &["predict", "--model", s(&fx.model), "--frontal-only", s(&sub)]);
    assert_eq!(o.status.code(), Some(3));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.lines().any(|r| r.contains("lat.dcm") && r.contains("refused by --frontal-only")), "{out}");

    let o = run("cxr-eval", &["predict", "--model", s(&fx.model), "--deidentify", "--format", "jsonl", s(&imgs)]);
    assert_eq!(o.status.code(), Some(3));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    for secret in ["SECRET", "PATIENT-4242", s(&imgs), "broken.png", "lat.dcm"] {
        assert!(!out.contains(secret), "{secret:?} leaked into the de-identified output:\n{out}");
    }
    let rows: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.get("path").is_none() && r["model_sha256"] == sha.as_str()));
    let err = rows.iter().find(|r| r["status"] == "error").expect("error row");
    assert!(err["error"].as_str().is_some_and(|e| e.contains("<image ")), "{err}");
    let okrow = rows.iter().find(|r| r["status"] == "ok").expect("ok row");
    let p = okrow["probabilities"]["Cardiomegaly"].as_f64().expect("p");
    assert_eq!(okrow["positive"]["Cardiomegaly"], Value::Bool(p >= 0.5), "the call at the card's threshold 0.5");
}

#[test]
fn providers_policies_subgroups_tables_and_bench() {
    let fx = fixture();
    let out = fx.dir.join("eval");
    ok(&fx.eval(&out, &["--ep", "cuda", "--ep-fallback", "--policy", "chexpert:blank=ignore"]), "run with fall-back");
    let doc = json(&out.join("results.json"));
    let ep = &doc["execution_provider"];
    assert_eq!((ep["requested"].as_str(), ep["ran"].as_str()), (Some("cuda"), Some("cpu")), "{ep}");
    assert!(ep["fell_back"].as_str().is_some_and(|w| w.contains("libonnxruntime_providers_cuda.so")), "{ep}");
    let (chex, nih) = (&doc["datasets"][0], &doc["datasets"][1]);
    assert_eq!(chex["label_policy"]["origin"], "this_dataset");
    assert_eq!(chex["label_policy"]["blank"], "ignore");
    assert_eq!(nih["label_policy"]["origin"], "default");
    for field in ["sex", "age_band", "view"] {
        assert!(chex["subgroups"][field].is_object(), "{field} subgroups: {}", chex["subgroups"]);
    }
    assert_eq!(chex["subgroup_fields_absent"], serde_json::json!(["manufacturer"]));
    let tables = fs_err::read_to_string(out.join("tables/labels.csv")).expect("labels.csv");
    assert_eq!(tables.lines().count(), 1 + 2 * 9, "one row per dataset and label");
    assert!(fs_err::read_to_string(out.join("tables/gaps.csv")).expect("gaps").lines().any(|l| l.contains(",nih/all,macro,")));
    assert!(fs_err::read_to_string(out.join("tables/subgroups.csv")).expect("subgroups").contains(",chexpert,sex,"));

    // Across models: one row per run.
    let out2 = fx.dir.join("eval2");
    ok(&fx.eval(&out2, &[]), "second run");
    let across = fx.dir.join("across");
    let o = ok(&run("cxr-eval", &["tables", s(&out), s(&out2), "--out", s(&across)]), "tables");
    assert_eq!(o.lines().next(), Some("run_id,arch,chexpert,nih"));
    assert_eq!(fs_err::read_to_string(across.join("models_macro_gap.csv")).expect("gap").lines().count(), 3);

    // Without --ep-fallback an unavailable provider is exit 6, for parity too.
    let o = run("cxr-eval", &["parity", "--model", s(&fx.model), "--ep", "tensorrt"]);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(stderr(&o).contains("libonnxruntime_providers_tensorrt.so"), "{}", stderr(&o));

    let o = ok(&run("cxr-eval", &["bench", "--model", s(&fx.model), "--batch", "1,2", "--seconds", "0.1", "--dataset", &format!("nih={}", s(&fx.data.join("nih")))]), "bench");
    let b: Value = serde_json::from_str(&o).expect("json");
    let points = b["points"].as_array().expect("points");
    assert_eq!(points.len(), 4, "inference and end to end at two batch sizes: {b}");
    assert!(points[0]["latency_ms"]["p99"].as_f64().is_some_and(|p| p >= points[0]["latency_ms"]["p50"].as_f64().unwrap_or(f64::MAX)));
    assert!(points[3]["mode"] == "end_to_end" && points[3]["images_per_second"].as_f64().is_some_and(|v| v > 0.0));
    assert!(b["peak_host_memory_bytes"].as_u64().is_some_and(|m| m > 1 << 20));
}

/// The tiny model with its card edited by `f`, written under `name`.
fn recarded(fx: &Fixture, name: &str, f: impl FnOnce(&mut Value), weights_nan: bool) -> PathBuf {
    let mut proto = ModelProto::parse_from_bytes(&fx.bytes).expect("proto");
    let entry = proto.metadata_props.iter_mut().find(|p| p.key == cxr_core::CARD_METADATA_KEY).expect("card");
    let mut card: Value = serde_json::from_str(&entry.value).expect("card json");
    f(&mut card);
    entry.value = card.to_string();
    if weights_nan {
        if let Some(g) = proto.graph.as_mut() {
            for t in &mut g.initializer {
                if t.data_type == 1 && !t.raw_data.is_empty() {
                    t.raw_data = t.raw_data.chunks(4).flat_map(|_| f32::NAN.to_le_bytes()).collect::<Vec<u8>>().into();
                }
            }
        }
    }
    write_model(&fx.dir.join(name), "model.onnx", &proto.write_to_bytes().expect("bytes"))
}

#[test]
fn bad_models_and_empty_datasets_are_clear_errors() {
    let fx = fixture();
    // A card whose input size the graph does not take.
    let m = recarded(&fx, "big", |c| c["preprocess"]["size"] = 64.into(), false);
    let o = run("cxr-eval", &["check", "--model", s(&m)]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("height 32 but the card's preprocessing gives 64"), "{}", stderr(&o));
    let m = recarded(&fx, "rgb", |c| c["preprocess"]["channels"] = 3.into(), false);
    let o = run("cxr-eval", &["check", "--model", s(&m)]);
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("channel count 1 but the card's preprocessing gives 3"), "{}", stderr(&o));
    // A card promising an output the graph lacks.
    let m = recarded(&fx, "noout", |c| c["outputs"]["embedding"] = "pooled".into(), false);
    let o = run("cxr-eval", &["check", "--model", s(&m)]);
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("no output \"pooled\""), "{}", stderr(&o));
    // Not an ONNX model at all.
    let junk = write_model(&fx.dir.join("junk"), "model.onnx", b"this is not protobuf");
    let o = run("cxr-eval", &["check", "--model", s(&junk)]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("error:"), "{}", stderr(&o));
    // NaN outputs: an error naming the images, never an AUROC, and nothing sealed.
    let nan = recarded(&fx, "nan", |_| {}, true);
    let out = fx.dir.join("eval-nan");
    let args = fx.run_args(&nan, &out, &[]);
    let o = run("cxr-eval", &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("NaN or Inf") && stderr(&o).contains("CheXpert-v1.0-small/valid/patient"), "{}", stderr(&o));
    assert!(!out.join("results.json").exists() && !out.join("predictions/chexpert-valid.seal.json").exists());
    // A dataset whose every image is excluded (lateral only).
    let site = fx.dir.join("generic");
    fs_err::create_dir_all(&site).expect("mkdir");
    fs_err::copy(fx.data.join("nih/images/00000001_000.png"), site.join("x.png")).expect("copy");
    fs_err::write(site.join("labels.csv"), "path,view,Cardiomegaly\nx.png,LL,1\n").expect("csv");
    let o = run("cxr-eval", &["run", "--model", s(&fx.model), "--external", &format!("generic={}", s(&site)), "--out", s(&fx.dir.join("eval-empty"))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no images to evaluate") && stderr(&o).contains("not frontal"), "{}", stderr(&o));
    // A label with no positives is "undefined", never 0; a label the dataset lacks too.
    let out = fx.dir.join("eval-gen");
    fs_err::write(site.join("labels.csv"), "path,view,Cardiomegaly\nx.png,PA,0\n").expect("csv");
    ok(&run("cxr-eval", &["run", "--model", s(&fx.model), "--external", &format!("generic={}", s(&site)), "--out", s(&out)]), "one-image run");
    let doc = json(&out.join("results.json"));
    let labels = doc["datasets"][0]["labels"].as_array().expect("labels");
    assert!(labels.iter().all(|l| l["auroc"] == "undefined"), "{labels:?}");
    assert_eq!(labels.iter().filter(|l| l["covered"] == true).count(), 1);
    assert_eq!(doc["datasets"][0]["macro_auroc"], "undefined");
}

/// `cxr-eval info` prints the card with the exporter's parameter and MAC counts.
#[test]
fn info_prints_the_card_with_its_cost() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (model, _) = tiny_model(tmp.path());
    let o = run("cxr-eval", &["info", s(&model)]);
    ok(&o, "info");
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    let eff = &v["card"]["efficiency"];
    assert_eq!(eff["params"], 11_174_857 - 512 * 9 - 9 + 512 * 9 + 9, "resnet18, 1 channel, 9 labels");
    assert_eq!(eff["input"], serde_json::json!([1, 32, 32]));
    // resnet18 at 224 is 1.814 GMACs (1.8 with a 1-channel stem); at 32 px it scales by (32/224)²
    // up to the stride rounding of the 1×1 final map.
    let macs = eff["macs"].as_f64().expect("macs");
    assert!(macs > 1.7e9 * (32.0f64 / 224.0).powi(2) && macs < 1.9e9 * (32.0f64 / 224.0).powi(2) * 1.5, "{macs}");
    assert!(stderr(&o).contains("resnet18") && stderr(&o).contains("GMACs at 1×32×32"), "{}", stderr(&o));
}
