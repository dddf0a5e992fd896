"""A compact PyTorch re-implementation of the BrainTokenizer eval path (tokenize / visualize).

The official code (OpenTSLab/BrainOmni) is not available on this machine. This file rebuilds its
inference path from shared/reference/brainomni-duin.md and the fixture MANIFEST, checks itself
against the official fixtures (shared/data/parity/brainomni/tokenizer_small), and then serves as
(1) the generator of test/golden/brainomni/eeg_only.safetensors (an EEG-only batch, which the
fixtures do not contain) and (2) the PyTorch side of bench/tokenizer.ts (released configuration).

Usage:
  /work/venv/bin/python test/reference/brainomni_torch.py check      # parity with the fixtures
  /work/venv/bin/python test/reference/brainomni_torch.py golden     # writes the EEG-only golden
  /work/venv/bin/python test/reference/brainomni_torch.py bench B [RUNS]   # windows/s, released config, 2 threads
  /work/venv/bin/python test/reference/brainomni_torch.py pt         # the small tokenizer as a release-style .pt
  /work/venv/bin/python test/reference/brainomni_torch.py pt-omni    # the small BrainOmni as a release-style .pt (cos-only rotary)
"""
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parents[2]
PARITY = ROOT.parent / "shared" / "data" / "parity" / "brainomni"


def wn(sd, p):
    g, v = sd[p + ".weight_g"], sd[p + ".weight_v"]
    return g * v / v.flatten(1).norm(dim=1).view(-1, *([1] * (v.dim() - 1)))


def sconv(sd, p, x, k, stride=1):
    total = k - stride
    L = x.shape[-1]
    n_frames = (L - k + total) / stride + 1
    extra = (math.ceil(n_frames) - 1) * stride + (k - total) - L
    right = total // 2
    left = total - right
    x = F.pad(x, (left, right + extra), mode="reflect")
    return F.conv1d(x, wn(sd, p + ".conv.conv"), sd[p + ".conv.conv.bias"], stride=stride)


def sconvtr(sd, p, x, k, stride):
    y = F.conv_transpose1d(x, wn(sd, p + ".convtr.convtr"), sd[p + ".convtr.convtr.bias"], stride=stride)
    total = k - stride
    right = total // 2
    left = total - right
    return y[..., left : y.shape[-1] - right]


def resblock(sd, p, x):
    h = sconv(sd, p + ".block.1", F.elu(x), 3)
    h = sconv(sd, p + ".block.3", F.elu(h), 1)
    return sconv(sd, p + ".shortcut", x, 1) + h


_LSTMS = {}  # built once per state dict and layer, as a model holds its modules


def slstm(sd, p, x):
    H = x.shape[1]
    key = (id(sd), p)
    if key not in _LSTMS:
        _LSTMS[key] = torch.nn.LSTM(H, H, 2)
        _LSTMS[key].load_state_dict({k[len(p) + 6 :]: v for k, v in sd.items() if k.startswith(p + ".lstm.")})
    lstm = _LSTMS[key]
    seq = x.permute(2, 0, 1)
    y, _ = lstm(seq)
    return (y + seq).permute(1, 2, 0)


def encoder(sd, cfg, x):
    p = "encoder.seanet_encoder.model."
    x = sconv(sd, p + "0", x, cfg["kernel_size"])
    i = 1
    for r in reversed(cfg["ratios"]):
        x = resblock(sd, p + str(i), x)
        x = sconv(sd, p + str(i + 2), F.elu(x), 2 * r, r)
        i += 3
    x = slstm(sd, p + str(i), x)
    return sconv(sd, p + str(i + 2), F.elu(x), cfg["last_kernel_size"])


def decoder(sd, cfg, x):
    p = "decoder.seanet_decoder.model."
    x = sconv(sd, p + "0", x, cfg["kernel_size"])
    x = slstm(sd, p + "1", x)
    i = 2
    for r in cfg["ratios"]:
        x = sconvtr(sd, p + str(i + 1), F.elu(x), 2 * r, r)
        x = resblock(sd, p + str(i + 2), x)
        i += 3
    return sconv(sd, p + str(i + 1), F.elu(x), cfg["last_kernel_size"])


