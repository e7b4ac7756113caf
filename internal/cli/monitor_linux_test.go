package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

func TestMonitorEndToEnd(t *testing.T) {
	vmtest.RequireRoot(t)
	var out, errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"monitor", "--events", "exec,exit", "--output", "json"}, nil, &out, &errb)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errb.String(), "msg=ready") {
		if time.Now().After(deadline) {
			t.Fatalf("no ready line; stderr: %s", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	marker := fmt.Sprintf("vigil-e2e-%d", time.Now().UnixNano())
	cmd := exec.Command("sh", "-c", "exit 3", marker)
	_ = cmd.Run()
	pid := uint32(cmd.Process.Pid)
	var sawExec, sawExit bool
	for time.Now().Before(deadline) && !(sawExec && sawExit) {
		time.Sleep(50 * time.Millisecond)
		sawExec, sawExit = false, false
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev event.Event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
			}
			if ev.Process.Pid != pid {
				continue
			}
			switch ev.Type {
			case event.TypeExec:
				sawExec = len(ev.Exec.Args) == 4 && ev.Exec.Args[3] == marker
			case event.TypeExit:
				sawExit = ev.Exit.Code == 3
			}
		}
	}
	if !sawExec || !sawExit {
		t.Fatalf("exec seen %v, exit 3 seen %v; output:\n%s", sawExec, sawExit, out.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit code %d; stderr %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("monitor did not stop on cancel")
	}
	for _, want := range []string{"mechanism chosen", "TYPE", "exec", "total"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
}

func TestMonitorCount(t *testing.T) {
	vmtest.RequireRoot(t)
	var out, errb syncBuffer
	result := make(chan int, 1)
	go func() {
		result <- Run(context.Background(), []string{"monitor", "--events", "exec", "--count", "5", "--duration", "60s", "-o", "json"}, nil, &out, &errb)
	}()
	// Execs start once the hooks are in: attaching while a storm forks
	// can take minutes under emulation (the kernel matrix).
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(errb.String(), "msg=ready") {
		if time.Now().After(deadline) {
			t.Fatalf("no ready line; stderr: %s", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var code int
	for done := false; !done; {
		_ = exec.Command("true").Run()
		select {
		case code = <-result:
			done = true
		case <-time.After(20 * time.Millisecond):
		}
	}
	if code != 0 {
		t.Fatalf("code %d: %s", code, errb.String())
	}
	if n := strings.Count(out.String(), "\n"); n != 5 {
		t.Fatalf("--count 5 wrote %d lines", n)
	}
}

func TestMonitorNotRoot(t *testing.T) {
	cmd := asNobody(t, "monitor", "--duration", "1s")
	outb, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("as nobody: %v, want exit status 1; output %s", err, outb)
	}
	if !strings.Contains(string(outb), "must run as root") {
		t.Fatalf("as nobody: output %q does not say it must run as root", outb)
	}
}
