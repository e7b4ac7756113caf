package bench

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// netCalls is the connect storm's length for BenchmarkNet.
const netCalls = 5000

// BenchmarkNet measures the network sensor under a connect storm (TCP
// connect to the storm's own listener on 127.0.0.1, accept, close both):
// bare, under vigil monitor --events connect, under --events
// connect,accept, and under bpftrace reporting each connect and accept
// with its pid, descriptor and result from the same syscall
// tracepoints. It reports each as a ratio to bare and as microseconds
// added per connect, all from one run with the peers interleaved.
func BenchmarkNet(b *testing.B) {
	vigil, stormBin := build(b)
	v := func(name string, args ...string) peer {
		return peer{"vigil-" + name, func(b *testing.B, v string) *monitor { return startVigil(b, v, args...) }}
	}
	peers := []peer{
		{name: "bare"},
		v("connect", "--events", "connect"),
		v("connect+accept", "--events", "connect,accept"),
		v("connect-port-filtered", "--events", "connect", "--connect-port", "1"),
	}
	if os.Getenv("VIGIL_BENCH_NO_PEERS") == "" {
		peers = append(peers, peer{"bpftrace-connect", func(b *testing.B, _ string) *monitor {
			return startBpftrace(b, `tracepoint:syscalls:sys_enter_connect /comm == "storm"/ { @fd[tid] = args->fd; }
tracepoint:syscalls:sys_exit_connect /@fd[tid]/ { printf("%d %d %d\n", pid, @fd[tid], args->ret); delete(@fd[tid]); }`)
		}}, peer{"bpftrace-connect+accept", func(b *testing.B, _ string) *monitor {
			return startBpftrace(b, `tracepoint:syscalls:sys_enter_connect /comm == "storm"/ { @fd[tid] = args->fd; }
tracepoint:syscalls:sys_exit_connect /@fd[tid]/ { printf("c %d %d %d\n", pid, @fd[tid], args->ret); delete(@fd[tid]); }
tracepoint:syscalls:sys_enter_accept* /comm == "storm"/ { @lfd[tid] = args->fd; }
tracepoint:syscalls:sys_exit_accept* /@lfd[tid]/ { printf("a %d %d %d\n", pid, @lfd[tid], args->ret); delete(@lfd[tid]); }`)
		}})
	}
	rounds := 3
	if s := os.Getenv("VIGIL_BENCH_ROUNDS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			rounds = n
		}
	}
	times := map[string][]time.Duration{}
	for i := 0; i < b.N*rounds; i++ {
		for _, p := range peers {
			var m *monitor
			if p.start != nil {
				m = p.start(b, vigil)
			}
			d := runStorm(b, stormBin, "connect", strconv.Itoa(netCalls))
			if m != nil {
				_ = m.stop()
			}
			times[p.name] = append(times[p.name], d)
		}
	}
	base := median(times["bare"])
	for _, p := range peers {
		med := median(times[p.name])
		ratio := float64(med) / float64(base)
		b.ReportMetric(ratio, p.name+"-x")
		b.Logf("%-26s median %-12v %.3fx bare  %+7.2f µs/connect  (%.2f µs/connect total)",
			p.name, med, ratio, float64(med-base)/netCalls/1e3, float64(med)/netCalls/1e3)
	}
}
