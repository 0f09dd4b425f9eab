#!/usr/bin/env python3
"""PyTorch twin of fenchel's training workloads, for bench/run.sh.

Each workload builds exactly the network fenchel builds (models/, THEORY §5),
trains it on the MNIST IDX files fenchel reads (the GoMNIST module's data/
folder; nothing is downloaded) and prints one JSON line with the same timing
split as fenchel's timings.json:

  train_s        the training loop only: gather the batch, forward, loss,
                 backward, optimiser step, loss and accuracy bookkeeping
  hooks_s        the per-image measurements (THEORY §5), when asked for
  samples_per_s  samples trained / train_s

Run with OMP_WAIT_POLICY=PASSIVE (bench/run.sh sets it): on 2 cores PyTorch's
spinning OpenMP threads otherwise starve the other work of the process.

  train_torch.py --data DIR train --model mlp --hidden 1000 --opt sgd --lr 0.1 --batch 128 --epochs 1
  train_torch.py --data DIR train --model d --opt adam --lr 0.002 --batch 64 --max-steps 40
  train_torch.py --data DIR indicator [--steps N --n-train N --n-test N]
"""

import argparse
import gzip
import json
import os
import struct
import sys
import time

T_START = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

MEAN, STD = 0.1307, 0.3081  # fenchel's "standard" normalisation (THEORY §5)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        buf = f.read()
    magic = struct.unpack(">I", buf[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, buf[4:4 + 4 * ndim])
    return np.frombuffer(buf, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(d, n_train=0, n_test=0):
    def split(img, lab, n):
        x = read_idx(os.path.join(d, img))
        y = read_idx(os.path.join(d, lab))
        if n > 0:
            x, y = x[:n], y[:n]
        x = (torch.from_numpy(x.astype(np.float32)) / 255.0 - MEAN) / STD
        return x.reshape(-1, 1, 28, 28).contiguous(), torch.from_numpy(y.astype(np.int64))

    return (split("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", n_train),
            split("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", n_test))


# ---- models (fenchel's models/ package, THEORY §5) ----

class MLP(nn.Module):
    """in → hidden… → classes, ReLU between dense layers (fenchel "mlp"; Model a is hidden=[64]*k)."""

    def __init__(self, hidden, classes=10):
        super().__init__()
        layers, prev = [nn.Flatten()], 784
        for h in hidden:
            layers += [nn.Linear(prev, h), nn.ReLU()]
            prev = h
        layers.append(nn.Linear(prev, classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class ModelB(nn.Module):
    """k × [conv 3×3 → 8, pad 1; ReLU; max-pool 3×3 s1 p1], dense 8·28·28 → 10."""

    def __init__(self, k=1, classes=10):
        super().__init__()
        layers, c = [], 1
        for _ in range(k):
            layers += [nn.Conv2d(c, 8, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(3, 1, 1)]
            c = 8
        layers += [nn.Flatten(), nn.Linear(8 * 28 * 28, classes)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class DenseSkip(nn.Module):
    def __init__(self, w, skip):
        super().__init__()
        self.fc, self.skip = nn.Linear(w, w), skip

    def forward(self, h):
        y = F.relu(self.fc(h))
        return y + h if self.skip else y


class ModelC(nn.Module):
    """conv 1→8 3×3 p1, ReLU, max-pool 2×2 s2, dense 8·14·14 → 10, ReLU, k dense skip blocks, dense 10 → 10."""

    def __init__(self, k=1, skip=True, classes=10):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 8, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                                 nn.Linear(8 * 14 * 14, 10), nn.ReLU(),
                                 *[DenseSkip(10, skip) for _ in range(k)], nn.Linear(10, classes))

    def forward(self, x):
        return self.net(x)


class Basic(nn.Module):
    """conv 3×3 (stride, no bias), ReLU, conv 3×3 (no bias), + shortcut (3×3 conv with bias where the shape changes), ReLU."""

    def __init__(self, cin, cout, stride, skip):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.sc = nn.Conv2d(cin, cout, 3, stride, 1, bias=True) if (cin != cout or stride != 1) and skip else None
        self.skip = skip

    def forward(self, x):
        y = self.c2(F.relu(self.c1(x)))
        if self.skip:
            y = y + (self.sc(x) if self.sc is not None else x)
        return F.relu(y)


class ModelD(nn.Module):
    """ResNet without batch norm: stem conv 1→16 (bias), ReLU, max-pool 3 s1 p1; stages 16/32/64, strides 1/2/2, blocks k/1/1; avg pool; dense 64 → 10."""

    def __init__(self, k=1, skip=True, classes=10):
        super().__init__()
        blocks, c = [], 16
        for ch, stride, n in ((16, 1, k), (32, 2, 1), (64, 2, 1)):
            for i in range(n):
                blocks.append(Basic(c, ch, stride if i == 0 else 1, skip))
                c = ch
        self.net = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(3, 1, 1), *blocks,
                                 nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))

    def forward(self, x):
        return self.net(x)


def build(name, hidden=(), k=1):
    if name == "mlp":
        return MLP(list(hidden))
    if name == "a":
        return MLP([64] * k)
    if name == "b":
        return ModelB(k)
    if name == "c":
        return ModelC(k)
    if name == "d":
        return ModelD(k)
    raise SystemExit(f"train_torch.py: unknown model {name!r}")


# ---- the per-image instrument (THEORY §5) ----

class PerImage:
    """g = ‖∇ℓ(x_a)‖², λ_min/λ_max of J Jᵀ (K×K, J = ∂f(x_a)/∂θ), R = ℓ(x_b) and ‖e_y − softmax(f(x_b))‖
    on the first two test images of the class of test image 0 (fenchel's default)."""

    def __init__(self, test_x, test_y):
        c = int(test_y[0])
        idx = (test_y == c).nonzero().flatten()[:2].tolist()
        self.xa, self.xb = test_x[idx[0]:idx[0] + 1], test_x[idx[1]:idx[1] + 1]
        self.y = torch.tensor([c])

    def measure(self, model):
        params = [p for p in model.parameters()]
        with torch.no_grad():
            zb = model(self.xb)
            R = F.cross_entropy(zb, self.y).item()
            res = torch.linalg.vector_norm(F.one_hot(self.y, zb.shape[1]).float() - F.softmax(zb, 1)).item()
        za = model(self.xa)[0]
        K = za.shape[0]
        rows = []
        for k in range(K):
            gk = torch.autograd.grad(za[k], params, retain_graph=k < K - 1)
            rows.append(torch.cat([g.reshape(-1) for g in gk]))
        J = torch.stack(rows).double()
        H = J @ J.T
        r = F.softmax(za.detach().double(), 0) - F.one_hot(self.y[0], K).double()
        g = float(r @ H @ r)  # ‖Jᵀ r‖², the gradient of ℓ on x_a
        ev = torch.linalg.eigvalsh(H)
        lmin, lmax = float(ev[0]), float(ev[-1])
        return {"g": g, "lambda_min": lmin, "lambda_max": lmax, "F": g * lmax / lmin, "R": R, "residual_b": res}


# ---- the training loop (fenchel's train.Run) ----

def train(model, opt, data, batch, epochs, max_steps, seed, per_image_every=0):
    (xtr, ytr), (xte, yte) = data
    n = xtr.shape[0]
    steps_per_epoch = (n + batch - 1) // batch
    total = epochs * steps_per_epoch
    if max_steps > 0 and (epochs == 0 or max_steps < total):
        total = max_steps
    gen = torch.Generator().manual_seed(seed)
    hook = PerImage(xte, yte) if per_image_every > 0 else None
    train_s = hooks_s = 0.0
    samples = step = correct = 0
    loss_sum = 0.0
    perm, pos = None, 0
    if hook:
        t = time.perf_counter()
        hook.measure(model)
        hooks_s += time.perf_counter() - t
    while step < total:
        t = time.perf_counter()
        if perm is None:
            perm, pos = torch.randperm(n, generator=gen), 0
        idx = perm[pos:pos + batch]
        x, y = xtr[idx], ytr[idx]
        z = model(x)
        loss = F.cross_entropy(z, y)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
        loss_sum += loss.item() * len(idx)
        correct += int((z.detach().argmax(1) == y).sum())
        samples += len(idx)
        step += 1
        pos += len(idx)
        if pos >= n:
            perm = None
        train_s += time.perf_counter() - t
        if hook and (step % per_image_every == 0 or step == total):
            t = time.perf_counter()
            hook.measure(model)
            hooks_s += time.perf_counter() - t
    t = time.perf_counter()
    with torch.no_grad():
        acc = sum(int((model(xte[i:i + 128]).argmax(1) == yte[i:i + 128]).sum()) for i in range(0, xte.shape[0], 128))
    eval_s = time.perf_counter() - t
    return {"steps": step, "train_s": train_s, "hooks_s": hooks_s, "eval_s": eval_s,
            "samples_per_s": samples / train_s if train_s > 0 else 0.0,
            "train_loss": loss_sum / max(samples, 1), "test_acc": acc / xte.shape[0]}


def make_opt(model, name, lr):
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr)
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    raise SystemExit(f"train_torch.py: unknown optimiser {name!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="directory of the MNIST IDX .gz files")
    ap.add_argument("--threads", type=int, default=2)
    sub = ap.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train")
    tr.add_argument("--model", default="mlp")
    tr.add_argument("--hidden", type=int, nargs="*", default=[100])
    tr.add_argument("--depth", type=int, default=1)
    tr.add_argument("--opt", default="sgd")
    tr.add_argument("--lr", type=float, default=0.1)
    tr.add_argument("--batch", type=int, default=128)
    tr.add_argument("--epochs", type=int, default=1)
    tr.add_argument("--max-steps", type=int, default=0)
    tr.add_argument("--per-image-every", type=int, default=0)
    tr.add_argument("--n-train", type=int, default=0)
    tr.add_argument("--n-test", type=int, default=0)
    tr.add_argument("--seed", type=int, default=0)
    ind = sub.add_parser("indicator", help="THEORY §5: Models a–d, k = 1, Adam 0.002, batch 64, per-image every 2 batches")
    ind.add_argument("--steps", type=int, default=0, help="steps per model (0: one epoch)")
    ind.add_argument("--n-train", type=int, default=0)
    ind.add_argument("--n-test", type=int, default=0)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    t = time.perf_counter()
    data = load_mnist(a.data, a.n_train, a.n_test)
    data_s = time.perf_counter() - t
    if a.cmd == "train":
        torch.manual_seed(a.seed)
        model = build(a.model, a.hidden, a.depth)
        out = train(model, make_opt(model, a.opt, a.lr), data, a.batch, a.epochs, a.max_steps, a.seed, a.per_image_every)
        out["workload"] = f"{a.model} {a.opt} b{a.batch}"
    else:
        out = {"workload": "indicator", "models": {}}
        for m in "abcd":
            torch.manual_seed(1)
            model = build(m, k=1)
            t = time.perf_counter()
            r = train(model, make_opt(model, "adam", 0.002), data, 64, 0 if a.steps else 1, a.steps, 1, 2)
            r["wall_s"] = time.perf_counter() - t
            out["models"][m] = r
        out["wall_s"] = sum(r["wall_s"] for r in out["models"].values())
    out["data_s"] = data_s
    out["process_s"] = time.perf_counter() - T_START
    out["torch"] = torch.__version__
    out["threads"] = torch.get_num_threads()
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
