package main

import (
	"context"
	"os"
	"syscall"
)

// Interrupt is the cancellation cause of a command stopped by a signal. It
// matches context.Canceled under errors.Is, so library code that checks for
// cancellation needs no knowledge of signals.
type Interrupt struct{ Signal os.Signal }

func (e *Interrupt) Error() string { return "interrupted by " + signalName(e.Signal) }

// Is makes errors.Is(err, context.Canceled) hold for an *Interrupt.
func (e *Interrupt) Is(target error) bool { return target == context.Canceled }

// signalName is the conventional upper-case name of the signals fenchel
// handles.
func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// exitCode is the shell convention for a process stopped by signal s:
// 128 + its number (SIGINT 130, SIGTERM 143).
func exitCode(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 1
}
