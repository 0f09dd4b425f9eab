// Command fenchel trains neural classifiers with Fenchel-Young losses and
// measures the structural matrix H = J Jᵀ along training (THEORY.md).
//
//	fenchel train --model mlp --widths 100 --loss softmax --opt sgd --lr 0.1 --batch 128 --epochs 1
//	fenchel version
//
// The command is thin: each subcommand parses flags and calls library code
// (train, instrument, reproduce, report) that a Go program can call too.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Ctrl-C cancels the context: a training run saves a checkpoint and
	// stops cleanly, to be continued with --resume.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
