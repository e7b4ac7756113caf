package permission

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
//	go test -run '^$' -bench . -benchtime 300x ./internal/permission/

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

// BenchmarkOpenStorm: openat+close, without an engine and then with
// each kind of open deny rule loaded:
//
//   - prefix: a path_prefix rule on another directory marks the whole
//     filesystem, so every open there takes the engine's fast path
//     (readlink, prefix compare, answer);
//   - exact-other: an exact path rule marks only that file and its
//     directory; opens elsewhere on the filesystem pay nothing;
//   - rulefile: read-only opens of the exact path rule's own file go
//     through a worker (/proc/TID/status and /proc/TID/syscall) before
//     they are allowed.
func BenchmarkOpenStorm(b *testing.B) {
	mustHavePerm(b)
	dir := tempDir(b, "/tmp")
	plain := filepath.Join(dir, "plain")
	guarded := filepath.Join(dir, "guarded", "file")
	os.MkdirAll(filepath.Dir(guarded), 0o755)
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
	h := startHelper(b, dir, fmt.Sprintf("rules:\n  - {name: b, event: open, match: {path_prefix: [%q], open_flags: [write]}, action: deny}\n", dir+"/denied/"), helperOpts{})
	b.StartTimer()
	prefix := timeStorm(b, b.N, open(plain))
	b.StopTimer()
	h.stop(b)

	h = startHelper(b, dir, fmt.Sprintf("rules:\n  - {name: b, event: open, match: {path: [%q], open_flags: [write]}, action: deny}\n", guarded), helperOpts{})
	b.StartTimer()
	other := timeStorm(b, b.N, open(plain))
	rulefile := timeStorm(b, b.N, open(guarded))
	b.StopTimer()
	h.stop(b)

	b.ReportMetric(float64(base.Nanoseconds()), "base-ns/open")
	for _, m := range []struct {
		name string
		d    time.Duration
	}{{"prefix", prefix}, {"exact-other", other}, {"rulefile", rulefile}} {
		b.ReportMetric(float64(m.d.Nanoseconds()), m.name+"-ns/open")
		b.ReportMetric(float64(m.d)/float64(base), m.name+"-ratio")
	}
}
