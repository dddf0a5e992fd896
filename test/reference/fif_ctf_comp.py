"""A small FIF file with CTF-style channels and a compensation matrix, for
test/io/fif (there is no CTF recording in shared/data).

Run from the project root:  /usr/bin/python3 test/reference/fif_ctf_comp.py
Takes test_bin_raw.fif (first 200 samples), turns four EEG channels into CTF
axial gradiometers (coil 5001 with compensation grade 3 in the upper bits,
device-frame loc) and two into reference magnetometers (5002), adds a
FIFFB_MNE_CTF_COMP_DATA block (grade 3, 4x2 matrix) and a dev_head_t, and
saves test/golden/fif/ctf_comp_raw.fif plus what MNE reads back
(ctf_comp_raw.json). Not run by tests or CI.
"""
import json
import os.path as op

import mne
import numpy as np
from mne.io.constants import FIFF
from mne.transforms import Transform, rotation

from fif_paths import OUT, SHARED


def main():
    raw = mne.io.read_raw_fif(op.join(SHARED, "external", "mne-python", "test_bin_raw.fif"), preload=True, verbose=False)
    raw.crop(0, 0.199)
    info = raw.info
    grads, refs = [0, 1, 2, 3], [4, 5]
    rng = np.random.default_rng(3)
    with info._unlock():
        for k in grads + refs:
            ch = info["chs"][k]
            ch["kind"] = FIFF.FIFFV_MEG_CH if k in grads else FIFF.FIFFV_REF_MEG_CH
            ch["coil_type"] = (5001 | (3 << 16)) if k in grads else 5002
            ch["unit"] = FIFF.FIFF_UNIT_T
            ch["coord_frame"] = FIFF.FIFFV_COORD_DEVICE
            ez = rng.standard_normal(3)
            ez /= np.linalg.norm(ez)
            ex = np.cross(ez, [0, 0, 1.0])
            ex /= np.linalg.norm(ex)
            ey = np.cross(ez, ex)
            ch["loc"] = np.concatenate([rng.uniform(-0.1, 0.1, 3), ex, ey, ez])
            ch["cal"] = 1e-15
        info["dev_head_t"] = Transform("meg", "head", rotation(0.1, -0.2, 0.3) @ np.array(
            [[1, 0, 0, 0.01], [0, 1, 0, -0.02], [0, 0, 1, 0.04], [0, 0, 0, 1.0]]))
        names = info["ch_names"]
        info["comps"] = [dict(
            ctfkind=3, kind=3, save_calibrated=False,
            rowcals=np.ones(4), colcals=np.ones(2),
            data=dict(nrow=4, ncol=2, row_names=[names[k] for k in grads], col_names=[names[k] for k in refs],
                      data=rng.standard_normal((4, 2))))]
    fname = op.join(OUT, "ctf_comp_raw.fif")
    raw.save(fname, overwrite=True, verbose=False)
    back = mne.io.read_raw_fif(fname, verbose=False)
    comp = back.info["comps"][0]
    g = dict(
        channel_types=back.get_channel_types(),
        coil_types=[int(c["coil_type"]) for c in back.info["chs"]],
        comp=dict(kind=int(comp["ctfkind"]), calibrated=bool(comp["save_calibrated"]),
                  row_names=list(comp["data"]["row_names"]), col_names=list(comp["data"]["col_names"]),
                  data=comp["data"]["data"].tolist()),
        compensation_grade=int(back.compensation_grade),
        dev_head_t=back.info["dev_head_t"]["trans"].tolist(),
        locs={c["ch_name"]: c["loc"].tolist() for c in back.info["chs"][:6]},
    )
    with open(op.join(OUT, "ctf_comp_raw.json"), "w") as f:
        json.dump(g, f)
    print("wrote", fname)


if __name__ == "__main__":
    main()
