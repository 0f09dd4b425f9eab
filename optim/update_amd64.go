//go:build !purego

package optim

import "golang.org/x/sys/cpu"

// bestKernel is AVX-512 when the CPU has AVX512F, else AVX2, else Go.
func bestKernel() kernel {
	switch {
	case cpu.X86.HasAVX512F:
		return kernelAVX512
	case cpu.X86.HasAVX2:
		return kernelAVX2
	}
	return kernelGo
}

// kernels lists the kernels this CPU can run, for tests.
func kernels() []kernel {
	ks := []kernel{kernelGo}
	if cpu.X86.HasAVX2 {
		ks = append(ks, kernelAVX2)
	}
	if cpu.X86.HasAVX512F {
		ks = append(ks, kernelAVX512)
	}
	return ks
}

// applyVector runs rule c with kernel k over the longest prefix of g whose
// length is a multiple of the kernel's width, and returns that length and,
// if known (the kernel checks: sgdZ), whether every updated θ is finite. th,
// m0 and m1 (when the rule uses them) hold at least len(g) values.
func applyVector(k kernel, c *coef, th, g, m0, m1 []float32) (n int, known, finite bool) {
	width := 4
	if k == kernelAVX512 {
		width = 8
	}
	n = len(g) &^ (width - 1)
	if n == 0 {
		return 0, true, true
	}
	th, g = th[:n], g[:n]
	z := k == kernelAVX512
	switch c.name {
	case "sgd":
		switch {
		case c.wd == 0 && z:
			return n, true, sgdZ(&th[0], &g[0], n, c.lr)
		case c.wd == 0:
			sgdY(&th[0], &g[0], n, c.lr)
		case z:
			sgdWDZ(&th[0], &g[0], n, c.lr, c.wd)
		default:
			sgdWDY(&th[0], &g[0], n, c.lr, c.wd)
		}
	case "momentum":
		buf := m0[:n]
		if z {
			momentumZ(&th[0], &g[0], &buf[0], n, c.lr, c.wd, c.mu)
		} else {
			momentumY(&th[0], &g[0], &buf[0], n, c.lr, c.wd, c.mu)
		}
	case "adam":
		m, v := m0[:n], m1[:n]
		a := adamCoef{c.wd, c.b1, 1 - c.b1, c.b2, 1 - c.b2, c.stepSize, c.sqrtBC2, c.eps}
		if z {
			adamZ(&th[0], &g[0], &m[0], &v[0], n, &a)
		} else {
			adamY(&th[0], &g[0], &m[0], &v[0], n, &a)
		}
	default:
		panic("optim: no kernel for rule " + c.name)
	}
	return n, false, false
}

// adamCoef is Adam's scalars in the order the kernels read them: wd, β1,
// 1−β1, β2, 1−β2, step size lr/(1−β1^t), √(1−β2^t), eps.
type adamCoef [8]float64

// The kernels (update_amd64.s) take n > 0, a multiple of 8 (…Z, AVX-512)
// or 4 (…Y, AVX2), and compute per element exactly applyGo's float32 case.

// sgdZ: θ = f32(θ − lr·g); finite reports whether every new θ is finite.
//
//go:noescape
func sgdZ(th, grad *float32, n int, lr float64) (finite bool)

//go:noescape
func sgdY(th, grad *float32, n int, lr float64)

// sgdWDZ: θ = f32(θ − lr·(g + wd·θ)).
//
//go:noescape
func sgdWDZ(th, grad *float32, n int, lr, wd float64)

//go:noescape
func sgdWDY(th, grad *float32, n int, lr, wd float64)

// momentumZ: b = (μ·buf + g) + wd·θ; buf = f32(b); θ = f32(θ − lr·b).
//
//go:noescape
func momentumZ(th, grad, buf *float32, n int, lr, wd, mu float64)

//go:noescape
func momentumY(th, grad, buf *float32, n int, lr, wd, mu float64)

// adamZ: gk = g + wd·θ; mk = β1·m + (1−β1)·gk; vk = β2·v + ((1−β2)·gk)·gk;
// m = f32(mk); v = f32(vk); θ = f32(θ − (step·mk)/(√vk/√(1−β2^t) + eps)).
//
//go:noescape
func adamZ(th, grad, m, v *float32, n int, c *adamCoef)

//go:noescape
func adamY(th, grad, m, v *float32, n int, c *adamCoef)
