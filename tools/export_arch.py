"""Write the fenchel architecture file (fenchel-arch/1 JSON) of a PyTorch nn.Sequential.

    from safetensors.torch import save_file
    from export_arch import export_arch
    save_file(model.state_dict(), "net.safetensors")
    export_arch(model, (1, 28, 28), "net.json")   # per-sample input shape
    # fenchel probe --arch net.json --safetensors net.safetensors --data DIR --n 100

Layers: Linear (with bias), Conv2d (square kernel, stride, padding; bias or not),
ReLU, Tanh, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), Flatten, nested
nn.Sequential, and residual blocks: any module with a `body` and optionally a
`shortcut` (absent, None or nn.Identity: identity) whose forward is
body(x) + shortcut(x); a boolean attribute `skip` (default true) turns the sum off.
Anything else raises ValueError naming the module.
"""
import json

import torch.nn as nn


def _square(v, what):
    a, b = (tuple(v) if isinstance(v, (tuple, list)) else (v, v))
    if a != b:
        raise ValueError(f"{what}: {v} is not square")
    return int(a)


def layer(m, path):
    t = type(m).__name__
    if isinstance(m, nn.Linear):
        return {"type": "Linear", "in_features": m.in_features, "out_features": m.out_features, "bias": m.bias is not None}
    if isinstance(m, nn.Conv2d):
        if isinstance(m.padding, str) or _square(m.dilation, path) != 1 or m.groups != 1 or m.padding_mode != "zeros":
            raise ValueError(f"{path} ({t}): only dilation 1, groups 1 and numeric zero padding are supported")
        return {"type": "Conv2d", "in_channels": m.in_channels, "out_channels": m.out_channels,
                "kernel_size": _square(m.kernel_size, path), "stride": _square(m.stride, path),
                "padding": _square(m.padding, path), "bias": m.bias is not None}
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        if m.ceil_mode or getattr(m, "dilation", 1) not in (1, (1, 1)) or not getattr(m, "count_include_pad", True) \
                or getattr(m, "divisor_override", None) or getattr(m, "return_indices", False):
            raise ValueError(f"{path} ({t}): only ceil_mode=False, dilation 1 and count_include_pad=True are supported")
        return {"type": t, "kernel_size": _square(m.kernel_size, path),
                "stride": _square(m.stride or m.kernel_size, path), "padding": _square(m.padding, path)}
    if isinstance(m, nn.AdaptiveAvgPool2d):
        return {"type": t, "output_size": _square(m.output_size, path)}
    if isinstance(m, (nn.ReLU, nn.Tanh)):
        return {"type": t}
    if isinstance(m, nn.Flatten):
        if m.start_dim != 1 or m.end_dim != -1:
            raise ValueError(f"{path} (Flatten): only start_dim=1, end_dim=-1 is supported")
        return {"type": t}
    if isinstance(m, nn.Sequential):
        return {"type": "Sequential", "layers": [layer(c, f"{path}.{i}") for i, c in enumerate(m)]}
    if hasattr(m, "body"):
        d = {"type": "Residual", "body": layer(m.body, path + ".body")}
        sc = getattr(m, "shortcut", None)
        if sc is not None and not isinstance(sc, nn.Identity):
            d["shortcut"] = layer(sc, path + ".shortcut")
        d["skip"] = bool(getattr(m, "skip", True))
        return d
    raise ValueError(f"{path} ({t}): not a layer kind fenchel has")


def export_arch(model, input_shape, path):
    """Write model's architecture for per-sample inputs of input_shape ([D] or [C, H, W]) to path."""
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"{type(model).__name__}: the model must be an nn.Sequential (its state_dict keys start with the index)")
    arch = {"format": "fenchel-arch/1", "input": [int(v) for v in input_shape],
            "layers": [layer(c, f"layers[{i}]") for i, c in enumerate(model)]}
    with open(path, "w") as f:
        json.dump(arch, f, indent=1)
        f.write("\n")
