// Package structural measures the structural matrix H = J Jᵀ of a classifier
// on a probe set and the quantities and bounds built from it (THEORY §2, §3).
//
// Model: for n probe samples and K logits, J ∈ R^{nK×P} stacks the per-sample
// Jacobians of the logits with respect to all P parameters, rows sample-major
// (row i·K+k is logit k of sample i, as in testdata/pytorch).
//
//   - Jacobian materialises J (small models, tests).
//   - StructuralMatrix computes H without J: one backward pass over the batch
//     replicated K times with seeds e_k, then Layer.AddGram (THEORY §6).
//   - Gradient computes ∇R = (1/n) Jᵀ r by one ordinary backward pass.
//   - ProjectSumZero (Π H Π, nK×nK), RestrictSumZero (Vᵀ H V on range(Π),
//     n(K−1)×n(K−1), exact spectrum of H_S without the n kernel zeros) and
//     ProbabilityWeighted (H_p = D^½ H D^½) build the matrices of THEORY §2.
//   - DenseSpectrum (all eigenvalues, linalg.SymEigenvalues), LanczosExtremes
//     and BlockLanczosExtremes (λ_min, λ_max with full reorthogonalisation)
//     summarise spectra; on a materialised H, Analyze certifies the extremes
//     (λ_max by Lanczos on H, λ_min by Lanczos on H⁻¹ through one Cholesky
//     factor shared by H, H_S and H_p), each with its residual and error
//     bound (Certificate).
//   - JacobianOperator applies J (forward mode, Layer.Tangent), Jᵀ (one
//     backward pass) and H = J Jᵀ matrix-free (THEORY §6, last sentence).
//   - Analyze puts it together: E_f, ‖r‖, ‖∇R‖, spectra of H, H_S, H_p, the
//     structural error E_s, bounds (A)(B)(C) checked at run time (a violation
//     returns *BoundViolation with the report), the n-sample indicator of
//     THEORY §5 and a diagnosis in words; UnitStats counts dead and
//     duplicate hidden units, the usual causes of a rank-deficient H.
//   - Report is the one typed probe record: its JSON encoding (record.go,
//     versioned by SchemaVersion, non-finite values as in package
//     internal/jsonfloat) is what probe --json prints and what the
//     "nsample" hook writes into metrics.jsonl; ReadReport reads either
//     back and rejects other schema versions by name.
//
// Everything is float64; a float32 training model is measured on a float64
// copy (nn.CopyParams). The engine leaves Param.Grad unchanged but overwrites
// the layers' cached forward/backward state.
//
// Example:
//
//	model, _ := nn.NewSequential[float64](nn.NewDense[float64](784, 100),
//		nn.NewReLU[float64](nn.Shape{100}), nn.NewDense[float64](100, 10))
//	// … load or initialise weights …
//	l, _ := loss.New("softmax")
//	rep, err := structural.Analyze(model, structural.Probe{X: x, Labels: y}, l, structural.Options{})
//	var bv *structural.BoundViolation
//	if errors.As(err, &bv) { /* a bug: report it */ }
//	fmt.Println(rep.FittingError, rep.GradNorm, rep.HS.Min, rep.StructuralError)
//	for _, line := range rep.Diagnosis { fmt.Println(line) }
//
// Costs (n samples, K classes, hidden widths d_l): H takes 8(nK)² bytes and
// O(Σ_l (nK)² d_l) flops; the certified extremes add a Cholesky factor
// ((nK)³/3 flops; 8(nK)² bytes below nK = 4096, in H's own storage from
// there) and O(steps·(nK)²) for the Lanczos passes;
// dense eigenvalues cost O(dim³). Before allocating, Analyze estimates the
// peak memory: when the materialised path exceeds Options.MaxMemory, "auto"
// never forms H and runs Lanczos on matrix-free products (three passes
// through the model per product), and a method that does not fit returns
// a *MemoryError naming the bytes needed.
package structural
