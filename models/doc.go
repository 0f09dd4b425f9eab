// Package models builds the classifiers of THEORY.md §5 from a Spec: the
// plain MLP, the paper's Models a, b, c and d, and a residual MLP. Build
// returns an nn.Sequential with zero parameters; apply package initializer
// before use:
//
//	net, err := models.Build[float32](models.Spec{Name: "d", Depth: 1, Skip: true})
//	...
//	err = initializer.Apply(net.Params(), initializer.Options{}, rng)
//
// Inputs are rows of Input.Size() values (default [1 28 28], channel-major as
// in PyTorch); outputs are Classes logits (default 10). Conv models accept any
// [C H W] input, which tests and synthetic data use for small images.
//
// # Architecture files
//
// ReadArch reads any feed-forward network of fenchel's layer kinds from a
// small JSON file ("fenchel-arch/1"): the per-sample input shape and the
// tree of layers under PyTorch's class and attribute names (Linear, Conv2d
// with stride, padding and bias, ReLU, Tanh, MaxPool2d, AvgPool2d,
// AdaptiveAvgPool2d(1), Flatten, nested Sequential, and Residual with a body
// and an optional shortcut). BuildArch builds it with the parameter names of
// that PyTorch module tree, so its state_dict loads key for key.
// tools/export_arch.py writes the file from an nn.Sequential. Every layer is
// checked against the shape that flows into it, and errors name the layer by
// its path ("layers[2].body.layers[0] (Conv2d): in_channels 3, but …").
//
// # Parameter names
//
// Names follow PyTorch's module paths, so a state_dict of the equivalent
// PyTorch module maps key for key (package weights relies on this): an
// nn.Sequential prefixes its children's parameters with their index
// ("4.weight"), an nn.Residual with "body." and "shortcut.". Layers without
// parameters (ReLU, pools, Flatten) still take an index, as in PyTorch. Weights
// have PyTorch's layout: Dense out×in, Conv2D out×in×3×3.
//
// # Architectures and their names
//
// "mlp", Hidden = [h1, …, hm]: Dense(784, h1), ReLU, …, Dense(hm, K), one
// Sequential without a leading Flatten (the input rows are already flat), so
// names are exactly those of PyTorch's nn.Sequential(Linear, ReLU, …, Linear):
//
//	0.weight [h1 784]  0.bias [h1]  2.weight [h2 h1]  2.bias  …  2m.weight [K hm]  2m.bias
//
// Hidden = [] is the linear model (0.weight, 0.bias).
//
// "a" (Model a), Depth k, Width w (default 64): the "mlp" with k hidden layers
// of width w, same names; LogitReLU appends a ReLU on the logits (an index
// without parameters, so names do not change).
//
// "b" (Model b), Depth k: k × [Conv2D(·→8, 3×3, pad 1, bias), ReLU,
// MaxPool(3×3, stride 1, pad 1)], Flatten, Dense(8·H·W, K). Conv i (0-based)
// sits at index 3i, the dense layer at 3k+1:
//
//	0.weight [8 C 3 3]  0.bias [8]  3.weight [8 8 3 3]  3.bias  …  (3k+1).weight [K 8·H·W]  (3k+1).bias
//
// "c" (Model c), Depth k ≥ 0, Skip: Conv2D(C→8, 3×3, pad 1), ReLU,
// MaxPool(2×2, stride 2), Flatten, Dense(8·⌊H/2⌋·⌊W/2⌋, 10), ReLU, k blocks
// h ↦ relu(W h + b) + h (skip on) or relu(W h + b) (skip off), Dense(10, K).
// Each block is a Residual whose body is Sequential(Dense(10,10), ReLU) with
// an identity shortcut, so skip on and off have the same parameters:
//
//	0.weight [8 C 3 3]  0.bias  4.weight [10 8·⌊H/2⌋·⌊W/2⌋]  4.bias
//	(6+j).body.0.weight [10 10]  (6+j).body.0.bias   for block j = 0…k−1
//	(6+k).weight [K 10]  (6+k).bias
//
// "d" (Model d), Depth k ≥ 1, Skip: a ResNet without batch norm. Stem
// Conv2D(C→16, 3×3, pad 1, bias), ReLU, MaxPool(3×3, stride 1, pad 1); then
// the basic blocks of three stages (16, 32, 64 channels; strides 1, 2, 2;
// k, 1, 1 blocks), each block a Residual followed by a ReLU; then a global
// average pool and Dense(64, K). A block's body is Sequential(Conv2D 3×3
// stride s pad 1 without bias, ReLU, Conv2D 3×3 pad 1 without bias); its
// shortcut is the identity when the shape is kept (all of stage 1) and
// Conv2D(3×3, stride s, pad 1, with bias) when it changes (first block of
// stages 2 and 3). Skip off computes body(x) only, and the shortcut convs
// are then not parameters of the model. Block j (0-based over all stages)
// sits at index 3+2j:
//
//	0.weight [16 C 3 3]  0.bias [16]
//	(3+2j).body.0.weight  (3+2j).body.2.weight            every block j
//	(3+2j).shortcut.weight  (3+2j).shortcut.bias          j = k, k+1 with skip on
//	(2k+8).weight [K 64]  (2k+8).bias
//
// For k = 1 with skips that is 97,674 parameters (the arithmetic is in
// models_test.go); on 28×28 inputs the feature maps are 28, 14 and 7 wide, so
// the final pool is the paper's 7×7 average.
//
// "resmlp", Depth L ≥ 0, Width w (default 64), Skip: Dense(784, w), ReLU, L
// blocks h ↦ relu(W h + b) + h (skip on) or relu(W h + b), Dense(w, K); names
// as in Model c:
//
//	0.weight [w 784]  0.bias  (2+j).body.0.weight [w w]  (2+j).body.0.bias  (2+L).weight [K w]  (2+L).bias
package models
