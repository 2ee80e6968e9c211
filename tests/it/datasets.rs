//! Every phantom site round-trips through its reader: the phantom writer records the harmonized
//! labels it means (`phantom_expected_labels.csv`), the reader parses the dataset's own format
//! independently, and the two must agree on every image; every image must decode.

use cxr_core::{Label, SHARED9, SourceId};
use cxr_data::phantom::{PhantomConfig, generate};
use cxr_data::{DatasetSplit, ReadOptions, load_gray_hinted, open_dataset};
use std::collections::HashMap;
use std::path::Path;

fn expected(root: &Path) -> HashMap<String, [Label; 9]> {
    let text = fs_err::read_to_string(root.join("phantom_expected_labels.csv")).expect("expected labels");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!(header[1..], SHARED9.map(|f| f.name()), "expected-labels columns");
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            let labels = std::array::from_fn(|i| match cells[i + 1] {
                "P" => Label::Positive,
                "N" => Label::Negative,
                "U" => Label::Uncertain,
                "M" => Label::Missing,
                other => panic!("bad state {other}"),
            });
            (cells[0].to_string(), labels)
        })
        .collect()
}

fn config() -> PhantomConfig {
    PhantomConfig {
        size: 40,
        chexpert_train_patients: 20,
        chexpert_valid_patients: 8,
        nih_patients: 25,
        mimic_patients: 30,
        padchest_patients: 40,
        vindr_images: 30,
        brax_patients: 30,
        ..PhantomConfig::small(11)
    }
}

#[test]
fn every_phantom_site_round_trips_through_its_reader() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("p");
    let sum = generate(&out, &config()).expect("phantom");
    let mut sites = vec![(SourceId::Chexpert, sum.chexpert_root.clone())];
    for s in &sum.external {
        sites.push((SourceId::parse(&s.dataset).expect("source"), s.root.clone()));
    }
    assert_eq!(sites.len(), 6, "a training site and five external sites");
    let opts = ReadOptions { locate_images: true, ..ReadOptions::default() };
    for (src, root) in &sites {
        let ds = open_dataset(*src, root, DatasetSplit::All, &opts).unwrap_or_else(|e| panic!("{src}: {e}"));
        let want = expected(root);
        assert!(ds.excluded.is_empty(), "{src}: every image is found: {:?}", ds.excluded.first());
        assert!(ds.report.skipped_rows.is_empty() && ds.report.unknown_tokens.is_empty(), "{src}: {:?}", ds.report);
        assert_eq!(ds.len(), want.len(), "{src}: one record per written image");
        for (r, l) in ds.records.iter().zip(&ds.labels.rows) {
            assert_eq!(Some(l), want.get(&r.id), "{src}: labels of {}", r.id);
            let img = load_gray_hinted(&r.path, r.bits_stored).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert!(img.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
        }
        assert!(ds.records.iter().any(|r| r.frontal), "{src}");
        let positives: usize = SHARED9.iter().map(|&f| ds.labels.counts(f)[0]).sum();
        assert!(positives > 0, "{src}: some positive labels");
        eprintln!("{src}: {} images round-trip; counters {:?}", ds.len(), ds.report.counters);
    }
}

