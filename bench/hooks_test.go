package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// hookCalls is the getpid storm's length for BenchmarkHooks.
const hookCalls = 2000000

// BenchmarkHooks measures a policy hook on a hot tracepoint,
// raw_syscalls/sys_enter, under a getpid storm: bare, a log hook that
// reports every getpid of the storm, a hook whose process matcher
// rejects every call (comm), one whose argument matcher does (after the
// fetch), and a count hook; next to bpftrace doing the same. It reports
// each as a ratio to bare and as nanoseconds added per call.
func BenchmarkHooks(b *testing.B) {
	vigil, stormBin := build(b)
	dir := b.TempDir()
	hook := func(name, match, action string) string {
		p := filepath.Join(dir, name+".yaml")
		text := fmt.Sprintf(`hooks:
  - name: %s
    tracepoint: raw_syscalls/sys_enter
    args: [id]
    match: %s
    action: %s
`, name, match, action)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
		return p
	}
	vigilHook := func(name, match, action string) peer {
		p := hook(name, match, action)
		return peer{"vigil-" + name, func(b *testing.B, v string) *monitor {
			return startVigil(b, v, "--events", "exit", "--policy", p)
		}}
	}
	peers := []peer{
		{name: "bare"},
		vigilHook("log", `{comm: [storm], args: {id: [39]}}`, "log"),
		vigilHook("filtered-comm", `{comm: [no-such-comm]}`, "log"),
		vigilHook("filtered-arg", `{comm: [storm], args: {id: [99999]}}`, "log"),
		vigilHook("count", `{comm: [storm]}`, "count"),
	}
	if os.Getenv("VIGIL_BENCH_NO_PEERS") == "" {
		bt := func(name, prog string) peer {
			return peer{"bpftrace-" + name, func(b *testing.B, _ string) *monitor { return startBpftrace(b, prog) }}
		}
		peers = append(peers,
			bt("log", `tracepoint:raw_syscalls:sys_enter /comm == "storm" && args->id == 39/ { printf("%d %d\n", pid, args->id); }`),
			bt("filtered-comm", `tracepoint:raw_syscalls:sys_enter /comm == "no-such-comm"/ { printf("%d\n", args->id); }`),
			bt("count", `tracepoint:raw_syscalls:sys_enter /comm == "storm"/ { @n = count(); }`),
		)
	}
	rounds := 3
	if s := os.Getenv("VIGIL_BENCH_ROUNDS"); s != "" {
		fmt.Sscan(s, &rounds)
	}
	lostRE := regexp.MustCompile(`hook records lost.*records=(\d+)`)
	times := map[string][]time.Duration{}
	lost := map[string]uint64{}
	for i := 0; i < b.N*rounds; i++ {
		for _, p := range peers {
			var m *monitor
			if p.start != nil {
				m = p.start(b, vigil)
			}
			d := runStorm(b, stormBin, "getpid", strconv.Itoa(hookCalls))
			if m != nil {
				_ = m.stop()
				for _, s := range lostRE.FindAllStringSubmatch(m.logText(), -1) {
					n, _ := strconv.ParseUint(s[1], 10, 64)
					lost[p.name] += n
				}
			}
			times[p.name] = append(times[p.name], d)
		}
	}
	base := median(times["bare"])
	for _, p := range peers {
		med := median(times[p.name])
		ratio := float64(med) / float64(base)
		perCall := float64(med-base) / hookCalls
		b.ReportMetric(ratio, p.name+"-x")
		if p.name != "bare" {
			b.ReportMetric(perCall, p.name+"-ns/call")
		}
		b.Logf("%-22s median %-12v %.3fx bare  %+7.1f ns/call  (%.1f ns/call total; %d records lost)",
			p.name, med, ratio, perCall, float64(med)/hookCalls, lost[p.name])
	}
}
