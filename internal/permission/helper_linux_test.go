package permission

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/fanotify"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// Every engine under test runs in a helper process: the test binary run
// again as helper "engine" (see TestMain). The test process forks the
// programs the engine judges, and a process that forks while it holds a
// fanotify group can deadlock with its own child (see Run); in a helper
// that never forks, the kernel releases the group whenever the helper
// dies, so a failing test cannot leave execs on this shared machine
// blocked.

func TestMain(m *testing.M) {
	vmtest.Main(m, vmtest.Helpers{"engine": engineHelper, "cgopen": cgroupOpenHelper})
}

// helperOpts configures the helper engine.
type helperOpts struct {
	TimeoutMS int    `json:"timeout_ms,omitempty"`
	OnTimeout string `json:"on_timeout,omitempty"` // "allow" or "deny"
	Workers   int    `json:"workers,omitempty"`
	Hook      string `json:"hook,omitempty"` // "", "slow" (20ms per decision) or "hang" (until shutdown)
}

// engineHelper is the engine process the tests start, with arguments
// POLICY-FILE and helperOpts as JSON. It prints "ready", then "entered"
// each time a worker enters its hook, "event JSON" per denial, and
// "stats JSON" when SIGTERM has stopped the engine; errors go to stderr
// with exit code 1.
func engineHelper(args []string) int {
	if len(args) != 2 {
		fmt.Fprintf(os.Stderr, "engine helper: arguments %q, want POLICY OPTS-JSON\n", args)
		return 2
	}
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "engine helper:", err); return 1 }
	// A last resort for a shared machine: whatever happens, this engine
	// goes away within a minute, and with it every mark.
	time.AfterFunc(time.Minute, func() { os.Exit(3) })
	var o helperOpts
	if err := json.Unmarshal([]byte(args[1]), &o); err != nil {
		return fail(err)
	}
	rules, err := planFanotify(args[0])
	if err != nil {
		return fail(err)
	}
	var out sync.Mutex
	say := func(s string) { out.Lock(); fmt.Println(s); out.Unlock() }
	cfg := Config{Rules: rules, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), Workers: o.Workers, Timeout: time.Duration(o.TimeoutMS) * time.Millisecond,
		Emit: func(ev *event.Event) { b, _ := ev.MarshalJSON(); say("event " + string(b)) }}
	if o.OnTimeout == "allow" {
		cfg.OnTimeout = AnswerAllow
	}
	e, err := New(cfg)
	if err != nil {
		return fail(err)
	}
	release := make(chan struct{})
	switch o.Hook {
	case "slow":
		e.testHook = func() { time.Sleep(20 * time.Millisecond) }
	case "hang":
		e.testHook = func() { say("entered"); <-release }
	}
	// SIGTERM stops the engine. (Not EOF on stdin: a child the test
	// forked that is blocked in execve still holds the pipe's write end.)
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	select {
	case <-e.Ready():
	case err := <-done:
		return fail(err)
	}
	say("ready")
	<-ctx.Done()
	time.AfterFunc(500*time.Millisecond, func() { close(release) })
	if err := <-done; err != nil {
		return fail(err)
	}
	b, _ := json.Marshal(e.Stats())
	say("stats " + string(b))
	return 0
}

// planFanotify loads a policy and returns the rules Plan gives to
// fanotify on this machine.
func planFanotify(path string) ([]*policy.Rule, error) {
	set, err := policy.Load(path)
	if err != nil {
		return nil, err
	}
	plan, err := set.Plan(policy.Available{Fanotify: true, FanotifyErrno: fanotify.ProbeDenyErrno() == nil})
	if err != nil {
		return nil, err
	}
	var rules []*policy.Rule
	for _, r := range set.Rules {
		if plan[r] == policy.MechFanotify {
			rules = append(rules, r)
		}
	}
	return rules, nil
}

// helper is a running helper engine.
type helper struct {
	cmd   *exec.Cmd
	lines chan string
	mu    sync.Mutex
	evs   []*event.Event
	stats Stats
	done  chan struct{}
}

// startHelper writes yaml to dir/policy.yaml and starts an engine for it,
// returning once the engine answers events. The helper is killed when
// the test ends, and by the kernel if the test process dies.
func startHelper(t testing.TB, dir, yaml string, o helperOpts) *helper {
	t.Helper()
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	opts, _ := json.Marshal(o)
	cmd := vmtest.HelperCommand("engine", pol, string(opts))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, lines: make(chan string, 64), done: make(chan struct{})}
	t.Cleanup(func() { cmd.Process.Kill(); <-h.done; cmd.Wait() })
	go h.scan(stdout)
	select {
	case l := <-h.lines:
		if l != "ready" {
			t.Fatalf("helper said %q", l)
		}
	case <-h.done:
		t.Fatal("helper exited before it was ready")
	case <-time.After(5 * time.Second):
		t.Fatal("helper not ready after 5s")
	}
	return h
}

func (h *helper) scan(r io.Reader) {
	defer close(h.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "event "):
			ev := &event.Event{}
			if ev.UnmarshalJSON([]byte(l[len("event "):])) == nil {
				h.mu.Lock()
				h.evs = append(h.evs, ev)
				h.mu.Unlock()
			}
		case strings.HasPrefix(l, "stats "):
			h.mu.Lock()
			json.Unmarshal([]byte(l[len("stats "):]), &h.stats)
			h.mu.Unlock()
		default:
			select {
			case h.lines <- l:
			default:
			}
		}
	}
}

// shutdown asks the helper's engine to stop (SIGTERM).
func (h *helper) shutdown() { h.cmd.Process.Signal(syscall.SIGTERM) }

// stop shuts the engine down cleanly and returns its final counters.
func (h *helper) stop(t testing.TB) Stats {
	t.Helper()
	h.shutdown()
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		t.Fatal("helper did not stop within 10s")
	}
	if err := h.cmd.Wait(); err != nil {
		t.Errorf("helper: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

// find returns the denial event of rule for path, waiting a little for
// it to arrive through the pipe.
func (h *helper) find(rule, path string) *event.Event {
	for range 50 {
		h.mu.Lock()
		for _, ev := range h.evs {
			if ev.Verdict != nil && ev.Verdict.Rule == rule && policy.EventPath(ev) == path {
				h.mu.Unlock()
				return ev
			}
		}
		h.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// mustHavePerm skips unless we are root and doctor's probes say the
// kernel has fanotify permission events for opens and execs; in the VM
// matrix it fails instead (see vmtest.Require).
func mustHavePerm(t testing.TB) {
	t.Helper()
	vmtest.RequireRoot(t)
	for _, probe := range []string{"fanotify-open-perm", "fanotify-exec-perm"} {
		_, err := doctor.Check(probe)
		vmtest.Require(t, "doctor probe "+probe, err)
	}
}

// tempDir makes a directory only this test uses, under base (/tmp or
// /var/tmp): other people's programs on this machine run from /tmp, so a
// test policy never names anything wider than its own directory.
func tempDir(t testing.TB, base string) string {
	t.Helper()
	d, err := os.MkdirTemp(base, "vigil-enf-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// script writes an executable shell script that creates marker.
func script(t testing.TB, path, marker string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf("#!/bin/sh\ntouch %s\n", marker)
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }
