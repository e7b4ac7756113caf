package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/vmtest"
)

var (
	buildOnce sync.Once
	buildErr  error
	binDir    string
)

// build compiles vigil and the storm workload once per run.
func build(b *testing.B) (vigil, storm string) {
	b.Helper()
	vmtest.RequireRoot(b)
	if vmtest.InGuest() {
		// test/vm/run.sh prebuilds cmd/vigil; the guest has no compiler,
		// so the storm comes built on the host: --extra storm (below).
		return vmtest.Helper(b, "../cmd/vigil"), guestStorm(b)
	}
	buildOnce.Do(func() {
		// Not under /tmp: the baseline policy denies exec from there.
		if buildErr = os.MkdirAll("out", 0o755); buildErr != nil {
			return
		}
		binDir, buildErr = os.MkdirTemp("out", "bin-")
		if buildErr != nil {
			return
		}
		if binDir, buildErr = filepath.Abs(binDir); buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "vigil"), "../cmd/vigil").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building vigil: %v: %s", err, out)
			return
		}
		out, err = exec.Command("gcc", "-O2", "-o", filepath.Join(binDir, "storm"), "workload/storm.c").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building storm: %v: %s", err, out)
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return filepath.Join(binDir, "vigil"), filepath.Join(binDir, "storm")
}

// monitor is a running peer: vigil, bpftrace or auditd.
type monitor struct {
	name  string
	cmd   *exec.Cmd
	log   *bytes.Buffer
	stop  func() error
	mu    sync.Mutex
	ready chan struct{}
}

// lineWatcher copies r into buf and closes ready at the first line that
// matches re.
func lineWatcher(r io.Reader, buf *bytes.Buffer, mu *sync.Mutex, re *regexp.Regexp, ready chan struct{}) {
	sc := bufio.NewScanner(r)
	once := sync.Once{}
	for sc.Scan() {
		mu.Lock()
		buf.Write(sc.Bytes())
		buf.WriteByte('\n')
		mu.Unlock()
		if re.Match(sc.Bytes()) {
			once.Do(func() { close(ready) })
		}
	}
}

// startProc starts cmd and waits until its stderr (or stdout) shows ready.
func startProc(b *testing.B, name string, cmd *exec.Cmd, readyRe string, useStdout bool) *monitor {
	b.Helper()
	m := &monitor{name: name, cmd: cmd, log: &bytes.Buffer{}, ready: make(chan struct{})}
	var pipe io.ReadCloser
	var err error
	if useStdout {
		pipe, err = cmd.StdoutPipe()
	} else {
		pipe, err = cmd.StderrPipe()
	}
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting %s: %v", name, err)
	}
	go lineWatcher(pipe, m.log, &m.mu, regexp.MustCompile(readyRe), m.ready)
	select {
	case <-m.ready:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		b.Fatalf("%s not ready in 60s: %s", name, m.logText())
	}
	m.stop = func() error {
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			return fmt.Errorf("%s did not stop on SIGINT", name)
		}
	}
	return m
}

func (m *monitor) logText() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.log.String()
}

// startVigil runs vigil monitor with args, events to /dev/null (vigil
// still decodes, enriches and encodes every one).
func startVigil(b *testing.B, vigil string, args ...string) *monitor {
	cmd := exec.Command(vigil, append([]string{"monitor", "--output", "json"}, args...)...)
	devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	cmd.Stdout = devnull
	return startProc(b, "vigil", cmd, `msg=ready`, false)
}

// startBpftrace runs a bpftrace program printing to /dev/null.
func startBpftrace(b *testing.B, prog string) *monitor {
	if _, err := exec.LookPath("bpftrace"); err != nil {
		b.Fatalf("bpftrace is not installed (bench/run.sh installs it): %v", err)
	}
	cmd := exec.Command("bpftrace", "-e", prog)
	cmd.Stderr = nil
	// bpftrace prints "Attaching N probes..." on stdout, then the events;
	// the watcher drops nothing, so keep the printing cheap for it: the
	// events go through the pipe like vigil's go to /dev/null.
	return startProc(b, "bpftrace", cmd, `^Attaching`, true)
}

// startAuditd starts auditd with the given syscall rules and removes
// them and stops it on stop.
func startAuditd(b *testing.B, syscalls ...string) *monitor {
	if _, err := exec.LookPath("auditd"); err != nil {
		b.Fatalf("auditd is not installed (bench/run.sh installs it): %v", err)
	}
	_ = os.MkdirAll("/var/log/audit", 0o700)
	cmd := exec.Command("auditd", "-f", "-n")
	m := &monitor{name: "auditd", cmd: cmd, log: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = m.log, m.log
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting auditd: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.Command("auditctl", "-s").Output()
		if bytes.Contains(out, []byte("pid "+strconv.Itoa(cmd.Process.Pid))) {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			b.Fatalf("auditd did not register: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, sc := range syscalls {
		if out, err := exec.Command("auditctl", "-a", "always,exit", "-F", "arch=b64", "-S", sc, "-k", "vigil-bench").CombinedOutput(); err != nil {
			b.Fatalf("auditctl -S %s: %v: %s", sc, err, out)
		}
	}
	m.stop = func() error {
		_ = exec.Command("auditctl", "-D", "-k", "vigil-bench").Run()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		_ = exec.Command("auditctl", "-e", "0").Run()
		_ = os.Remove("/var/log/audit/audit.log")
		return err
	}
	return m
}

// runStorm runs the storm workload and returns its elapsed time.
func runStorm(b *testing.B, storm string, args ...string) time.Duration {
	b.Helper()
	out, err := exec.Command(storm, args...).Output()
	if err != nil {
		b.Fatalf("storm %v: %v", args, err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		b.Fatalf("storm output %q: %v", out, err)
	}
	return time.Duration(ns)
}

// summary parses vigil's exit summary: total events and losses.
func summary(b *testing.B, log string) (events, lost uint64) {
	b.Helper()
	m := regexp.MustCompile(`(?m)^total\s+(\d+)\s+(\d+)$`).FindStringSubmatch(log)
	if m == nil {
		b.Fatalf("no summary in vigil's output:\n%s", log)
	}
	events, _ = strconv.ParseUint(m[1], 10, 64)
	lost, _ = strconv.ParseUint(m[2], 10, 64)
	return events, lost
}
