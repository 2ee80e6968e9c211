//! Bad dataset input: a clear error naming file, row and field, or an explicit counted skip;
//! never silently dropped data (issue 3's list, case by case, through `cxr-data summary`).

use super::support::{run, s};
use cxr_data::phantom::{PhantomConfig, generate};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn phantom(dir: &Path) -> PathBuf {
    let cfg = PhantomConfig {
        size: 32,
        chexpert_train_patients: 4,
        chexpert_valid_patients: 2,
        nih_patients: 8,
        mimic_patients: 6,
        padchest_patients: 6,
        vindr_images: 6,
        brax_patients: 6,
        ..PhantomConfig::small(2)
    };
    generate(&dir.join("p"), &cfg).expect("phantom");
    dir.join("p")
}

fn summary(dataset: &str, root: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["summary", "--dataset", dataset, "--root", s(root)];
    args.extend(extra);
    run("cxr-data", &args)
}

fn json(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)))
}

fn err(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Replace line `n` (1-based, the header being line 1) of a text file.
fn edit_line(path: &Path, n: usize, f: impl Fn(&str) -> String) {
    let text = fs_err::read_to_string(path).expect("read");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[n - 1] = f(&lines[n - 1]);
    fs_err::write(path, lines.join("\n") + "\n").expect("write");
}

#[test]
fn malformed_rows_name_file_row_and_field_or_are_skipped_and_listed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = phantom(tmp.path()).join("nih");
    let clean = json(&summary("nih", &root, &[]));
    let index = root.join("Data_Entry_2017.csv");
    let original = fs_err::read(&index).expect("read");
    edit_line(&index, 3, |l| {
        let mut c: Vec<&str> = l.split(',').collect();
        c[3] = "p17";
        c.join(",")
    });
    let o = summary("nih", &root, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("Data_Entry_2017.csv: row 3, field \"Patient ID\": expected an integer, got \"p17\""), "{}", err(&o));
    let o = summary("nih", &root, &["--lenient"]);
    let v = json(&o);
    assert_eq!(v["images"].as_u64(), clean["images"].as_u64().map(|n| n - 1), "one row skipped");
    let skipped = v["skipped_rows"].as_array().expect("listed");
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].as_str().is_some_and(|e| e.contains("row 3")), "{skipped:?}");
    // A row the CSV parser cannot read (invalid UTF-8) is skipped the same way.
    let mut bytes = original;
    let pos = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(4).map(|(i, _)| i + 1).expect("line 6");
    bytes[pos] = 0xff;
    fs_err::write(&index, bytes).expect("write");
    let o = summary("nih", &root, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("Data_Entry_2017.csv: row 6"), "{}", err(&o));
    assert_eq!(json(&summary("nih", &root, &["--lenient"]))["skipped_rows"].as_array().map(Vec::len), Some(1));
}

#[test]
fn unknown_tokens_are_counted_and_reported() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = phantom(tmp.path());
    edit_line(&p.join("nih/Data_Entry_2017.csv"), 2, |l| {
        let mut c: Vec<String> = l.split(',').map(str::to_string).collect();
        c[1] = "Efusion|Cardiomegaly".into();
        c.join(",")
    });
    let v = json(&summary("nih", &p.join("nih"), &[]));
    assert_eq!(v["unknown_tokens"]["Efusion"], 1);
    let pad = p.join("padchest/PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv");
    let text = fs_err::read_to_string(&pad).expect("read");
    fs_err::write(&pad, text.replacen("['", "['pleural efusion', '", 1)).expect("write");
    let v = json(&summary("padchest", &p.join("padchest"), &[]));
    assert_eq!(v["unknown_tokens"]["pleural efusion"], 1, "{v}");
}

#[test]
fn duplicate_keys_are_errors_with_the_key_defined_per_dataset() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = phantom(tmp.path());
    // NIH: Image Index.
    let nih = p.join("nih/Data_Entry_2017.csv");
    let text = fs_err::read_to_string(&nih).expect("read");
    let second = text.lines().nth(1).expect("row").to_string();
    fs_err::write(&nih, format!("{text}{second}\n")).expect("write");
    let o = summary("nih", &p.join("nih"), &[]);
    assert!(err(&o).contains("duplicate Image Index") && err(&o).contains("first at row 2"), "{}", err(&o));
    // VinDr: three rows per image by design; the key is (image_id, rad_id).
    assert!(summary("vindr", &p.join("vindr"), &[]).status.success());
    let vindr = p.join("vindr/annotations/image_labels_train.csv");
    let text = fs_err::read_to_string(&vindr).expect("read");
    let second = text.lines().nth(1).expect("row").to_string();
    fs_err::write(&vindr, format!("{text}{second}\n")).expect("write");
    let o = summary("vindr", &p.join("vindr"), &[]);
    assert!(err(&o).contains("duplicate (image_id, rad_id)"), "{}", err(&o));
    // CheXpert: Path.
    let chex = p.join("chexpert/CheXpert-v1.0-small/valid.csv");
    let text = fs_err::read_to_string(&chex).expect("read");
    let second = text.lines().nth(1).expect("row").to_string();
    fs_err::write(&chex, format!("{text}{second}\n")).expect("write");
    let o = summary("chexpert", &p.join("chexpert/CheXpert-v1.0-small"), &[]);
    assert!(err(&o).contains("valid.csv") && err(&o).contains("duplicate Path"), "{}", err(&o));
}

