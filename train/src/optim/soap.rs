//! SOAP (Vyas et al., "SOAP: Improving and Stabilizing Shampoo using Adam", 2024;
//! nikhilvyas/SOAP `soap.py` at f42d296), methods.md §2.6: Adam in the eigenbasis of Shampoo's
//! preconditioner. Every dimension of at most `max_precond_dim` gets a factor L_d (the running
//! Gram matrix of the mode-d unfolding of the gradient) and its eigenbasis Q_d; a convolution
//! filter gets four. 1-D parameters get none, so SOAP is Adam for them. The first call only
//! builds the preconditioner (no update), as the reference does; after that, every
//! `precondition_frequency` steps the eigenbasis is refreshed by one power iteration and a QR
//! decomposition. Weight decay is applied after the step, to the updated weights.
//!
//! The eigendecomposition and QR run in f64 on the CPU (nalgebra); the reference runs them in
//! f32 through `torch.linalg`. Column signs differ between LAPACK and nalgebra, and the update
//! does not depend on them (a flipped column flips the projected moment and its back-projection
//! together).

use super::state::Slots;
use burn::optim::{LearningRate, Optimizer};
use burn::prelude::*;
use burn::tensor::{Int, TensorData};
use nalgebra::DMatrix;

/// The rule for one tensor.
#[derive(Clone, Debug)]
pub struct Soap {
    /// β1.
    pub beta1: f64,
    /// β2 (also Shampoo's β for the factors, `shampoo_beta = -1`).
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Decoupled weight decay, after the step.
    pub weight_decay: f64,
    /// Eigenbasis refresh period.
    pub precondition_frequency: u64,
    /// Larger dimensions get no factor.
    pub max_precond_dim: usize,
}

fn to_matrix(t: Tensor<2>) -> DMatrix<f64> {
    let [r, c] = t.dims();
    let v: Vec<f32> = t.into_data().try_to_vec::<f32>().unwrap_or_default();
    DMatrix::from_row_iterator(r, c, v.into_iter().map(f64::from))
}

fn from_matrix(m: &DMatrix<f64>, device: &Device) -> Tensor<2> {
    let (r, c) = m.shape();
    let v: Vec<f32> = (0..r).flat_map(|i| (0..c).map(move |j| m[(i, j)] as f32)).collect();
    Tensor::from_data(TensorData::new(v, [r, c]), device)
}

/// Eigenvectors of a symmetric matrix as columns, by descending eigenvalue.
fn eigenbasis(l: &DMatrix<f64>) -> DMatrix<f64> {
    let n = l.nrows();
    let e = nalgebra::SymmetricEigen::new(l.clone() + DMatrix::identity(n, n) * 1e-30);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| e.eigenvalues[b].total_cmp(&e.eigenvalues[a]));
    DMatrix::from_fn(n, n, |i, j| e.eigenvectors[(i, order[j])])
}

/// Mode products of `x` with each present factor, in dimension order: `Q_dᵀ` along d
/// (`back = false`, the reference's `project`) or `Q_d` (`back = true`, `project_back`).
fn project<const D: usize>(x: Tensor<D>, qs: &[Option<Tensor<2>>], back: bool) -> Tensor<D> {
    let mut dims = x.dims().to_vec();
    let mut flat: Tensor<2> = x.reshape([dims[0], dims[1..].iter().product::<usize>().max(1)]);
    for q in qs {
        // Contract the leading axis and move it to the end: [n0, rest] → [rest, n0].
        let t = flat.transpose();
        let y = match q {
            Some(q) if back => t.matmul(q.clone().transpose()),
            Some(q) => t.matmul(q.clone()),
            None => t,
        };
        dims.rotate_left(1);
        let lead = dims[0];
        flat = y.reshape([lead, dims[1..].iter().product::<usize>().max(1)]);
    }
    let shape: [usize; D] = dims.try_into().unwrap_or([1; D]);
    flat.reshape(shape)
}

/// `G_(d) G_(d)ᵀ` for the mode-d unfolding.
fn gram<const D: usize>(g: &Tensor<D>, d: usize) -> Tensor<2> {
    let dims = g.dims();
    let n = dims[d];
    let u: Tensor<2> = g.clone().swap_dims(0, d).reshape([n, dims.iter().product::<usize>() / n]);
    u.clone().matmul(u.transpose())
}

/// The SOAP state, unpacked: step t, moments, factors and eigenbases per dimension.
struct Unpacked<const D: usize> {
    t: u64,
    m: Tensor<D>,
    v: Tensor<D>,
    l: Vec<Option<Tensor<2>>>,
    q: Vec<Option<Tensor<2>>>,
}

/// Factors and bases are stored as rank-D tensors shaped `[n, n, 1, …]`; `scalars[d]` says
/// whether dimension d has one.
fn pack<const D: usize>(u: Unpacked<D>) -> Slots<D> {
    let lift = |t: Tensor<2>| -> Tensor<D> {
        let [n, _] = t.dims();
        let mut s = [1usize; D];
        s[0] = n;
        s[1] = n;
        t.reshape(s)
    };
    let scalars = u.l.iter().map(|f| f64::from(u8::from(f.is_some()))).collect();
    let mut tensors = vec![u.m, u.v];
    tensors.extend(u.l.into_iter().flatten().map(lift));
    tensors.extend(u.q.into_iter().flatten().map(lift));
    Slots { step: u.t, scalars, tensors }
}

