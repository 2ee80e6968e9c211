#!/usr/bin/env python3
"""PyTorch CPU peer of `cxr-train bench --optimizers`: seconds per training step (forward, BCE,
backward — twice for SAM/ASAM — and the optimizer) of a torchvision/timm model, 9 outputs,
synthetic input, per optimizer, median of ITERS after one warm-up.

Rules: torch.optim (AdamW, RMSprop), schedulefree (Schedule-Free AdamW), libauc (PESG with
MultiLabelAUCMLoss, PDSCA with CompositionalAUCLoss), and for Lion, Adan, Muon, MARS, SAM and
ASAM (and SOAP) compact transcriptions of the same rules as scripts/optim_reference.py checks.

Usage: BENCH_THREADS=2 python scripts/bench_optim_torch.py ARCH SIZE BATCH ITERS NAME,NAME,...
Prints one JSON list like cxr-train's.
"""
import json, math, os, statistics, sys, time, warnings
import torch

warnings.filterwarnings("ignore")
torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))


class Lion(torch.optim.Optimizer):
    def __init__(self, ps, lr, betas=(0.9, 0.99), wd=0.0):
        super().__init__(ps, dict(lr=lr, betas=betas, wd=wd))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            b1, b2 = g["betas"]
            for p in g["params"]:
                st = self.state[p]
                m = st.setdefault("m", torch.zeros_like(p))
                p.mul_(1 - g["lr"] * g["wd"])
                p.add_(torch.sign(m * b1 + p.grad * (1 - b1)), alpha=-g["lr"])
                m.mul_(b2).add_(p.grad, alpha=1 - b2)


class Adan(torch.optim.Optimizer):
    def __init__(self, ps, lr, betas=(0.98, 0.92, 0.99), eps=1e-8, wd=0.0):
        super().__init__(ps, dict(lr=lr, betas=betas, eps=eps, wd=wd))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            b1, b2, b3 = g["betas"]
            for p in g["params"]:
                st = self.state[p]
                if not st:
                    st.update(k=0, m=torch.zeros_like(p), n=torch.zeros_like(p), v=torch.zeros_like(p), pre=p.grad.clone())
                st["k"] += 1; k = st["k"]
                diff = p.grad - st["pre"]; upd = p.grad + b2 * diff
                st["m"].mul_(b1).add_(p.grad, alpha=1 - b1); st["n"].mul_(b2).add_(diff, alpha=1 - b2); st["v"].mul_(b3).addcmul_(upd, upd, value=1 - b3)
                denom = (st["v"].sqrt() / math.sqrt(1 - b3 ** k)).add_(g["eps"])
                p.add_((st["m"] / (1 - b1 ** k)).add_(st["n"] * b2 / (1 - b2 ** k)).div_(denom), alpha=-g["lr"]); p.div_(1 + g["lr"] * g["wd"])
                st["pre"] = p.grad.clone()


def ns5(G, steps=5):
    a, b, c = (3.4445, -4.7750, 2.0315)
    X = G.mT if G.size(-2) > G.size(-1) else G
    X = X / (X.norm() + 1e-7)
    for _ in range(steps):
        A = X @ X.mT; X = a * X + (b * A + c * A @ A) @ X
    return X.mT if G.size(-2) > G.size(-1) else X


class Muon(torch.optim.Optimizer):  # hidden ≥2-D weights; the rest to AdamW (MuonWithAuxAdam)
    def __init__(self, model, lr):
        ws = [p for p in model.parameters() if p.ndim >= 2]
        hidden = set(map(id, ws[1:-1]))
        self.aux = torch.optim.AdamW([p for p in model.parameters() if id(p) not in hidden], lr=lr * 3e-4 / 0.02, betas=(0.9, 0.95), eps=1e-10)
        super().__init__([p for p in model.parameters() if id(p) in hidden], dict(lr=lr, beta=0.95))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                buf = self.state[p].setdefault("buf", torch.zeros_like(p))
                buf.lerp_(p.grad, 1 - g["beta"]); u = p.grad.lerp(buf, g["beta"])
                u2 = u.view(len(u), -1) if u.ndim == 4 else u
                p.add_(ns5(u2).reshape(p.shape) * max(1, p.size(-2) / p.size(-1)) ** 0.5, alpha=-g["lr"])
        self.aux.step()


