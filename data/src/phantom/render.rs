//! Rasterizing a case to a density map (what attenuates the beam) and ground-truth masks.

use super::anatomy::seg_dist;
use super::case::{Case, PLANTED};
use cxr_core::Finding;

/// A rendered case.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Attenuation density per pixel (0 = air outside the body), row-major.
    pub density: Vec<f32>,
    /// Ground-truth mask per finding, in `SHARED9` order (empty for findings not drawn).
    pub masks: [Vec<bool>; 9],
    /// Heart silhouette.
    pub heart: Vec<bool>,
    /// Both lung fields.
    pub lungs: Vec<bool>,
    /// The drain artifact.
    pub drain: Vec<bool>,
}

impl Rendered {
    /// Whether the finding's mask has any pixel.
    #[must_use]
    pub fn mask_nonempty(&self, f: Finding) -> bool {
        self.masks[f.index()].iter().any(|&m| m)
    }
}

/// What one sample point sees.
struct Sample {
    density: f32,
    finding: [bool; 9],
    heart: bool,
    lung: bool,
    drain: bool,
}

fn sample(case: &Case, x0: f32, y0: f32) -> Sample {
    let a = &case.anatomy;
    // Undo the in-plane rotation: shapes are defined upright.
    let (s, c) = a.tilt.sin_cos();
    let (dx, dy) = (x0 - 0.5, y0 - 0.5);
    let (x, y) = (0.5 + c * dx + s * dy, 0.5 - s * dx + c * dy);
    let mut out = Sample { density: 0.0, finding: [false; 9], heart: false, lung: false, drain: false };
    if !a.in_body(x, y) {
        return out;
    }
    let mut d = 0.42;
    let heart = a.in_heart(x, y);
    let lung_idx = (0..2).find(|&i| a.lungs[i].contains(x, y));
    if let (Some(i), false) = (lung_idx, heart) {
        let l = a.lungs[i];
        out.lung = true;
        let (u, v) = ((x - l.cx) / l.rx, (y - l.cy) / l.ry);
        d = a.lung_density + 0.16 * a.vessel(i, u, v);
        // Consolidation: airspace opacity with darker air bronchograms.
        if let Some(cons) = case.consolidation.as_ref().filter(|c| c.lung == i) {
            let field: f32 = cons.lobes.iter().map(|&(cx, cy, r)| (-((x - cx).powi(2) + (y - cy).powi(2)) / (r * r)).exp()).sum();
            if field > 0.6 {
                out.finding[Finding::Consolidation.index()] = true;
                let bronchus = cons.bronchi.iter().any(|b| seg_dist((x, y), b.a, b.b) < b.width);
                d = if bronchus { 0.2 } else { 0.40 };
            }
        }
        // Lesion: a dense round nodule.
        if let Some(n) = case.lesion {
            let r = ((x - n.x).powi(2) + (y - n.y).powi(2)).sqrt();
            if r < n.r {
                out.finding[Finding::LungLesion.index()] = true;
                d = d.max(0.46);
            }
        }
        // Pneumothorax: a lateral-apical air band without markings, bounded by a bright line.
        if let Some(p) = case.pneumothorax.as_ref().filter(|p| p.lung == i) {
            let rr = l.radius(x, y);
            let upper = y < l.cy + 0.35 * l.ry;
            let lateral = (x - l.cx) * l.side > -0.2 * l.rx;
            if upper && lateral {
                if rr > 1.0 - p.depth {
                    out.finding[Finding::Pneumothorax.index()] = true;
                    d = 0.3 * a.lung_density;
                } else if rr > 1.0 - p.depth - 0.035 {
                    d = 0.34;
                }
            }
        }
        // Effusion: homogeneous fluid below a meniscus that rises laterally, blunting the
        // costophrenic angle.
        if let Some(level) = case.effusion.as_ref().and_then(|e| e.level[i]) {
            let meniscus = level - 0.12 * l.ry * l.laterality(x).powi(2);
            if y > meniscus {
                out.finding[Finding::PleuralEffusion.index()] = true;
                d = 0.47;
            }
        }
    }
    if heart {
        out.heart = true;
        d = 0.52;
        if case.ctr > 0.5 {
            out.finding[Finding::Cardiomegaly.index()] = true;
        }
    }
    // Mediastinum above the heart.
    if (x - a.midline).abs() < 0.045 && y > 0.1 && y < a.heart.1 && !heart {
        d = d.max(0.5);
    }
    // Bones: spine, ribs, clavicles (additive).
    if (x - a.midline).abs() < 0.028 {
        d += 0.16 + 0.04 * ((y * 70.0).sin() > 0.6) as u8 as f32;
    }
    for side in [-1.0f32, 1.0] {
        let lat = (x - a.midline) * side;
        if lat > 0.03 && lat < 0.36 {
            for k in 0..10 {
                let yk = 0.17 + a.rib_phase + 0.055 * k as f32 + 0.9 * (lat - 0.18).powi(2);
                if (y - yk).abs() < 0.009 {
                    d += 0.07;
                }
            }
        }
        let clav = seg_dist((x, y), (a.midline + side * 0.05, 0.17), (a.midline + side * 0.3, 0.11));
        if clav < 0.012 {
            d += 0.12;
        }
    }
    if let Some(dr) = &case.drain {
        // A wide radiopaque tube ending in a connector block: bold at any resolution.
        let tube = dr.points.windows(2).any(|w| seg_dist((x, y), w[0], w[1]) < 0.018);
        let end = dr.points[0];
        let connector = (x - end.0).abs() < 0.035 && (y - end.1).abs() < 0.025;
        if tube || connector {
            out.drain = true;
            d += 0.7;
        }
    }
    out.density = d;
    out
}

