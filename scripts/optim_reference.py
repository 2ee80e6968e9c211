#!/usr/bin/env python3
"""Reference trajectories for the optimizer tests (train/tests/optimizers.rs).

Writes train/tests/fixtures/optim_trajectories.json: six parameters of a probe module (a 6x6
stem matrix and its bias, a 4x3x3x3 convolution filter, a hidden 6x6 matrix and its bias, a 6x6
head matrix), their start values, and for each optimizer the parameters after each of 4 steps.
The gradient at every step is that of an elementwise loss L(θ) = Σ ½·w·θ² + u·θ + 0.3·sin(2θ), so
SAM's second gradient is a real one; u is scaled by (1 + 0.5·t) at step t (0-based), so the
gradient changes from step to step as a mini-batch's does (SOAP's first step does not move the
weights, and an unchanged gradient would make its second step's projected gradient diagonal up
to rounding, and its update a function of the rounding). Matrices are in torch layout (out, in); Burn's Linear is
(in, out) and the test transposes. Everything runs in float32.

Sources, per optimizer (methods.md §2):
  adamw, rmsprop            torch.optim (torch 2.9.1)
  schedule_free_adamw       schedulefree 1.4.1 (PyPI) AdamWScheduleFree, foreach=False
  pesg, pdsca               libauc 2.0.1 (PyPI), with θ_ref started at 0 (see optim/auc.rs)
  lion, adan, muon, mars,
  soap, sam, asam           torch transcriptions of the cited reference code (not on PyPI in
                            that form), labelled "transcription" in the fixture

Run: python scripts/optim_reference.py   (needs torch, schedulefree, libauc)
"""
import json, math, pathlib
import numpy as np
import torch

torch.set_default_dtype(torch.float32)
NAMES = ["stem_weight", "stem_bias", "conv_weight", "hidden_weight", "hidden_bias", "head_weight"]
SHAPES = [(6, 6), (6,), (4, 3, 3, 3), (6, 6), (6,), (6, 6)]
STEPS = 4


def start():
    # Seeded random values (stored in the fixture): matrices of full rank, so that SOAP's
    # eigenbases are unique up to sign (a sinusoid of the flat index gives rank-2 matrices and
    # degenerate eigenspaces, where any basis is as right as any other).
    rng = np.random.default_rng(20261126)
    out = {}
    for n, s in zip(NAMES, SHAPES):
        size = int(np.prod(s))
        out[n] = dict(
            theta=(0.5 * rng.standard_normal(size)).astype(np.float32),
            w=(1.0 + 0.5 * rng.uniform(-1, 1, size)).astype(np.float32),
            u=(0.8 * rng.standard_normal(size)).astype(np.float32),
        )
    return out


S = start()


def params():
    return [torch.tensor(S[n]["theta"].reshape(s), requires_grad=True) for n, s in zip(NAMES, SHAPES)]


STEP = [0]  # the loss moves with the step, as a mini-batch's does


def loss(ps):
    total = 0.0
    c = 1.0 + 0.5 * STEP[0]
    for n, s, p in zip(NAMES, SHAPES, ps):
        w = torch.tensor(S[n]["w"].reshape(s)); u = torch.tensor(S[n]["u"].reshape(s))
        total = total + (0.5 * w * p * p + c * u * p + 0.3 * torch.sin(2 * p)).sum()
    return total


def grads(ps):
    for p in ps:
        p.grad = None
    loss(ps).backward()


def each_step():
    """The steps 0..STEPS-1, setting the loss's step (call once per optimizer step)."""
    for t in range(STEPS):
        STEP[0] = t
        yield t


def f32(xs):  # 9 significant digits round-trip a float32 exactly
    return [float("%.9g" % v) for v in np.asarray(xs, dtype=np.float32).reshape(-1)]


def snap(ps):
    return {n: f32(p.detach().numpy()) for n, p in zip(NAMES, ps)}


def run_torch(make, after_step=None):
    ps = params(); opt = make(ps); traj = []
    for t in each_step():
        grads(ps); opt.step()
        traj.append(snap(ps))
        if after_step: after_step(opt, t)
    return traj


# ---- transcriptions -------------------------------------------------------------------------
def lion(ps, lr, wd, b1=0.9, b2=0.99):  # google/automl lion_pytorch.py
    m = [torch.zeros_like(p) for p in ps]; traj = []
    for _ in each_step():
        grads(ps)
        with torch.no_grad():
            for p, mi in zip(ps, m):
                p.mul_(1 - lr * wd)
                c = mi * b1 + p.grad * (1 - b1)
                p.add_(torch.sign(c), alpha=-lr)
                mi.mul_(b2).add_(p.grad, alpha=1 - b2)
        traj.append(snap(ps))
    return traj


