package ui

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/proc"
)

// TestCost measures what the view costs the agent: 10,000 processes in
// the table, 50,000 events/s through the same path as the monitor's
// (ancestors from the table, the JSON writer, then the view), for
// VIGIL_UI_COST_SECONDS (default 10). VIGIL_UI_COST picks the case, one
// per process so that the figures do not mix:
//
//	none    no view (the agent without --ui)
//	idle    the view, nobody connected
//	client  the view, one client streaming /api/events (curl, another
//	        process) and fetching the tree every 5 s as the page does
//
// It prints CPU (user+system, as a share of one core) and RSS. Run with
// bench/ui-cost.sh, or:
//
//	VIGIL_UI_COST=client go test -run TestCost -v ./internal/ui/
func TestCost(t *testing.T) {
	mode := os.Getenv("VIGIL_UI_COST")
	if mode == "" {
		t.Skip("a measurement, not a test: set VIGIL_UI_COST=none|idle|client")
	}
	secs := 10
	if v, err := strconv.Atoi(os.Getenv("VIGIL_UI_COST_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	const procs, rate = 10_000, 50_000
	tb := proc.NewTable(proc.FS(t.TempDir()), 0)
	// A forest of chains 8 deep, as busy hosts have: every event gets a
	// full chain of ancestors.
	tb.Exec(1, 0, 0, "systemd", "/usr/lib/systemd/systemd", []string{"/sbin/init", "splash"})
	for pid := uint32(2); pid <= procs; pid++ {
		ppid := pid - 1
		if pid%8 == 2 {
			ppid = 1
		}
		tb.Exec(pid, ppid, 1000, "worker", "/usr/bin/worker", []string{"worker", "--id", strconv.Itoa(int(pid)), "--config", "/etc/worker.conf"})
	}
	w, err := output.New(output.FormatJSON, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	sinks := []event.Sink{w}
	var s *Server
	if mode != "none" {
		if s, err = Serve(Config{Addr: "127.0.0.1:0", Table: tb}); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		sinks = append(sinks, s)
	}
	stop := make(chan struct{})
	if mode == "client" {
		url := "http://" + s.Addr().String()
		curl := exec.Command("curl", "-sN", url+"/api/events")
		curl.Stdout = io.Discard
		if err := curl.Start(); err != nil {
			t.Fatalf("starting curl as the client: %v", err)
		}
		defer func() { _ = curl.Process.Kill(); _ = curl.Wait() }()
		for s.Stats().Clients == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		go pollTree(url, stop)
	}
	defer close(stop)

	var ev event.Event
	var anc []event.Ancestor
	emit := func(i int) {
		pid := uint32(2 + i%(procs-1))
		ev = event.Event{Type: event.TypeExec, Time: time.Now(),
			Process: event.Process{Pid: pid, Tid: pid, Ppid: pid - 1, Uid: 1000, Comm: "worker", Exe: "/usr/bin/worker"},
			Exec:    &event.Exec{Path: "/usr/bin/worker", Args: []string{"worker", "--id", "7"}}}
		if i%100 == 0 {
			ev.Verdict = &event.Verdict{Rule: "cost-log", Action: "log"}
		}
		anc = tb.AppendAncestors(anc[:0], pid, event.MaxAncestors)
		ev.Process.Ancestors = anc
		for _, s := range sinks {
			if err := s.Emit(&ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := cpu()
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	n := 0
	for time.Since(start) < time.Duration(secs)*time.Second {
		<-tick.C
		// Catch up to the rate, whatever the ticker's jitter.
		for due := int(time.Since(start).Seconds() * rate); n < due; n++ {
			emit(n)
		}
		for _, s := range sinks {
			_ = s.Flush()
		}
	}
	elapsed := time.Since(start)
	used := cpu() - before
	rss, hwm := memory()
	fmt.Printf("ui cost: mode=%s processes=%d events=%d rate=%.0f/s cpu=%.1f%% of a core rss=%d MiB peak=%d MiB",
		mode, tb.Len(), n, float64(n)/elapsed.Seconds(), 100*used.Seconds()/elapsed.Seconds(), rss>>10, hwm>>10)
	if s != nil {
		st := s.Stats()
		fmt.Printf(" streamed=%d dropped=%d", st.Sent, st.Dropped)
	}
	fmt.Println()
}

func pollTree(url string, stop chan struct{}) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		if resp, err := http.Get(url + "/fragment/tree"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// memory returns VmRSS and VmHWM in KiB.
func memory() (rss, hwm int) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm
}
