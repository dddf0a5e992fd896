"""Goldens for src/sensors montage tests, made with Debian's MNE 1.3.

Run from the project root:  /usr/bin/python3 test/reference/montage_goldens.py
Writes test/golden/sensors/montages.json: for each standard montage, MNE's
make_standard_montage positions (metres, montage frame), fiducials, and the
head-frame positions set_montage puts in info["chs"][i]["loc"][:3].
Not run by tests or CI.
"""
import json
import os.path as op

import mne
import numpy as np

ROOT = op.dirname(op.dirname(op.dirname(op.abspath(__file__))))
OUT = op.join(ROOT, "test", "golden", "sensors", "montages.json")
KINDS = ["standard_1020", "standard_1005", "biosemi32", "biosemi64", "biosemi128",
         "easycap-M1", "GSN-HydroCel-129", "mgh60"]


def main():
    out = {}
    for kind in KINDS:
        m = mne.channels.make_standard_montage(kind)
        p = m.get_positions()
        names = list(p["ch_pos"].keys())
        info = mne.create_info(names, 100.0, "eeg")
        info.set_montage(m)
        out[kind] = dict(
            coord_frame=p["coord_frame"],
            ch_names=names,
            positions=[p["ch_pos"][n].tolist() for n in names],
            nasion=None if p["nasion"] is None else p["nasion"].tolist(),
            lpa=None if p["lpa"] is None else p["lpa"].tolist(),
            rpa=None if p["rpa"] is None else p["rpa"].tolist(),
            head=[c["loc"][:3].tolist() for c in info["chs"]],
        )
    with open(OUT, "w") as f:
        json.dump(out, f)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
