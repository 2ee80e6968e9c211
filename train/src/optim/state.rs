//! The per-parameter state of this crate's own rules: a step count, a few scalars and a few
//! tensors, each rule giving the slots their meaning. Recorded into the optimizer's burnpack
//! bytes like Burn's own states, so a resumed run continues from the same state.

use burn::optim::{RecordState, StateSink, StateSource};
use burn::prelude::*;
use burn_pack::Scalar;

/// Step count, scalars and tensors of one parameter.
#[derive(Clone, Debug)]
pub struct Slots<const D: usize> {
    /// Steps taken (or the rule's own counter).
    pub step: u64,
    /// Scalar slots.
    pub scalars: Vec<f64>,
    /// Tensor slots.
    pub tensors: Vec<Tensor<D>>,
}

impl<const D: usize> Slots<D> {
    /// A state with `tensors` and no scalars.
    #[must_use]
    pub fn new(step: u64, tensors: Vec<Tensor<D>>) -> Self {
        Self { step, scalars: Vec::new(), tensors }
    }

    /// Move every tensor to `device`.
    #[must_use]
    pub fn to_device(mut self, device: &Device) -> Self {
        self.tensors = self.tensors.into_iter().map(|t| t.to_device(device)).collect();
        self
    }
}

impl<const D: usize> RecordState for Slots<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_scalar(prefix, "step", Scalar::from(self.step));
        out.push_scalar(prefix, "n_scalars", Scalar::from(self.scalars.len() as u64));
        out.push_scalar(prefix, "n_tensors", Scalar::from(self.tensors.len() as u64));
        for (i, s) in self.scalars.iter().enumerate() {
            out.push_scalar(prefix, &format!("s{i}"), Scalar::from(*s));
        }
        for (i, t) in self.tensors.iter().enumerate() {
            out.push_tensor(prefix, &format!("t{i}"), t.to_data());
        }
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let step = u64::try_from(src.take_scalar(prefix, "step")?).ok()?;
        let ns = usize::try_from(u64::try_from(src.take_scalar(prefix, "n_scalars")?).ok()?).ok()?;
        let nt = usize::try_from(u64::try_from(src.take_scalar(prefix, "n_tensors")?).ok()?).ok()?;
        let scalars = (0..ns).map(|i| f64::try_from(src.take_scalar(prefix, &format!("s{i}"))?).ok()).collect::<Option<Vec<_>>>()?;
        let tensors = (0..nt).map(|i| src.take_tensor(prefix, &format!("t{i}")).map(|d| Tensor::from_data(d, device))).collect::<Option<Vec<_>>>()?;
        Some(Self { step, scalars, tensors })
    }
}
