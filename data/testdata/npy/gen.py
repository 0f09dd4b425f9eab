"""Regenerate the .npy fixtures of data/npy_test.go (python3 gen.py in this folder; numpy 1.24).

feat/: float32 feature vectors, x[i, j] = (4 i + j) / 8 (exact in float32), labels i mod 3.
img/:  uint8 images (N, 2, 3, 4), x[i, c, h, w] = (24 i + 12 c + 4 h + w) mod 256, labels i mod 2.
single/: be_f8.npy (big-endian float64 (3, 2), x[i, j] = i − j / 2), v2_i8.npy (format 2.0,
int64 (4,) = 0, 1, 2, 3), fortran.npy (Fortran-ordered float64 (2, 3)), c8.npy (complex64 (2,)).
"""
import os

import numpy as np

os.makedirs("feat", exist_ok=True)
os.makedirs("img", exist_ok=True)
os.makedirs("single", exist_ok=True)
for split, n in (("train", 6), ("test", 3)):
    i, j = np.meshgrid(np.arange(n), np.arange(4), indexing="ij")
    np.save(f"feat/x_{split}.npy", ((4 * i + j) / 8).astype(np.float32))
    np.save(f"feat/y_{split}.npy", (np.arange(n) % 3).astype(np.int64 if split == "train" else np.uint8))
for split, n in (("train", 5), ("test", 2)):
    i, c, h, w = np.meshgrid(np.arange(n), np.arange(2), np.arange(3), np.arange(4), indexing="ij")
    np.save(f"img/x_{split}.npy", ((24 * i + 12 * c + 4 * h + w) % 256).astype(np.uint8))
    np.save(f"img/y_{split}.npy", (np.arange(n) % 2).astype(np.int32 if split == "train" else np.int16))
i, j = np.meshgrid(np.arange(3), np.arange(2), indexing="ij")
np.save("single/be_f8.npy", (i - j / 2).astype(">f8"))
with open("single/v2_i8.npy", "wb") as f:
    np.lib.format.write_array(f, np.arange(4, dtype=np.int64), version=(2, 0))
np.save("single/fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)))
np.save("single/c8.npy", np.zeros(2, dtype=np.complex64))
