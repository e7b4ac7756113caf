package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// peer is one configuration a storm runs under.
type peer struct {
	name  string
	start func(b *testing.B, vigil string) *monitor // nil: bare
}

// storm is one workload and the peers to compare on it.
type storm struct {
	name  string
	args  func(dir string) []string
	peers []peer
}

const defaultEvents = "fork,exec,exit,module,mprotect"

func storms() []storm {
	bare := peer{name: "bare"}
	vigilDefault := peer{"vigil", func(b *testing.B, v string) *monitor { return startVigil(b, v) }}
	// The embedded baseline policy: W^X kill in the kernel, exec from
	// temp dirs denied through fanotify (every exec on their filesystems
	// becomes a permission event), memfd, deleted and module logging.
	vigilBaseline := peer{"vigil+baseline", func(b *testing.B, v string) *monitor {
		return startVigil(b, v, "--policy", "builtin:baseline")
	}}
	if os.Getenv("VIGIL_BENCH_NO_POLICY") != "" {
		// The baseline denies exec from /tmp for the whole host while it
		// runs: leave it out on a machine others are building on.
		vigilBaseline.start = nil
	}
	// VIGIL_BENCH_NO_PEERS leaves out bpftrace and auditd (not installed,
	// or not wanted on a shared machine: auditd audits the whole host).
	noPeers := os.Getenv("VIGIL_BENCH_NO_PEERS") != ""
	peers := func(ps ...peer) []peer {
		if !noPeers {
			return ps
		}
		var out []peer
		for _, p := range ps {
			if p.name != "bpftrace" && p.name != "auditd" {
				out = append(out, p)
			}
		}
		return out
	}
	// VIGIL_BENCH_BASE names another vigil binary (say, built from main)
	// to run with default events beside this one, rounds interleaved, on
	// the exec and memory storms: the cost of a change, measured in one run.
	withBase := func(ps []peer) []peer {
		if base := os.Getenv("VIGIL_BENCH_BASE"); base != "" {
			ps = append(ps, peer{"vigil-base", func(b *testing.B, _ string) *monitor { return startVigil(b, base) }})
		}
		return ps
	}
	procBT := `tracepoint:sched:sched_process_fork { printf("fork %d %d\n", args->parent_pid, args->child_pid); }
tracepoint:sched:sched_process_exec { printf("exec %d %s %s\n", pid, comm, str(args->filename)); }
tracepoint:sched:sched_process_exit { printf("exit %d %s\n", pid, comm); }`
	return []storm{
		{
			name: "exec",
			args: func(string) []string { return []string{"exec", "1500"} },
			peers: withBase(peers(bare, vigilDefault, vigilBaseline,
				peer{"bpftrace", func(b *testing.B, _ string) *monitor { return startBpftrace(b, procBT) }},
				peer{"auditd", func(b *testing.B, _ string) *monitor { return startAuditd(b, "execve") }},
			)),
		},
		{
			name: "openat",
			args: func(dir string) []string { return []string{"open", "300000", filepath.Join(dir, "target")} },
			peers: peers(bare,
				peer{"vigil-open-filtered", func(b *testing.B, v string) *monitor {
					return startVigil(b, v, "--events", defaultEvents+",open", "--open-prefix", "/nonexistent-vigil-prefix/")
				}},
				peer{"vigil-open-all", func(b *testing.B, v string) *monitor {
					return startVigil(b, v, "--events", defaultEvents+",open")
				}},
				vigilDefault, vigilBaseline,
				peer{"bpftrace", func(b *testing.B, _ string) *monitor {
					return startBpftrace(b, `tracepoint:syscalls:sys_enter_openat { printf("open %d %s %s\n", pid, comm, str(args->filename)); }`)
				}},
				peer{"auditd", func(b *testing.B, _ string) *monitor { return startAuditd(b, "openat") }},
			),
		},
		{
			name: "mprotect",
			args: func(string) []string { return []string{"mprotect", "300000"} },
			peers: withBase(peers(bare, vigilDefault,
				peer{"bpftrace", func(b *testing.B, _ string) *monitor {
					return startBpftrace(b, `tracepoint:syscalls:sys_enter_mprotect { printf("mprotect %d %s %lx %d\n", pid, comm, args->start, args->prot); }`)
				}},
				peer{"auditd", func(b *testing.B, _ string) *monitor { return startAuditd(b, "mprotect") }},
			)),
		},
		{
			// Every call asks for PROT_EXEC, so vigil reports every one.
			name: "mmap",
			args: func(string) []string { return []string{"mmap", "300000", "rx"} },
			peers: withBase(peers(bare, vigilDefault,
				peer{"bpftrace", func(b *testing.B, _ string) *monitor {
					return startBpftrace(b, `tracepoint:syscalls:sys_enter_mmap /args->prot & 4/ { printf("mmap %d %s %lx %d\n", pid, comm, args->addr, args->prot); }`)
				}},
				peer{"auditd", func(b *testing.B, _ string) *monitor { return startAuditd(b, "mmap") }},
			)),
		},
		{
			// No call asks for PROT_EXEC: the in-kernel filter drops them all.
			name:  "mmap-rw",
			args:  func(string) []string { return []string{"mmap", "300000", "rw"} },
			peers: withBase([]peer{bare, vigilDefault}),
		},
	}
}

