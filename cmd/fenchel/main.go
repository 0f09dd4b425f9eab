// Command fenchel trains neural classifiers with Fenchel-Young losses and
// measures the structural matrix H = J Jᵀ along training (THEORY.md).
//
//	fenchel train --model mlp --widths 100 --loss softmax --opt sgd --lr 0.1 --batch 128 --epochs 1
//	fenchel version
//
// The command is thin: each subcommand parses flags and calls library code
// (train, instrument, reproduce, report) that a Go program can call too.
//
// SIGINT (Ctrl-C) and SIGTERM cancel the command's context: every command
// stops within about a second, says what was interrupted and what is on
// disk, and exits with 128 + the signal number (130, 143). A second signal
// exits at once.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		first := <-sigs
		cancel(&Interrupt{Signal: first})
		second := <-sigs
		fmt.Fprintf(os.Stderr, "fenchel: %s again: exiting without waiting for the command to stop\n", signalName(second))
		os.Exit(exitCode(second))
	}()
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	signal.Stop(sigs)
	os.Exit(code)
}
