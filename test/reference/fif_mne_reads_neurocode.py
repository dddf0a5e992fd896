"""Checks that MNE 1.3 reads a FIF file written by neurocode back as the original.

    npx tsx -e '...writeFif("/tmp/out_raw.fif", readFif(orig))...'
    /usr/bin/python3 test/reference/fif_mne_reads_neurocode.py ORIGINAL.fif NEUROCODE.fif

Prints the largest differences and exits 1 on any mismatch (channels, kinds,
coil types, loc, cal, units, bads, dev_head_t, meas_date, projectors,
annotations, first_samp, samples to float32 precision). Not run by CI.
"""
import sys

import mne
import numpy as np


def main(orig_path, ours_path):
    a = mne.io.read_raw_fif(orig_path, preload=True, verbose=False)
    b = mne.io.read_raw_fif(ours_path, preload=True, verbose=False)
    problems = []

    def check(what, ok):
        if not ok:
            problems.append(what)

    check("ch_names", a.ch_names == b.ch_names)
    check("types", a.get_channel_types() == b.get_channel_types())
    for ca, cb in zip(a.info["chs"], b.info["chs"]):
        for k in ("kind", "coil_type", "unit", "unit_mul", "coord_frame", "logno"):
            check(f"{ca['ch_name']}.{k}", ca[k] == cb[k])
        check(f"{ca['ch_name']}.loc", np.array_equal(ca["loc"], cb["loc"], equal_nan=True))
        check(f"{ca['ch_name']}.cal*range", np.isclose(ca["cal"] * ca["range"], cb["cal"] * cb["range"], rtol=1e-6))
    check("bads", a.info["bads"] == b.info["bads"])
    check("sfreq", a.info["sfreq"] == b.info["sfreq"])
    check("meas_date", a.info["meas_date"] == b.info["meas_date"])
    check("first_samp", a.first_samp == b.first_samp)
    dig_a, dig_b = a.info["dig"] or [], b.info["dig"] or []
    check("dig", len(dig_a) == len(dig_b) and all(
        (x["kind"], x["ident"], x["coord_frame"]) == (y["kind"], y["ident"], y["coord_frame"]) and np.array_equal(x["r"], y["r"])
        for x, y in zip(dig_a, dig_b)))
    dht_a, dht_b = a.info["dev_head_t"], b.info["dev_head_t"]
    check("dev_head_t", (dht_a is None) == (dht_b is None) and (dht_a is None or np.allclose(dht_a["trans"], dht_b["trans"], atol=1e-7)))
    check("projs", [(p["desc"], p["kind"], p["active"], p["data"]["col_names"]) for p in a.info["projs"]]
          == [(p["desc"], p["kind"], p["active"], p["data"]["col_names"]) for p in b.info["projs"]])
    for pa, pb in zip(a.info["projs"], b.info["projs"]):
        check(f"proj {pa['desc']} data", np.array_equal(pa["data"]["data"], pb["data"]["data"]))
    check("annotations", list(a.annotations.description) == list(b.annotations.description)
          and np.allclose(a.annotations.onset, b.annotations.onset, atol=1e-6)
          and np.allclose(a.annotations.duration, b.annotations.duration, atol=1e-6))
    da, db = a.get_data(), b.get_data()
    scale = np.maximum(np.ptp(da, axis=1), 1e-30)[:, None]
    err = np.max(np.abs(da - db) / scale)
    print(f"max |diff| / channel range = {err:.3g}")
    check("data", err <= 1e-6)
    print("OK" if not problems else "MISMATCH: " + ", ".join(problems[:20]))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
