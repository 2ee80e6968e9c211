//! `cxr-data bench`: preprocessing throughput on one core, for `scripts/bench_preprocess.sh`,
//! which runs the Python peers (PIL, OpenCV, h5py) on the same files in the same run.
//!
//! The timed pipeline is the one training and evaluation run on a file: `prepare_path` (decode
//! to levels, resize) then `normalize` (ImageNet statistics, three channels).
//!
//! Writes its inputs into `--dir` (so the peers read the very same bytes): a 2500×2000 JPEG
//! (quality 90), the same image as 8-bit and 16-bit PNG, and a cache of `--cache-images`
//! phantom radiographs at 224 px. Prints JSON: images/s for decode + resize + normalize to 224
//! and 512 per file (one thread), CLAHE alone at 224 and 512, random cache reads on one thread,
//! and the cache build's wall time on one and on all cores.

use anyhow::Context;
use cxr_core::{Intensity, PreprocessSpec};
use cxr_data::cache::{CacheDtype, build_cache, file_blake3};
use cxr_data::{ImageCache, clahe, load_gray, load_levels, normalize, prepare_path};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

/// A radiograph-like test image: smooth anatomy, ribs, a gradient and noise, in `[0, 1]`.
fn synthetic(w: u32, h: u32) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| {
            let (u, v) = (x as f32 / w as f32 - 0.5, y as f32 / h as f32 - 0.5);
            let body = (-(u * u * 3.0 + v * v * 2.0)).exp();
            let lungs = 0.35 * ((-((u.abs() - 0.18).powi(2) * 40.0 + v * v * 8.0)).exp());
            let ribs = 0.05 * (v * 60.0).sin().max(0.0);
            (0.1 + 0.7 * body - lungs + ribs + 0.1 * u).clamp(0.0, 1.0)
        })
        .map(|v| (v + rand::Rng::random_range(&mut rng, -0.02f32..0.02)).clamp(0.0, 1.0))
        .collect()
}

