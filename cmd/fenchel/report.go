package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func init() { register(newReportCmd) }

func newReportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "report DIR",
		Short: "Rebuild the claims, figures and report of a results directory, or draw one training run",
		Long: `report reads every finished run under DIR (for instance the merged outputs of
'fenchel reproduce --shard i/N'), computes the claims of docs/CLAIMS.md (NOT RUN
for claims without runs), and writes DIR/report.md, DIR/report.html,
DIR/document.json and DIR/figures/.

When DIR is one training run (it holds metrics.jsonl, as 'fenchel train --out DIR'
writes it), report draws that run instead: E_f between its bounds, ‖∇R‖, the
spectrum of H_S, the per-image indicator (or the training loss) and the
diagnosis at the last probe and wherever it changed along training: why the
run reached, or did not reach, a global optimum. Train with --probe-every N
(and --per-image-every M) to record them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return fmt.Errorf("report: %s is not a directory", dir)
			}
			if isRunDir(dir) {
				t, err := runTrace(dir)
				if err != nil {
					return err
				}
				return writeRunReport(dir, t, cmd.OutOrStdout())
			}
			doc, err := buildReport(dir)
			if err != nil {
				return err
			}
			doc.Command = "fenchel report " + dir
			return writeReport(cmd, dir, doc)
		},
	}
}
