//go:build purego || !amd64

package optim

// bestKernel is the Go loop: there are no assembly kernels for this build.
func bestKernel() kernel { return kernelGo }

// kernels lists the kernels this build can run, for tests.
func kernels() []kernel { return []kernel{kernelGo} }

// applyVector is never called without assembly kernels (useKernel is
// kernelGo); it updates nothing.
func applyVector(kernel, *coef, []float32, []float32, []float32, []float32) (int, bool, bool) {
	return 0, true, true
}
