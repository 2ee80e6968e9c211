//! Sites: one per real dataset, each with its own acquisition signature (intensity curve,
//! exposure range, noise, collimation border, burned-in marker) and on-disk format.

use super::rng::{normal, uniform};
use rand::Rng;

/// Which real dataset a site imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteKind {
    /// CheXpert: 8-bit JPEG, portrait, no collimation border, marker top-left.
    Chexpert,
    /// NIH ChestX-ray14: 8-bit PNG, square, dark collimation border, marker bottom-right.
    Nih,
    /// MIMIC-CXR-JPG: 8-bit JPEG, flat curve, thin border, marker top-right.
    Mimic,
    /// PadChest: 16-bit PNG (10 or 12 bits used), bright curve, marker bottom-left.
    Padchest,
    /// VinDr-CXR: MONOCHROME1 DICOM with a VOI window, noisy, wide border, marker mid-right.
    Vindr,
    /// BRAX: 8-bit PNG and MONOCHROME2 DICOM, dark curve, narrow portrait, marker top-left.
    Brax,
}

/// An acquisition signature.
#[derive(Debug, Clone, Copy)]
pub struct Site {
    /// Which dataset.
    pub kind: SiteKind,
    /// Display gamma of the site's intensity curve.
    pub gamma: f32,
    /// Gaussian noise standard deviation (in [0, 1] intensity units).
    pub noise: f32,
    /// Collimation border width range (fraction of the side); zero for none.
    pub border: (f32, f32),
    /// Width / height of the images (portrait < 1).
    pub aspect: f32,
}

impl Site {
    /// The site imitating `kind`.
    #[must_use]
    pub fn new(kind: SiteKind) -> Self {
        match kind {
            SiteKind::Chexpert => Self { kind, gamma: 1.25, noise: 0.012, border: (0.0, 0.0), aspect: 0.84 },
            SiteKind::Nih => Self { kind, gamma: 0.72, noise: 0.03, border: (0.03, 0.07), aspect: 1.0 },
            SiteKind::Mimic => Self { kind, gamma: 1.0, noise: 0.02, border: (0.0, 0.02), aspect: 0.9 },
            SiteKind::Padchest => Self { kind, gamma: 0.85, noise: 0.015, border: (0.01, 0.04), aspect: 0.95 },
            SiteKind::Vindr => Self { kind, gamma: 1.1, noise: 0.025, border: (0.02, 0.05), aspect: 0.88 },
            SiteKind::Brax => Self { kind, gamma: 1.4, noise: 0.018, border: (0.0, 0.03), aspect: 0.8 },
        }
    }

    /// Image size for a nominal side `size` (height = size).
    #[must_use]
    pub fn dims(&self, size: u32) -> (u32, u32) {
        (((size as f32 * self.aspect).round() as u32).max(8), size)
    }

    /// Turn a density map into a displayed radiograph in [0, 1]: exponential attenuation with a
    /// per-image exposure, the site's gamma with per-image jitter, gain and offset, noise, the
    /// collimation border and a burned-in marker.
    pub fn acquire(&self, rng: &mut impl Rng, density: &[f32], width: u32, height: u32) -> Vec<f32> {
        let k = uniform(rng, 2.0, 3.2);
        let norm = 1.0 - (-k * 0.95f32).exp();
        let gamma = self.gamma * uniform(rng, 0.8, 1.2);
        let gain = uniform(rng, 0.72, 1.0);
        let offset = uniform(rng, 0.0, 0.14);
        let bw = uniform(rng, self.border.0, self.border.1);
        let (bx, by) = ((bw * width as f32) as u32, (bw * height as f32) as u32);
        let marker_w = (width / 10).max(2);
        let (mx, my) = match self.kind {
            SiteKind::Chexpert | SiteKind::Brax => (width / 16 + 1, height / 16 + 1),
            SiteKind::Nih => (width - width / 16 - marker_w - 1, height - height / 16 - marker_w - 1),
            SiteKind::Mimic => (width - width / 16 - marker_w - 1, height / 16 + 1),
            SiteKind::Padchest => (width / 16 + 1, height - height / 16 - marker_w - 1),
            SiteKind::Vindr => (width - width / 12 - marker_w - 1, height / 2),
        };
        let mut out = Vec::with_capacity(density.len());
        for py in 0..height {
            for px in 0..width {
                let d = density[(py * width + px) as usize];
                let mut v = ((1.0 - (-k * d).exp()) / norm).clamp(0.0, 1.0).powf(gamma);
                v = offset + gain * v + self.noise * normal(rng);
                if px >= mx && px < mx + marker_w && py >= my && py < my + marker_w / 2 + 1 {
                    v = 0.97;
                }
                if px < bx || py < by || px >= width - bx || py >= height - by {
                    v = 0.02 * rng.random::<f32>();
                }
                out.push(v.clamp(0.0, 1.0));
            }
        }
        out
    }
}
