package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fenchel-ml/fenchel/internal/version"
	"github.com/fenchel-ml/fenchel/linalg"
)

// subcommands holds the constructors registered by the command files. Adding
// a subcommand is one file whose init calls register.
var subcommands []func() *cobra.Command

// register adds a subcommand; call it from the init function of the file
// that defines the command.
func register(newCmd func() *cobra.Command) { subcommands = append(subcommands, newCmd) }

// newRootCmd builds a fresh command tree (fresh flag values), so tests can
// execute it many times in one process.
func newRootCmd() *cobra.Command {
	root, _ := newRootCmdProfiled()
	return root
}

// newRootCmdProfiled is newRootCmd plus the function that stops the CPU
// profile --cpuprofile started (a no-op when none was asked for).
func newRootCmdProfiled() (*cobra.Command, func() error) {
	var profPath string
	var profFile *os.File
	stopProfile := func() error {
		if profFile == nil {
			return nil
		}
		pprof.StopCPUProfile()
		err := profFile.Close()
		profFile = nil
		if err != nil {
			return fmt.Errorf("--cpuprofile %s: %w", profPath, err)
		}
		return nil
	}
	root := &cobra.Command{
		Use:   "fenchel",
		Short: "Train classifiers with Fenchel-Young losses and measure the structural matrix H = J Jᵀ",
		Long: `fenchel trains neural classifiers with Fenchel-Young losses and measures, along
training, the gradient norm and the structural matrix H = J Jᵀ that bound the
fitting error (Qi, Gong, Li, arXiv 2503.23016).`,
		// Errors are printed once by execute as "fenchel: <message>"; usage
		// is shown only for command-line mistakes (see SetFlagErrorFunc).
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := linalg.CheckEnv(); err != nil {
				return err
			}
			if profPath != "" {
				f, err := os.Create(profPath)
				if err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					f.Close()
					return fmt.Errorf("--cpuprofile %s: %w", profPath, err)
				}
				profFile = f
			}
			if linalg.BackendNote != "" && cmd.Name() != "version" {
				fmt.Fprintf(cmd.ErrOrStderr(), "fenchel: note: %s\n", linalg.BackendNote)
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
	})
	// Hidden: a pprof CPU profile of the whole command, for speed work.
	root.PersistentFlags().StringVar(&profPath, "cpuprofile", "", "write a CPU profile of the command to this file")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	for _, newCmd := range subcommands {
		root.AddCommand(newCmd())
	}
	return root, stopProfile
}

// execute runs the command line args and returns the process exit code.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root, stopProfile := newRootCmdProfiled()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err == nil {
		return 0
	}
	var intr *Interrupt
	if errors.As(context.Cause(ctx), &intr) {
		// Lead with the signal; the command's error says what stopped and
		// what is on disk (its trailing cause would repeat the signal).
		msg := strings.TrimSuffix(strings.TrimSuffix(err.Error(), ": "+intr.Error()), ": "+context.Canceled.Error())
		fmt.Fprintf(stderr, "fenchel: %s: %s\n", intr, msg)
		return exitCode(intr.Signal)
	}
	fmt.Fprintf(stderr, "fenchel: %v\n", err)
	return 1
}

func init() { register(newVersionCmd) }

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the fenchel version, Go version and BLAS backend",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "fenchel %s (%s, %s/%s, BLAS: %s)\n",
				version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH, linalg.Backend)
			if err == nil && linalg.BackendNote != "" {
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "note: %s\n", linalg.BackendNote)
			}
			return err
		},
	}
}
