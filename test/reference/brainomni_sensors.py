"""Golden for BrainOmni's sensor vectors on shared/data/generated/neuromag_raw.fif, computed the
official way (factory/utils.py extract_pos_sensor_type + normalize_pos, re-typed from
shared/reference/brainomni-duin.md section 1.3) on MNE 1.3's info: substring tests on the printed
coil constant, loc[3:6] for planar gradiometers, loc[9:12] for other MEG, zeros for EEG; positions
centred and scaled per set (EEG; MAG+GRAD). Channels: MEG+EEG without the bads, file order.

Usage: /usr/bin/python3 test/reference/brainomni_sensors.py
"""
import json
from pathlib import Path

import mne
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
raw = mne.io.read_raw_fif(str(ROOT.parent / "shared" / "data" / "generated" / "neuromag_raw.fif"), verbose="error")
raw.pick_types(meg=True, eeg=True, ref_meg=False, exclude="bads")
pos, typ = [], []
for ch in raw.info["chs"]:
    loc = ch["loc"]
    if ch["kind"] == 2:
        pos.append(np.r_[loc[:3], 0, 0, 0]); typ.append(0)
    else:
        assert ch["kind"] == 1
        name = str(ch["coil_type"])
        if "PLANAR" in name:
            pos.append(np.r_[loc[:3], loc[3:6]]); typ.append(2)
        elif "MAG" in name:
            pos.append(np.r_[loc[:3], loc[9:12]]); typ.append(1)
        else:
            pos.append(np.r_[loc[:3], loc[9:12]]); typ.append(2)
pos = np.array(pos, dtype=np.float64)
typ = np.array(typ)
for mask in (typ == 0, typ != 0):
    xyz = pos[mask, :3] - pos[mask, :3].mean(0)
    pos[mask, :3] = xyz / np.sqrt(3 * np.mean(np.sum(xyz ** 2, 1)))
out = ROOT / "test" / "golden" / "brainomni" / "neuromag_sensors.json"
out.write_text(json.dumps({"names": raw.ch_names, "type": typ.tolist(), "pos": np.round(pos, 7).tolist()}))
print("wrote", out, len(raw.ch_names), "channels")