fn unpack<const D: usize>(s: Slots<D>) -> Unpacked<D> {
    let present: Vec<bool> = s.scalars.iter().map(|f| *f != 0.0).collect();
    let k = present.iter().filter(|p| **p).count();
    let mut it = s.tensors.into_iter();
    let (m, v) = (it.next().unwrap_or_else(|| unreachable!()), it.next().unwrap_or_else(|| unreachable!()));
    let rest: Vec<Tensor<D>> = it.collect();
    let down = |t: &Tensor<D>| -> Tensor<2> {
        let n = t.dims()[0];
        t.clone().reshape([n, n])
    };
    let mut l_it = rest[..k].iter();
    let mut q_it = rest[k..].iter();
    let l = present.iter().map(|p| if *p { l_it.next().map(down) } else { None }).collect();
    let q = present.iter().map(|p| if *p { q_it.next().map(down) } else { None }).collect();
    Unpacked { t: s.step, m, v, l, q }
}

impl Soap {
    fn lerp_factors<const D: usize>(&self, l: Vec<Option<Tensor<2>>>, g: &Tensor<D>) -> Vec<Option<Tensor<2>>> {
        l.into_iter().enumerate().map(|(d, f)| f.map(|f| super::lerp(f, gram(g, d), (1.0 - self.beta2) as f32))).collect()
    }

    /// One power iteration and QR per factor, with the second moment's slices put in the order
    /// of the new basis.
    fn refresh<const D: usize>(l: &[Option<Tensor<2>>], q: &[Option<Tensor<2>>], mut v: Tensor<D>) -> (Vec<Option<Tensor<2>>>, Tensor<D>) {
        let device = v.device();
        let mut out = Vec::with_capacity(q.len());
        for (d, (lf, qf)) in l.iter().zip(q).enumerate() {
            let (Some(lf), Some(qf)) = (lf, qf) else {
                out.push(None);
                continue;
            };
            let (lm, qm) = (to_matrix(lf.clone()), to_matrix(qf.clone()));
            let est = (qm.transpose() * &lm * &qm).diagonal();
            let mut order: Vec<usize> = (0..est.len()).collect();
            order.sort_by(|&a, &b| est[b].total_cmp(&est[a]));
            let idx = Tensor::<1, Int>::from_data(TensorData::new(order.iter().map(|&i| i as i64).collect::<Vec<_>>(), [order.len()]), &device);
            v = v.select(d, idx);
            let sorted = DMatrix::from_fn(qm.nrows(), qm.ncols(), |i, j| qm[(i, order[j])]);
            let qr = (lm * sorted).qr();
            out.push(Some(from_matrix(&qr.q(), &device)));
        }
        (out, v)
    }
}

impl Optimizer for Soap {
    /// `step` = t; scalars: which dimensions have a factor; tensors: m (in the eigenbasis), v,
    /// the factors, the bases.
    type State<const D: usize> = Slots<D>;

    fn step<const D: usize>(&self, lr: LearningRate, theta: Tensor<D>, grad: Tensor<D>, state: Option<Self::State<D>>) -> (Tensor<D>, Option<Self::State<D>>) {
        let device = grad.device();
        let Some(state) = state else {
            // First call: build the preconditioner from this gradient; no update.
            let dims = grad.dims();
            let l: Vec<Option<Tensor<2>>> = if D == 1 { vec![None] } else { dims.iter().map(|&n| (n <= self.max_precond_dim).then(|| Tensor::zeros([n, n], &device))).collect() };
            let l = self.lerp_factors(l, &grad);
            let q = l.iter().map(|f| f.as_ref().map(|f| from_matrix(&eigenbasis(&to_matrix(f.clone())), &device))).collect();
            return (theta, Some(pack(Unpacked { t: 0, m: grad.zeros_like(), v: grad.zeros_like(), l, q })));
        };
        let Unpacked { t, m, v, l, q } = unpack(state);
        let g_proj = project(grad.clone(), &q, false);
        let t = t + 1;
        let m = m.mul_scalar(self.beta1) + g_proj.clone().mul_scalar(1.0 - self.beta1);
        let v = v.mul_scalar(self.beta2) + g_proj.clone().mul(g_proj).mul_scalar(1.0 - self.beta2);
        let denom = v.clone().sqrt().add_scalar(self.eps);
        let ti = i32::try_from(t).unwrap_or(i32::MAX);
        let step_size = lr * (1.0 - self.beta2.powi(ti)).sqrt() / (1.0 - self.beta1.powi(ti));
        let n = project(m.clone() / denom, &q, true);
        let mut theta = theta - n.mul_scalar(step_size);
        if self.weight_decay > 0.0 {
            theta = theta.clone() - theta.mul_scalar(lr * self.weight_decay);
        }
        // Update the preconditioner after the step; m follows the basis.
        let m = project(m, &q, true);
        let l = self.lerp_factors(l, &grad);
        let (q, v) = if t % self.precondition_frequency == 0 { Self::refresh(&l, &q, v) } else { (q, v) };
        let m = project(m, &q, false);
        (theta, Some(pack(Unpacked { t, m, v, l, q })))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.to_device(device)
    }
}