/// A generic dataset of `n` PNGs taken from the NIH phantom site, with the given CSV body.
fn generic_site(p: &Path, csv: &str) -> PathBuf {
    let root = p.join("generic");
    fs_err::create_dir_all(root.join("img")).expect("mkdir");
    let mut pngs: Vec<PathBuf> = fs_err::read_dir(p.join("nih/images")).expect("dir").map(|e| e.expect("entry").path()).collect();
    pngs.sort();
    for (i, png) in pngs.iter().take(4).enumerate() {
        fs_err::copy(png, root.join(format!("img/{i}.png"))).expect("copy");
    }
    fs_err::write(root.join("labels.csv"), csv).expect("write");
    root
}

#[test]
fn generic_csv_columns_paths_and_empty_datasets() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = phantom(tmp.path());
    // A good file: any subset of the nine labels; absent ones uncovered.
    let root = generic_site(&p, "path,patient_id,view,sex,age,Cardiomegaly,Pleural Effusion\nimg/0.png,a,PA,M,61,1,0\nimg/1.png,a,AP,F,70,0,-1\nimg/2.png,b,LATERAL,,,,1\n");
    let v = json(&summary("generic", &root, &["--check-images"]));
    assert_eq!((v["images"].as_u64(), v["frontal_images"].as_u64(), v["patients"].as_u64()), (Some(3), Some(2), Some(2)));
    assert_eq!(v["covered"], serde_json::json!(["Cardiomegaly", "Pleural Effusion"]));
    assert_eq!(v["labels"]["all"]["Pleural Effusion"], serde_json::json!({"positive": 1, "negative": 1, "uncertain": 1, "missing": 0}));
    assert_eq!(v["image_check"]["failed"], 0);

    // A misspelled column: an error listing the valid names.
    fs_err::write(root.join("labels.csv"), "path,Pleural Efusion\nimg/0.png,1\n").expect("write");
    let o = summary("generic", &root, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("unknown column \"Pleural Efusion\"") && err(&o).contains("valid columns: path, patient_id") && err(&o).contains("Lung Lesion"), "{}", err(&o));

    // Paths escaping the root: refused unless allowed, and then recorded.
    fs_err::write(p.join("outside.png"), fs_err::read(root.join("img/0.png")).expect("png")).expect("write");
    for bad in ["../outside.png", s(&p.join("outside.png"))] {
        fs_err::write(root.join("labels.csv"), format!("path\n{bad}\nimg/1.png\n")).expect("write");
        let o = summary("generic", &root, &[]);
        assert_eq!(o.status.code(), Some(1));
        assert!(err(&o).contains("labels.csv: row 2, field \"path\"") && err(&o).contains("escapes the dataset root"), "{}", err(&o));
        let v = json(&summary("generic", &root, &["--allow-outside-root", "--check-images"]));
        assert_eq!((v["outside_root_allowed"].as_bool(), v["outside_root_paths"].as_u64(), v["images"].as_u64()), (Some(true), Some(1), Some(2)));
    }
    // A symlink pointing outside is caught when images are checked or located.
    std::os::unix::fs::symlink(p.join("outside.png"), root.join("img/link.png")).expect("symlink");
    fs_err::write(root.join("labels.csv"), "path\nimg/link.png\nimg/1.png\n").expect("write");
    let o = summary("generic", &root, &["--check-images"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert!(v["image_check"]["failures"][0]["error"].as_str().is_some_and(|e| e.contains("outside the dataset root")), "{v}");
    let opts = cxr_data::ReadOptions { locate_images: true, ..cxr_data::ReadOptions::default() };
    let e = cxr_data::open_dataset(cxr_core::SourceId::Generic, &root, cxr_data::DatasetSplit::All, &opts).expect_err("refused");
    assert!(e.to_string().contains("link.png") && e.to_string().contains("outside the dataset root"), "{e}");
    let allowed = cxr_data::ReadOptions { allow_outside_root: true, ..opts };
    let ds = cxr_data::open_dataset(cxr_core::SourceId::Generic, &root, cxr_data::DatasetSplit::All, &allowed).expect("allowed");
    assert_eq!(ds.report.outside_root_paths, 1);

    // An empty dataset is an error, not an empty evaluation.
    fs_err::write(root.join("labels.csv"), "path,Cardiomegaly\n").expect("write");
    let o = summary("generic", &root, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("labels.csv: no images (empty dataset)"), "{}", err(&o));
}

#[test]
fn missing_truncated_and_corrupt_images_are_listed_by_name() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = phantom(tmp.path());
    let first = |dir: &Path, ext: &str| -> PathBuf {
        let mut stack = vec![dir.to_path_buf()];
        let mut found = Vec::new();
        while let Some(d) = stack.pop() {
            for e in fs_err::read_dir(&d).expect("dir") {
                let path = e.expect("entry").path();
                if path.is_dir() { stack.push(path) } else if path.extension().is_some_and(|x| x == ext) { found.push(path) }
            }
        }
        found.sort();
        found.remove(0)
    };
    // PNG missing (NIH), JPEG truncated (MIMIC), DICOM corrupt and truncated (VinDr), 16-bit PNG
    // truncated (PadChest).
    fs_err::remove_file(first(&p.join("nih/images"), "png")).expect("rm");
    let jpg = first(&p.join("mimic/files"), "jpg");
    let bytes = fs_err::read(&jpg).expect("jpg");
    fs_err::write(&jpg, &bytes[..bytes.len() / 3]).expect("truncate");
    let dcm = first(&p.join("vindr/train"), "dicom");
    let mut bytes = fs_err::read(&dcm).expect("dcm");
    for b in &mut bytes[132..400] {
        *b = 0xAB;
    }
    fs_err::write(&dcm, &bytes).expect("corrupt");
    let png16 = first(&p.join("padchest"), "png");
    let bytes = fs_err::read(&png16).expect("png");
    fs_err::write(&png16, &bytes[..bytes.len() / 2]).expect("truncate");
    for (dataset, root, victim) in [("nih", p.join("nih"), None), ("mimic", p.join("mimic"), Some(jpg)), ("vindr", p.join("vindr"), Some(dcm)), ("padchest", p.join("padchest"), Some(png16))] {
        let o = summary(dataset, &root, &["--check-images"]);
        assert_eq!(o.status.code(), Some(1), "{dataset}");
        let v = json(&o);
        let failures = v["image_check"]["failures"].as_array().expect("failures");
        assert_eq!(failures.len(), 1, "{dataset}: {failures:?}");
        if let Some(f) = victim {
            assert!(failures[0]["error"].as_str().is_some_and(|e| e.contains(s(&f))), "{dataset}: the message names the file: {failures:?}");
        }
        assert!(err(&o).contains("1 of"), "{}", err(&o));
        // Without --check-images the summary works from the label files alone.
        assert!(summary(dataset, &root, &[]).status.success());
    }
}

