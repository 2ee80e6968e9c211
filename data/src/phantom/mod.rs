//! Deterministic synthetic chest radiograph "phantoms" for the embedded default study
//! (design.md §12).
//!
//! Each case is an anatomy (body, lungs with vessel markings, heart, mediastinum, spine, ribs,
//! clavicles, diaphragm domes and costophrenic angles) with random but plausible variation, plus
//! findings drawn as radiographic signs, each with a ground-truth mask. A site then images the
//! case with its own acquisition signature and writes it in the real dataset's on-disk format:
//! CheXpert (training site), NIH, MIMIC-CXR-JPG, PadChest, VinDr-CXR and BRAX (external sites).
//! An option plants a site artifact (a chest drain) that co-occurs with one finding at the
//! training site only, as chest drains co-occur with pneumothorax in real data. The external
//! sites always have drains in some patients, independent of any finding (post-operative
//! patients), whatever the option: they are the same with the shortcut on or off, so the option
//! changes only what the training site teaches.
//!
//! Everything is a pure function of the seed: every image has its own RNG stream derived from
//! (seed, site, index), so parallel rendering gives the same bytes.

mod anatomy;
mod brax;
mod case;
mod jobs;
mod mimic;
mod padchest;
mod render;
mod rng;
mod site;
mod vindr;
mod write;

pub use case::{Artifact, Case, PLANTED, sample_case};
pub use render::{Rendered, render};
pub use site::{Site, SiteKind};
pub use write::{PhantomConfig, PhantomSummary, SiteSummary, generate};
