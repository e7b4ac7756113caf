package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/seccomp"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// TestMain lets the test binary act as vigil's probe helpers
// (doctor.HelperMain: vigil re-executes itself for them) and as this
// package's helper processes (vmtest.Main): "vigil" runs vigil with the
// helper's command line, "seccomp-child" installs a seccomp filter and
// waits for stdin to close, "wx" flips a page to executable, "rwx-mmap"
// maps writable, executable memory at once.
func TestMain(m *testing.M) {
	if code, ok := doctor.HelperMain(os.Stdout); ok {
		os.Exit(code)
	}
	vmtest.Main(m, vmtest.Helpers{
		"vigil":         vigilHelper,
		"seccomp-child": func([]string) int { return seccompChild() },
		"wx":            func([]string) int { return wxChild() },
		"rwx-mmap":      func([]string) int { return rwxMmapChild() },
		"memfd-exec":    memfdExecChild,
		"fd-exec":       fdExecChild,
		"module-try":    moduleTryChild,
	})
}

// vigilHelper is vigil itself, with args as its command line. A vigil that
// re-executes itself (vigil run's shim) gets this helper again, since the
// helper's variable is inherited.
func vigilHelper(args []string) int {
	return Run(context.Background(), args, os.Stdin, os.Stdout, os.Stderr)
}

// seccompChild installs an allow-all seccomp filter on every thread
// (TSYNC, so /proc/<pid>/status shows it), says "ready", and lives until
// its stdin closes.
func seccompChild() int {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return 3
	}
	insns, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: unix.SECCOMP_RET_ALLOW}})
	if err != nil {
		return 3
	}
	if _, err := seccomp.InstallFilter(insns, unix.SECCOMP_FILTER_FLAG_TSYNC); err != nil {
		return 4
	}
	os.Stdout.WriteString("ready\n")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// startSeccompChild starts the test binary as a seccomp-filtered child
// and returns its pid once the filter is in place; the child ends with
// the test.
func startSeccompChild(t *testing.T) int {
	t.Helper()
	cmd := vmtest.HelperCommand("seccomp-child")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("seccomp child: %q, %v", line, err)
	}
	return cmd.Process.Pid
}

// run runs vigil in this process and returns its exit code and output.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code := Run(ctx, args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// wxChild flips a fresh RW page to RX: the code-modification pattern a
// W^X rule stops.
func wxChild() int {
	mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return 3
	}
	if err := unix.Mprotect(mem, unix.PROT_READ|unix.PROT_EXEC); err != nil {
		return 4
	}
	return 0
}

// rwxMmapChild maps writable, executable memory at once, without mprotect.
func rwxMmapChild() int {
	if _, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANON); err != nil {
		return 3
	}
	return 0
}

// asNobody returns a command that runs a copy of the test binary as uid
// and gid 65534 as the "vigil" helper with args: the
// build directory is private to root, so the copy sits in a directory
// nobody can walk.
func asNobody(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	vmtest.RequireRoot(t)
	dir, err := os.MkdirTemp("", "vigil-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "vigil.test")
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := vmtest.AsHelper(exec.Command(exe, args...), "vigil")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	return cmd
}
