"""Regenerate this folder: python3 testdata/torch-arch/gen.py (from the repository root).

A network that is none of fenchel's Models a-d, built in PyTorch, exported with
tools/export_arch.py, and its logits, Jacobian, H = J J^T and spectrum computed
by PyTorch in float64. See README.md.
"""
import gzip
import json
import os
import struct
import sys

import torch
import torch.nn as nn

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "tools"))
from export_arch import export_arch  # noqa: E402


class Block(nn.Module):
    """A residual block: body(x) + shortcut(x), identity without a shortcut."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body, self.shortcut = body, shortcut

    def forward(self, x):
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


def save_safetensors(sd, path):
    """safetensors.torch.save_file(sd, path) for float64 tensors, without the package."""
    header, blobs, off = {}, [], 0
    for k, v in sd.items():
        b = v.detach().contiguous().numpy().astype("<f8").tobytes()
        header[k] = {"dtype": "F64", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def write_idx(path, magic, dims, payload):
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + bytes(payload))


torch.manual_seed(0)
torch.set_num_threads(2)
model = nn.Sequential(
    nn.Conv2d(1, 4, 3, stride=2, padding=1, bias=False), nn.Tanh(),
    Block(nn.Sequential(nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1)), nn.Conv2d(4, 6, 1)),
    nn.ReLU(),
    nn.AvgPool2d(2, stride=1),
    nn.MaxPool2d(2),
    Block(nn.Sequential(nn.Conv2d(6, 6, 3, padding=1), nn.Tanh())),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    nn.Linear(6, 8), nn.Tanh(),
    Block(nn.Sequential(nn.Linear(8, 8), nn.ReLU())),
    nn.Linear(8, 3),
).double()

n, K, side = 4, 3, 10
pixels = torch.randint(0, 256, (n, side * side), dtype=torch.uint8)
labels = [0, 1, 2, 0]
x = (pixels.double() / 255).reshape(n, 1, side, side)
y = torch.tensor(labels)

export_arch(model, (1, side, side), os.path.join(here, "net.json"))
save_safetensors(model.state_dict(), os.path.join(here, "net.safetensors"))
idx = os.path.join(here, "idx")
os.makedirs(idx, exist_ok=True)
for split in ("train", "t10k"):
    write_idx(os.path.join(idx, f"{split}-images-idx3-ubyte.gz"), 0x803, [n, side, side], pixels.flatten().tolist())
    write_idx(os.path.join(idx, f"{split}-labels-idx1-ubyte.gz"), 0x801, [n], labels)

params = [p for p in model.parameters()]
z = model(x)
rows = []
for i in range(n):
    for k in range(K):
        g = torch.autograd.grad(z[i, k], params, retain_graph=True)
        rows.append(torch.cat([t.flatten() for t in g]))
J = torch.stack(rows)
H = J @ J.T
loss = nn.functional.cross_entropy(z, y)
grad = torch.autograd.grad(loss, params)
grad_norm = torch.cat([t.flatten() for t in grad]).norm()
eig = torch.linalg.eigvalsh(H)

ref = {
    "torch": torch.__version__, "n": n, "K": K, "P": J.shape[1],
    "keys": list(model.state_dict().keys()),
    "logits": z.detach().flatten().tolist(),
    "loss": loss.item(), "grad_norm": grad_norm.item(),
    "J_fro": J.norm().item(), "J_row0": J[0, :20].tolist(), "J_last_col": J[:, -1].tolist(),
    "H": H.flatten().tolist(), "eig_H": eig.tolist(),
}
with open(os.path.join(here, "ref.json"), "w") as f:
    json.dump(ref, f, indent=1)
    f.write("\n")
print("P =", J.shape[1], "loss", loss.item(), "grad_norm", grad_norm.item(), "eig", eig[0].item(), eig[-1].item())
