// Package bench measures what vigil costs the host it watches, side by
// side with the tools users would otherwise run (bpftrace, auditd), in one
// run: syscall storms (exec, openat, mprotect) bare and under each
// monitor, the sustained event rate vigil handles with zero loss, its
// start-up time and its memory. Run it with ./bench/run.sh (root; it
// installs bpftrace and auditd from Debian), or directly:
//
//	go test -run '^$' -bench . -benchtime 1x ./bench
//
// BenchmarkPriv does the same for the privilege events (cred, ptrace,
// namespace): a storm of each type's call bare, under vigil monitor
// --events TYPE and under bpftrace.
//
// The package has no tests of its own, so `go test ./...` builds it and
// runs nothing here.
package bench
