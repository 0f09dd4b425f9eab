package linalg

import "fmt"

// checkSymEigen validates the arguments of SymEigen.
func checkSymEigen(n int, a, w []float64) error {
	if n < 0 {
		return fmt.Errorf("linalg: SymEigen: negative order n = %d", n)
	}
	if len(a) < n*n {
		return fmt.Errorf("linalg: SymEigen: len(a) = %d < n·n = %d", len(a), n*n)
	}
	if len(w) < n {
		return fmt.Errorf("linalg: SymEigen: len(w) = %d < n = %d", len(w), n)
	}
	return nil
}
