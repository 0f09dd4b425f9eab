//go:build !amd64 || purego

package linalg

// pickKernels returns the portable Go micro-kernels.
func pickKernels() (microKernel[float32], microKernel[float64], string) {
	return goKernel32, goKernel64, "Go 4×4"
}
