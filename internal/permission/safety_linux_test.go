package permission

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestWatchdog makes the worker hang and checks that the watchdog
// answers within the bound, with the configured answer, while events
// that match no rule are not delayed at all.
func TestWatchdog(t *testing.T) {
	mustHavePerm(t)
	for _, c := range []struct {
		desc     string
		answer   string
		wantRuns bool
	}{
		{"fail closed by default", "", false},
		{"fail open by choice", "allow", true},
	} {
		t.Run(c.desc, func(t *testing.T) {
			dir := tempDir(t, "/tmp")
			denied := filepath.Join(dir, "denied")
			h := startHelper(t, dir, fmt.Sprintf("rules:\n  - {name: slow, event: exec, match: {path_prefix: [%q]}, action: deny}\n", denied+"/"),
				helperOpts{TimeoutMS: 1000, OnTimeout: c.answer, Hook: "hang"})
			marker := filepath.Join(dir, "marker")
			bad := filepath.Join(denied, "x.sh")
			script(t, bad, marker)
			t0 := time.Now()
			if err := exec.Command("/bin/true").Run(); err != nil || time.Since(t0) > 500*time.Millisecond {
				t.Errorf("/bin/true took %v (err %v): an unmatched exec must not wait for workers", time.Since(t0), err)
			}
			t0 = time.Now()
			err := exec.Command(bad).Run()
			took := time.Since(t0)
			if took < 900*time.Millisecond || took > 3*time.Second {
				t.Errorf("the hung decision was answered after %v, want about 1s", took)
			}
			if (err == nil) != c.wantRuns || exists(marker) != c.wantRuns {
				t.Errorf("exec = %v, marker %v; want runs=%v", err, exists(marker), c.wantRuns)
			}
			if s := h.stop(t); s.Timeouts != 1 {
				t.Errorf("stats %+v, want 1 timeout", s)
			}
		})
	}
}

// TestShutdownAllows stops the engine while a decision hangs: the
// blocked exec must go through, answered allow by the shutdown.
func TestShutdownAllows(t *testing.T) {
	mustHavePerm(t)
	dir := tempDir(t, "/tmp")
	denied := filepath.Join(dir, "denied")
	h := startHelper(t, dir, fmt.Sprintf("rules:\n  - {name: x, event: exec, match: {path_prefix: [%q]}, action: deny}\n", denied+"/"),
		helperOpts{TimeoutMS: 60000, Hook: "hang"})
	marker := filepath.Join(dir, "marker")
	bad := filepath.Join(denied, "x.sh")
	script(t, bad, marker)
	res := make(chan error, 1)
	go func() { res <- exec.Command(bad).Run() }()
	select {
	case l := <-h.lines:
		if l != "entered" {
			t.Fatalf("helper said %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the decision never started")
	}
	h.shutdown() // while the worker hangs
	select {
	case err := <-res:
		if err != nil || !exists(marker) {
			t.Errorf("exec after shutdown = %v, marker %v; want allowed", err, exists(marker))
		}
	case <-time.After(5 * time.Second):
		t.Error("exec still blocked 5s after shutdown began")
	}
	h.stop(t)
}

// TestKilledMidStorm storms execs at an engine (allowed ones, and denied
// ones whose decisions are slowed so that some are always pending), kills
// the engine with SIGKILL in the middle, and checks that every exec of
// the storm finishes within a bound: nothing stays blocked on a dead
// engine.
func TestKilledMidStorm(t *testing.T) {
	mustHavePerm(t)
	dir := tempDir(t, "/tmp")
	denied := filepath.Join(dir, "denied")
	h := startHelper(t, dir, fmt.Sprintf("rules:\n  - {name: storm, event: exec, match: {path_prefix: [%q]}, action: deny}\n", denied+"/"),
		helperOpts{TimeoutMS: 60000, Workers: 1, Hook: "slow"})
	bad := filepath.Join(denied, "x.sh")
	script(t, bad, filepath.Join(dir, "ran"))

	var stopStorm atomic.Bool
	var wg sync.WaitGroup
	var execs, denials atomic.Int64
	slowest := make([]time.Duration, 8)
	for i := range slowest {
		wg.Go(func() {
			for n := 0; !stopStorm.Load(); n++ {
				path := "/bin/true"
				if n%2 == 0 {
					path = bad
				}
				t0 := time.Now()
				err := exec.Command(path).Run()
				slowest[i] = max(slowest[i], time.Since(t0))
				execs.Add(1)
				if errors.Is(err, syscall.EPERM) {
					denials.Add(1)
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	before := denials.Load()
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	stopStorm.Store(true)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("storm execs still blocked 10s after the engine was killed")
	}
	worst := time.Duration(0)
	for _, d := range slowest {
		worst = max(worst, d)
	}
	t.Logf("%d execs, %d denied before the kill, slowest exec %v", execs.Load(), before, worst)
	if before == 0 {
		t.Error("no exec was denied before the kill: the engine was not enforcing")
	}
	if worst > 5*time.Second {
		t.Errorf("an exec took %v", worst)
	}
}