#[test]
fn formats_carry_the_traps_of_the_real_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sum = generate(&tmp.path().join("p"), &config()).expect("phantom");
    let root = |name: &str| sum.external.iter().find(|s| s.dataset == name).expect("site").root.clone();
    let opts = ReadOptions { locate_images: true, ..ReadOptions::default() };

    // MIMIC: gzip CSVs, unknown views counted and excluded from frontal, official split.
    let mimic = open_dataset(SourceId::Mimic, &root("mimic"), DatasetSplit::All, &opts).expect("mimic");
    assert!(mimic.index_files.iter().all(|p| p.extension().is_some_and(|e| e == "gz")));
    assert!(mimic.records.iter().any(|r| r.view == cxr_data::View::Lateral));
    assert!(mimic.records.iter().all(|r| r.official_split.is_some() && r.study_id.is_some()));
    let frontal_only = open_dataset(SourceId::Mimic, &root("mimic"), DatasetSplit::All, &ReadOptions { frontal_only: true, ..opts.clone() }).expect("mimic");
    assert!(frontal_only.records.iter().all(|r| r.frontal));
    assert_eq!(frontal_only.len() + frontal_only.excluded.len(), mimic.len());

    // PadChest: 16-bit PNGs scaled by BitsStored (12 or 10), all-missing rows counted.
    let pad = open_dataset(SourceId::Padchest, &root("padchest"), DatasetSplit::All, &opts).expect("padchest");
    assert!(pad.records.iter().all(|r| matches!(r.bits_stored, Some(10 | 12))));
    assert!(pad.records.iter().all(|r| r.patient_id.len() >= 35), "PadChest patient ids are long digit strings");
    for r in pad.records.iter().take(5) {
        let img = load_gray_hinted(&r.path, r.bits_stored).expect("png");
        assert_eq!(img.bit_depth, 16);
        let max = img.pixels.iter().copied().fold(0.0f32, f32::max);
        assert!(max > 0.5, "a {}-bit PNG scaled by its bits stored spans the range (max {max})", r.bits_stored.unwrap_or(0));
    }

    // VinDr: MONOCHROME1 DICOMs come out with a dark collimation border (inverted correctly).
    let vindr = open_dataset(SourceId::Vindr, &root("vindr"), DatasetSplit::All, &opts).expect("vindr");
    assert!(vindr.records.iter().any(|r| r.official_split.as_deref() == Some("test")));
    for r in vindr.records.iter().take(5) {
        let img = load_gray_hinted(&r.path, None).expect("dicom");
        assert!(img.pixels[0] < 0.15, "corner pixel {} of a MONOCHROME1 image must be dark after inversion", img.pixels[0]);
    }

    // BRAX: the DICOM and the PNG of each image decode to the same picture.
    let png = open_dataset(SourceId::Brax, &root("brax"), DatasetSplit::All, &opts).expect("brax png");
    let dcm = open_dataset(SourceId::Brax, &root("brax"), DatasetSplit::All, &ReadOptions { brax_dicom: true, ..opts.clone() }).expect("brax dicom");
    assert_eq!(png.labels, dcm.labels);
    for (a, b) in png.records.iter().zip(&dcm.records).take(5) {
        assert!(b.path.extension().is_some_and(|e| e == "dcm"));
        let (x, y) = (load_gray_hinted(&a.path, None).expect("png"), load_gray_hinted(&b.path, None).expect("dcm"));
        assert_eq!((x.width, x.height), (y.width, y.height));
        let worst = x.pixels.iter().zip(&y.pixels).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
        assert!(worst <= 1.0 / 255.0, "8-bit PNG and 12-bit DICOM of one image differ by {worst}");
    }

    // NIH: the official lists are patient-disjoint and cover every image.
    let nih = open_dataset(SourceId::Nih, &sum.nih_root, DatasetSplit::All, &opts).expect("nih");
    let mut split_of: HashMap<&str, &str> = HashMap::new();
    for r in &nih.records {
        let s = r.official_split.as_deref().expect("every image listed");
        assert_eq!(*split_of.entry(r.patient_id.as_str()).or_insert(s), s, "patient {} in two splits", r.patient_id);
    }
}

#[test]
fn label_mapping_document_is_generated_from_the_code() {
    let doc = super::support::workspace().join("docs/label-mapping.md");
    let text = fs_err::read_to_string(&doc).expect("docs/label-mapping.md (regenerate: cxr-data mapping-doc > docs/label-mapping.md)");
    assert_eq!(text, cxr_data::sources::mapping_markdown(), "docs/label-mapping.md is stale: run `cxr-data mapping-doc > docs/label-mapping.md`");
}

/// Move every file under `from` into `to` (one level, creating it).
fn move_files(from: &Path, to: &Path) {
    fs_err::create_dir_all(to).expect("mkdir");
    for e in fs_err::read_dir(from).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_file() {
            fs_err::rename(&p, to.join(p.file_name().expect("name"))).expect("move");
        }
    }
}