def adan(ps, lr, wd, betas=(0.98, 0.92, 0.99), eps=1e-8, no_prox=False):  # sail-sg adan.py _single_tensor_adan
    st = [dict(m=torch.zeros_like(p), n=torch.zeros_like(p), v=torch.zeros_like(p), pre=None) for p in ps]; traj = []
    b1, b2, b3 = betas
    for k in (s + 1 for s in each_step()):
        grads(ps)
        with torch.no_grad():
            bc1, bc2, bc3 = 1 - b1 ** k, 1 - b2 ** k, 1 - b3 ** k
            for p, s in zip(ps, st):
                g = p.grad.clone()
                if s["pre"] is None: s["pre"] = g.clone()
                diff = g - s["pre"]
                update = g + b2 * diff
                s["m"].mul_(b1).add_(g, alpha=1 - b1)
                s["n"].mul_(b2).add_(diff, alpha=1 - b2)
                s["v"].mul_(b3).addcmul_(update, update, value=1 - b3)
                denom = (s["v"].sqrt() / math.sqrt(bc3)).add_(eps)
                upd = (s["m"] / bc1).add_(s["n"] * b2 / bc2).div_(denom)
                if no_prox:
                    p.mul_(1 - lr * wd); p.add_(upd, alpha=-lr)
                else:
                    p.add_(upd, alpha=-lr); p.div_(1 + lr * wd)
                s["pre"] = g
        traj.append(snap(ps))
    return traj


def ns5(G, steps=5):  # KellerJordan/Muon zeropower_via_newtonschulz5, in float32
    a, b, c = (3.4445, -4.7750, 2.0315)
    X = G.clone()
    if G.size(-2) > G.size(-1): X = X.mT
    X = X / (X.norm(dim=(-2, -1), keepdim=True) + 1e-7)
    for _ in range(steps):
        A = X @ X.mT; B = b * A + c * A @ A; X = a * X + B @ X
    if G.size(-2) > G.size(-1): X = X.mT
    return X


def muon(ps, lr, wd, beta=0.95, aux_betas=(0.9, 0.95), aux_eps=1e-10, aux_ratio=3e-4 / 0.02):
    # MuonWithAuxAdam: Muon for the hidden conv filter and hidden matrix, Adam for the rest.
    hidden = {2, 3}; bufs = [torch.zeros_like(p) for p in ps]
    aux = torch.optim.AdamW([p for i, p in enumerate(ps) if i not in hidden], lr=lr * aux_ratio, betas=aux_betas, eps=aux_eps, weight_decay=wd)
    traj = []
    for _ in each_step():
        grads(ps)
        with torch.no_grad():
            for i in hidden:
                p, g, buf = ps[i], ps[i].grad.clone(), bufs[i]
                buf.lerp_(g, 1 - beta)
                u = g.lerp_(buf, beta)
                u2 = u.view(len(u), -1) if u.ndim == 4 else u
                o = ns5(u2) * max(1, p.grad.size(-2) / p.grad.size(-1)) ** 0.5
                p.mul_(1 - lr * wd); p.add_(o.reshape(p.shape), alpha=-lr)
        aux.step()
        traj.append(snap(ps))
    return traj


def mars(ps, lr, wd, betas=(0.95, 0.99), eps=1e-8, gamma=0.025, betas_1d=(0.9, 0.95)):  # AGI-Arena/MARS update_fn, mars-adamw, ≥2-D as MARS
    st = [dict(m=torch.zeros_like(p), v=torch.zeros_like(p), last=torch.zeros_like(p)) for p in ps]; traj = []
    for t in (s + 1 for s in each_step()):
        grads(ps)
        with torch.no_grad():
            for p, s in zip(ps, st):
                g = p.grad.clone()
                if p.ndim >= 2:
                    b1, b2 = betas
                    c = (g - s["last"]).mul(gamma * (b1 / (1. - b1))).add(g)
                    cn = torch.norm(c)
                    if cn > 1.: c = c / cn
                else:
                    b1, b2 = betas_1d; c = g
                s["m"].mul_(b1).add_(c, alpha=1. - b1)
                s["v"].mul_(b2).addcmul_(c, c, value=1. - b2)
                denom = (s["v"].sqrt() / math.sqrt(1.0 - b2 ** t)).add_(eps).mul(1.0 - b1 ** t)
                p.data.add_(-lr * torch.mul(p.data, wd).add(s["m"].div(denom)))
                s["last"] = g
        traj.append(snap(ps))
    return traj