/// Images per second of `f` over at least `min_s` seconds (after one warm-up call), best of 3.
fn rate(min_s: f64, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    f()?;
    let mut best = 0.0f64;
    for _ in 0..3 {
        let (t0, mut n) = (Instant::now(), 0u32);
        while n == 0 || t0.elapsed().as_secs_f64() < min_s {
            f()?;
            n += 1;
        }
        best = best.max(f64::from(n) / t0.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Run the benchmark; `dir` receives the input files.
///
/// # Errors
/// I/O, encoding, or a preprocessing failure.
pub(crate) fn bench(dir: &Path, cache_images: usize, min_s: f64) -> anyhow::Result<Value> {
    fs_err::create_dir_all(dir)?;
    let (w, h) = (2500u32, 2000u32);
    let px = synthetic(w, h);
    let g8 = image::GrayImage::from_raw(w, h, px.iter().map(|v| (v * 255.0).round() as u8).collect()).context("8-bit buffer")?;
    let g16 = image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_raw(w, h, px.iter().map(|v| (v * 65535.0).round() as u16).collect()).context("16-bit buffer")?;
    let jpeg = dir.join("cxr_2500x2000.jpg");
    let mut enc = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut enc, 90).encode_image(&g8)?;
    fs_err::write(&jpeg, enc)?;
    let png8 = dir.join("cxr_2500x2000_8bit.png");
    g8.save(&png8)?;
    let png16 = dir.join("cxr_2500x2000_16bit.png");
    g16.save(&png16)?;

    let mut pipeline = serde_json::Map::new();
    for (name, file) in [("jpeg", &jpeg), ("png8", &png8), ("png16", &png16)] {
        for size in [224u32, 512] {
            let spec = PreprocessSpec { normalization: cxr_core::Normalization::Imagenet, ..PreprocessSpec::default_for(size, 3) };
            let r = rate(min_s, || {
                let p = prepare_path(&spec, file, None)?;
                std::hint::black_box(normalize(&spec, &p.to_unit()).map_err(anyhow::Error::msg)?);
                Ok(())
            })?;
            pipeline.insert(format!("{name}_{size}"), json!(r));
        }
    }
    // The decoder alone (image crate), and decoding to `[0, 1]` floats (load_gray), for the
    // cost breakdown.
    let mut decode = serde_json::Map::new();
    for (name, file) in [("jpeg", &jpeg), ("png8", &png8), ("png16", &png16)] {
        decode.insert(
            format!("{name}_decoder"),
            json!(rate(min_s, || {
                std::hint::black_box(image::open(file)?);
                Ok(())
            })?),
        );
        decode.insert(
            format!("{name}_load_gray"),
            json!(rate(min_s, || {
                std::hint::black_box(load_gray(file)?);
                Ok(())
            })?),
        );
        decode.insert(
            format!("{name}_load_levels"),
            json!(rate(min_s, || {
                std::hint::black_box(load_levels(file, None)?);
                Ok(())
            })?),
        );
    }
    let mut clahe_rates = serde_json::Map::new();
    for size in [224usize, 512] {
        let src: Vec<u16> = (0..size * size).map(|i| u16::from(g8.as_raw()[(i / size) * w as usize * 3 + (i % size) * 3])).collect();
        let r = rate(min_s, || {
            std::hint::black_box(clahe(&src, size, size, 255, [8, 8], 2.0));
            Ok(())
        })?;
        clahe_rates.insert(format!("{size}"), json!(r));
    }

    // The cache: phantom images, built on one core and on all, then read at random on one.
    let study = dir.join("phantom");
    let cfg = cxr_data::phantom::PhantomConfig { size: 256, chexpert_train_patients: cache_images.div_ceil(3), chexpert_valid_patients: 1, ..cxr_data::phantom::PhantomConfig::small(1) };
    let sum = cxr_data::phantom::generate(&study, &cfg)?;
    let opts = cxr_data::ReadOptions { locate_images: true, ..cxr_data::ReadOptions::default() };
    let mut ds = cxr_data::open_dataset(cxr_core::SourceId::Chexpert, &sum.chexpert_root, cxr_data::DatasetSplit::Train, &opts)?;
    ds.records.truncate(cache_images);
    ds.labels.rows.truncate(cache_images);
    let spec = PreprocessSpec { intensity: Intensity::None, ..PreprocessSpec::default_for(224, 1) };
    let mut build_s = serde_json::Map::new();
    for threads in [1usize, 0] {
        let out = dir.join(format!("cache_{threads}.h5"));
        let _ = fs_err::remove_file(&out);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
        let t0 = Instant::now();
        pool.install(|| build_cache(&out, &spec, &ds, CacheDtype::Auto, &|| {}))?;
        build_s.insert(if threads == 1 { "one_core".into() } else { format!("all_{}_cores", pool.current_num_threads()) }, json!(t0.elapsed().as_secs_f64()));
    }
    let cache_file = dir.join("cache_0.h5");
    let cache = ImageCache::open(&cache_file, &spec)?;
    let mut hashes: Vec<String> = ds.records.iter().map(|r| file_blake3(&r.path)).collect::<Result<_, _>>()?;
    hashes.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(3));
    let t0 = Instant::now();
    for h in &hashes {
        std::hint::black_box(cache.get(h).context("cached")??);
    }
    let reads = hashes.len() as f64 / t0.elapsed().as_secs_f64();
    Ok(json!({
        "inputs": {"jpeg": jpeg, "png8": png8, "png16": png16, "cache": cache_file, "cache_images": ds.len()},
        "decode_resize_normalize_images_per_s": pipeline,
        "clahe_images_per_s": clahe_rates,
        "decode_only_images_per_s": decode,
        "cache_random_reads_per_s_one_thread": reads,
        "cache_build_seconds": build_s,
    }))
}
