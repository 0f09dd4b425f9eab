#!/usr/bin/env python3
"""PyTorch peer of `fenchel probe`'s spectra (bench/spectra.sh runs both).

For an MLP 784-W-10 at PyTorch's default initialisation (torch.manual_seed)
and the first n MNIST training images (normalised as fenchel's --normalize
standard), it computes in float64:
  * H = J Jᵀ layerwise in closed form (THEORY §6: for z = W2 relu(W1 x + b1) + b2,
    H = kron(A Aᵀ + 1, I_K) + (B Bᵀ) ⊙ kron(X Xᵀ + 1, 1_KK), B[iK+k, j] = W2[k, j]·1[h_ij > 0]);
  * H_S = Vᵀ H V with V = I_n ⊗ V_K, V_K the Helmert basis (as fenchel's RestrictSumZero);
  * H_p = D^½ H D^½, D = diag(softmax(z));
  * torch.linalg.eigvalsh of each (every eigenvalue),
and prints one JSON line with the extremes and the seconds of each phase.
With --save it also writes the weights as safetensors under the state_dict
keys fenchel's probe reads ("0.weight", "0.bias", "2.weight", "2.bias").

Run with OMP_WAIT_POLICY=PASSIVE (spinning OpenMP threads starve BLAS on
2 cores); --threads sets torch.set_num_threads (default 2).
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import torch


def read_idx_images(path, n):
    with gzip.open(path, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051:
            sys.exit(f"{path}: bad IDX magic {magic}")
        if n > count:
            sys.exit(f"{path}: {count} images, {n} asked")
        raw = f.read(n * rows * cols)
    x = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(n, rows * cols)
    return x


def save_safetensors(path, tensors):
    """Minimal safetensors writer (header length, JSON header, raw little-endian data)."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().to(torch.float32)
        b = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def helmert(K):
    v = torch.zeros(K, K - 1, dtype=torch.float64)
    for j in range(1, K):
        v[:j, j - 1] = 1.0
        v[j, j - 1] = -float(j)
        v[:, j - 1] /= math.sqrt(j * (j + 1))
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mnist", required=True, help="directory with train-images-idx3-ubyte.gz")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save", help="write the weights as safetensors here")
    ap.add_argument("--skip-eig", action="store_true", help="only build H (and --save)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    K = 10
    model = torch.nn.Sequential(torch.nn.Linear(784, a.width), torch.nn.ReLU(), torch.nn.Linear(a.width, K))
    if a.save:
        save_safetensors(a.save, model.state_dict())
    # fenchel reads the float32 weights and widens them exactly to float64.
    w1 = model[0].weight.detach().to(torch.float64)
    b1 = model[0].bias.detach().to(torch.float64)
    w2 = model[2].weight.detach().to(torch.float64)
    b2 = model[2].bias.detach().to(torch.float64)
    x = read_idx_images(os.path.join(a.mnist, "train-images-idx3-ubyte.gz"), a.n).to(torch.float64)
    x = (x / 255.0 - 0.1307) / 0.3081
    n = a.n

    t = {}
    t0 = time.perf_counter()
    pre = x @ w1.T + b1
    act = torch.relu(pre)
    z = act @ w2.T + b2
    mask = (pre > 0).to(torch.float64)
    gx = x @ x.T + 1.0
    ga = act @ act.T + 1.0
    bmat = (mask[:, None, :] * w2[None, :, :]).reshape(n * K, a.width)
    h = (bmat @ bmat.T) * torch.kron(gx, torch.ones(K, K, dtype=torch.float64))
    h += torch.kron(ga, torch.eye(K, dtype=torch.float64))
    t["H"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    vk = helmert(K)
    h4 = h.reshape(n, K, n, K)
    hs = torch.einsum("ac,iajb,bd->icjd", vk, h4, vk).reshape(n * (K - 1), n * (K - 1))
    p = torch.softmax(z, dim=1).reshape(n * K)
    sp = p.sqrt()
    hp = sp[:, None] * h * sp[None, :]
    t["projections"] = time.perf_counter() - t0

    out = {"n": n, "width": a.width, "threads": torch.get_num_threads(), "torch": torch.__version__}
    if not a.skip_eig:
        for name, m in (("H", h), ("H_S", hs), ("H_p", hp)):
            t0 = time.perf_counter()
            ev = torch.linalg.eigvalsh(m)
            t["eigvalsh " + name] = time.perf_counter() - t0
            out[name] = {"dim": m.shape[0], "lambda_min": ev[0].item(), "lambda_max": ev[-1].item(),
                         "trace": torch.trace(m).item()}
    out["seconds"] = t
    out["total"] = sum(t.values())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
