"""Small raw FIF files with each data-buffer type MNE writes (short, int,
single, double), for test/io/fif. Run from the project root:

    /usr/bin/python3 test/reference/fif_formats.py

Crops test_bin_raw.fif to 300 samples (first_samp 100 after cropping 0.1 s),
saves test/golden/fif/fmt_<fmt>_raw.fif with 100-sample buffers and
fmt_<fmt>.npy = MNE's read_raw_fif(...).get_data() of it (float64).
Not run by tests or CI.
"""
import os.path as op

import mne
import numpy as np

from fif_paths import OUT, SHARED


def main():
    raw = mne.io.read_raw_fif(op.join(SHARED, "external", "mne-python", "test_bin_raw.fif"), preload=True, verbose=False)
    raw.crop(0.1, 0.399)
    for fmt in ("short", "int", "single", "double"):
        fname = op.join(OUT, f"fmt_{fmt}_raw.fif")
        raw.save(fname, fmt=fmt, buffer_size_sec=0.1, overwrite=True, verbose=False)
        back = mne.io.read_raw_fif(fname, preload=True, verbose=False)
        assert back.first_samp == 100, back.first_samp
        np.save(op.join(OUT, f"fmt_{fmt}.npy"), back.get_data())
    print("wrote", OUT)


if __name__ == "__main__":
    main()
