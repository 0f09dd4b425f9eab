package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenchel-ml/fenchel/report"
	"github.com/fenchel-ml/fenchel/reproduce"
)

func init() { register(newReproduceCmd) }

func newReproduceCmd() *cobra.Command {
	var (
		out         string
		quick, tiny bool
		shard       string
		quiet       bool
	)
	cmd := &cobra.Command{
		Use:   "reproduce [experiment...]",
		Short: "Run the experiments of THEORY §4–§5 and write the claims report",
		Long: `reproduce runs the experiments (` + strings.Join(reproduce.Experiments(), ", ") + `;
all when none is named) as a deterministic list of independent runs, one run
directory each under --out/<experiment>/<run-id>. Finished runs (summary.json
present) are skipped, an interrupted run resumes from its checkpoint. Without
--shard, the claims of docs/CLAIMS.md are then computed from the run
directories and report.md, report.html and the figures are written to --out.
With --shard i/N only the runs whose index is ≡ i (mod N) run; build the
report afterwards with 'fenchel report DIR'.

The fit-* experiments run in the fit regime (training set = probe set,
full-batch gradient descent, float64) and decide P1–P6; the others run in the
paper regime (mini-batch Adam) and decide IND, with P1–P6 as a second table
(THEORY §7).

--quick is 144 runs (both regimes): about 220 CPU-seconds, 2½ minutes on 2
cores, compilation included (measured from a clean clone, pure Go). Full mode's fit
regime and indicator take about 27 CPU-minutes; its paper regime about 36
minutes, most of it the Model d depth sweep (see the reproduce package doc).`,
		Example: `  fenchel reproduce --quick --out /tmp/quick
  fenchel reproduce width init
  fenchel reproduce --shard 3/8 --out /shared/results && fenchel report /shared/results`,
		RunE: func(cmd *cobra.Command, args []string) error {
			mode := reproduce.Full
			switch {
			case quick && tiny:
				return fmt.Errorf("--quick and --tiny exclude each other")
			case quick:
				mode = reproduce.Quick
			case tiny:
				mode = reproduce.Tiny
			}
			opts := reproduce.Options{Mode: mode, Experiments: args, Out: out}
			if shard != "" {
				i, n, err := reproduce.ParseShard(shard)
				if err != nil {
					return fmt.Errorf("--shard: %w", err)
				}
				opts.Shard, opts.Shards = i, n
			}
			if !quiet {
				opts.Log, opts.Progress = cmd.ErrOrStderr(), cmd.ErrOrStderr()
			}
			start := time.Now()
			res, err := reproduce.Execute(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d runs: %d done now, %d already finished, %.1fs\n", res.Runs, res.Done, res.Skipped, res.Total)
			for _, e := range reproduce.Experiments() {
				if s, ok := res.Seconds[e]; ok {
					fmt.Fprintf(cmd.OutOrStdout(), "  %-10s %7.1fs\n", e, s)
				}
			}
			if shard != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "shard %s done; build the report with: fenchel report %s\n", shard, out)
				return nil
			}
			doc, err := buildReport(out)
			if err != nil {
				return err
			}
			doc.Command = "fenchel reproduce " + strings.Join(cmd.Flags().Args(), " ")
			if quick {
				doc.Command = "fenchel reproduce --quick " + strings.Join(args, " ")
			}
			doc.Notes = append(doc.Notes, fmt.Sprintf("This invocation took %.1fs wall-clock (%d runs executed).", time.Since(start).Seconds(), res.Done))
			return writeReport(cmd, out, doc)
		},
	}
	cmd.Flags().StringVar(&out, "out", "results", "results directory")
	cmd.Flags().BoolVar(&quick, "quick", false, "reduced version of every experiment (about 2½ minutes on 2 cores)")
	cmd.Flags().BoolVar(&tiny, "tiny", false, "seconds-long version on the MNIST fixture (tests)")
	_ = cmd.Flags().MarkHidden("tiny")
	cmd.Flags().StringVar(&shard, "shard", "", "run only shard i/N of the run list (0 ≤ i < N)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no per-run lines or progress bar")
	return cmd
}

func buildReport(dir string) (report.Document, error) {
	return reproduce.Build(dir)
}

func writeReport(cmd *cobra.Command, dir string, doc report.Document) error {
	if err := report.Write(dir, doc); err != nil {
		return err
	}
	for _, n := range doc.Notes {
		if strings.HasPrefix(n, "damaged run ") {
			fmt.Fprintf(cmd.ErrOrStderr(), "fenchel: warning: %s\n", n)
		}
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "\n%-4s %-8s %s\n", "id", "status", "measured")
	for _, c := range doc.Claims {
		fmt.Fprintf(w, "%-4s %-8s %s\n", c.ID, c.Status, c.Measured)
	}
	fmt.Fprintf(w, "\nreport: %s/report.md, %s/report.html\n", dir, dir)
	return nil
}
