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
		Short: "Rebuild the claims, figures and report of a results directory from its finished runs",
		Long: `report reads every finished run under DIR (for instance the merged outputs of
'fenchel reproduce --shard i/N'), computes the claims of docs/CLAIMS.md (NOT RUN
for claims without runs), and writes DIR/report.md, DIR/report.html,
DIR/document.json and DIR/figures/.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return fmt.Errorf("report: %s is not a directory", dir)
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
