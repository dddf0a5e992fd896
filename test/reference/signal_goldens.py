"""Goldens for test/signal: scipy 1.10 and MNE 1.3 outputs on synthetic
signals and on an excerpt of shared/data/external/mne-python/test.edf.

Run with Debian's Python (MNE 1.3, scipy 1.10):
    /usr/bin/python3 test/reference/signal_goldens.py
Writes test/golden/signal/*.npy (float32 inputs/outputs) and cases.json,
which lists every case: operation, parameters, input and output files.
Inputs are float32; the references run on their float64 values, exactly
what neurocode sees (it stores float32 and accumulates in float64).
"""
import json
import os

import mne
import numpy as np
from scipy import signal

mne.set_log_level("error")
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "golden", "signal")
SHARED = os.path.join(HERE, "..", "..", "..", "shared", "data", "external")
os.makedirs(OUT, exist_ok=True)
cases = []


def save(name, arr):
    np.save(os.path.join(OUT, name + ".npy"), np.asarray(arr, np.float32))
    return name


def case(op, inp, out_arr, **params):
    name = f"{inp}__{op}__{len(cases)}"
    cases.append(dict(op=op, input=inp, output=save(name, out_arr), params=params))


# Synthetic: 4 channels at 256 Hz, 12 s: sinusoids in and out of band, line
# noise, a slow drift, white noise (seeded), a step, offsets (edges matter).
rng = np.random.default_rng(42)
sf = 256.0
t = np.arange(int(12 * sf)) / sf
syn = np.stack([
    1e-5 * np.sin(2 * np.pi * 10 * t) + 5e-6 * np.sin(2 * np.pi * 50 * t) + 2e-5 * t / t[-1],
    3e-6 * np.sin(2 * np.pi * 0.3 * t) + 4e-6 * np.sin(2 * np.pi * 60 * t + 1) + 1e-6 * rng.standard_normal(t.size),
    2e-5 * (t > 5) + 1e-6 * rng.standard_normal(t.size) + 1e-5,
    5e-6 * np.sin(2 * np.pi * 100 * t) + 5e-6 * np.sin(2 * np.pi * 20 * t) - 3e-5,
]).astype(np.float32)
save("syn256", syn)
x = syn.astype(np.float64)

# Real excerpt: 8 EEG channels of MNE's test.edf (512 Hz, 6 s), volts.
raw = mne.io.read_raw_edf(os.path.join(SHARED, "mne-python", "test.edf"), preload=True)
picks = raw.ch_names[:8]
real = raw.get_data(picks=picks).astype(np.float32)
save("edf512", real)
xr = real.astype(np.float64)
with open(os.path.join(OUT, "edf512_channels.json"), "w") as f:
    json.dump(picks, f)

# --- MNE FIR filter / notch (filter_data defaults: firwin, hamming, zero phase, reflect_limited)
for lo, hi in [(1.0, 40.0), (0.1, 96.0), (None, 30.0), (1.0, None), (30.0, 10.0), (0.5, 75.0)]:
    case("mne_filter", "syn256", mne.filter.filter_data(x, sf, lo, hi), sfreq=sf, l_freq=lo, h_freq=hi)
case("mne_filter", "edf512", mne.filter.filter_data(xr, 512.0, 0.1, 75.0), sfreq=512.0, l_freq=0.1, h_freq=75.0)
case("mne_notch", "syn256", mne.filter.notch_filter(x, sf, [50.0, 60.0]), sfreq=sf, freqs=[50.0, 60.0])
case("mne_notch", "edf512", mne.filter.notch_filter(xr, 512.0, [50.0]), sfreq=512.0, freqs=[50.0])

# --- MNE FFT resample (Raw.resample defaults: npad auto, boxcar, reflect_limited)
for new in [200.0, 128.0, 300.0]:
    case("mne_resample", "syn256", mne.filter.resample(x, new, sf, npad="auto"), up=new, down=sf)
case("mne_resample", "edf512", mne.filter.resample(xr, 256.0, 512.0, npad="auto"), up=256.0, down=512.0)
case("mne_resample", "edf512", mne.filter.resample(xr, 200.0, 512.0, npad="auto"), up=200.0, down=512.0)

# --- scipy resample_poly (kaiser 5.0, padtype constant)
for up, down in [(25, 32), (1, 2), (3, 1)]:
    case("resample_poly", "syn256", signal.resample_poly(x, up, down, axis=-1), up=up, down=down)
case("resample_poly", "edf512", signal.resample_poly(xr, 25, 64, axis=-1), up=25, down=64)

# --- scipy butter + sosfiltfilt / sosfilt
for order, wn, bt in [(4, [1.0, 40.0], "bandpass"), (4, [0.1, 96.0], "bandpass"), (5, 30.0, "lowpass"), (3, 0.5, "highpass"), (2, [45.0, 55.0], "bandstop")]:
    sos = signal.butter(order, wn, bt, fs=sf, output="sos")
    case("sosfiltfilt", "syn256", signal.sosfiltfilt(sos, x), order=order, cutoff=wn, btype=bt, sfreq=sf)
    zi = signal.sosfilt_zi(sos)
    case("sosfilt_zi_step", "syn256", signal.sosfilt(sos, x, zi=zi[:, None, :] * x[None, :, :1])[0], order=order, cutoff=wn, btype=bt, sfreq=sf)
