// Package nn holds fenchel's layers and the two containers (Sequential,
// Residual) that compose them into models.
//
// The model of the package: a batch is a row-major matrix (Mat) with one row
// per sample; each layer knows the per-sample shape of its input and output
// (for example [C H W] for images, [D] for vectors) and so how to read a row.
// Every Layer implements the same small interface:
//
//   - Forward and Backward: reverse mode, accumulating parameter gradients;
//   - Tangent: forward mode (a Jacobian-vector product at the last Forward);
//   - PerSampleGrad and AddGram: the pieces the structural engine needs to
//     build H = J Jᵀ (THEORY.md §2, §6) without materialising J where a layer
//     knows a cheaper way (Dense does, via the structured per-layer Gram).
//
// Optional interfaces (engine.go) say more about a layer, so that the
// structural engine never switches on concrete types: Chain (a container
// applying its layers in order: Sequential), Branches (a block whose branches
// share its input: Residual), UnitLayer (a layer of hidden units with their
// own incoming weights: Dense, Conv2D) and GramTermer (a layer whose Gram is
// (Δ Δᵀ) ∘ (X Xᵀ + 1): Dense). AddGramTerms is the one implementation of that
// layerwise Gram formula (THEORY §6), used by Dense.AddGram and by the
// engine's MLP path alike.
//
// One conformance test (conformance_test.go) checks every layer kind against
// central finite differences and brute-force Jacobians; adding a layer means one
// file plus one entry in that test's table.
//
// Layers are generic over the element type (float32 for training by default,
// float64 for the structural engine and for --dtype float64). All matrix
// products go through package linalg.
package nn
