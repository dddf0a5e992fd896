"""Writes test/golden/nn/layers.safetensors and optim.safetensors: PyTorch outputs and
gradients of each layer for fixed weights and inputs (compared by test/nn/parity.test.ts).

Run with torch >= 2.4 (nn.RMSNorm):  /work/venv/bin/python test/reference/nn_goldens.py
Not run by tests or CI. Tensors are named  <case>.<kind>.<name>  with kind one of
  param  (state dict entry), in (input), cot (cotangent: loss = sum(out * cot)),
  out (output), gin (gradient of an input), grad (gradient of a parameter).
"""
import json
import struct
import sys
import warnings
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

warnings.filterwarnings("ignore")
torch.manual_seed(0)
OUT = Path(__file__).resolve().parents[1] / "golden" / "nn"
T = {}


def save_safetensors(path, tensors, meta):
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dt = {torch.float32: "F32", torch.int64: "I64", torch.int32: "I32", torch.bool: "BOOL"}[t.dtype]
        b = t.numpy().tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def perturb(m):
    """Random values for every parameter so that defaults (ones, zeros) do not hide bugs."""
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p) * 0.5)


def f32(t):
    return t.detach().float() if t.is_floating_point() else t.detach().clone()


def case(name, module, inputs, fwd=None, perturb_params=True, cot_scale=1.0):
    """Stores params, inputs, outputs and gradients; computed in float64 so the reference
    carries no float32 round-off, stored as float32 (what neurocode computes in)."""
    if perturb_params:
        perturb(module)
    for k, v in module.state_dict().items():
        T[f"{name}.param.{k}"] = f32(v)
    module.double()
    ins = [(x.double() if x.is_floating_point() else x).clone().requires_grad_(x.is_floating_point()) for x in inputs]
    out = fwd(module, *ins) if fwd else module(*ins)
    outs = out if isinstance(out, (tuple, list)) else [out]
    loss = 0
    for i, o in enumerate(outs):
        cot = (torch.randn(o.shape) * cot_scale).float().double()
        T[f"{name}.cot.{i}"] = f32(cot)
        T[f"{name}.out.{i}"] = f32(o)
        loss = loss + (o * cot).sum()
    loss.backward()
    for i, x in enumerate(ins):
        T[f"{name}.in.{i}"] = f32(x)
        if x.grad is not None:
            T[f"{name}.gin.{i}"] = f32(x.grad)
    for k, p in module.named_parameters():
        if p.grad is not None:
            T[f"{name}.grad.{k}"] = f32(p.grad)
    for k, b in module.named_buffers():
        T[f"{name}.after.{k}"] = f32(b)


r = torch.randn
case("linear", nn.Linear(5, 7), [r(2, 3, 5)])
case("linear_nobias", nn.Linear(5, 7, bias=False), [r(4, 5)])
case("embedding", nn.Embedding(10, 4), [torch.tensor([[1, 2, 9], [0, 2, 2]])])
case("layernorm", nn.LayerNorm(6), [r(3, 4, 6)])
case("rmsnorm", nn.RMSNorm(6, eps=1e-6), [r(3, 4, 6)])
case("batchnorm_train", nn.BatchNorm1d(4), [r(5, 4, 7)])
bn = nn.BatchNorm1d(4)
perturb(bn)
with torch.no_grad():
    bn.running_mean.copy_(r(4))
    bn.running_var.copy_(torch.rand(4) + 0.5)
case("batchnorm_eval", bn.eval(), [r(5, 4)], perturb_params=False)

x = r(24)
x[:4] = torch.tensor([-30.0, -5.0, 0.0, 30.0])
acts = {"elu": lambda m, x: F.elu(x), "elu_half": lambda m, x: F.elu(x, 0.5), "selu": lambda m, x: F.selu(x),
        "gelu": lambda m, x: F.gelu(x), "gelu_tanh": lambda m, x: F.gelu(x, approximate="tanh"),
        "silu": lambda m, x: F.silu(x), "relu": lambda m, x: F.relu(x)}
for k, f in acts.items():
    case(f"act_{k}", nn.Identity(), [x * 2], fwd=f)

case("conv_reflect", nn.Conv1d(3, 5, 4, stride=2, padding=3, padding_mode="reflect"), [r(2, 3, 11)])
case("conv_dilated", nn.Conv1d(3, 4, 3, padding=2, dilation=2), [r(2, 3, 9)])
case("conv_groups", nn.Conv1d(4, 6, 3, padding=1, groups=2, padding_mode="replicate"), [r(2, 4, 8)])
case("conv_circular", nn.Conv1d(2, 3, 3, padding=1, padding_mode="circular", bias=False), [r(1, 2, 6)])
case("conv_wn", nn.utils.weight_norm(nn.Conv1d(3, 4, 5, padding=2, padding_mode="reflect")), [r(2, 3, 10)])
case("convt", nn.ConvTranspose1d(4, 3, 5, stride=3, padding=1, output_padding=1), [r(2, 4, 6)])
case("convt_wn", nn.utils.weight_norm(nn.ConvTranspose1d(4, 3, 4, stride=2)), [r(2, 4, 5)])
case("convt_groups", nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, groups=2, dilation=2), [r(1, 4, 5)])

