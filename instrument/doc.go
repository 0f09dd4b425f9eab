// Package instrument holds the measurements the training loop runs on a
// schedule (train.Hook), in the manner of Cockpit's instruments: each one
// declares its period, reads the float64 copy of the weights the loop shares
// per step (train.StepInfo.Model64) and returns the fields of one record of
// metrics.jsonl.
//
//   - PerImage is the paper's own protocol (THEORY §5): on two held-out test
//     images of one class, every 2 batches, g = ‖∇ℓ(x_a)‖², the extreme
//     eigenvalues of the K×K matrix J Jᵀ of x_a, the indicator F = g·κ and
//     the loss R on x_b, with their base-2 logarithms.
//   - NSample is the n-sample probe of THEORY §2–§3: structural.Analyze on a
//     fixed probe set (E_f, ‖∇R‖, spectra of H, H_S, H_p, E_s, bounds (A)(B)(C),
//     indicator); a violated bound stops training with an error.
//
// Attach them to a run:
//
//	pi, _ := instrument.NewPerImage(2, instrument.FirstTestClass, "")
//	ns, _ := instrument.NewNSample(instrument.NSampleConfig{Every: 100, N: 50})
//	res, err := train.Run(ctx, cfg, dir, []train.Hook{pi, ns}, train.RunOptions{})
//
// Records have kind "per_image" (the fields listed on PerImage, read back as
// PerImageRecord) and "nsample" (the typed structural.Report, schema
// structural.SchemaVersion, read back with structural.ReadReport).
package instrument
