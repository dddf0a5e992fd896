"""Writes the checkpoint goldens under test/golden/nn/ (compared by test/nn/checkpoint.test.ts):
  tiny.pt               torch.save(model.state_dict()) of TinyNet (weight norm old and new style,
                        LSTM, BatchNorm with int64 num_batches_tracked, a non-contiguous weight)
  tiny_deflated.pt      the same archive re-zipped with deflate
  tiny.safetensors      the same state dict written by the safetensors library
  wrapped.pt            {"model": state_dict, "epoch": 3, "lr": 0.1, "betas": [0.9, 0.99]}
  dtypes.pt             float16, bfloat16, float64, int64, bool, and strided/offset views of one storage
  dtypes.safetensors    the values neurocode should read from dtypes.pt (float32 / int32 / bool)
  malicious.pt          a zip whose pickle calls os.system (must be rejected)
Run: /work/venv/bin/python test/reference/nn_checkpoints.py  (not run by tests or CI)
"""
import os
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import save_file

torch.manual_seed(0)
OUT = Path(__file__).resolve().parents[1] / "golden" / "nn"


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5, 3)
        self.conv = nn.utils.weight_norm(nn.Conv1d(2, 4, 3))
        self.pconv = nn.utils.parametrizations.weight_norm(nn.Conv1d(2, 3, 3))
        self.lstm = nn.LSTM(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.fc = nn.Linear(4, 2)
        self.fc.weight = nn.Parameter(torch.randn(4, 2).t())  # non-contiguous (stride (1, 2))


m = TinyNet()
m.bn(torch.randn(6, 4))  # running stats and num_batches_tracked = 1
sd = m.state_dict()
assert not sd["fc.weight"].is_contiguous()
torch.save(sd, OUT / "tiny.pt")
with zipfile.ZipFile(OUT / "tiny.pt") as src, zipfile.ZipFile(OUT / "tiny_deflated.pt", "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename, src.read(info.filename))
save_file({k: v.contiguous() for k, v in sd.items()}, OUT / "tiny.safetensors", metadata={"source": "nn_checkpoints.py"})
torch.save({"model": sd, "epoch": 3, "lr": 0.1, "betas": [0.9, 0.99]}, OUT / "wrapped.pt")

base = torch.arange(24, dtype=torch.float32) / 7
d = OrderedDict()
d["half"] = (torch.randn(3, 4) * 100).half()
d["bf16"] = torch.randn(5).bfloat16()
d["double"] = torch.randn(2, 3).double()
d["long"] = torch.tensor([[-5, 7], [2**31 - 1, -(2**31)]], dtype=torch.int64)
d["bool"] = torch.tensor([True, False, True])
d["view_offset"] = base[5:11].view(2, 3)          # storage offset 5
d["view_strided"] = base.view(4, 6)[:, ::2].t()   # strides (2, 6)
torch.save(d, OUT / "dtypes.pt")
expected = {k: (v.float() if v.is_floating_point() else v.int() if v.dtype == torch.int64 else v).contiguous() for k, v in d.items()}
save_file(expected, OUT / "dtypes.safetensors")


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


torch.save({"w": torch.zeros(1), "evil": Evil()}, OUT / "malicious.pt")
print("ok")
