// Package bench measures what vigil costs the host it watches, side by
// side with the tools users would otherwise run (bpftrace, auditd), in one
// run: syscall storms (exec, openat, mprotect) bare and under each
// monitor, the sustained event rate vigil handles with zero loss, its
// start-up time and its memory. Run it with ./bench/run.sh (root; it
// installs bpftrace and auditd from Debian), or directly:
//
//	go test -run '^$' -bench . -benchtime 1x ./bench
//
// BenchmarkDefaults is the plain `vigil monitor` against bare on the
// getpid, openat, exec and mprotect storms; it also runs inside the
// test/vm guests (its doc comment has the command), where only the ratio
// within one guest run means anything under qemu's emulation.
// BenchmarkMprotectHooks weighs a hook off the system-call path for
// mprotect (the mmap_lock tracepoints) against the syscall tracepoints.
// BenchmarkPriv does the same for the privilege events (cred, ptrace,
// namespace): a storm of each type's call bare, under vigil monitor
// --events TYPE and under bpftrace.
//
// The package has no tests of its own, so `go test ./...` builds it and
// runs nothing here.
package bench
