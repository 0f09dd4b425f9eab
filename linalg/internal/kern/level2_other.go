//go:build !amd64 || purego

package kern

// SymvPanel4AVX512 is not available in this build.
func SymvPanel4AVX512(m int, a *float64, lda int, x, y, u, s *float64) { noAsm() }

// AxpyRowsAVX512 is not available in this build.
func AxpyRowsAVX512(k, m int, u *float64, ldu int, xi, x *float64) { noAsm() }

// DotRowsAVX512 is not available in this build.
func DotRowsAVX512(k, m int, u *float64, ldu int, x, s *float64) { noAsm() }

// SymvPanel4AVX2 is not available in this build.
func SymvPanel4AVX2(m int, a *float64, lda int, x, y, u, s *float64) { noAsm() }

// AxpyRowsAVX2 is not available in this build.
func AxpyRowsAVX2(k, m int, u *float64, ldu int, xi, x *float64) { noAsm() }

// DotRowsAVX2 is not available in this build.
func DotRowsAVX2(k, m int, u *float64, ldu int, x, s *float64) { noAsm() }