class Mars(torch.optim.Optimizer):
    def __init__(self, ps, lr, betas=(0.95, 0.99), eps=1e-8, gamma=0.025, wd=0.0):
        super().__init__(ps, dict(lr=lr, betas=betas, eps=eps, gamma=gamma, wd=wd))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                st = self.state[p]
                if not st:
                    st.update(t=0, m=torch.zeros_like(p), v=torch.zeros_like(p), last=torch.zeros_like(p))
                st["t"] += 1; t = st["t"]
                if p.ndim >= 2:
                    b1, b2 = g["betas"]; c = (p.grad - st["last"]).mul(g["gamma"] * b1 / (1 - b1)).add(p.grad)
                    n = torch.norm(c)
                    if n > 1: c = c / n
                else:
                    b1, b2 = 0.9, 0.95; c = p.grad
                st["m"].mul_(b1).add_(c, alpha=1 - b1); st["v"].mul_(b2).addcmul_(c, c, value=1 - b2)
                denom = (st["v"].sqrt() / math.sqrt(1 - b2 ** t)).add_(g["eps"]).mul(1 - b1 ** t)
                p.add_(-g["lr"] * (p * g["wd"] + st["m"] / denom)); st["last"] = p.grad.clone()


class Soap(torch.optim.Optimizer):  # methods.md §2.6, as scripts/optim_reference.py transcribes it
    def __init__(self, ps, lr, betas=(0.95, 0.95), eps=1e-8, wd=0.0, freq=10):
        super().__init__(ps, dict(lr=lr, betas=betas, eps=eps, wd=wd, freq=freq))

    @torch.no_grad()
    def step(self):
        def gram(g, d):
            u = g.movedim(d, 0).reshape(g.shape[d], -1); return u @ u.T
        def mode(x, qs, back):
            for d, q in enumerate(qs):
                if q is not None: x = torch.movedim(torch.tensordot(x, q.T if back else q, dims=([d], [0])), -1, d)
            return x
        for g_ in self.param_groups:
            b1, b2 = g_["betas"]
            for p in g_["params"]:
                g = p.grad; st = self.state[p]
                if not st:
                    L = [None] if g.ndim == 1 else [torch.zeros(n, n) for n in g.shape]
                    L = [None if l is None else l.lerp(gram(g, d), 1 - b2) for d, l in enumerate(L)]
                    st.update(t=0, m=torch.zeros_like(g), v=torch.zeros_like(g), L=L,
                              Q=[None if l is None else torch.flip(torch.linalg.eigh(l + 1e-30 * torch.eye(l.shape[0]))[1], [1]) for l in L])
                    continue
                gp = mode(g, st["Q"], False); st["t"] += 1; t = st["t"]
                st["m"].mul_(b1).add_(gp, alpha=1 - b1); st["v"].mul_(b2).add_(gp.square(), alpha=1 - b2)
                p.add_(mode(st["m"] / (st["v"].sqrt() + g_["eps"]), st["Q"], True), alpha=-g_["lr"] * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t))
                p.add_(p, alpha=-g_["lr"] * g_["wd"])
                m = mode(st["m"], st["Q"], True)
                st["L"] = [None if l is None else l.lerp(gram(g, d), 1 - b2) for d, l in enumerate(st["L"])]
                if t % g_["freq"] == 0:
                    nq = []
                    for d, (l, q) in enumerate(zip(st["L"], st["Q"])):
                        if l is None: nq.append(None); continue
                        o = torch.argsort(torch.diag(q.T @ l @ q), descending=True)
                        st["v"] = st["v"].index_select(d, o); nq.append(torch.linalg.qr(l @ q[:, o])[0])
                    st["Q"] = nq
                st["m"] = mode(m, st["Q"], False)


