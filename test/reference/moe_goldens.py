"""Goldens for src/moe (not run by tests or CI).

Writes test/golden/moe/moe_goldens.json: router probabilities and gates, the
switch auxiliary loss and router z-loss, a small capacity-dispatched MoE FFN
(GELU and SwiGLU experts) forward and its gradients, and the MC-SMoE host math
(linear sum assignment, singular values, frequency-weighted merge).

The MoE here is written as a plain per-assignment loop (the "dumb forward"
oracle), with GShard/Switch capacity priority: every token's first choice is
placed before any token's second choice, tokens in order; an assignment whose
position inside its expert is >= C = ceil(k*T/E*cf) is dropped.

Run: /usr/bin/python3 test/reference/moe_goldens.py   (torch 1.13, numpy, scipy)
"""
import json
import math
import os

import numpy as np
import scipy.optimize
import torch

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(6)


def arr(t):
    return np.asarray(t.detach().numpy() if torch.is_tensor(t) else t, dtype=np.float64).round(10).ravel().tolist()


def switch_aux(probs, idx, E):
    # f_e: share of the T*k assignments that went to e (constants); P_e: mean router probability.
    T, k = idx.shape
    f = torch.zeros(E)
    for e in idx.reshape(-1).tolist():
        f[e] += 1.0 / (T * k)
    return E * (f * probs.mean(0)).sum()


def z_loss(logits):
    return (torch.logsumexp(logits, -1) ** 2).mean()


def moe_forward(x, p, E, k, cf, glu, renorm):
    T, d = x.shape
    logits = x @ p["router"]
    probs = torch.softmax(logits, -1)
    idx = torch.topk(probs, k, -1).indices
    sel = probs.gather(1, idx)
    gates = sel / sel.sum(-1, keepdim=True) if renorm else sel
    C = math.ceil(k * T / E * cf)
    fill = [0] * E
    y = torch.zeros(T, d)
    dropped = 0
    for j in range(k):
        for t in range(T):
            e = int(idx[t, j])
            if fill[e] >= C:
                dropped += 1
                continue
            fill[e] += 1
            xt = x[t]
            if glu:
                h = torch.nn.functional.silu(xt @ p["wGate"][e]) * (xt @ p["wUp"][e])
            else:
                h = torch.nn.functional.gelu(xt @ p["wUp"][e] + p["bUp"][e])
            out = h @ p["wDown"][e] + (0 if glu else p["bDown"][e])
            y = y + torch.nn.functional.one_hot(torch.tensor(t), T).to(y.dtype)[:, None] * (gates[t, j] * out)[None, :]
    return y, logits, probs, idx, gates, C, dropped, fill


def moe_case(name, T, d, h, E, k, cf, glu, renorm):
    x = torch.tensor(rng.normal(size=(T, d)), requires_grad=True)
    p = {"router": torch.tensor(rng.normal(size=(d, E)), requires_grad=True),
         "wUp": torch.tensor(rng.normal(size=(E, d, h)) * 0.5, requires_grad=True),
         "wDown": torch.tensor(rng.normal(size=(E, h, d)) * 0.5, requires_grad=True)}
    if glu:
        p["wGate"] = torch.tensor(rng.normal(size=(E, d, h)) * 0.5, requires_grad=True)
    else:
        p["bUp"] = torch.tensor(rng.normal(size=(E, h)) * 0.1, requires_grad=True)
        p["bDown"] = torch.tensor(rng.normal(size=(E, d)) * 0.1, requires_grad=True)
    r = torch.tensor(rng.normal(size=(T, d)))
    y, logits, probs, idx, gates, C, dropped, fill = moe_forward(x, p, E, k, cf, glu, renorm)
    aux = switch_aux(probs, idx, E)
    z = z_loss(logits)
    loss = (y * r).sum() + 0.01 * aux + 0.001 * z
    names = ["x"] + list(p.keys())
    grads = torch.autograd.grad(loss, [x] + list(p.values()))
    return {
        "name": name, "T": T, "d": d, "h": h, "E": E, "k": k, "capacityFactor": cf, "glu": glu, "renormalize": renorm,
        "x": arr(x), "params": {n: arr(v) for n, v in p.items()}, "r": arr(r),
        "logits": arr(logits), "probs": arr(probs), "topkIdx": idx.reshape(-1).tolist(), "gates": arr(gates),
        "capacity": C, "dropped": dropped, "keptPerExpert": fill,
        "y": arr(y), "aux": float(aux), "z": float(z), "loss": float(loss),
        "grads": {n: arr(g) for n, g in zip(names, grads)},
    }


def losses_known():
    probs = torch.tensor([[.9, .1], [.8, .2], [.3, .7], [.6, .4]])
    return {
        "switchWorked": float(switch_aux(probs, probs.argmax(-1, keepdim=True), 2)),
        "zRows": arr(torch.logsumexp(torch.tensor([[2., 0.], [1., 1.]]), -1) ** 2),
        "zZero8": float(z_loss(torch.zeros(3, 8))),
    }


def host_math():
    cost = rng.normal(size=(7, 7))
    rect = rng.normal(size=(5, 8))
    r1, c1 = scipy.optimize.linear_sum_assignment(cost)
    r2, c2 = scipy.optimize.linear_sum_assignment(rect, maximize=True)
    m = rng.normal(size=(6, 4))
    w = [rng.normal(size=(3, 2)) for _ in range(4)]
    f = np.array([.5, .3, .15, .05])
    return {
        "lsaCost": cost.ravel().tolist(), "lsaCol": c1.tolist(), "lsaCost7": float(cost[r1, c1].sum()),
        "lsaRect": rect.ravel().tolist(), "lsaRectCol": c2.tolist(), "lsaRectValue": float(rect[r2, c2].sum()),
        "svdA": m.ravel().tolist(), "svdS": np.linalg.svd(m, compute_uv=False).tolist(),
        "mergeW": [x.ravel().tolist() for x in w], "mergeF": f.tolist(),
        "merged02": ((f[0] * w[0] + f[2] * w[2]) / (f[0] + f[2])).ravel().tolist(),
    }


out = {
    "generator": "test/reference/moe_goldens.py", "torch": torch.__version__,
    "losses": losses_known(),
    "moe": [
        moe_case("gelu_renorm_nodrop", 6, 4, 5, 4, 2, 2.0, False, True),
        moe_case("gelu_raw_drop", 8, 4, 5, 4, 2, 0.5, False, False),
        moe_case("swiglu_top1", 6, 4, 3, 3, 1, 1.0, True, False),
    ],
    "host": host_math(),
}
path = os.path.join(os.path.dirname(__file__), "..", "golden", "moe", "moe_goldens.json")
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "w") as fh:
    json.dump(out, fh, separators=(",", ":"))
print(path, out["losses"], [(c["name"], c["capacity"], c["dropped"]) for c in out["moe"]])
