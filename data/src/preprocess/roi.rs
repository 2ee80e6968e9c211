//! ROI crop: trims black borders, padding and collimation by the rule documented on
//! [`cxr_core::RoiCrop`].

use super::levels::{LevelImage, Samples};
use cxr_core::{RoiCrop, RoiMode};

/// Otsu's threshold of an image over 256 bins, as a value in `[0, 1]` (the bin that maximises
/// the between-class variance).
#[must_use]
pub fn otsu(img: &LevelImage) -> f32 {
    let mut hist = [0u64; 256];
    match &img.samples {
        Samples::U8(v) => v.iter().for_each(|&q| hist[usize::from(q)] += 1),
        Samples::U16(v) => v.iter().for_each(|&q| hist[((u32::from(q) * 255 + 32767) / 65535) as usize] += 1),
    }
    let total = (img.width as usize * img.height as usize) as f64;
    let sum_all: f64 = hist.iter().enumerate().map(|(i, &c)| i as f64 * c as f64).sum();
    let (mut w0, mut sum0, mut best, mut best_t) = (0.0, 0.0, -1.0, 0usize);
    for (t, &c) in hist.iter().enumerate() {
        w0 += c as f64;
        sum0 += t as f64 * c as f64;
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let (m0, m1) = (sum0 / w0, (sum_all - sum0) / w1);
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            best_t = t;
        }
    }
    best_t as f32 / 255.0
}

/// The content box `(left, top, width, height)` of `img` under `roi`.
///
/// # Errors
/// When the box is smaller than `min_area` of the image: the message gives the box, the share
/// and the thresholds ("finds no body").
pub fn roi_box(roi: &RoiCrop, img: &LevelImage) -> Result<(u32, u32, u32, u32), String> {
    let (w, h) = (img.width as usize, img.height as usize);
    let (dark, bright) = match roi.mode {
        RoiMode::Fixed => (roi.dark, roi.bright),
        RoiMode::Adaptive => {
            let t = otsu(img);
            (t / 2.0, f32::midpoint(1.0, t))
        }
    };
    // Content as an integer range of levels: dark·L < q < bright·L.
    let l = f32::from(img.levels());
    let is_content = |q: u16| f32::from(q) > dark * l && f32::from(q) < bright * l;
    let mask: Vec<bool> = match &img.samples {
        Samples::U8(v) => v.iter().map(|&q| is_content(u16::from(q))).collect(),
        Samples::U16(v) => v.iter().map(|&q| is_content(q)).collect(),
    };
    let mut rows = vec![0u32; h];
    for (y, row) in mask.chunks_exact(w).enumerate() {
        rows[y] = row.iter().filter(|&&c| c).count() as u32;
    }
    let need_row = (roi.min_content * w as f32).max(1.0);
    let top = rows.iter().position(|&c| c as f32 >= need_row);
    let bottom = rows.iter().rposition(|&c| c as f32 >= need_row);
    let fail = |bw: usize, bh: usize| {
        format!(
            "ROI crop finds no body: the content box is {bw}x{bh} px, {:.1}% of the {w}x{h} image (at least {:.1}% needed; content = values in ({dark:.3}, {bright:.3}), rows/columns need {:.0}% content)",
            100.0 * (bw * bh) as f64 / (w * h) as f64,
            100.0 * roi.min_area,
            100.0 * roi.min_content
        )
    };
    let (Some(top), Some(bottom)) = (top, bottom) else { return Err(fail(0, 0)) };
    let mut cols = vec![0u32; w];
    for row in mask.chunks_exact(w).take(bottom + 1).skip(top) {
        for (x, &c) in row.iter().enumerate() {
            cols[x] += u32::from(c);
        }
    }
    let need_col = (roi.min_content * (bottom + 1 - top) as f32).max(1.0);
    let left = cols.iter().position(|&c| c as f32 >= need_col);
    let right = cols.iter().rposition(|&c| c as f32 >= need_col);
    let (Some(left), Some(right)) = (left, right) else { return Err(fail(0, bottom + 1 - top)) };
    let (bw, bh) = (right + 1 - left, bottom + 1 - top);
    if ((bw * bh) as f64) < f64::from(roi.min_area) * (w * h) as f64 {
        return Err(fail(bw, bh));
    }
    Ok((left as u32, top as u32, bw as u32, bh as u32))
}