def build(arch):
    import torchvision, timm
    if hasattr(torchvision.models, arch):
        return getattr(torchvision.models, arch)(num_classes=9)
    return timm.create_model(arch, num_classes=9)


def main():
    arch, size, batch, iters, names = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].split(",")
    torch.manual_seed(1)
    x = torch.randn(batch, 3, size, size); y = (torch.rand(batch, 9) < 0.3).float()
    bce = torch.nn.BCEWithLogitsLoss()
    rows = []
    for name in names:
        model = build(arch); model.train()
        lr, wd = 1e-3, 1e-4
        loss_fn = lambda out: bce(out, y)
        two_pass = None
        ps = list(model.parameters())
        if name == "adamw": opt = torch.optim.AdamW(ps, lr=lr, weight_decay=wd, eps=1e-8)
        elif name == "rmsprop": opt = torch.optim.RMSprop(ps, lr=lr, weight_decay=wd, eps=1e-8)
        elif name == "lion": opt = Lion(ps, lr, wd=wd)
        elif name == "adan": opt = Adan(ps, lr, wd=wd)
        elif name == "soap": opt = Soap(ps, lr, wd=wd)
        elif name == "muon": opt = Muon(model, lr)
        elif name == "mars": opt = Mars(ps, lr, wd=wd)
        elif name == "schedule_free_adamw":
            import schedulefree
            opt = schedulefree.AdamWScheduleFree(ps, lr=lr, weight_decay=wd); opt.train()
        elif name in ("sam", "asam"):
            opt = torch.optim.AdamW(ps, lr=lr, weight_decay=wd, eps=1e-8); two_pass = name
        elif name == "pesg":
            from libauc.losses import MultiLabelAUCMLoss
            from libauc.optimizers import PESG
            auc = MultiLabelAUCMLoss(num_labels=9, device="cpu"); loss_fn = lambda out: auc(torch.sigmoid(out), y)
            opt = PESG(ps, loss_fn=auc, lr=lr, verbose=False, device="cpu")
        elif name == "pdsca":
            from libauc.losses import CompositionalAUCLoss
            from libauc.optimizers import PDSCA
            multi = "num_labels" in CompositionalAUCLoss.__init__.__code__.co_varnames
            auc = CompositionalAUCLoss(num_labels=9, device="cpu") if multi else CompositionalAUCLoss(device="cpu")
            loss_fn = (lambda out: auc(torch.sigmoid(out), y)) if multi else (lambda out: auc(torch.sigmoid(out[:, :1]), y[:, :1]))
            opt = PDSCA(ps, loss_fn=auc, lr=lr, verbose=False, device="cpu")
        else:
            raise SystemExit(f"unknown optimizer {name}")
        times = []
        for i in range(1 + iters):
            t = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x)).backward()
            if two_pass:
                with torch.no_grad():
                    if two_pass == "sam":
                        n = torch.norm(torch.stack([p.grad.norm() for p in ps if p.grad is not None])); es = [p.grad * (0.05 / (n + 1e-12)) if p.grad is not None else None for p in ps]
                    else:
                        tw = [(p.abs() + 0.01) if p.ndim > 1 else torch.ones_like(p) for p in ps]
                        n = torch.norm(torch.stack([(p.grad * w).norm() for p, w in zip(ps, tw) if p.grad is not None])) + 1e-16
                        es = [p.grad * w * w * (0.5 / n) if p.grad is not None else None for p, w in zip(ps, tw)]
                    for p, e in zip(ps, es):
                        if e is not None: p.add_(e)
                opt.zero_grad(set_to_none=True)
                loss_fn(model(x)).backward()
                with torch.no_grad():
                    for p, e in zip(ps, es):
                        if e is not None: p.sub_(e)
            opt.step()
            if i >= 1: times.append(time.perf_counter() - t)
        rows.append(dict(optimizer=name, seconds_per_step=statistics.median(times)))
    base = next((r["seconds_per_step"] for r in rows if r["optimizer"] == "adamw"), None)
    for r in rows:
        r["relative_to_adamw"] = r["seconds_per_step"] / base if base else None
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
