package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/metrics/promtest"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// notifySocket listens where systemd would, and hands over each datagram.
func notifySocket(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOTIFY_SOCKET", path)
	ch := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			ch <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return ch
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func recv(t *testing.T, ch <-chan string, want string) string {
	t.Helper()
	select {
	case m := <-ch:
		if !strings.HasPrefix(m, want) {
			t.Fatalf("notification %q, want %s", m, want)
		}
		return m
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s notification", want)
	}
	return ""
}

// TestMonitorAsService runs vigil monitor as the systemd unit does: from
// a config file (with a policy), with NOTIFY_SOCKET, a rotated output
// file and metrics scraped by a real Prometheus (events and the policy's
// verdicts), then reloads it with SIGHUP.
func TestMonitorAsService(t *testing.T) {
	vmtest.RequireRoot(t)
	notes := notifySocket(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "vigil.ndjson")
	cfgPath := filepath.Join(dir, "vigil.yaml")
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte("rules:\n  - name: log-sleep\n    event: exec\n    match:\n      comm: [sleep]\n    action: log\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("events: [exec, exit]\npolicies: [%s]\noutputs:\n  stdout: none\n  file: {path: %s, max_mb: 1, keep: 2}\nmetrics: {addr: '127.0.0.1:0'}\n", pol, file)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"monitor", "--config", cfgPath, "--events", "exec"}, nil, &out, &errb)
	}()

	recv(t, notes, "READY=1")
	if !strings.Contains(errb.String(), "msg=ready") {
		t.Fatalf("READY=1 came before the ready line:\n%s", errb.String())
	}
	m := regexp.MustCompile(`msg="serving metrics" addr=(\S+)`).FindStringSubmatch(errb.String())
	if m == nil {
		t.Fatalf("no metrics line:\n%s", errb.String())
	}
	api := promtest.Start(t, m[1])

	marker := fmt.Sprintf("vigil-svc-%d", time.Now().UnixNano())
	if err := exec.Command("sh", "-c", "exit 0", marker).Run(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the exec in the output file", func() bool {
		data, _ := os.ReadFile(file)
		return strings.Contains(string(data), marker)
	})
	waitFor(t, "prometheus to see exec events", func() bool {
		v, ok, _ := promtest.Query(api, `vigil_events_total{type="exec"}`)
		return ok && v > 0
	})
	if err := exec.Command("sleep", "0").Run(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "prometheus to see the config's policy verdict", func() bool {
		v, ok, _ := promtest.Query(api, `vigil_verdicts_total{rule="log-sleep",action="log"}`)
		return ok && v > 0
	})

	if err := os.WriteFile(cfgPath, []byte(cfg+"ring_mb: 32\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	recv(t, notes, "RELOADING=1")
	recv(t, notes, "READY=1")
	for _, want := range []string{"reloading on SIGHUP", `msg="config key changed; it takes effect at the next start" key=ring_mb`} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("monitor did not stop")
	}
	if out.String() != "" {
		t.Errorf("stdout: none still wrote %q", out.String())
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev event.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		if ev.Type != event.TypeExec && ev.Type != event.TypeLost {
			t.Fatalf("--events exec overrides the config's [exec, exit], got %s", ev.Type)
		}
	}
}

func TestMonitorBadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(path, []byte("events: [exec]\noutput:\n  stdout: json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "monitor", "--config", path)
	if code != 2 || !strings.Contains(errOut, "line 2: field output not found") {
		t.Fatalf("code %d, stderr %q: want a usage error naming line 2", code, errOut)
	}
}

// TestMonitorConfigFilters: the config file's kernel filters and switches
// (file.prefixes, outputs.alerts_only) act as their flags do: an unlink
// outside file.prefixes is never reported, though a rule would match it,
// and events without a severity are left out of the output.
func TestMonitorConfigFilters(t *testing.T) {
	vmtest.RequireRoot(t)
	dir := t.TempDir()
	in, outside := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	for _, d := range []string{in, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte(fmt.Sprintf("rules:\n  - name: unlink-here\n    event: unlink\n    severity: low\n    match:\n      path_prefix: [%s/]\n    action: log\n", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "vigil.yaml")
	cfg := fmt.Sprintf("events: [exec, unlink]\npolicies: [%s]\nfile:\n  prefixes: [%s/]\noutputs:\n  stdout: json\n  alerts_only: true\n", pol, in)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- Run(ctx, []string{"monitor", "--config", cfgPath}, nil, &out, &errb) }()
	waitFor(t, "the ready line", func() bool { return strings.Contains(errb.String(), "msg=ready") })

	outFile, inFile := filepath.Join(outside, "b"), filepath.Join(in, "a")
	for _, p := range []string{outFile, inFile} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// By other processes: vigil leaves out its own. The outside one
	// first: it would be seen before the other. rm's exec is an event
	// without a severity.
	for _, p := range []string{outFile, inFile} {
		if out, err := exec.Command("rm", p).CombinedOutput(); err != nil {
			t.Fatalf("rm: %v: %s", err, out)
		}
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), inFile); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no alert for the unlink inside file.prefixes; stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("monitor did not stop")
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		var ev event.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		if ev.Verdict == nil || ev.Verdict.Severity == "" {
			t.Errorf("alerts_only wrote an event without a severity: %s", sc.Text())
		}
		if ev.Type == event.TypeUnlink && ev.File.Path == outFile {
			t.Errorf("the unlink outside file.prefixes was reported: %s", sc.Text())
		}
		if ev.Type == event.TypeUnlink && ev.File.Path == inFile {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d alerts for the unlink inside file.prefixes, want 1:\n%s", n, out.String())
	}
}
