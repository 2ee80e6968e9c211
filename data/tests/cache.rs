//! The HDF5 image cache: what it stores equals what decoding gives, an interrupted build resumes,
//! specs never mix, 16-bit data needs a rule for 8-bit storage, and an edited image is never
//! served stale.
#![cfg(feature = "cache")]

use cxr_core::{Depth, Intensity, PreprocessSpec, SourceId};
use cxr_data::cache::{CacheDtype, build_cache, file_blake3, info};
use cxr_data::phantom::{PhantomConfig, generate};
use cxr_data::{Dataset, DatasetSplit, ImageCache, ReadOptions, open_dataset, prepare_record};
use std::path::Path;

fn study(dir: &Path) -> cxr_data::phantom::PhantomSummary {
    let cfg = PhantomConfig {
        size: 40,
        chexpert_train_patients: 8,
        chexpert_valid_patients: 2,
        nih_patients: 2,
        mimic_patients: 2,
        padchest_patients: 4,
        vindr_images: 2,
        brax_patients: 2,
        ..PhantomConfig::small(3)
    };
    generate(dir, &cfg).expect("phantom")
}

fn open(src: SourceId, root: &Path) -> Dataset {
    open_dataset(src, root, DatasetSplit::All, &ReadOptions { frontal_only: true, locate_images: true, ..ReadOptions::default() }).expect("open")
}

fn nop() {}

#[test]
fn stores_what_decoding_gives_and_resumes_an_interrupted_build() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sum = study(&tmp.path().join("p"));
    let ds = open(SourceId::Chexpert, &sum.chexpert_root);
    let spec = PreprocessSpec { intensity: Intensity::clahe_default(), ..PreprocessSpec::default_for(24, 1) };
    let out = tmp.path().join("c.h5");
    let r = build_cache(&out, &spec, &ds, CacheDtype::Auto, &nop).expect("build");
    assert_eq!((r.images, r.written_now, r.resumed, r.failed.len(), r.dtype), (ds.len(), ds.len(), 0, 0, "uint8"));
    let cache = ImageCache::open(&out, &spec).expect("open");
    assert_eq!(cache.len(), ds.len());
    for rec in &ds.records {
        let got = cache.get(&file_blake3(&rec.path).expect("hash")).expect("cached").expect("read");
        assert_eq!(got, prepare_record(&spec, rec).expect("decode"), "{}", rec.id);
    }
    let doc = info(&out).expect("info");
    assert_eq!(doc["written"], ds.len());
    assert_eq!(doc["spec"]["intensity"]["kind"], "clahe");

    drop(cache);
    // Interrupt: mark all but the first three rows unwritten and put the file back as partial.
    {
        let f = hdf5::File::open_rw(&out).expect("rw");
        let w = f.dataset("index/written").expect("written");
        let mut flags: Vec<u8> = w.read_raw().expect("read");
        flags.iter_mut().skip(3).for_each(|v| *v = 0);
        w.write(&flags).expect("write");
    }
    let partial = tmp.path().join("c.h5.partial");
    std::fs::rename(&out, &partial).expect("rename");
    let before = std::fs::read(&partial).expect("bytes").len();
    assert!(before > 0);
    let r = build_cache(&out, &spec, &ds, CacheDtype::Auto, &nop).expect("resume");
    assert_eq!((r.resumed, r.written_now), (3, ds.len() - 3));
    assert!(!partial.exists() && out.is_file(), "the partial file is renamed once complete");
    let cache = ImageCache::open(&out, &spec).expect("open");
    for rec in &ds.records {
        assert_eq!(cache.get(&file_blake3(&rec.path).expect("hash")).expect("cached").expect("read"), prepare_record(&spec, rec).expect("decode"));
    }
    // Complete: a rerun changes nothing.
    assert!(build_cache(&out, &spec, &ds, CacheDtype::Auto, &nop).expect("again").already_complete);
}

#[test]
fn specs_never_mix_and_readers_refuse_another_spec() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sum = study(&tmp.path().join("p"));
    let ds = open(SourceId::Chexpert, &sum.chexpert_root);
    let a = PreprocessSpec::default_for(24, 1);
    let b = PreprocessSpec { depth: Depth::Eight, size: 24, intensity: Intensity::clahe_default(), ..a };
    let out = tmp.path().join("c.h5");
    build_cache(&out, &a, &ds, CacheDtype::Auto, &nop).expect("build");
    let e = build_cache(&out, &b, &ds, CacheDtype::Auto, &nop).unwrap_err().to_string();
    assert!(e.contains("different preprocessing") && e.contains("refusing to mix"), "{e}");
    let e = ImageCache::open(&out, &b).unwrap_err().to_string();
    assert!(e.contains("different preprocessing") && e.contains(&a.cache_key()[..12]) && e.contains(&b.cache_key()[..12]), "{e}");
    // Normalization and channels are not part of the key: one cache serves both.
    let c = PreprocessSpec { channels: 3, normalization: cxr_core::Normalization::Zscore, ..a };
    assert!(ImageCache::open(&out, &c).is_ok());
}

#[test]
fn sixteen_bit_data_needs_a_rule_for_eight_bit_storage() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sum = study(&tmp.path().join("p"));
    let pad = sum.external.iter().find(|e| e.dataset == "padchest").expect("padchest");
    let ds = open(SourceId::Padchest, &pad.root);
    let spec = PreprocessSpec::default_for(24, 1);
    let e = build_cache(&tmp.path().join("u8.h5"), &spec, &ds, CacheDtype::U8, &nop).unwrap_err().to_string();
    assert!(e.contains("16-bit image") && e.contains("conversion rule") && e.contains("depth = \"8bit\""), "{e}");
    // Stored natively it is u16; with the stated rule it fits u8.
    assert_eq!(build_cache(&tmp.path().join("auto.h5"), &spec, &ds, CacheDtype::Auto, &nop).expect("u16").dtype, "uint16");
    let eight = PreprocessSpec { depth: Depth::Eight, ..spec };
    assert_eq!(build_cache(&tmp.path().join("8.h5"), &eight, &ds, CacheDtype::U8, &nop).expect("u8").dtype, "uint8");
}

#[test]
fn an_edited_image_is_decoded_not_served_stale() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sum = study(&tmp.path().join("p"));
    let ds = open(SourceId::Chexpert, &sum.chexpert_root);
    let spec = PreprocessSpec::default_for(24, 1);
    let out = tmp.path().join("c.h5");
    build_cache(&out, &spec, &ds, CacheDtype::Auto, &nop).expect("build");
    let rec = &ds.records[0];
    let mut img = image::open(&rec.path).expect("decode").to_luma8();
    img.put_pixel(0, 0, image::Luma([255 - img.get_pixel(0, 0)[0]]));
    img.save_with_format(&rec.path, image::ImageFormat::Jpeg).expect("rewrite");
    let cache = ImageCache::open(&out, &spec).expect("open");
    assert!(cache.get(&file_blake3(&rec.path).expect("hash")).is_none(), "an edited file must miss");
    assert!(cache.get(&file_blake3(&ds.records[1].path).expect("hash")).is_some());
}
