"""Goldens for the FIF reader tests (test/io/fif), made with Debian's MNE 1.3.

Run from the project root:  /usr/bin/python3 test/reference/fif_goldens.py
Writes test/golden/fif/<name>.json (info, annotations, projectors, sensors) and
<name>_samples.npy (float64 [nchan, len(sample_idx)] of raw.get_data at the
sample indices listed in the JSON).  Not run by tests or CI.
"""
import json
import os.path as op

import mne
import numpy as np

from fif_paths import OUT, SHARED


def info_json(info):
    chs = []
    for c in info["chs"]:
        chs.append(dict(
            name=c["ch_name"], kind=int(c["kind"]), coil_type=int(c["coil_type"]),
            scanno=int(c["scanno"]), logno=int(c["logno"]), range=float(c["range"]),
            cal=float(c["cal"]), unit=int(c["unit"]), unit_mul=int(c["unit_mul"]),
            coord_frame=int(c["coord_frame"]), loc=[float(v) for v in c["loc"]]))
    dht = info["dev_head_t"]
    projs = [dict(desc=p["desc"], kind=int(p["kind"]), active=bool(p["active"]),
                  col_names=list(p["data"]["col_names"]),
                  data=p["data"]["data"].tolist()) for p in info["projs"]]
    md = info["meas_date"]
    return dict(
        nchan=info["nchan"], sfreq=float(info["sfreq"]), chs=chs, bads=list(info["bads"]),
        dev_head_t=None if dht is None else dht["trans"].tolist(),
        meas_date=None if md is None else [int(md.timestamp() // 1), md.microsecond],
        line_freq=info["line_freq"], highpass=float(info["highpass"]), lowpass=float(info["lowpass"]),
        projs=projs,
        dig=[dict(kind=int(d["kind"]), ident=int(d["ident"]), r=d["r"].tolist(), coord_frame=int(d["coord_frame"]))
             for d in (info["dig"] or [])])


def brainomni_sensor(c, dev_head_t):
    """Head-frame position and orientation the way src/sensors documents it:
    BrainOmni's choice of loc vector, rotated/translated by dev_head_t for MEG."""
    loc = np.asarray(c["loc"])
    if c["kind"] == 2:
        return loc[:3].tolist(), [0.0, 0.0, 0.0]
    ori = loc[3:6] if c["coil_type"] in (3011, 3012, 3013, 3014) else loc[9:12]
    pos = loc[:3]
    if dev_head_t is not None:
        T = dev_head_t["trans"]
        pos = T[:3, :3] @ pos + T[:3, 3]
        ori = T[:3, :3] @ ori
    return pos.tolist(), ori.tolist()


def raw_golden(name, path, extra_idx=()):
    raw = mne.io.read_raw_fif(path, preload=True, verbose=False)
    n = raw.n_times
    idx = sorted(set(list(range(0, min(n, 64))) + list(range(0, n, 37)) + list(range(max(0, n - 64), n)) + list(extra_idx)))
    data = raw.get_data()
    np.save(op.join(OUT, f"{name}_samples.npy"), data[:, idx].astype(np.float64))
    ann = raw.annotations
    sensors = {}
    for c in raw.info["chs"]:
        # Unknown positions (all zeros, as in test_bin_raw's EEG) give no sensor.
        if c["kind"] in (1, 2) and np.any(c["loc"][:3]):
            p, o = brainomni_sensor(c, raw.info["dev_head_t"])
            sensors[c["ch_name"]] = dict(position=p, orientation=o)
    g = dict(
        info=info_json(raw.info), first_samp=int(raw.first_samp), n_times=int(n),
        channel_types=raw.get_channel_types(),
        sample_idx=idx,
        ptp=np.ptp(data, axis=1).tolist(),
        annotations=dict(onset=ann.onset.tolist(), duration=ann.duration.tolist(),
                         description=list(ann.description), ch_names=[list(c) for c in ann.ch_names],
                         orig_time=None if ann.orig_time is None else ann.orig_time.isoformat()),
        sensors=sensors)
    with open(op.join(OUT, f"{name}.json"), "w") as f:
        json.dump(g, f)
    return raw


def projector_golden():
    """P·x for x = sin(1 + channel index), with MNE's _make_projector over all
    four projectors of neuromag_raw.fif (include_active=True), bads excluded."""
    from mne.io.proj import _make_projector
    raw = mne.io.read_raw_fif(op.join(SHARED, "generated", "neuromag_raw.fif"), verbose=False)
    P, nproj, _ = _make_projector(raw.info["projs"], raw.ch_names, bads=raw.info["bads"], include_active=True)
    x = np.sin(1.0 + np.arange(len(raw.ch_names)))
    with open(op.join(OUT, "neuromag_raw_projection.json"), "w") as f:
        json.dump(dict(nproj=int(nproj), x=x.tolist(), Px=(P @ x).tolist()), f)


def main():
    raw_golden("test_bin_raw", op.join(SHARED, "external", "mne-python", "test_bin_raw.fif"),
               extra_idx=range(1890, 2110))
    raw_golden("neuromag_raw", op.join(SHARED, "generated", "neuromag_raw.fif"),
                     extra_idx=range(595, 610))
    ave_info = mne.io.read_info(op.join(SHARED, "external", "mne-python", "test-ave.fif.gz"), verbose=False)
    with open(op.join(OUT, "test-ave_info.json"), "w") as f:
        json.dump(dict(info=info_json(ave_info)), f)
    projector_golden()
    print("wrote goldens to", OUT)


if __name__ == "__main__":
    main()