def lin(sd, p, x):
    return F.linear(x, sd[p + ".weight"], sd[p + ".bias"])


def mha(q, k, v, h):
    G, Lq, D = q.shape
    sp = lambda t: t.reshape(G, t.shape[1], h, D // h).transpose(1, 2)
    o = F.scaled_dot_product_attention(sp(q), sp(k), sp(v))
    return o.transpose(1, 2).reshape(G, Lq, D)


def sensor_embed(sd, pos, typ):
    p = "sensor_embed."
    s = lin(sd, p + "pos_embedding_layer.2", F.selu(lin(sd, p + "pos_embedding_layer.0", pos))) + sd[p + "sensor_embedding_layer.weight"][typ]
    s = s + lin(sd, p + "aggregate_mlp.layer.2", F.selu(lin(sd, p + "aggregate_mlp.layer.0", s)))
    return s * torch.rsqrt(s.pow(2).mean(-1, keepdim=True) + 1e-6) * sd[p + "norm.weight"]


def encode_latent(sd, cfg, windows, se):
    B, C, N, L = windows.shape
    D, P, H = cfg["n_dim"], cfg["n_neuro"], cfg["n_head"]
    feat = encoder(sd, cfg, windows.reshape(B * C * N, 1, L))  # (BCN, D, T)
    T = feat.shape[-1]
    tok = feat.reshape(B, C, N, D, T).permute(0, 2, 4, 1, 3)  # B N T C D
    keys = lin(sd, "encoder.k_proj", tok + se[:, None, None])
    v = lin(sd, "encoder.backwardsolution.v", tok)
    q = sd["encoder.neuros"].expand(B * N * T, P, D)
    out = lin(sd, "encoder.backwardsolution.proj", mha(q, keys.reshape(-1, C, D), v.reshape(-1, C, D), H))
    return out.reshape(B, N, T, P, D).permute(0, 3, 1, 2, 4)


def quantize(sd, cfg, z):
    r = F.normalize(z, dim=-1)
    total = torch.zeros_like(r)
    idx = []
    for q in range(cfg["num_quantizers"]):
        e = sd[f"quantizer.rvq.layers.{q}._codebook.embed"]
        flat = r.reshape(-1, r.shape[-1])
        dist = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ e.t() + e.pow(2).sum(1)[None]
        i = dist.argmin(1)
        qv = e[i].reshape(r.shape)
        total = total + qv
        idx.append(i.reshape(r.shape[:-1]))
        r = r - qv
    return total, torch.stack(idx, -1)


def tokenize(sd, cfg, x, pos, typ):
    B, C, T = x.shape
    L = cfg["window_length"]
    N = T // L
    windows = x[..., : N * L].reshape(B, C, N, L)
    se = sensor_embed(sd, pos, typ)
    return quantize(sd, cfg, encode_latent(sd, cfg, windows, se)), windows, se


def reconstruct(sd, cfg, x, pos, typ):
    (zq, idx), windows, se = tokenize(sd, cfg, x, pos, typ)
    B, P, N, T, D = zq.shape
    C = se.shape[1]
    lat = zq.permute(0, 2, 3, 1, 4).reshape(B * N * T, P, D)
    k, v = lin(sd, "decoder.forwardsolution.kv", lat).chunk(2, -1)
    q = se[:, None].expand(B, N * T, C, D).reshape(B * N * T, C, D)
    per = lin(sd, "decoder.forwardsolution.proj", mha(q, k, v, cfg["n_head"]))
    rows = per.reshape(B, N, T, C, D).permute(0, 3, 1, 4, 2).reshape(B * C * N, D, T)
    return decoder(sd, cfg, rows).reshape(B, C, N, -1), idx


def fixture():
    sd = load_file(str(PARITY / "tokenizer_small" / "weights.safetensors"))
    io = load_file(str(PARITY / "tokenizer_small" / "io.safetensors"))
    with open(PARITY / "tokenizer_small" / "weights.safetensors", "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        cfg = json.loads(json.loads(f.read(n))["__metadata__"]["config"])
    return sd, io, cfg


def check():
    sd, io, cfg = fixture()
    with torch.no_grad():
        xr, idx = reconstruct(sd, cfg, io["input.x"], io["input.pos"], io["input.sensor_type"].long())
    print("x_rec max abs err", (xr - io["eval.dec.x_rec"]).abs().max().item())
    print("codes differing", (idx.int() != io["eval.rvq.indices"]).sum().item())


def golden():
    """EEG-only batch: the EEG-typed channels of fixture item 1 (orientation already zero)."""
    sd, io, cfg = fixture()
    typ = io["input.sensor_type"][1]
    eeg = (typ == 0).nonzero().flatten()
    x = io["input.x"][1:2, eeg]
    pos = io["input.pos"][1:2, eeg]
    t = typ[eeg][None].long()
    with torch.no_grad():
        xr, idx = reconstruct(sd, cfg, x, pos, t)
    out = ROOT / "test" / "golden" / "brainomni" / "eeg_only.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({"channels": eeg.int(), "x_rec": xr.contiguous(), "indices": idx.int().contiguous()}, str(out), metadata={"source": "test/reference/brainomni_torch.py golden"})
    print("wrote", out, "channels", eeg.tolist())


def bench(batch, runs=5):
    torch.set_num_threads(2)
    torch.set_flush_denormal(True)  # random weights drive activations into denormals, which would slow PyTorch unfairly
    cfg = dict(window_length=512, n_filters=32, ratios=[8, 4, 2], kernel_size=5, last_kernel_size=5, n_dim=256, n_neuro=16, n_head=4, num_quantizers=4)
    g = torch.Generator().manual_seed(0)
    shapes = json.loads(open(PARITY / "keys.json").read())["braintokenizer_released"]["state_dict"]
    entries = eval(shapes) if isinstance(shapes, str) else shapes
    sd = {e["name"]: torch.randn(e["shape"], generator=g) * 0.05 for e in entries if e["dtype"] == "float32"}
    x = torch.randn(batch, 64, 512, generator=g)
    pos = torch.randn(batch, 64, 6, generator=g)
    typ = torch.randint(0, 3, (batch, 64), generator=g)
    with torch.no_grad():
        tokenize(sd, cfg, x, pos, typ)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            tokenize(sd, cfg, x, pos, typ)
            times.append(time.perf_counter() - t)
    times.sort()
    med = times[len(times) // 2]
    print(json.dumps({"batch": batch, "median_s": med, "windows_per_s": batch / med, "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "check"
    if cmd == "check":
        check()
    elif cmd == "golden":
        golden()
    elif cmd == "bench":
        bench(int(sys.argv[2]) if len(sys.argv) > 2 else 1, int(sys.argv[3]) if len(sys.argv) > 3 else 5)


def pt_golden():
    """The small tokenizer's official state dict as a PyTorch .pt file (zip) beside a model_cfg.json, like the release."""
    sd, _, cfg = fixture()
    out = ROOT / "test" / "golden" / "brainomni" / "pt"
    out.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.clone() for k, v in sd.items()}, str(out / "BrainTokenizer.pt"))
    (out / "model_cfg.json").write_text(json.dumps(cfg))
    print("wrote", out)


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "pt":
    pt_golden()


def pt_omni_golden():
    """The small BrainOmni as a release-style .pt: the rotary cache stored as a real tensor (cosines only), as the released files hold it."""
    sd = load_file(str(PARITY / "omni_small" / "weights.safetensors"))
    with open(PARITY / "omni_small" / "weights.safetensors", "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        cfg = json.loads(json.loads(f.read(n))["__metadata__"]["config"])
    out = ROOT / "test" / "golden" / "brainomni" / "pt-omni"
    out.mkdir(parents=True, exist_ok=True)
    released = {k: (v[..., 0].clone() if k.endswith("rope_embedding_layer.rotate") else v.clone()) for k, v in sd.items()}
    torch.save(released, str(out / "BrainOmni.pt"))
    (out / "model_cfg.json").write_text(json.dumps(cfg))
    print("wrote", out)


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "pt-omni":
    pt_omni_golden()
