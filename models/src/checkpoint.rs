//! Checkpoints as burnpack bytes, so callers can hash them and write them atomically.

use crate::Model;
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::store::{BurnpackStore, ModuleSnapshot};

/// A checkpoint that does not fit the model.
#[derive(Debug, thiserror::Error)]
#[error("checkpoint does not match the model: {0}")]
pub struct CheckpointError(pub String);

/// Serialize the model's parameters and running statistics.
///
/// # Errors
/// Serialization failure.
pub fn to_bytes(model: &Model) -> Result<Vec<u8>, CheckpointError> {
    let mut store = BurnpackStore::from_bytes(None);
    model.save_into(&mut store).map_err(|e| CheckpointError(e.to_string()))?;
    let bytes = store.get_bytes().map_err(|e| CheckpointError(e.to_string()))?;
    Ok(bytes.to_vec())
}

/// Load parameters into `model` (built with the same architecture, labels and channels).
///
/// # Errors
/// Missing, unused or mis-shaped tensors.
pub fn load_bytes(model: &mut Model, bytes: Vec<u8>) -> Result<(), CheckpointError> {
    let mut store = BurnpackStore::from_bytes(Some(burn::tensor::Bytes::from_bytes_vec(bytes)));
    let r = model.load_from(&mut store).map_err(|e| CheckpointError(e.to_string()))?;
    if !r.missing.is_empty() || !r.errors.is_empty() || !r.unused.is_empty() {
        return Err(CheckpointError(format!(
            "{} missing, {} unused, {} errors (first: {:?} {:?} {:?})",
            r.missing.len(),
            r.unused.len(),
            r.errors.len(),
            r.missing.first(),
            r.unused.first(),
            r.errors.first().map(|e| format!("{e:?}"))
        )));
    }
    Ok(())
}

struct WeightsHasher {
    path: Vec<String>,
    hasher: blake3::Hasher,
}

impl ModuleVisitor for WeightsHasher {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        let t = p.val();
        self.hasher.update(format!("{}\0{:?}\0", self.path.join("."), t.dims()).as_bytes());
        for v in t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default() {
            self.hasher.update(&v.to_le_bytes());
        }
    }
}

/// blake3 over every parameter and running statistic (path, shape, little-endian f32 values) in
/// module order: the identity of the weights, independent of the random parameter ids a
/// checkpoint file stores.
#[must_use]
pub fn weights_blake3(model: &Model) -> String {
    let mut h = WeightsHasher { path: Vec::new(), hasher: blake3::Hasher::new() };
    model.visit(&mut h);
    h.hasher.finalize().to_hex().to_string()
}
