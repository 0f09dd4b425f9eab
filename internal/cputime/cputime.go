// Package cputime reads the CPU time spent so far, for benchmarks: on a
// shared machine CPU time varies far less with the load than wall time does.
// Where a figure is not available it reads 0.
package cputime
