//! A case: anatomy plus findings (each a radiographic sign) plus artifacts.

use super::anatomy::{Anatomy, Segment};
use super::rng::{chance, uniform};
use cxr_core::Finding;
use rand::Rng;

/// The findings the generator draws as signs ("No Finding" is their absence).
pub const PLANTED: [Finding; 5] = [
    Finding::Cardiomegaly,
    Finding::PleuralEffusion,
    Finding::Pneumothorax,
    Finding::Consolidation,
    Finding::LungLesion,
];

/// Fluid in the costophrenic recess of one or both lungs, up to a meniscus.
#[derive(Debug, Clone)]
pub struct Effusion {
    /// Fluid level per lung (y of the medial end of the meniscus), `None` when dry.
    pub level: [Option<f32>; 2],
}

/// Air in the pleural space: a lateral-apical band without lung markings, bounded by the
/// visceral pleural line.
#[derive(Debug, Clone)]
pub struct Pneumothorax {
    /// Lung index.
    pub lung: usize,
    /// Depth of the air band as a fraction of the elliptical radius.
    pub depth: f32,
}

/// Patchy airspace opacity with air bronchograms.
#[derive(Debug, Clone)]
pub struct Consolidation {
    /// Lung index.
    pub lung: usize,
    /// Gaussian lobes (x, y, radius).
    pub lobes: Vec<(f32, f32, f32)>,
    /// Air bronchograms, in image coordinates.
    pub(crate) bronchi: Vec<Segment>,
}

/// A round nodule or mass.
#[derive(Debug, Clone, Copy)]
pub struct Nodule {
    /// Centre x.
    pub x: f32,
    /// Centre y.
    pub y: f32,
    /// Radius.
    pub r: f32,
}

/// A chest drain (the planted shortcut artifact): a bright tube along the lower lateral chest
/// wall, outside the lung field.
#[derive(Debug, Clone)]
pub struct Drain {
    /// Polyline, image coordinates.
    pub points: Vec<(f32, f32)>,
}

/// One sampled case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Anatomy.
    pub anatomy: Anatomy,
    /// Cardiothoracic ratio the heart was built with.
    pub ctr: f32,
    /// Effusion, if any.
    pub effusion: Option<Effusion>,
    /// Pneumothorax, if any.
    pub pneumothorax: Option<Pneumothorax>,
    /// Consolidation, if any.
    pub consolidation: Option<Consolidation>,
    /// Lung lesion, if any.
    pub lesion: Option<Nodule>,
    /// Chest drain artifact, if any.
    pub drain: Option<Drain>,
}

impl Case {
    /// Ground truth for one finding.
    #[must_use]
    pub fn has(&self, f: Finding) -> bool {
        match f {
            Finding::Cardiomegaly => self.ctr > 0.5,
            Finding::PleuralEffusion => self.effusion.is_some(),
            Finding::Pneumothorax => self.pneumothorax.is_some(),
            Finding::Consolidation => self.consolidation.is_some(),
            Finding::LungLesion => self.lesion.is_some(),
            Finding::NoFinding => PLANTED.iter().all(|&p| !self.has(p)),
            Finding::Atelectasis | Finding::Pneumonia | Finding::Edema => false,
        }
    }
}

/// A point inside lung `i` and outside the heart, at least `margin` (elliptical radius) from the
/// lung edge.
fn point_in_lung(rng: &mut impl Rng, a: &Anatomy, i: usize, margin: f32) -> (f32, f32) {
    let l = a.lungs[i];
    for _ in 0..200 {
        let x = l.cx + l.rx * uniform(rng, -1.0, 1.0);
        let y = l.cy + l.ry * uniform(rng, -1.0, 1.0);
        if l.radius(x, y) < 1.0 - margin && !a.in_heart(x, y) && l.radius(x, y) > 0.0 {
            return (x, y);
        }
    }
    (l.cx + l.side * 0.3 * l.rx, l.cy - 0.3 * l.ry)
}

/// How a site places the chest-drain artifact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Artifact {
    /// No drains.
    None,
    /// The planted shortcut: a drain with probability 0.98 when the case has this finding and
    /// 0.01 otherwise (as chest drains co-occur with pneumothorax in real training data).
    CoOccurs(Finding),
    /// Drains independent of every finding, at this rate (post-operative patients at another
    /// hospital).
    Independent(f64),
}

/// Sample a case with the site's artifact policy.
pub fn sample_case(rng: &mut impl Rng, artifact: Artifact) -> Case {
    let cardio = chance(rng, 0.22);
    let ctr = if cardio { uniform(rng, 0.56, 0.66) } else { uniform(rng, 0.36, 0.46) };
    let anatomy = Anatomy::sample(rng, ctr);
    let p_eff = if cardio { 0.45 } else { 0.22 };
    let effusion = chance(rng, p_eff).then(|| {
        let both = chance(rng, 0.35);
        let first = usize::from(chance(rng, 0.5));
        let mut level = [None, None];
        for (i, lv) in level.iter_mut().enumerate() {
            if both || i == first {
                let l = anatomy.lungs[i];
                *lv = Some(l.cy + l.ry * uniform(rng, 0.32, 0.6));
            }
        }
        Effusion { level }
    });
    let pneumothorax = chance(rng, 0.2).then(|| Pneumothorax {
        lung: usize::from(chance(rng, 0.5)),
        depth: uniform(rng, 0.22, 0.4),
    });
    let consolidation = chance(rng, 0.18).then(|| {
        let lung = usize::from(chance(rng, 0.5));
        let (x, y) = point_in_lung(rng, &anatomy, lung, 0.45);
        let base = uniform(rng, 0.045, 0.075);
        let lobes = (0..4)
            .map(|_| (x + uniform(rng, -base, base), y + uniform(rng, -base, base), base * uniform(rng, 0.6, 1.0)))
            .collect();
        let bronchi = (0..2)
            .map(|_| {
                let a = uniform(rng, 0.0, std::f32::consts::PI);
                let len = base * 1.2;
                Segment { a: (x - len * a.cos(), y - len * a.sin()), b: (x + len * a.cos(), y + len * a.sin()), width: 0.006 }
            })
            .collect();
        Consolidation { lung, lobes, bronchi }
    });
    let lesion = chance(rng, 0.15).then(|| {
        let lung = usize::from(chance(rng, 0.5));
        let (x, y) = point_in_lung(rng, &anatomy, lung, 0.45);
        Nodule { x, y, r: uniform(rng, 0.032, 0.055) }
    });
    let mut case = Case { anatomy, ctr, effusion, pneumothorax, consolidation, lesion, drain: None };
    let p = match artifact {
        Artifact::None => 0.0,
        Artifact::CoOccurs(f) => if case.has(f) { 0.98 } else { 0.01 },
        Artifact::Independent(rate) => rate,
    };
    {
        if p > 0.0 && chance(rng, p) {
            // Either side, and along the lower lateral chest wall outside the lung field: the
            // artifact marks the finding without overlapping its sign, so a model can learn one
            // without the other.
            let l = case.anatomy.lungs[usize::from(chance(rng, 0.5))];
            let wall = l.cx + l.side * (l.rx + 0.035);
            let top = l.cy + l.ry * uniform(rng, -0.1, 0.2);
            let points = vec![
                (wall + l.side * 0.06, l.cy + l.ry * 1.05),
                (wall, l.cy + l.ry * 0.7),
                (wall - l.side * 0.005, top),
            ];
            case.drain = Some(Drain { points });
        }
    }
    case
}