sos = signal.butter(4, [0.5, 70.0], "bandpass", fs=512.0, output="sos")
case("sosfiltfilt", "edf512", signal.sosfiltfilt(sos, xr), order=4, cutoff=[0.5, 70.0], btype="bandpass", sfreq=512.0)

# --- Welch
case("welch", "syn256", signal.welch(x, fs=sf)[1], sfreq=sf)
case("welch", "edf512", signal.welch(xr, fs=512.0, nperseg=512)[1], sfreq=512.0, nperseg=512)
psd, _ = mne.time_frequency.psd_array_welch(xr, 512.0, n_fft=min(xr.shape[1], 2048), n_overlap=0, window="hamming")
case("mne_psd", "edf512", psd, sfreq=512.0)

# --- References (MNE set_eeg_reference / set_bipolar_reference)
def raw_of(arr, names, sfreq, types="eeg"):
    info = mne.create_info(names, sfreq, types)
    return mne.io.RawArray(arr.astype(np.float64), info)

r = raw_of(xr, picks, 512.0)
r.info["bads"] = [picks[2]]
avg, _ = mne.set_eeg_reference(r.copy(), "average", copy=True)
case("ref_average", "edf512", avg.get_data(), bads=[picks[2]])
single, _ = mne.set_eeg_reference(r.copy(), [picks[0]], copy=True)
case("ref_single", "edf512", single.get_data(), ref=[picks[0]], bads=[picks[2]])
pairs = [(picks[0], picks[1]), (picks[1], picks[3]), (picks[4], picks[0])]
bip = mne.set_bipolar_reference(raw_of(xr, picks, 512.0), [p[0] for p in pairs], [p[1] for p in pairs])
names = [f"{a}-{c}" for a, c in pairs]
case("ref_bipolar", "edf512", bip.get_data(picks=names), pairs=pairs)

# --- BrainOmni sensortype_wise_normalize (their code, on groups eeg/mag/grad)
groups = ["eeg", "eeg", "mag", "grad"]
d = x.copy() * np.array([1, 1, 1e-7, 1e-6])[:, None]
save("syn256_mixed", d)
d = d.astype(np.float32).astype(np.float64)
out = d.copy()
for g, eps in [("eeg", 1e-5), ("mag", 1e-13), ("grad", 1e-13)]:
    m = np.array(groups) == g
    gd = d[m] - d[m].mean(axis=0, keepdims=True)
    out[m] = gd / (np.std(gd) + eps)
case("brainomni_normalize", "syn256_mixed", out, groups=groups)

# --- Spherical-spline interpolation of bad EEG channels (MNE interpolate_bads, origin (0, 0, 0.04))
names1020 = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7", "P3", "Pz", "P4", "P8", "O1", "O2"]
mont = mne.channels.make_standard_montage("standard_1020")
pos = mont.get_positions()["ch_pos"]
rng2 = np.random.default_rng(7)
field = np.array([[np.sin(3 * p[0] / 0.09 + 0.5 * k) + np.cos(2 * p[1] / 0.09 - 0.2 * k) + p[2] / 0.09 for k in range(200)] for p in (pos[n] for n in names1020)]) * 1e-5
field += 1e-7 * rng2.standard_normal(field.shape)
save("interp_in", field)
ri = raw_of(field.astype(np.float32), names1020, 100.0)
ri.set_montage(mont)
# set_montage moves the template into the head frame: store those positions.
head_pos = {ch["ch_name"]: [float(v) for v in ch["loc"][:3]] for ch in ri.info["chs"]}
ri.info["bads"] = ["C3", "Pz", "F8"]
ri.interpolate_bads(reset_bads=True, mode="accurate", origin=(0.0, 0.0, 0.04))
case("interpolate_bads", "interp_in", ri.get_data(), names=names1020, bads=["C3", "Pz", "F8"], positions=head_pos)

# --- BrainOmni PSD-distance outlier rule (their _auto_detect_bad_channels on a Raw)
noisy = xr.copy()
noisy[5] += 2e-4 * np.random.default_rng(3).standard_normal(noisy.shape[1])

save("edf512_noisy", noisy)
rn = raw_of(noisy.astype(np.float32), picks, 512.0)
spectrum = rn.compute_psd(tmax=1000000, average="mean", verbose=False)
logd = np.log(spectrum.get_data() + 1e-16)  # .data in newer MNE
dist = np.linalg.norm(logd[:, None, :] - logd[None, :, :], axis=2).mean(axis=1)
q1, q3 = np.percentile(dist, 25), np.percentile(dist, 75)
iqr = q3 - q1
found = [picks[i] for i in np.where((dist > q3 + 10 * iqr) | (dist < q1 - 10 * iqr))[0]]
cases.append(dict(op="psd_outliers", input="edf512_noisy", output=None, params=dict(expected=found, mean_distances=dist.tolist())))

with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump(cases, f, indent=1)
print(len(cases), "cases; bads found:", found, dist)
