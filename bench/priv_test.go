package bench

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// privCalls is each privilege storm's length.
const privCalls = 100000

// BenchmarkPriv measures the privilege events, one storm per type, each
// bare, under vigil monitor with that type alone, and under bpftrace
// doing the same work in the kernel, rounds interleaved:
//
//	cred       setresuid(-1, -1, -1): nothing changes, so nothing is
//	           reported; the cost is the entry/exit programs comparing
//	           credentials (bpftrace: the same comparison of euid)
//	ptrace     ptrace(PTRACE_POKEDATA, -1): a request vigil reports, so
//	           one event per call (bpftrace: a line per call)
//	namespace  unshare(CLONE_NEWUTS): one event per call with both sets
//	           of namespace ids (bpftrace: a line per call)
//
// It reports each as a ratio to bare and nanoseconds added per call.
func BenchmarkPriv(b *testing.B) {
	vigil, stormBin := build(b)
	noPeers := os.Getenv("VIGIL_BENCH_NO_PEERS") != ""
	type privStorm struct {
		mode, events string
		n            int
		bpftrace     string
	}
	list := []privStorm{
		{"setresuid", "cred", privCalls, `tracepoint:syscalls:sys_enter_setresuid /comm == "storm"/ { @o[tid] = curtask->cred->euid.val; }
tracepoint:syscalls:sys_exit_setresuid /comm == "storm"/ { if (@o[tid] != curtask->cred->euid.val) { printf("%d %d\n", pid, curtask->cred->euid.val); } delete(@o[tid]); }`},
		{"ptrace", "ptrace", privCalls, `tracepoint:syscalls:sys_enter_ptrace /comm == "storm" && args->request == 5/ { @r[tid] = args->request; @p[tid] = args->pid; }
tracepoint:syscalls:sys_exit_ptrace /@r[tid] == 5/ { printf("%d %d %d %d\n", pid, @r[tid], @p[tid], args->ret); delete(@r[tid]); delete(@p[tid]); }`},
		{"unshare", "namespace", privCalls / 10, `tracepoint:syscalls:sys_enter_unshare /comm == "storm"/ { @u[tid] = curtask->nsproxy->uts_ns->ns.inum; }
tracepoint:syscalls:sys_exit_unshare /comm == "storm"/ { printf("%d %d %d %d\n", pid, @u[tid], curtask->nsproxy->uts_ns->ns.inum, args->ret); delete(@u[tid]); }`},
	}
	rounds := 3
	if s := os.Getenv("VIGIL_BENCH_ROUNDS"); s != "" {
		fmt.Sscan(s, &rounds)
	}
	for _, st := range list {
		peers := []peer{
			{name: "bare"},
			{"vigil", func(b *testing.B, v string) *monitor { return startVigil(b, v, "--events", st.events) }},
		}
		if !noPeers {
			prog := st.bpftrace
			peers = append(peers, peer{"bpftrace", func(b *testing.B, _ string) *monitor { return startBpftrace(b, prog) }})
		}
		times := map[string][]time.Duration{}
		events := map[string]uint64{}
		for i := 0; i < b.N*rounds; i++ {
			for _, p := range peers {
				var m *monitor
				if p.start != nil {
					m = p.start(b, vigil)
				}
				d := runStorm(b, stormBin, st.mode, strconv.Itoa(st.n))
				if m != nil {
					_ = m.stop()
					if p.name == "vigil" {
						n, _ := summary(b, m.logText())
						events[p.name] += n
					}
				}
				times[p.name] = append(times[p.name], d)
			}
		}
		base := median(times["bare"])
		for _, p := range peers {
			med := median(times[p.name])
			ratio := float64(med) / float64(base)
			perCall := float64(med-base) / float64(st.n)
			b.ReportMetric(ratio, st.mode+"-"+p.name+"-x")
			extra := ""
			if p.name == "vigil" {
				extra = fmt.Sprintf("  (%d events in %d rounds)", events[p.name], b.N*rounds)
			}
			b.Logf("%-10s %-9s median %-12v %.3fx bare  %+8.1f ns/call%s", st.mode, p.name, med, ratio, perCall, extra)
		}
	}
}
