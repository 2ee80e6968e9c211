//! `cxr-data preview`: a PNG grid of a few images under each preprocessing strategy — rows are
//! images, columns strategies — so a user sees what the model sees. The tiles show the image
//! after the cached stages (ROI crop, aspect, resize, CLAHE or histogram standardization) on a
//! `[0, 1]` grey scale; the per-image or per-channel affine normalization that follows is not
//! visible by construction. A header row names the columns. A tile the strategy refuses (ROI crop finds no body, a constant
//! image) is red, and the reason is in the sidecar JSON.

use anyhow::Context;
use cxr_core::{PREPROCESS_STRATEGIES, PreprocessConfig, PreprocessSpec, PreprocessStrategy};
use cxr_data::{Dataset, fit_landmarks, prepare_record};
use serde_json::{Value, json};
use std::path::Path;

/// The strategies named in `names` (`all` for every one).
///
/// # Errors
/// An unknown name, with the valid ones.
pub(crate) fn strategies(names: &[String]) -> anyhow::Result<Vec<PreprocessStrategy>> {
    let names: Vec<&str> = if names.is_empty() || names.iter().any(|n| n == "all") { PREPROCESS_STRATEGIES.to_vec() } else { names.iter().map(String::as_str).collect() };
    names.iter().map(|n| serde_json::from_value(json!(n)).map_err(|_| anyhow::anyhow!("unknown strategy {n:?}; valid: all, {}", PREPROCESS_STRATEGIES.join(", ")))).collect()
}

/// White text from font8x8's glyphs at `scale`, clipped to `max_w` pixels.
fn draw_text(canvas: &mut image::RgbImage, text: &str, x0: u32, y0: u32, scale: u32, max_w: u32) {
    use font8x8::UnicodeFonts;
    for (i, ch) in text.chars().enumerate() {
        let Some(glyph) = font8x8::BASIC_FONTS.get(ch) else { continue };
        for (gy, bits) in glyph.iter().enumerate() {
            for gx in 0..8u32 {
                if bits & (1 << gx) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let x = (i as u32 * 8 + gx) * scale + dx;
                        let (px, py) = (x0 + x, y0 + gy as u32 * scale + dy);
                        if x < max_w && px < canvas.width() && py < canvas.height() {
                            canvas.put_pixel(px, py, image::Rgb([255, 255, 255]));
                        }
                    }
                }
            }
        }
    }
}

/// Evenly spaced record indices.
fn spread(len: usize, n: usize) -> Vec<usize> {
    let n = n.min(len);
    (0..n).map(|i| i * len / n).collect()
}

/// Write the grid to `out` and its legend to `out` with a `.json` extension; returns the legend.
///
/// # Errors
/// No images, a failed landmark fit, or I/O.
pub(crate) fn preview(ds: &Dataset, strategies: &[PreprocessStrategy], images: usize, size: u32, out: &Path) -> anyhow::Result<Value> {
    let rows = spread(ds.len(), images);
    anyhow::ensure!(!rows.is_empty(), "{}: no images to preview", ds.root.display());
    // Histogram standardization learns landmarks; here from up to 64 images spread over the dataset.
    let fit_sample: Vec<_> = spread(ds.len(), 64).into_iter().map(|i| ds.records[i].clone()).collect();
    let mut specs: Vec<PreprocessSpec> = Vec::new();
    for &s in strategies {
        let mut spec = PreprocessConfig { strategy: Some(s), ..PreprocessConfig::default() }.resolve(size, 1).map_err(anyhow::Error::msg)?;
        if spec.needs_fitting() {
            let fit = fit_landmarks(&spec, &fit_sample, &|| {}).with_context(|| format!("fitting histogram landmarks for {s:?}"))?;
            spec.intensity = cxr_core::Intensity::Histogram { landmarks: Some(fit.landmarks) };
        }
        specs.push(spec);
    }
    let gutter = 4u32;
    let (tile, cols, nrows) = (size, specs.len() as u32, rows.len() as u32);
    // A header row names each column (font8x8's public-domain glyphs, scaled to fit the tile).
    let names: Vec<String> = strategies.iter().map(|s| serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()).collect();
    let longest = names.iter().map(String::len).max().unwrap_or(1).max(1) as u32;
    let scale = (tile / (8 * longest)).clamp(1, 3);
    let header = 8 * scale + gutter;
    let (w, h) = (cols * tile + (cols + 1) * gutter, header + nrows * tile + (nrows + 1) * gutter);
    let mut canvas = image::RgbImage::from_pixel(w, h, image::Rgb([128, 128, 128]));
    for (c, name) in names.iter().enumerate() {
        let x0 = gutter + c as u32 * (tile + gutter);
        draw_text(&mut canvas, name, x0, gutter, scale, tile);
    }
    let mut failures = Vec::new();
    for (r, &i) in rows.iter().enumerate() {
        let rec = &ds.records[i];
        for (c, spec) in specs.iter().enumerate() {
            let (x0, y0) = (gutter + c as u32 * (tile + gutter), header + gutter + r as u32 * (tile + gutter));
            match prepare_record(spec, rec) {
                Ok(p) => {
                    for (k, v) in p.to_unit().iter().enumerate() {
                        let g = (v * 255.0).round() as u8;
                        canvas.put_pixel(x0 + k as u32 % tile, y0 + k as u32 / tile, image::Rgb([g, g, g]));
                    }
                }
                Err(e) => {
                    for y in 0..tile {
                        for x in 0..tile {
                            canvas.put_pixel(x0 + x, y0 + y, image::Rgb([200, 30, 30]));
                        }
                    }
                    failures.push(json!({"image": rec.id, "strategy": strategies[c], "error": e.to_string()}));
                }
            }
        }
    }
    let tmp = out.with_extension("png.partial");
    canvas.save_with_format(&tmp, image::ImageFormat::Png).with_context(|| format!("writing {}", tmp.display()))?;
    fs_err::rename(&tmp, out)?;
    let legend = json!({
        "grid": out, "tile_px": tile,
        "columns": strategies, "rows": rows.iter().map(|&i| &ds.records[i].id).collect::<Vec<_>>(),
        "specs": specs, "failures": failures,
        "note": "tiles show [0, 1] values after ROI crop, aspect, resize and the intensity mapping; histogram landmarks fitted on up to 64 images of this dataset; red tiles: the strategy refused the image (see failures)",
    });
    cxr_core::write_atomic(&out.with_extension("json"), serde_json::to_string_pretty(&legend)?.as_bytes())?;
    Ok(legend)
}