/// `.testdata/dicom` (scripts/setup.sh --with-dicom-samples), required when
/// `CXR_REQUIRE_DICOM_SAMPLES=1` (CI).
fn dicom_samples() -> Option<PathBuf> {
    let dir = super::support::workspace().join(".testdata/dicom");
    if dir.join("rtdose.dcm").is_file() {
        return Some(dir);
    }
    assert!(std::env::var("CXR_REQUIRE_DICOM_SAMPLES").as_deref() != Ok("1"), "CXR_REQUIRE_DICOM_SAMPLES=1 but {} is missing: run scripts/setup.sh --with-dicom-samples", dir.display());
    eprintln!("SKIP: no DICOM samples in {} (scripts/setup.sh --with-dicom-samples)", dir.display());
    None
}

#[test]
fn public_dicom_samples_decode_or_are_refused_by_name() {
    let Some(dir) = dicom_samples() else { return };
    // JPEG 2000 (pure-Rust decoder): the lossless file decodes to exactly the uncompressed one.
    let plain = cxr_data::load_gray(&dir.join("MR_small.dcm")).expect("uncompressed");
    let j2k = cxr_data::load_gray(&dir.join("MR_small_jp2klossless.dcm")).expect("JPEG 2000");
    assert_eq!((plain.width, plain.height), (64, 64));
    assert_eq!(plain.pixels, j2k.pixels, "lossless JPEG 2000 must decode to the uncompressed pixels");
    let (lo, hi) = plain.pixels.iter().fold((1.0f32, 0.0f32), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(lo < hi && (0.0..=1.0).contains(&lo) && hi <= 1.0, "a real image in [0, 1]: {lo}..{hi}");
    // 12-bit JPEG Extended: detected and reported, never mis-decoded.
    let e = cxr_data::load_gray(&dir.join("JPGExtended.dcm")).expect_err("12-bit JPEG Extended").to_string();
    assert!(e.contains("JPGExtended.dcm") && e.contains("1.2.840.10008.1.2.4.51"), "{e}");
    // Multi-frame.
    let e = cxr_data::load_gray(&dir.join("rtdose.dcm")).expect_err("multi-frame").to_string();
    assert!(e.contains("rtdose.dcm") && e.contains("multi-frame"), "{e}");
}
