// Package weights imports and exports model parameters as safetensors files,
// the format PyTorch users save state_dicts in
// (safetensors.torch.save_file(model.state_dict(), path)), so that a network
// trained or initialised in PyTorch can be measured by package structural and
// a fenchel model can be checked in PyTorch.
//
//	net, _ := models.Build[float64](models.Spec{Name: "mlp", Hidden: []int{100, 100}})
//	if err := weights.LoadSafetensors("mlp.safetensors", net); err != nil { ... }
//
// The reader is written here (about a hundred lines) rather than taken from a
// library, so that every bad input yields an error naming the key and the
// numbers involved: missing and extra keys (all of them, in one
// *MismatchError), wrong shapes (file shape vs model shape), unsupported
// dtypes, offsets outside the data buffer (a truncated file), overlapping or
// non-contiguous data, and malformed header JSON. Supported dtypes: F64, F32,
// F16 and BF16, converted to the model's element type. The whole file is read
// into memory, which suits the model sizes of THEORY.md §5.
//
// # Inferring the architecture
//
// Infer reads the model off a file's keys and shapes where they decide it:
// an nn.Sequential of Linear layers (fenchel's "mlp", also Model a when the
// hidden widths are equal; the activations are not stored, ReLU is assumed)
// and Models b, c, d and "resmlp" by the key patterns below. Its result is
// verified by building the model and comparing every key and shape; it says
// what it assumed and which Spec fields the file leaves open (the skips of
// Model c and resmlp have no parameters, nor has Model a's logit ReLU).
// Other networks are described by an architecture file (models.ReadArch).
//
// # Key names
//
// Keys are matched to nn.Param.Name, which package models chooses to equal
// the state_dict keys of the equivalent PyTorch module (models/doc.go has the
// full list per architecture). In short, for the PyTorch module that writes
// the file:
//
//   - "mlp" and Model a: nn.Sequential(Linear, ReLU, …, Linear), keys
//     "0.weight", "0.bias", "2.weight", "2.bias", …, "2m.weight", "2m.bias"
//     for m hidden layers. Model a's optional ReLU on the logits adds an index
//     but no key.
//   - Model b: nn.Sequential(Conv2d, ReLU, MaxPool2d, … (k times), Flatten,
//     Linear): "0.weight" [8 C 3 3], "0.bias", "3.weight", …, and the dense
//     layer at index 3k+1.
//   - Model c: nn.Sequential(Conv2d, ReLU, MaxPool2d, Flatten, Linear, ReLU,
//     k blocks, Linear): "0.*", "4.*", then "(6+j).body.0.weight/bias" for
//     block j, whose PyTorch module must hold its Linear in a submodule named
//     "body" that is an nn.Sequential(Linear, ReLU); then "(6+k).*".
//   - Model d: stem "0.weight", "0.bias"; block j (0-based over all stages) at
//     index 3+2j with "(3+2j).body.0.weight" and "(3+2j).body.2.weight" (the
//     two convs, no bias) and, where the shape changes and skips are on,
//     "(3+2j).shortcut.weight" and "(3+2j).shortcut.bias"; the final Linear at
//     index 2k+8.
//   - "resmlp": "0.*", "(2+j).body.0.*" for block j, "(2+L).*".
//
// A PyTorch module organised differently (named attributes such as "fc1"
// instead of an nn.Sequential) must have its state_dict keys renamed before
// saving, e.g. {new: sd[old] for old, new in mapping.items()}. Weights use
// PyTorch's layout (Linear out×in, Conv2d out×in×kh×kw), so no transposition
// is needed. Buffers (BatchNorm running statistics) have no counterpart in
// these models and are reported as extra keys.
package weights
