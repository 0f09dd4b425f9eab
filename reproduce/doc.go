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
// environment and times; report.Write renders it. Build reads the records
// typed (RunData: ProbeRecord wraps structural.Report, PerImage holds
// instrument.PerImageRecord); a metrics.jsonl of another probe-record schema
// is an error naming the file, line and version.
//
//	_, err := reproduce.Execute(ctx, reproduce.Options{Mode: reproduce.Quick, Out: "results"})
//	doc, err := reproduce.Build("results")
//	err = report.Write("results", doc)
//
// Two regimes (THEORY §7), named in every figure and table: the fit regime
// (experiments fit-*: training set = probe set = the first n training
// images, full-batch gradient descent at a constant step, float64) decides
// the claims P1–P6; the paper regime (indicator, depth, width, init,
// losses, dynamics: the authors' mini-batch Adam protocol) decides IND and
// gives the second table of P1–P6.
//
// Modes: Full is the paper's protocol in the paper regime (full MNIST, Adam
// lr 0.002, batch 64, 1 epoch, k = 1…6, widths 8…2048, 5 seeds) and n = 100
// in the fit regime; Quick a reduced version of every experiment (2000
// training images in the paper regime, n = 50 in the fit regime, step caps,
// fewer depths and seeds) that decides every claim in a few minutes on 2
// cores, a smoke check where the report says so; Tiny a seconds-long
// version on the committed fixture, for tests.
//
// Run times on 2 cores, pure-Go build (`fenchel reproduce` prints the
// per-experiment times): Quick about 4½ minutes with compilation (144 runs,
// both regimes). Full mode: the fit regime and the indicator (123 runs, peak
// memory 8.6 GB) take about 3 250 CPU-seconds; the paper regime's P1–P6
// sweeps about 36 minutes in one invocation, most of it the depth sweep's
// Model d runs (938 steps each, 70–83 s at k = 1 up to 213–220 s at k = 6).
// Sharding (deploy/) divides either across nodes.
package reproduce
