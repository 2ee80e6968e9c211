//! Patient anatomy: the geometry every finding is placed in, in normalized image coordinates
//! (x to the right of the image, y down, both in [0, 1]; the patient's left is the image right).

use super::rng::{normal, uniform};
use rand::Rng;

/// A thin line segment (a vessel marking), in lung-local normalized units.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    pub(crate) a: (f32, f32),
    pub(crate) b: (f32, f32),
    pub(crate) width: f32,
}

/// One lung field: an ellipse (its lower arc is the diaphragm dome, its lateral-lower corner the
/// costophrenic angle).
#[derive(Debug, Clone, Copy)]
pub struct Lung {
    /// Centre x.
    pub cx: f32,
    /// Centre y.
    pub cy: f32,
    /// Half width.
    pub rx: f32,
    /// Half height.
    pub ry: f32,
    /// +1 for the image-right lung, −1 for the image-left one.
    pub side: f32,
}

impl Lung {
    /// Normalized elliptical radius (< 1 inside).
    #[must_use]
    pub fn radius(&self, x: f32, y: f32) -> f32 {
        (((x - self.cx) / self.rx).powi(2) + ((y - self.cy) / self.ry).powi(2)).sqrt()
    }

    /// Whether (x, y) lies in the lung field.
    #[must_use]
    pub fn contains(&self, x: f32, y: f32) -> bool {
        self.radius(x, y) < 1.0
    }

    /// How lateral a point is: 0 at the medial edge, 1 at the lateral edge.
    #[must_use]
    pub fn laterality(&self, x: f32) -> f32 {
        (((x - self.cx) * self.side / self.rx) + 1.0) / 2.0
    }
}

/// The sampled anatomy of one case.
#[derive(Debug, Clone)]
pub struct Anatomy {
    /// In-plane rotation (radians) about the image centre.
    pub tilt: f32,
    /// Body ellipse centre and half axes.
    pub body: (f32, f32, f32, f32),
    /// Image-left and image-right lungs.
    pub lungs: [Lung; 2],
    /// Heart ellipse centre and half axes.
    pub heart: (f32, f32, f32, f32),
    /// Midline x.
    pub midline: f32,
    /// Vessel markings per lung (lung-local units: (x − cx)/rx, (y − cy)/ry).
    pub(crate) vessels: [Vec<Segment>; 2],
    /// Vertical offset of the rib cage.
    pub rib_phase: f32,
    /// Base density of aerated lung (habitus and lung volume vary between patients).
    pub lung_density: f32,
}

impl Anatomy {
    /// Thoracic width: outer edge to outer edge of the lungs.
    #[must_use]
    pub fn thorax_width(&self) -> f32 {
        (self.lungs[1].cx + self.lungs[1].rx) - (self.lungs[0].cx - self.lungs[0].rx)
    }

    /// Sample an anatomy whose heart gives the cardiothoracic ratio `ctr`.
    pub(crate) fn sample(rng: &mut impl Rng, ctr: f32) -> Self {
        let scale = uniform(rng, 0.86, 1.1);
        let inspiration = uniform(rng, 0.82, 1.15);
        let midline = 0.5 + 0.015 * normal(rng);
        let gap = 0.175 * scale;
        let rx = 0.135 * scale * uniform(rng, 0.95, 1.05);
        let ry = 0.27 * scale * inspiration;
        let cy = 0.43 + 0.02 * normal(rng);
        let lungs = [
            Lung { cx: midline - gap, cy, rx, ry, side: -1.0 },
            Lung { cx: midline + gap, cy, rx: rx * uniform(rng, 0.95, 1.03), ry: ry * 0.97, side: 1.0 },
        ];
        let thorax = (lungs[1].cx + lungs[1].rx) - (lungs[0].cx - lungs[0].rx);
        let heart_rx = ctr * thorax / 2.0;
        // The heart sits low in the chest, shifted to the patient's left (image right).
        let heart = (midline + 0.2 * heart_rx, cy + 0.62 * ry, heart_rx, 0.11 * scale * uniform(rng, 0.9, 1.1));
        let body = (midline, 0.55, 0.43 * scale, 0.6);
        let mut vessels = [Vec::new(), Vec::new()];
        for (lung, v) in lungs.iter().zip(vessels.iter_mut()) {
            // Branching markings radiating from the hilum (medial, mid-height) towards the
            // lateral edge, tapering as they go. Lung-local units: u = (x − cx)/rx, v = (y − cy)/ry.
            for _ in 0..9 {
                let ang = uniform(rng, -1.2, 1.2);
                let (mut u, mut w_) = (-lung.side * 0.7, 0.05);
                let len = uniform(rng, 0.5, 1.3);
                let steps = 3;
                let step = len / steps as f32;
                let mut width = 0.09;
                for _ in 0..steps {
                    let a = ang + uniform(rng, -0.35, 0.35);
                    let nu = u + lung.side * step * a.cos();
                    let nw = w_ + step * a.sin();
                    v.push(Segment { a: (u, w_), b: (nu, nw), width });
                    u = nu;
                    w_ = nw;
                    width *= 0.7;
                }
            }
        }
        Self {
            tilt: 0.03 * normal(rng),
            body,
            lungs,
            heart,
            midline,
            vessels,
            rib_phase: uniform(rng, -0.015, 0.015),
            lung_density: uniform(rng, 0.06, 0.15),
        }
    }

    /// Whether (x, y) lies in the heart silhouette.
    #[must_use]
    pub fn in_heart(&self, x: f32, y: f32) -> bool {
        let (cx, cy, rx, ry) = self.heart;
        ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) < 1.0
    }

    /// Whether (x, y) lies in the body outline.
    #[must_use]
    pub fn in_body(&self, x: f32, y: f32) -> bool {
        let (cx, cy, rx, ry) = self.body;
        ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) < 1.0
    }

    /// Vessel-marking density at lung-local coordinates of lung `i`.
    pub(crate) fn vessel(&self, i: usize, u: f32, v: f32) -> f32 {
        let mut d: f32 = 0.0;
        for s in &self.vessels[i] {
            let dist = seg_dist((u, v), s.a, s.b);
            if dist < s.width {
                d = d.max(1.0 - dist / s.width);
            }
        }
        d
    }
}

/// Distance from point p to segment ab.
pub(crate) fn seg_dist(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 { (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / l2).clamp(0.0, 1.0) } else { 0.0 };
    let (qx, qy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - qx).powi(2) + (p.1 - qy).powi(2)).sqrt()
}