/// Crop `img` to its content box.
///
/// # Errors
/// As [`roi_box`].
pub fn roi_crop(roi: &RoiCrop, img: LevelImage) -> Result<LevelImage, String> {
    let (l, t, bw, bh) = roi_box(roi, &img)?;
    if bw == img.width && bh == img.height {
        return Ok(img);
    }
    fn cut<T: Copy>(v: &[T], w: u32, (l, t, bw, bh): (u32, u32, u32, u32)) -> Vec<T> {
        v.chunks_exact(w as usize).skip(t as usize).take(bh as usize).flat_map(|row| &row[l as usize..(l + bw) as usize]).copied().collect()
    }
    let samples = match &img.samples {
        Samples::U8(v) => Samples::U8(cut(v, img.width, (l, t, bw, bh))),
        Samples::U16(v) => Samples::U16(cut(v, img.width, (l, t, bw, bh))),
    };
    Ok(LevelImage { width: bw, height: bh, samples })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GrayImage;

    /// A mid-grey textured "body" at (left 10, top 6, 30 × 20) inside black padding on the left
    /// and top, and a white collimation band on the right.
    fn gray(g: GrayImage) -> LevelImage {
        LevelImage::from_gray(&g).unwrap()
    }

    fn framed() -> LevelImage {
        let (w, h) = (50u32, 32u32);
        let mut pixels = vec![0.0f32; (w * h) as usize];
        for y in 0..h {
            for x in 0..w {
                let v = if x >= 44 {
                    1.0
                } else if (10..40).contains(&x) && (6..26).contains(&y) {
                    0.3 + 0.4 * ((x * 7 + y * 3) % 10) as f32 / 10.0
                } else {
                    0.01
                };
                pixels[(y * w + x) as usize] = v;
            }
        }
        gray(GrayImage { width: w, height: h, pixels, bit_depth: 8 })
    }

    #[test]
    fn trims_padding_and_collimation_in_both_modes() {
        for mode in [RoiMode::Fixed, RoiMode::Adaptive] {
            assert_eq!(roi_box(&RoiCrop::new(mode), &framed()).unwrap(), (10, 6, 30, 20), "{mode:?}");
        }
        let c = roi_crop(&RoiCrop::new(RoiMode::Fixed), framed()).unwrap();
        assert_eq!((c.width, c.height), (30, 20));
        assert!((0..600).all(|i| c.unit(i) >= 0.29));
    }

    #[test]
    fn a_blank_image_finds_no_body() {
        let blank = GrayImage { width: 20, height: 20, pixels: vec![0.0; 400], bit_depth: 8 };
        let e = roi_box(&RoiCrop::new(RoiMode::Fixed), &gray(blank.clone())).unwrap_err();
        assert!(e.contains("finds no body") && e.contains("0x0"), "{e}");
        let mut speck = blank;
        speck.pixels[210] = 0.5;
        let e = roi_box(&RoiCrop::new(RoiMode::Fixed), &gray(speck)).unwrap_err();
        assert!(e.contains("1x1 px") && e.contains("20.0%"), "{e}");
    }

    #[test]
    fn otsu_splits_two_modes() {
        let px: Vec<f32> = (0..1000).map(|i| if i % 2 == 0 { 0.1 } else { 0.7 }).collect();
        let t = otsu(&gray(GrayImage { width: 1000, height: 1, pixels: px, bit_depth: 8 }));
        assert!((0.1..0.7).contains(&t), "{t}");
    }
}
