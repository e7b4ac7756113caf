package bench

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/vigil-sec/vigil/internal/vmtest"
)

// BenchmarkDefaults measures what a plain `vigil monitor` (the default
// event types of the running kernel) costs calls it does not report, and
// the calls it does: a getpid storm (a call nothing watches), an openat
// storm (open events are off by default), an exec storm and an mprotect
// storm (RW <-> R flips, which the default mprotect events leave out,
// and with --mprotect-all, every one reported). Each is a ratio to bare
// in one run, medians of interleaved rounds.
//
// It runs in the test/vm guests too, where the hooks differ (fentry on
// the calls' entry points instead of syscall tracepoints):
//
//	gcc -static -O2 -o /tmp/storm bench/workload/storm.c
//	test/vm/run.sh --kernels 6.1,6.12 --run '^$' --bench Defaults \
//	    --extra /tmp/storm --test-timeout 30m --timeout 2400 ./bench
//
// Under qemu's emulation (TCG) every call is far slower than on
// hardware, so only the ratios inside one guest run mean anything: bare
// and vigil run the same storm, interleaved, in the same guest.
func BenchmarkDefaults(b *testing.B) {
	scale := 1
	if vmtest.InGuest() {
		scale = 10 // TCG: about ten times slower per call
	}
	n := func(calls int) string { return strconv.Itoa(calls / scale) }
	bare := peer{name: "bare"}
	vigil := peer{"vigil", func(b *testing.B, v string) *monitor { return startVigil(b, v) }}
	peers := []peer{bare, vigil}
	// VIGIL_BENCH_BASE: another vigil binary (say, main's) beside this one.
	if base := os.Getenv("VIGIL_BENCH_BASE"); base != "" {
		peers = append(peers, peer{"vigil-base", func(b *testing.B, _ string) *monitor { return startVigil(b, base) }})
	}
	all := peer{"vigil-mprotect-all", func(b *testing.B, v string) *monitor { return startVigil(b, v, "--mprotect-all") }}
	overhead(b, []storm{
		{name: "getpid", args: func(string) []string { return []string{"getpid", n(2000000)} }, peers: peers},
		{name: "openat", args: func(dir string) []string { return []string{"open", n(300000), filepath.Join(dir, "target")} }, peers: peers},
		{name: "exec", args: func(string) []string { return []string{"exec", n(1500)} }, peers: peers},
		{name: "mprotect", args: func(string) []string { return []string{"mprotect", n(300000)} }, peers: append(slices.Clone(peers), all)},
	})
}

// guestStorm returns the storm binary test/vm/run.sh copied in with
// --extra (the guest has no compiler).
func guestStorm(b *testing.B) string {
	p := filepath.Join(os.Getenv("VIGIL_VM_EXTRA"), "storm")
	if _, err := os.Stat(p); err != nil {
		b.Skipf("no storm binary in the guest (build it statically and pass --extra): %v", err)
	}
	return p
}
