//go:build !unix

package data

// addressSpaceLimit is unknown outside Unix.
func addressSpaceLimit() int64 { return 0 }
