#!/usr/bin/python3
"""Goldens for test/io/edf: what MNE-Python 1.3 reads from every EDF/BDF file.

Run from the project root with Debian's MNE (not run by tests or CI):

    /usr/bin/python3 test/reference/edf_goldens.py

1. Every EDF/BDF file in ../shared/data/external/ and examples/data/sample.edf:
   channel names, rate, length, types, start time, annotations, and per channel
   sum/min/max plus samples at fixed positions (float64, volts as MNE gives them).
   Files with several rates: MNE 1.3 upsamples the slower signals, so only the
   signals already at MNE's rate are stored (`native`).
2. The recordings of test/io/edf/fixtures.ts written by neurocode
   (test/reference/edf_write_fixtures.ts): the sha256 of the bytes MNE read and
   what MNE saw, so a test can check that neurocode still writes those bytes.
Output: test/golden/edf/mne_read.json and test/golden/edf/mne_written.json.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import warnings

import mne
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXT = os.path.join(ROOT, "..", "shared", "data", "external")
OUT = os.path.join(ROOT, "test", "golden", "edf")

FILES = [
    "mne-python/test.edf",
    "mne-python/test.bdf",
    "mne-python/test_uneven_samp.edf",
    "mne-python/test_edf_stim_channel.edf",
    "edfio/short_psg.edf",
    "edfio/test_subsecond.edf",
    "pyedflib/test_generator.edf",
]


def read(path):
    fn = mne.io.read_raw_bdf if path.lower().endswith(".bdf") else mne.io.read_raw_edf
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        raw = fn(path, preload=True, verbose="error")
    return raw, [str(x.message) for x in w]


def describe(path, n_positions):
    raw, warns = read(path)
    data = raw.get_data()
    n = int(raw.n_times)
    extras = raw._raw_extras[0]
    n_samps = np.asarray(extras["n_samps"])
    sel = np.flatnonzero(n_samps[: len(raw.ch_names)] == n_samps.max()) if "n_samps" in extras else np.arange(len(raw.ch_names))
    positions = sorted(set(np.linspace(0, n - 1, n_positions).astype(int).tolist()) | set(range(min(16, n))))
    md = raw.info["meas_date"]
    ann = raw.annotations
    return {
        "ch_names": raw.ch_names,
        "sfreq": float(raw.info["sfreq"]),
        "n_times": n,
        "types": raw.get_channel_types(),
        "meas_date": md.isoformat() if md is not None else None,
        "annotations": [[float(o), float(d), str(s)] for o, d, s in zip(ann.onset, ann.duration, ann.description)],
        "native": [raw.ch_names[i] for i in sel],
        "positions": positions,
        "channels": {
            raw.ch_names[i]: {
                "sum": float(data[i].sum()),
                "min": float(data[i].min()),
                "max": float(data[i].max()),
                "values": data[i, positions].tolist(),
            }
            for i in sel
        },
        "warnings": warns,
    }


def main():
    print("mne", mne.__version__)
    goldens = {"mne_version": mne.__version__, "files": {}}
    for rel in FILES:
        path = os.path.join(EXT, rel)
        goldens["files"][rel] = describe(path, 96 if rel.endswith("test.edf") else 256)
        print(rel, "ok")
    sample = os.path.join(ROOT, "examples", "data", "sample.edf")
    goldens["files"]["examples/data/sample.edf"] = describe(sample, 256)
    hyp = mne.read_annotations(os.path.join(EXT, "edfio", "SC4001EC-Hypnogram.edf"))
    goldens["hypnogram_annotations"] = [[float(o), float(d), str(s)] for o, d, s in zip(hyp.onset, hyp.duration, hyp.description)]
    with open(os.path.join(OUT, "mne_read.json"), "w") as f:
        json.dump(goldens, f, separators=(",", ":"))

    written = {"mne_version": mne.__version__, "files": {}}
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npx", "tsx", "test/reference/edf_write_fixtures.ts", tmp], cwd=ROOT, check=True)
        for name in sorted(os.listdir(tmp)):
            path = os.path.join(tmp, name)
            with open(path, "rb") as f:
                sha = hashlib.sha256(f.read()).hexdigest()
            d = describe(path, 128)
            d["sha256"] = sha
            written["files"][name] = d
            print(name, sha)
    with open(os.path.join(OUT, "mne_written.json"), "w") as f:
        json.dump(written, f, separators=(",", ":"))


if __name__ == "__main__":
    sys.exit(main())