def sharpness(ps, lr, wd, rho, adaptive_eta=None):
    # davda54/sam (first_step/second_step, adaptive=False) or SamsungLabs/ASAM ascent/descent;
    # base torch.optim.AdamW.
    base = torch.optim.AdamW(ps, lr=lr, weight_decay=wd, eps=1e-8); traj = []
    for _ in each_step():
        grads(ps)
        with torch.no_grad():
            if adaptive_eta is None:
                n = torch.norm(torch.stack([p.grad.norm(p=2) for p in ps]), p=2)
                es = [p.grad * (rho / (n + 1e-12)) for p in ps]
            else:
                tw = [(p.abs() + adaptive_eta) if NAMES[i].endswith("weight") else torch.ones_like(p) for i, p in enumerate(ps)]
                n = torch.norm(torch.stack([(p.grad * t).norm(p=2) for p, t in zip(ps, tw)]), p=2) + 1e-16
                es = [p.grad * t * t * (rho / n) for p, t in zip(ps, tw)]
            for p, e in zip(ps, es): p.add_(e)
        grads(ps)
        with torch.no_grad():
            for p, e in zip(ps, es): p.sub_(e)
        base.step()
        traj.append(snap(ps))
    return traj


def soap(ps, lr, wd, betas=(0.95, 0.95), eps=1e-8, freq=2, max_dim=10000):
    # methods.md §2.6 (nikhilvyas/SOAP at f42d296, defaults merge_dims/precondition_1d/
    # normalize_grads off), with eigh and QR in float64 as the Rust side does them (the
    # reference runs them in float32; everything else here is float32): the first call only builds L_d and Q_d = eigh, descending; later
    # calls step Adam in the eigenbasis, decay after the step, then update L_d, refresh Q_d by
    # power iteration + QR every `freq` steps, and keep m in the current basis.
    b1, b2 = betas
    def unfold_gram(g, d):
        u = g.movedim(d, 0).reshape(g.shape[d], -1)
        return u @ u.T
    def mode(x, qs, back):
        for d, q in enumerate(qs):
            if q is not None:
                x = torch.movedim(torch.tensordot(x, q.T if back else q, dims=([d], [0])), -1, d)
        return x
    st = [None] * len(ps); traj = []
    for _ in each_step():
        grads(ps)
        with torch.no_grad():
            for i, p in enumerate(ps):
                g = p.grad.clone()
                if st[i] is None:
                    L = [None] if g.ndim == 1 else [torch.zeros(n, n) if n <= max_dim else None for n in g.shape]
                    L = [None if l is None else l.lerp(unfold_gram(g, d), 1 - b2) for d, l in enumerate(L)]
                    Q = [None if l is None else torch.flip(torch.linalg.eigh((l + 1e-30 * torch.eye(l.shape[0])).double())[1], [1]).float() for l in L]
                    st[i] = dict(t=0, m=torch.zeros_like(g), v=torch.zeros_like(g), L=L, Q=Q)
                    continue
                s_ = st[i]
                gp = mode(g, s_["Q"], False)
                s_["t"] += 1; t = s_["t"]
                s_["m"].mul_(b1).add_(gp, alpha=1 - b1); s_["v"].mul_(b2).add_(gp.square(), alpha=1 - b2)
                step = lr * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t)
                p.add_(mode(s_["m"] / (s_["v"].sqrt() + eps), s_["Q"], True), alpha=-step)
                if wd > 0: p.add_(p, alpha=-lr * wd)
                m = mode(s_["m"], s_["Q"], True)
                s_["L"] = [None if l is None else l.lerp(unfold_gram(g, d), 1 - b2) for d, l in enumerate(s_["L"])]
                if t % freq == 0:
                    newq = []
                    for d, (l, q) in enumerate(zip(s_["L"], s_["Q"])):
                        if l is None: newq.append(None); continue
                        l64, q64 = l.double(), q.double()
                        order = torch.argsort(torch.diag(q64.T @ l64 @ q64), descending=True)
                        s_["v"] = s_["v"].index_select(d, order)
                        newq.append(torch.linalg.qr(l64 @ q64[:, order])[0].float())
                    s_["Q"] = newq
                s_["m"] = mode(m, s_["Q"], False)
        traj.append(snap(ps))
    return traj


class AucStub:  # what PESG/PDSCA read from an AUC loss: a, b, α, margin
    def __init__(self):
        self.a = torch.zeros(1, requires_grad=True); self.b = torch.zeros(1, requires_grad=True)
        self.alpha = torch.zeros(1, requires_grad=True); self.margin = 1.0


