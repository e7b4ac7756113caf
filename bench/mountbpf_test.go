package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Storm lengths of BenchmarkMountBPF: a few seconds each, bare.
const (
	mountCalls   = "10000" // mount + umount2 pairs
	bpfLoadCalls = "5000"  // BPF_PROG_LOAD + close
)

// BenchmarkMountBPF measures the mount and bpf sensors on storms of
// their calls: a tmpfs mount + umount2 storm (in a private mount
// namespace) and a bpf(BPF_PROG_LOAD) storm, bare, under vigil monitor
// with that one type on, and under bpftrace tracing the same calls and
// printing the same facts.
//
// Both storms wait on RCU grace periods (umount2's namespace_unlock, the
// freeing of a program), so their wall time says more about how idle the
// CPUs are than about a tracer: any tracer that keeps a CPU busy makes
// them faster. The figure that counts is the storm's own CPU time (user
// + system, from its rusage), where the tracing programs run; the wall
// time and the tracer's CPU time are reported beside it.
func BenchmarkMountBPF(b *testing.B) {
	vigil, stormBin := build(b)
	rounds := 3
	if s := os.Getenv("VIGIL_BENCH_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	for _, st := range mountBPFStorms() {
		b.Run(st.name, func(b *testing.B) {
			dir := b.TempDir()
			cpu, wall, peerCPU := map[string][]time.Duration{}, map[string][]time.Duration{}, map[string][]time.Duration{}
			for i := 0; i < b.N*rounds; i++ {
				for _, p := range st.peers {
					var m *monitor
					var before time.Duration
					if p.start != nil {
						m = p.start(b, vigil)
						before = cpuTime(b, m.cmd.Process.Pid)
					}
					c, w := runStormCPU(b, stormBin, st.args(dir)...)
					if m != nil {
						peerCPU[p.name] = append(peerCPU[p.name], cpuTime(b, m.cmd.Process.Pid)-before)
						_ = m.stop()
						if m.name == "vigil" {
							if _, lost := summary(b, m.logText()); lost != 0 {
								b.Errorf("vigil lost %d events on the %s storm", lost, st.name)
							}
						}
					}
					cpu[p.name] = append(cpu[p.name], c)
					wall[p.name] = append(wall[p.name], w)
				}
			}
			baseCPU, baseWall := median(cpu["bare"]), median(wall["bare"])
			for _, p := range st.peers {
				c, w := median(cpu[p.name]), median(wall[p.name])
				b.ReportMetric(float64(c)/float64(baseCPU), p.name+"-cpu-x")
				b.ReportMetric(float64(w)/float64(baseWall), p.name+"-wall-x")
				var tracer time.Duration
				if peerCPU[p.name] != nil {
					tracer = median(peerCPU[p.name])
				}
				b.Logf("%-8s %-9s storm CPU %-12v %.3fx bare   wall %-12v %.3fx bare   tracer CPU %v",
					st.name, p.name, c, float64(c)/float64(baseCPU), w, float64(w)/float64(baseWall), tracer)
			}
		})
	}
}

// runStormCPU runs the storm workload and returns its CPU time (user +
// system) and its elapsed time as it measured it.
func runStormCPU(b *testing.B, storm string, args ...string) (cpu, wall time.Duration) {
	b.Helper()
	cmd := exec.Command(storm, args...)
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("storm %v: %v", args, err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		b.Fatalf("storm output %q: %v", out, err)
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), time.Duration(ns)
}

func mountBPFStorms() []storm {
	bare := peer{name: "bare"}
	vigil := func(events string) peer {
		return peer{"vigil", func(b *testing.B, v string) *monitor { return startVigil(b, v, "--events", events) }}
	}
	bt := func(prog string) peer {
		return peer{"bpftrace", func(b *testing.B, _ string) *monitor { return startBpftrace(b, prog) }}
	}
	withPeer := func(ps ...peer) []peer {
		if os.Getenv("VIGIL_BENCH_NO_PEERS") != "" {
			return ps[:2]
		}
		return ps
	}
	return []storm{
		{"mount", func(dir string) []string { return []string{"mount", mountCalls, filepath.Clean(dir)} }, withPeer(bare, vigil("mount"),
			bt(`tracepoint:syscalls:sys_enter_mount { printf("mount %d %s %s %s %x\n", pid, str(args->dev_name), str(args->dir_name), str(args->type), args->flags); }
tracepoint:syscalls:sys_enter_umount { printf("umount %d %s %d\n", pid, str(args->name), args->flags); }
tracepoint:syscalls:sys_exit_mount,tracepoint:syscalls:sys_exit_umount { printf("ret %d %d\n", pid, args->ret); }`))},
		{"bpfload", func(string) []string { return []string{"bpfload", bpfLoadCalls} }, withPeer(bare, vigil("bpf"),
			bt(`tracepoint:syscalls:sys_enter_bpf /args->cmd == 5 || args->cmd == 8 || args->cmd == 17 || args->cmd == 28/ { @c[tid] = args->cmd + 1; }
tracepoint:syscalls:sys_exit_bpf /@c[tid]/ { printf("bpf %d %d %d\n", pid, @c[tid] - 1, args->ret); delete(@c[tid]); }`))},
	}
}
