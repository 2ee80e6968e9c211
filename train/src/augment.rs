//! Training-time augmentation of the resized `[0, 1]` image ([`AugmentConfig`]): one inverse
//! affine map (random resized crop, rotation, translation, optional horizontal flip) sampled
//! bilinearly with black outside the image, then brightness and contrast. Every draw comes from
//! a generator seeded by the run seed, the epoch and the image id, so a resumed run repeats the
//! same augmentations.

use cxr_core::AugmentConfig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The generator for one image in one epoch.
#[must_use]
pub fn image_rng(seed: u64, epoch: u32, record_id: &str) -> ChaCha8Rng {
    let h = blake3::hash(format!("{seed}\0augment\0{epoch}\0{record_id}").as_bytes());
    ChaCha8Rng::from_seed(*h.as_bytes())
}

/// The crop box `(x0, y0, w, h)` in pixels of a `size`-sided image (torchvision's
/// `RandomResizedCrop.get_params`: ten tries, then the whole image).
fn crop_box(cfg: &AugmentConfig, size: f64, rng: &mut impl Rng) -> (f64, f64, f64, f64) {
    let [s0, s1] = cfg.crop_scale;
    let [r0, r1] = cfg.crop_ratio;
    if s0 >= 1.0 {
        return (0.0, 0.0, size, size);
    }
    for _ in 0..10 {
        let area = size * size * rng.random_range(s0..=s1);
        let ratio = rng.random_range(r0.ln()..=r1.ln()).exp();
        let (w, h) = ((area * ratio).sqrt(), (area / ratio).sqrt());
        if w <= size && h <= size {
            return (rng.random_range(0.0..=size - w), rng.random_range(0.0..=size - h), w, h);
        }
    }
    (0.0, 0.0, size, size)
}

/// Bilinear sample of `plane` at pixel-centre coordinates `(x, y)`, black outside.
fn sample(plane: &[f32], size: usize, x: f64, y: f64) -> f32 {
    let (fx, fy) = (x - 0.5, y - 0.5);
    let (x0, y0) = (fx.floor(), fy.floor());
    let (ax, ay) = ((fx - x0) as f32, (fy - y0) as f32);
    let at = |xi: f64, yi: f64| -> f32 { if xi < 0.0 || yi < 0.0 || xi >= size as f64 || yi >= size as f64 { 0.0 } else { plane[yi as usize * size + xi as usize] } };
    let top = at(x0, y0) * (1.0 - ax) + at(x0 + 1.0, y0) * ax;
    let bottom = at(x0, y0 + 1.0) * (1.0 - ax) + at(x0 + 1.0, y0 + 1.0) * ax;
    top * (1.0 - ay) + bottom * ay
}

/// One image's drawn augmentation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draw {
    /// Crop box `(x0, y0, w, h)` in pixels.
    pub crop: (f64, f64, f64, f64),
    /// Rotation, radians (counter-clockwise on screen).
    pub theta: f64,
    /// Translation in pixels.
    pub shift: (f64, f64),
    /// Horizontal flip.
    pub flip: bool,
    /// Brightness factor.
    pub brightness: f32,
    /// Contrast factor.
    pub contrast: f32,
}

/// Draw one image's augmentation for a `size`-sided image.
#[must_use]
pub fn draw(cfg: &AugmentConfig, size: usize, rng: &mut impl Rng) -> Draw {
    let s = size as f64;
    let crop = crop_box(cfg, s, rng);
    let theta = rng.random_range(-cfg.rotation_degrees..=cfg.rotation_degrees).to_radians();
    let shift = (rng.random_range(-cfg.translate..=cfg.translate) * s, rng.random_range(-cfg.translate..=cfg.translate) * s);
    let flip = cfg.hflip > 0.0 && rng.random_bool(cfg.hflip);
    let brightness = rng.random_range(1.0 - cfg.brightness..=1.0 + cfg.brightness) as f32;
    let contrast = rng.random_range(1.0 - cfg.contrast..=1.0 + cfg.contrast) as f32;
    Draw { crop, theta, shift, flip, brightness, contrast }
}

/// Apply a drawn augmentation to a `size × size` plane of `[0, 1]` values.
#[must_use]
pub fn apply(plane: &[f32], size: usize, d: &Draw) -> Vec<f32> {
    let s = size as f64;
    let (cx0, cy0, cw, ch) = d.crop;
    let (sin, cos) = d.theta.sin_cos();
    let c = s / 2.0;
    let mut out = vec![0.0f32; size * size];
    for v in 0..size {
        for u in 0..size {
            let ox = if d.flip { s - (u as f64 + 0.5) } else { u as f64 + 0.5 };
            let oy = v as f64 + 0.5;
            // Output → crop box → rotated and translated about the centre → source.
            let (bx, by) = (cx0 + ox * cw / s - c - d.shift.0, cy0 + oy * ch / s - c - d.shift.1);
            let (sx, sy) = (cos * bx + sin * by + c, -sin * bx + cos * by + c);
            out[v * size + u] = sample(plane, size, sx, sy) * d.brightness;
        }
    }
    if d.contrast != 1.0 {
        let mean = out.iter().sum::<f32>() / out.len() as f32;
        out.iter_mut().for_each(|v| *v = (*v - mean) * d.contrast + mean);
    }
    out.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
    out
}