def libauc_run(kind, lr, wd):
    from libauc.optimizers import PESG, PDSCA
    ps = params(); stub = AucStub()
    if kind == "pesg":
        opt = PESG(ps, loss_fn=stub, lr=lr, clip_value=1.0, weight_decay=wd, epoch_decay=2e-3, momentum=0.9, verbose=False, device="cpu")
    else:
        opt = PDSCA(ps, loss_fn=stub, lr=lr, clip_value=1.0, weight_decay=wd, epoch_decay=2e-3, beta1=0.99, beta2=0.999, verbose=False, device="cpu")
    for g in opt.param_groups:
        g["model_ref"] = [torch.zeros_like(r) for r in g["model_ref"]]
    opt.model_ref = opt.param_groups[0]["model_ref"]
    traj = []
    for t in each_step():
        grads(ps)
        if kind == "pdsca":  # CE, AUC, CE, AUC: α.grad marks an AUC step
            stub.alpha.grad = torch.zeros(1) if t % 2 == 1 else None
        opt.step()
        traj.append(snap(ps))
        if t == 1: opt.update_regularizer()  # an epoch boundary after step 2
    return traj


def main():
    import schedulefree, libauc
    cases = {}
    def add(name, source, lr, wd, traj, **extra):
        cases[name] = dict(source=source, lr=lr, weight_decay=wd, steps=traj, **extra)

    add("adamw", f"torch.optim.AdamW, torch {torch.__version__}", 1e-2, 0.1,
        run_torch(lambda ps: torch.optim.AdamW(ps, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)))
    add("rmsprop", f"torch.optim.RMSprop(momentum=0.9, centered=True), torch {torch.__version__}", 1e-2, 0.1,
        run_torch(lambda ps: torch.optim.RMSprop(ps, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.1, momentum=0.9, centered=True)))
    sf = {}
    def sf_make(ps):
        sf["opt"] = schedulefree.AdamWScheduleFree(ps, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1, warmup_steps=2, foreach=False)
        sf["opt"].train(); sf["ps"] = ps
        return sf["opt"]
    traj = run_torch(sf_make)
    sf["opt"].eval()
    add("schedule_free_adamw", f"schedulefree {getattr(schedulefree, '__version__', '1.4.1')} AdamWScheduleFree(warmup_steps=2)", 1e-2, 0.1, traj,
        eval_x=snap(sf["ps"]))
    add("lion", "transcription of google/automl lion_pytorch.py", 1e-3, 0.1, lion(params(), 1e-3, 0.1))
    add("adan", "transcription of sail-sg/Adan adan.py _single_tensor_adan (proximal decay)", 1e-2, 0.02, adan(params(), 1e-2, 0.02))
    add("muon", "transcription of KellerJordan/Muon muon.py (MuonWithAuxAdam; Newton-Schulz in float32) + torch.optim.AdamW for the aux half", 0.02, 0.1, muon(params(), 0.02, 0.1))
    add("soap", "transcription of methods.md §2.6 (nikhilvyas/SOAP f42d296; eigh and QR in float64), precondition_frequency 2 so the QR refresh runs", 3e-3, 0.01, soap(params(), 3e-3, 0.01))
    add("mars", "transcription of AGI-Arena/MARS mars.py update_fn (mars-adamw, ≥2-D tensors as MARS)", 3e-3, 0.1, mars(params(), 3e-3, 0.1))
    add("sam", "transcription of davda54/sam sam.py (adaptive=False), base torch.optim.AdamW", 1e-2, 0.1, sharpness(params(), 1e-2, 0.1, 0.05))
    add("asam", "transcription of SamsungLabs/ASAM asam.py, base torch.optim.AdamW", 1e-2, 0.1, sharpness(params(), 1e-2, 0.1, 0.5, adaptive_eta=0.01))
    add("pesg", f"libauc {libauc.__version__} PESG (sgd mode, momentum 0.9, epoch_decay 2e-3), update_regularizer() after step 2", 0.1, 1e-3, libauc_run("pesg", 0.1, 1e-3))
    add("pdsca", f"libauc {libauc.__version__} PDSCA (CE, AUC, CE, AUC steps), update_regularizer() after step 2", 0.1, 1e-3, libauc_run("pdsca", 0.1, 1e-3))

    out = dict(
        generated_by="scripts/optim_reference.py",
        params=[dict(name=n, shape=list(s), theta=f32(S[n]["theta"]), w=f32(S[n]["w"]), u=f32(S[n]["u"])) for n, s in zip(NAMES, SHAPES)],
        cases=cases,
    )
    path = pathlib.Path(__file__).resolve().parent.parent / "train/tests/fixtures/optim_trajectories.json"
    path.write_text(json.dumps(out, separators=(",", ":")))
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