// uringStorms: the openat storm's loop through io_uring
// (IORING_OP_OPENAT, one request per io_uring_enter), bare, under vigil
// with open events off (the default), on but all filtered out in the
// kernel, and on with every open reported.
func uringStorms() []storm {
	return []storm{{
		name: "uring-openat",
		args: func(dir string) []string { return []string{"uring", "300000", filepath.Join(dir, "target")} },
		peers: []peer{{name: "bare"},
			{"vigil", func(b *testing.B, v string) *monitor { return startVigil(b, v) }},
			{"vigil-open-filtered", func(b *testing.B, v string) *monitor {
				return startVigil(b, v, "--events", defaultEvents+",open", "--open-prefix", "/nonexistent-vigil-prefix/")
			}},
			{"vigil-open-all", func(b *testing.B, v string) *monitor {
				return startVigil(b, v, "--events", defaultEvents+",open")
			}},
		},
	}}
}

// BenchmarkOverhead runs each storm bare and under each peer, rounds
// interleaved, and reports the median time of each as a ratio to bare:
// the metric "vigil-x" is vigil's slowdown factor.
func BenchmarkOverhead(b *testing.B) { overhead(b, storms()) }

// BenchmarkUringOverhead is BenchmarkOverhead for opens through io_uring.
func BenchmarkUringOverhead(b *testing.B) { overhead(b, uringStorms()) }

func overhead(b *testing.B, list []storm) {
	vigil, stormBin := build(b)
	rounds := 3
	if s := os.Getenv("VIGIL_BENCH_ROUNDS"); s != "" {
		fmt.Sscan(s, &rounds)
	}
	for _, st := range list {
		b.Run(st.name, func(b *testing.B) {
			dir := b.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "target"), []byte("x"), 0o644); err != nil {
				b.Fatal(err)
			}
			times := map[string][]time.Duration{}
			for i := 0; i < b.N*rounds; i++ {
				for _, p := range st.peers {
					if p.start == nil && p.name != "bare" {
						continue
					}
					var m *monitor
					if p.start != nil {
						m = p.start(b, vigil)
					}
					d := runStorm(b, stormBin, st.args(dir)...)
					if m != nil {
						if err := m.stop(); err != nil && p.name != "bpftrace" {
							b.Logf("%s stop: %v", p.name, err)
						}
						if m.name == "vigil" {
							if _, lost := summary(b, m.logText()); lost != 0 {
								b.Errorf("%s lost %d events on the %s storm", p.name, lost, st.name)
							}
						}
					}
					times[p.name] = append(times[p.name], d)
				}
			}
			base := median(times["bare"])
			for _, p := range st.peers {
				if times[p.name] == nil {
					continue
				}
				med := median(times[p.name])
				ratio := float64(med) / float64(base)
				b.ReportMetric(ratio, p.name+"-x")
				b.Logf("%-8s %-20s median %-12v %.3fx bare", st.name, p.name, med, ratio)
			}
			if pol, mon := times["vigil+baseline"], times["vigil"]; pol != nil && mon != nil {
				ratio := float64(median(pol)) / float64(median(mon))
				b.ReportMetric(ratio, "policy-vs-monitor-x")
				b.Logf("%-8s builtin:baseline costs %.3fx monitoring only", st.name, ratio)
			}
		})
	}
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
