package enforce

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The benchmarks measure what a loaded fanotify deny rule costs the rest
// of the host, in one run: the same storm without any engine, then with
// an engine (in a helper process, as in production) whose rule marks the
// root filesystem. They report ns per operation for each and the ratio.
// Run them briefly on a shared machine, for instance:
//
//	go test -run '^$' -bench . -benchtime 300x ./internal/enforce/

// timeStorm runs op n times and returns the mean duration.
func timeStorm(b *testing.B, n int, op func() error) time.Duration {
	t0 := time.Now()
	for range n {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(t0) / time.Duration(n)
}

// BenchmarkExecStorm: fork+exec+wait of /bin/true with an exec deny
// rule on another directory of the same filesystem, which puts every
// exec there through the engine's fast path (readlink, prefix compare,
// answer).
func BenchmarkExecStorm(b *testing.B) {
	mustHavePerm(b)
	dir := tempDir(b, "/tmp")
	run := func() error { return exec.Command("/bin/true").Run() }
	base := timeStorm(b, b.N, run)
	b.StopTimer()
	h := startHelper(b, dir, fmt.Sprintf("rules:\n  - {name: b, event: exec, match: {path_prefix: [%q]}, action: deny}\n", dir+"/denied/"), helperOpts{})
	b.StartTimer()
	loaded := timeStorm(b, b.N, run)
	b.StopTimer()
	h.stop(b)
	b.ReportMetric(float64(base.Nanoseconds()), "base-ns/exec")
	b.ReportMetric(float64(loaded.Nanoseconds()), "deny-ns/exec")
	b.ReportMetric(float64(loaded)/float64(base), "ratio")
}

// BenchmarkOpenStorm: openat+close of a file with an open deny rule
// (open_flags write) on another file of the same filesystem, which puts
// every open through the engine's fast path; and read-only opens of the
// rule's own file, which go through a worker (/proc/TID/status and
// /proc/TID/syscall) before they are allowed.
func BenchmarkOpenStorm(b *testing.B) {
	mustHavePerm(b)
	dir := tempDir(b, "/tmp")
	plain := filepath.Join(dir, "plain")
	guarded := filepath.Join(dir, "guarded")
	for _, p := range []string{plain, guarded} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	open := func(p string) func() error {
		return func() error {
			fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			return unix.Close(fd)
		}
	}
	base := timeStorm(b, b.N, open(plain))
	b.StopTimer()
	h := startHelper(b, dir, fmt.Sprintf("rules:\n  - {name: b, event: open, match: {path: [%q], open_flags: [write]}, action: deny}\n", guarded), helperOpts{})
	b.StartTimer()
	loaded := timeStorm(b, b.N, open(plain))
	suspect := timeStorm(b, b.N, open(guarded))
	b.StopTimer()
	h.stop(b)
	b.ReportMetric(float64(base.Nanoseconds()), "base-ns/open")
	b.ReportMetric(float64(loaded.Nanoseconds()), "deny-ns/open")
	b.ReportMetric(float64(loaded)/float64(base), "ratio")
	b.ReportMetric(float64(suspect.Nanoseconds()), "rulepath-ns/open")
	b.ReportMetric(float64(suspect)/float64(base), "rulepath-ratio")
}
