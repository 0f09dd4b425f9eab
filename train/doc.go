// Package train is fenchel's training loop: it builds the model a Config
// describes, initialises it from the run seed, and runs mini-batch gradient
// descent on a Fenchel-Young loss (THEORY §1), recording everything in a run
// directory so that a run can be reproduced, resumed and analysed.
//
// # The loop
//
// Run loads the data (or takes preloaded splits), builds the model in
// float32 or float64 (the loop is one generic function), applies the
// initialiser with a PCG generator seeded from Config.Seed, then for every
// epoch draws a permutation from the same generator and walks it in
// mini-batches (the last one may be partial). Each step is forward,
// loss.BatchGrad (dz = (p − q)/rows, THEORY §1), zero grad, backward and an
// optimiser step at the step-decay learning rate of the current epoch.
//
// # Hooks
//
// Instruments attach as Hooks (GoMLX's OnStep, Cockpit's instruments): each
// is called at step 0, every Every() steps and after the last step, with a
// StepInfo that offers a float64 copy of the weights (built once per step and
// shared by all hooks), and returns its record for metrics.jsonl: a map of
// fields, or a typed value such as structural.Report (see Hook.OnStep).
//
// # The run directory
//
//	config.json     the resolved Config
//	metrics.jsonl   one JSON object per line: "train" records every LogEvery
//	                steps, "eval" records (test loss and accuracy) at each epoch
//	                end and after the last step, and one record per hook call
//	metrics.csv     the train and eval records as a table
//	checkpoint.bin  weights, optimiser and RNG state, position in the epoch,
//	                length of metrics.jsonl (gob, behind a SHA-256 checksum
//	                verified on every read; see checkpoint)
//	summary.json    version, seed, config, times, final losses and accuracy,
//	                parameter count, BLAS backend, Go version, dtype
//	timings.json    seconds per phase and throughput ("train" is the optimiser
//	                steps alone, see TrainCovers)
//
// metrics.jsonl and metrics.csv hold no wall-clock quantities: the same
// Config gives byte-identical files. Every file but metrics.jsonl is written
// atomically (internal/atomicfile). A checkpoint is taken every
// CheckpointEvery steps, at the first epoch end, at a later epoch end when
// the last one is at least RunOptions.EpochCheckpointEvery old (default
// 10 s), after the last step and when the context is cancelled between steps; resuming truncates metrics.jsonl to what the
// checkpoint saw and continues exactly as an uninterrupted run would. One
// process at a time may write a run directory (internal/runlock).
//
// A NaN or infinite loss, gradient or weight stops the run with an error
// wrapping ErrNonFinite that names the step and the last finite batch loss;
// the checkpoint of the last good state is kept.
package train