lstm = nn.LSTM(5, 6, num_layers=2)
case("lstm", lstm, [r(7, 2, 5)], fwd=lambda m, x: (lambda o: (o[0], o[1][0], o[1][1]))(m(x)))

mha = nn.MultiheadAttention(8, 2, batch_first=True)
kpm = torch.tensor([[False, False, False, True], [False, False, False, False]])
case("mha_self", mha, [r(2, 4, 8)], fwd=lambda m, x: m(x, x, x, key_padding_mask=kpm, need_weights=False)[0])
causal = torch.triu(torch.ones(4, 4, dtype=torch.bool), 1)
case("mha_causal", nn.MultiheadAttention(8, 4), [r(4, 2, 8)], fwd=lambda m, x: m(x, x, x, attn_mask=causal, need_weights=False)[0])
cross_mask = torch.tensor([[False, True, False, False, True]] * 3)
case("mha_cross", nn.MultiheadAttention(8, 2, batch_first=True), [r(2, 3, 8), r(2, 5, 8)],
     fwd=lambda m, q, kv: m(q, kv, kv, attn_mask=cross_mask, need_weights=False)[0])
addmask = r(3, 5).double()
T["mha_additive.mask"] = addmask.float()
case("mha_additive", nn.MultiheadAttention(8, 2, batch_first=True), [r(2, 3, 8), r(2, 5, 8)],
     fwd=lambda m, q, kv: m(q, kv, kv, attn_mask=addmask, need_weights=False)[0])

for nf in (False, True):
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation="gelu", batch_first=True, norm_first=nf)
    # Small cotangents keep gradients O(1), where float32 round-off stays below 1e-5.
    case(f"encoder_{'pre' if nf else 'post'}", layer.eval(), [r(2, 5, 8)], cot_scale=0.1)


class FF(nn.Module):
    def __init__(s):
        super().__init__()
        s.fc1, s.fc2 = nn.Linear(6, 12), nn.Linear(12, 6)

    def forward(s, x):
        return s.fc2(F.gelu(s.fc1(x)))


class Swi(nn.Module):
    def __init__(s):
        super().__init__()
        s.w1, s.w2, s.w3 = nn.Linear(6, 10, bias=False), nn.Linear(10, 6, bias=False), nn.Linear(6, 10, bias=False)

    def forward(s, x):
        return s.w2(F.silu(s.w1(x)) * s.w3(x))


case("feedforward", FF(), [r(2, 3, 6)])
case("swiglu", Swi(), [r(2, 3, 6)])


def rope_half(x, base=10000.0):
    d, t = x.shape[-1], x.shape[-2]
    inv = base ** (-torch.arange(0, d, 2).double() / d)
    ang = torch.arange(t).double()[:, None] * inv[None]
    cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
    a, b = x[..., : d // 2], x[..., d // 2:]
    return x * cos + torch.cat([-b, a], -1) * sin


def rope_pairs(x, base=10000.0):
    d, t = x.shape[-1], x.shape[-2]
    inv = base ** (-torch.arange(0, d, 2).double() / d)
    ang = torch.arange(t).double()[:, None] * inv[None]
    xc = torch.view_as_complex(x.reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(xc * torch.polar(torch.ones_like(ang), ang)).reshape(x.shape)


case("rope_half", nn.Identity(), [r(2, 3, 7, 8)], fwd=lambda m, x: rope_half(x))
case("rope_pairs", nn.Identity(), [r(2, 3, 7, 8)], fwd=lambda m, x: rope_pairs(x))

OUT.mkdir(parents=True, exist_ok=True)
save_safetensors(OUT / "layers.safetensors", T, {"torch": torch.__version__, "script": "test/reference/nn_goldens.py"})

# Optimisers: 6 steps on fixed parameters with a fixed gradient sequence.
O = {}
p0 = torch.randn(3, 4)
grads = torch.randn(6, 3, 4)
O["p0"], O["grads"] = p0, grads
configs = {
    "adamw": lambda p: torch.optim.AdamW([p], lr=0.01, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1),
    "adam": lambda p: torch.optim.Adam([p], lr=0.01),
    "sgd_momentum": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01, dampening=0.1),
    "sgd_nesterov": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True),
    "sgd_plain": lambda p: torch.optim.SGD([p], lr=0.1),
}
for name, make in configs.items():
    p = p0.clone().requires_grad_(True)
    opt = make(p)
    traj = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        traj.append(p.detach().clone())
    O[f"{name}.traj"] = torch.stack(traj)
a, b = torch.randn(3, 4, requires_grad=True), torch.randn(5, requires_grad=True)
a.grad, b.grad = torch.randn(3, 4) * 3, torch.randn(5) * 3
O["clip.a"], O["clip.b"] = a.grad.clone(), b.grad.clone()
total = torch.nn.utils.clip_grad_norm_([a, b], 1.5)
O["clip.total"], O["clip.a_after"], O["clip.b_after"] = total.reshape(1), a.grad.clone(), b.grad.clone()
save_safetensors(OUT / "optim.safetensors", O, {"torch": torch.__version__, "script": "test/reference/nn_goldens.py"})
print(len(T), "layer tensors,", len(O), "optimiser tensors", file=sys.stderr)
