package linalg

// BackendNote is empty, or says in one sentence why the installed backend is
// slower than this machine allows and what to change (for instance OpenBLAS
// running AVX2 kernels on an AVX-512 CPU). `fenchel version` prints it and
// bench/run.sh records it beside the figures.
var BackendNote string