#[test]
fn alternative_layouts_of_the_same_data_are_read_the_same() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sum = generate(&tmp.path().join("p"), &PhantomConfig { mimic_patients: 5, padchest_patients: 8, vindr_images: 4, brax_patients: 4, ..config() }).expect("phantom");
    let opts = ReadOptions { locate_images: true, ..ReadOptions::default() };
    let root = |name: &str| sum.external.iter().find(|s| s.dataset == name).expect("site").root.clone();
    let read = |src: SourceId, root: &Path, opts: &ReadOptions| open_dataset(src, root, DatasetSplit::All, opts).unwrap_or_else(|e| panic!("{src}: {e}"));

    // NIH: the Kaggle mirror's images_NNN/images/ folders instead of images/.
    let before = read(SourceId::Nih, &sum.nih_root, &opts);
    move_files(&sum.nih_root.join("images"), &sum.nih_root.join("images_001/images"));
    let after = read(SourceId::Nih, &sum.nih_root, &opts);
    assert!(after.excluded.is_empty());
    assert_eq!(before.labels, after.labels);
    assert!(after.records.iter().all(|r| r.path.starts_with(sum.nih_root.join("images_001/images"))));

    // PadChest: one flat folder instead of the ImageDir subfolders.
    let pad = root("padchest");
    let before = read(SourceId::Padchest, &pad, &opts);
    for d in ["0", "1", "2"] {
        if pad.join(d).is_dir() {
            move_files(&pad.join(d), &pad);
            fs_err::remove_dir(pad.join(d)).expect("rmdir");
        }
    }
    let after = read(SourceId::Padchest, &pad, &opts);
    assert!(after.excluded.is_empty(), "{:?}", after.excluded.first());
    assert_eq!(before.labels, after.labels);

    // MIMIC: plain .csv instead of .csv.gz.
    let mimic = root("mimic");
    let before = read(SourceId::Mimic, &mimic, &opts);
    for f in ["chexpert", "negbio", "metadata", "split"] {
        let gz = mimic.join(format!("mimic-cxr-2.0.0-{f}.csv.gz"));
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(fs_err::File::open(&gz).expect("gz")), &mut text).expect("gunzip");
        fs_err::write(mimic.join(format!("mimic-cxr-2.0.0-{f}.csv")), text).expect("write");
        fs_err::remove_file(gz).expect("rm");
    }
    let after = read(SourceId::Mimic, &mimic, &opts);
    assert_eq!(before.labels, after.labels);
    assert!(after.index_files.iter().all(|p| p.extension().is_some_and(|e| e == "csv")));
    // ... and the NegBio labels through --labels.
    let negbio = read(SourceId::Mimic, &mimic, &ReadOptions { labels: Some(mimic.join("mimic-cxr-2.0.0-negbio.csv")), ..opts.clone() });
    assert_eq!(negbio.len(), after.len());

    // CheXpert: the full-resolution `CheXpert-v1.0/` prefix instead of `-small/`.
    let chex = &sum.chexpert_root;
    let before = read(SourceId::Chexpert, chex, &opts);
    for f in ["train.csv", "valid.csv"] {
        let text = fs_err::read_to_string(chex.join(f)).expect("csv");
        fs_err::write(chex.join(f), text.replace("CheXpert-v1.0-small/", "CheXpert-v1.0/")).expect("write");
    }
    let after = read(SourceId::Chexpert, chex, &opts);
    assert!(after.excluded.is_empty());
    assert_eq!(before.labels, after.labels);
    assert_eq!(before.records.iter().map(|r| &r.path).collect::<Vec<_>>(), after.records.iter().map(|r| &r.path).collect::<Vec<_>>());

    // VinDr: options change the vote, never the images.
    let vindr = root("vindr");
    let majority = read(SourceId::Vindr, &vindr, &opts);
    let any = read(SourceId::Vindr, &vindr, &ReadOptions { vindr_voting: cxr_data::VindrVoting::Any, ..opts.clone() });
    let unc = read(SourceId::Vindr, &vindr, &ReadOptions { vindr_single_vote_uncertain: true, ..opts.clone() });
    assert_eq!(majority.len(), any.len());
    for f in SHARED9 {
        let [p, _, u, _] = majority.labels.counts(f);
        assert_eq!(u, 0);
        assert!(any.labels.counts(f)[0] >= p, "{f}");
        assert_eq!(unc.labels.counts(f)[0], p, "{f}");
    }
}

/// Every file of a tree, relative path → bytes.
fn tree(root: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(&d).expect("dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "phantom.json") {
                out.insert(p.strip_prefix(root).expect("prefix").to_path_buf(), fs_err::read(&p).expect("read"));
            }
        }
    }
    out
}

#[test]
fn every_site_is_byte_identical_whatever_the_thread_count() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = PhantomConfig { shortcut: Some(cxr_core::Finding::Pneumothorax), ..config() };
    generate(&tmp.path().join("a"), &cfg).expect("phantom");
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    one.install(|| generate(&tmp.path().join("b"), &cfg)).expect("phantom");
    let (a, b) = (tree(&tmp.path().join("a")), tree(&tmp.path().join("b")));
    assert!(a.len() > 250, "{} files", a.len());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(b[k] == *v, "{} differs between runs", k.display());
    }
}