/// Render `case` at `width × height`: density with 2×2 supersampling, masks at pixel centres.
#[must_use]
pub fn render(case: &Case, width: u32, height: u32) -> Rendered {
    let n = (width * height) as usize;
    let mut density = vec![0.0; n];
    let mut masks: [Vec<bool>; 9] = std::array::from_fn(|_| vec![false; n]);
    let (mut heart, mut lungs, mut drain) = (vec![false; n], vec![false; n], vec![false; n]);
    let (w, h) = (width as f32, height as f32);
    for py in 0..height {
        for px in 0..width {
            let i = (py * width + px) as usize;
            let centre = sample(case, (px as f32 + 0.5) / w, (py as f32 + 0.5) / h);
            for f in PLANTED {
                masks[f.index()][i] = centre.finding[f.index()];
            }
            heart[i] = centre.heart;
            lungs[i] = centre.lung || centre.finding.iter().any(|&m| m);
            drain[i] = centre.drain;
            let mut acc = 0.0;
            for (ox, oy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                acc += sample(case, (px as f32 + ox) / w, (py as f32 + oy) / h).density;
            }
            density[i] = acc / 4.0;
        }
    }
    Rendered { width, height, density, masks, heart, lungs, drain }
}

/// A lateral view of the same patient (density only; findings are not drawn on laterals, which
/// the frontal-only default excludes anyway).
#[must_use]
pub(super) fn render_lateral(case: &Case, width: u32, height: u32) -> Vec<f32> {
    let a = &case.anatomy;
    let mut out = vec![0.0; (width * height) as usize];
    for py in 0..height {
        for px in 0..width {
            let (x, y) = ((px as f32 + 0.5) / width as f32, (py as f32 + 0.5) / height as f32);
            let body = ((x - 0.5) / 0.4).powi(2) + ((y - 0.55) / 0.6).powi(2) < 1.0;
            if !body {
                continue;
            }
            let lung = ((x - 0.5) / 0.3).powi(2) + ((y - a.lungs[0].cy) / a.lungs[0].ry).powi(2) < 1.0;
            let heart = ((x - 0.36) / (0.7 * a.heart.2)).powi(2) + ((y - a.heart.1) / a.heart.3).powi(2) < 1.0;
            let spine = (x - 0.8).abs() < 0.05;
            let mut d = if heart { 0.52 } else if lung { 0.16 } else { 0.42 };
            if spine {
                d += 0.2;
            }
            out[(py * width + px) as usize] = d;
        }
    }
    out
}
