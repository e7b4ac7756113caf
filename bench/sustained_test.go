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

// BenchmarkSustained drives open events at a fixed rate (50,000/s by
// default) for a minute under vigil, with every one of them reported, and
// checks that none is lost. It reports the rate handled, vigil's CPU per
// 10k events and its resident memory.
func BenchmarkSustained(b *testing.B) {
	vigil, stormBin := build(b)
	rate, secs := 50000, 60
	if s := os.Getenv("VIGIL_BENCH_RATE"); s != "" {
		fmt.Sscan(s, &rate)
	}
	if s := os.Getenv("VIGIL_BENCH_SECONDS"); s != "" {
		fmt.Sscan(s, &secs)
	}
	dir := b.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		m := startVigil(b, vigil, "--events", defaultEvents+",open", "--open-prefix", dir+"/")
		pid := m.cmd.Process.Pid
		cpu0 := cpuTime(b, pid)
		start := time.Now()
		runStorm(b, stormBin, "rate", strconv.Itoa(rate), strconv.Itoa(secs), target)
		elapsed := time.Since(start)
		time.Sleep(200 * time.Millisecond) // let the reader drain
		cpu := cpuTime(b, pid) - cpu0
		rss, hwm := memory(b, pid)
		if err := m.stop(); err != nil {
			b.Fatal(err)
		}
		events, lost := summary(b, m.logText())
		want := uint64(rate * secs)
		b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(lost), "lost")
		b.ReportMetric(float64(cpu.Microseconds())/float64(events)*10000/1000, "cpu-ms/10k-events")
		b.ReportMetric(float64(rss)/1024, "rss-MiB")
		b.ReportMetric(float64(hwm)/1024, "peak-rss-MiB")
		b.Logf("%d events in %v (%d opens driven), %d lost, vigil cpu %v, rss %d KiB (peak %d KiB)", events, elapsed, want, lost, cpu, rss, hwm)
		if lost != 0 {
			b.Errorf("vigil lost %d events at %d/s", lost, rate)
		}
		if events < want {
			b.Errorf("vigil reported %d events, fewer than the %d opens", events, want)
		}
	}
}

// BenchmarkStartup measures the time from start to every hook attached
// (the "ready" line's attach_ms) and the memory of an idle monitor.
func BenchmarkStartup(b *testing.B) {
	vigil, _ := build(b)
	re := regexp.MustCompile(`attach_ms=(\d+)`)
	var total float64
	for i := 0; i < b.N; i++ {
		m := startVigil(b, vigil)
		time.Sleep(time.Second)
		rss, _ := memory(b, m.cmd.Process.Pid)
		if err := m.stop(); err != nil {
			b.Fatal(err)
		}
		ms := re.FindStringSubmatch(m.logText())
		if ms == nil {
			b.Fatalf("no attach_ms in %s", m.logText())
		}
		v, _ := strconv.ParseFloat(ms[1], 64)
		total += v
		b.ReportMetric(float64(rss)/1024, "idle-rss-MiB")
	}
	b.ReportMetric(total/float64(b.N), "attach-ms")
}

// cpuTime returns a process's user+system CPU time.
func cpuTime(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the comm's closing parenthesis; utime and stime are 14 and 15.
	i := len(data) - 1
	for i > 0 && data[i] != ')' {
		i--
	}
	var f [13]string
	var utime, stime int64
	fmt.Sscan(string(data[i+2:]), &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9], &f[10], &utime, &stime)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// memory returns VmRSS and VmHWM in KiB.
func memory(b *testing.B, pid int) (rss, hwm int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	if m := regexp.MustCompile(`VmRSS:\s+(\d+)`).FindSubmatch(data); m != nil {
		rss, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	if m := regexp.MustCompile(`VmHWM:\s+(\d+)`).FindSubmatch(data); m != nil {
		hwm, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	return rss, hwm
}
