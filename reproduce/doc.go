// Package reproduce runs the experiments of THEORY §4–§5 and decides the
// claims of docs/CLAIMS.md.
//
// Every experiment (indicator, depth, width, init, losses, dynamics) is a
// deterministic list of independent runs (Plan): a train.Config, the
// instruments to attach (instrument.PerImage, instrument.NSample) and a
// stable id such as "width/mlp1-w64-s2", which names the run directory
// <out>/<id>/ (train's layout plus reproduce.json, the RunSpec). Execute runs
// the not yet finished runs of one shard (Shard: index ≡ i mod N) in order;
// a run is finished when its summary.json exists, and an interrupted run
// resumes from its checkpoint. Build reads the finished run directories —
// from one process or merged shards alike — and returns a report.Document:
// the claims (PASS, FAIL, or NOT RUN when runs are missing), figures, tables,
// environment and times; report.Write renders it.
//
//	_, err := reproduce.Execute(ctx, reproduce.Options{Mode: reproduce.Quick, Out: "results"})
//	doc, err := reproduce.Build("results")
//	err = report.Write("results", doc)
//
// Modes: Full is the paper's protocol (full MNIST, Adam lr 0.002, batch 64,
// 1 epoch, k = 1…6, widths 8…2048, 5 seeds); Quick a reduced version of every
// experiment (2000 training images, step caps, fewer depths and seeds) that
// decides every claim in a few minutes on 2 cores; Tiny a seconds-long
// version on the committed fixture, for tests.
//
// Run times on 2 cores, pure-Go build (measured 2026-11-27, commit 2dee5f5
// and later; `fenchel reproduce` prints the per-experiment times): Quick 3 min
// 1 s on an idle machine (77 runs). Full mode by experiment: indicator 3 min
// 52 s; width 11 min 49 s, init 37 s, losses 13 s, dynamics 8 s (these four
// niced and sharing the machine with a depth run); depth, the Model d sweep
// (12 runs of 938 steps: 199–208 s at k = 1, 271–279 s at k = 2, 295–323 s
// at k = 3, 359–408 s at k = 4, 452–489 s at k = 5, 595 s at k = 6 with
// skips), about 75 minutes with Model c and the residual MLP. Sharding (deploy/) divides it across nodes.
package reproduce
