"""Writes .npy files with NumPy for test/io/npy.test.ts (run: /usr/bin/python3 test/reference/npy_goldens.py).

Each array's values follow a formula the test recomputes: a[i] = i * 0.5 - 3 in C order.
"""
import os
import numpy as np

out = os.path.join(os.path.dirname(__file__), "..", "golden", "npy")
os.makedirs(out, exist_ok=True)


def ramp(shape, dtype):
    n = int(np.prod(shape))
    return (np.arange(n) * 0.5 - 3).astype(dtype).reshape(shape)


np.save(os.path.join(out, "f32_3x4.npy"), ramp((3, 4), np.float32))
np.save(os.path.join(out, "f64_2x3x4.npy"), ramp((2, 3, 4), np.float64))
np.save(os.path.join(out, "i16_5.npy"), (np.arange(5) - 2).astype(np.int16))
np.save(os.path.join(out, "f32_fortran_3x4.npy"), np.asfortranarray(ramp((3, 4), np.float32)))
np.save(os.path.join(out, "f64_bigendian_2x2.npy"), ramp((2, 2), ">f8"))
np.save(os.path.join(out, "i64_scalar.npy"), np.array(7, dtype=np.int64))
print("numpy", np.__version__)
