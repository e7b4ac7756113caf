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
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/doctor"
)

// testHelperEnv makes the test binary act as a helper process (Go's
// os/exec pattern): "cli" runs vigil with $VIGIL_TEST_CLI_ARGS,
// "seccomp-child" installs a seccomp filter and waits for stdin to close.
const testHelperEnv = "VIGIL_TEST_HELPER"

func TestMain(m *testing.M) {
	if code, ok := doctor.HelperMain(os.Stdout); ok {
		os.Exit(code)
	}
	if os.Getenv("VIGIL_CLI_HELPER") == "1" { // vigil itself, arguments from argv
		os.Exit(Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	switch os.Getenv(testHelperEnv) {
	case "cli":
		os.Exit(Run(context.Background(), strings.Fields(os.Getenv("VIGIL_TEST_CLI_ARGS")), os.Stdin, os.Stdout, os.Stderr))
	case "seccomp-child":
		os.Exit(seccompChild())
	case "wx":
		os.Exit(wxChild())
	case "rwx-mmap":
		os.Exit(rwxMmapChild())
	}
	os.Exit(m.Run())
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
	prog := unix.SockFprog{Len: uint16(len(insns)), Filter: (*unix.SockFilter)(unsafe.Pointer(&insns[0]))}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog))); errno != 0 {
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
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), testHelperEnv+"=seccomp-child")
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

func mustBeRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
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
// and gid 65534 with vigil's arguments (the VIGIL_CLI_HELPER form): the
// build directory is private to root, so the copy sits in a directory
// nobody can walk.
func asNobody(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	mustBeRoot(t)
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
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VIGIL_CLI_HELPER=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	return cmd
}