/// Draw and apply.
#[must_use]
pub fn augment(plane: &[f32], size: usize, cfg: &AugmentConfig, rng: &mut impl Rng) -> Vec<f32> {
    apply(plane, size, &draw(cfg, size, rng))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn off() -> AugmentConfig {
        AugmentConfig { crop_scale: [1.0, 1.0], rotation_degrees: 0.0, translate: 0.0, brightness: 0.0, contrast: 0.0, hflip: 0.0, ..AugmentConfig::default() }
    }

    fn ramp(size: usize) -> Vec<f32> {
        (0..size * size).map(|i| (i % size) as f32 / (size - 1) as f32).collect()
    }

    #[test]
    fn nothing_drawn_is_the_identity() {
        let p = ramp(16);
        let out = augment(&p, 16, &off(), &mut image_rng(1, 1, "a"));
        assert!(out.iter().zip(&p).all(|(a, b)| (a - b).abs() < 1e-6));
    }

    #[test]
    fn flip_mirrors_and_is_off_by_default() {
        assert_eq!(AugmentConfig::default().hflip, 0.0);
        let p = ramp(16);
        let out = augment(&p, 16, &AugmentConfig { hflip: 1.0, ..off() }, &mut image_rng(1, 1, "a"));
        for v in 0..16 {
            for u in 0..16 {
                assert!((out[v * 16 + u] - p[v * 16 + 15 - u]).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn geometry_of_rotation_translation_and_crop() {
        let p = ramp(8);
        let id = Draw { crop: (0.0, 0.0, 8.0, 8.0), theta: 0.0, shift: (0.0, 0.0), flip: false, brightness: 1.0, contrast: 1.0 };
        let at = |o: &[f32], x: usize, y: usize| o[y * 8 + x];
        // A quarter turn: the horizontal ramp becomes vertical.
        let r = apply(&p, 8, &Draw { theta: std::f64::consts::FRAC_PI_2, ..id });
        for y in 0..8 {
            assert!((0..8).all(|x| (at(&r, x, y) - at(&r, 0, y)).abs() < 1e-5), "row {y} constant");
        }
        assert!((at(&r, 3, 0) - at(&r, 3, 7)).abs() > 0.9, "and varies down the columns");
        // A shift of two pixels right: column 2 shows column 0, columns 0–1 are black.
        let t = apply(&p, 8, &Draw { shift: (2.0, 0.0), ..id });
        assert!((at(&t, 5, 4) - p[4 * 8 + 3]).abs() < 1e-6 && at(&t, 0, 4) == 0.0 && at(&t, 1, 4) == 0.0);
        // The left half, stretched: output column 2k+½ samples source column k.
        let c = apply(&p, 8, &Draw { crop: (0.0, 0.0, 4.0, 8.0), ..id });
        assert!((at(&c, 7, 0) - (3.75 - 0.5) / 7.0).abs() < 1e-5, "{}", at(&c, 7, 0));
    }

    #[test]
    fn seeded_per_run_epoch_and_image() {
        let p = ramp(32);
        let cfg = AugmentConfig::default();
        let run = |seed, epoch, id: &str| augment(&p, 32, &cfg, &mut image_rng(seed, epoch, id));
        assert_eq!(run(1, 2, "x"), run(1, 2, "x"));
        assert_ne!(run(1, 2, "x"), run(1, 3, "x"));
        assert_ne!(run(1, 2, "x"), run(1, 2, "y"));
        assert_ne!(run(1, 2, "x"), run(2, 2, "x"));
    }

    #[test]
    fn crop_boxes_respect_scale_and_ratio() {
        let cfg = AugmentConfig { crop_scale: [0.5, 0.6], crop_ratio: [0.8, 1.25], ..AugmentConfig::default() };
        let mut rng = image_rng(0, 0, "boxes");
        for _ in 0..200 {
            let (x, y, w, h) = crop_box(&cfg, 100.0, &mut rng);
            let area = w * h / 1e4;
            assert!((0.5 - 1e-9..=0.6 + 1e-9).contains(&area) && (0.8 - 1e-9..=1.25 + 1e-9).contains(&(w / h)), "{w} {h}");
            assert!(x >= 0.0 && y >= 0.0 && x + w <= 100.0 + 1e-9 && y + h <= 100.0 + 1e-9);
        }
    }

    #[test]
    fn brightness_and_contrast_move_the_mean_and_spread() {
        let p: Vec<f32> = (0..64).map(|i| 0.3 + 0.2 * (i % 2) as f32).collect();
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
        let bright = augment(&p, 8, &AugmentConfig { brightness: 0.5, ..off() }, &mut image_rng(5, 1, "b"));
        assert!((mean(&bright) - mean(&p)).abs() > 1e-3);
        let spread = |v: &[f32]| v.iter().cloned().fold(0.0, f32::max) - v.iter().cloned().fold(1.0, f32::min);
        let con = augment(&p, 8, &AugmentConfig { contrast: 0.5, ..off() }, &mut image_rng(5, 1, "c"));
        assert!((spread(&con) - spread(&p)).abs() > 1e-3);
        assert!((mean(&con) - mean(&p)).abs() < 1e-5, "contrast keeps the mean");
    }
}
