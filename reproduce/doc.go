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
// Run times on 2 cores, pure-Go build: Quick took 6 minutes (measured, on a
// machine shared with other jobs;
// `fenchel reproduce --quick` prints the per-experiment times). Full mode was
// not run; an ESTIMATE from the per-step costs measured in quick mode
// (Model d: 0.27 s/step at k = 1 to ≈ 0.65 s at k = 3, growing with k; dense
// models ≤ 0.03 s/step; evaluation of the 10000 test images on Model d
// several minutes) is 3½–4 hours, about 85% of it the Model d depth sweep
// (12 runs of 938 steps); width about 20 minutes, indicator about 10,
// everything else a few. Sharding (deploy/) divides it across nodes.
package reproduce
