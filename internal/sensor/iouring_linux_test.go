package sensor

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// requireIOUring skips when this kernel gives no io_uring to the tests
// (CONFIG_IO_URING off, or kernel.io_uring_disabled): nothing to see.
func requireIOUring(t *testing.T) {
	t.Helper()
	r, err := newUring()
	if err != nil {
		if vmtest.InGuest() {
			t.Fatalf("io_uring in the guest: %v", err)
		}
		t.Skipf("no io_uring here: %v", err)
	}
	r.close()
	// io_uring's open requests are readable (struct io_open in req->cmd)
	// since 6.0; before, the open sensor cannot see them.
	ok, err := doctor.PointExists(doctor.Point{Kind: doctor.BTFField, Name: "io_kiocb.cmd"})
	if err == nil && !ok {
		err = fmt.Errorf("no io_kiocb.cmd in the kernel's BTF: %w", os.ErrNotExist)
	}
	vmtest.Require(t, "io_uring opens need io_kiocb.cmd", err)
}

// requireIOUringRung fails unless the open sensor covers io_uring: every
// kernel of the matrix has one of its tracepoint generations.
func requireIOUringRung(t *testing.T, m *Manager) {
	t.Helper()
	for _, ch := range m.Choices() {
		if ch.Type == event.TypeOpen && !strings.Contains(ch.Mechanism, "io_uring") {
			t.Fatalf("open events use %s, which misses io_uring (refused: %v)", ch.Mechanism, ch.Refused)
		}
	}
}

// uringOpen runs the uring helper as prog (the test binary or a copy) in
// dir and returns its pid, the result it printed and its output.
func uringOpen(t *testing.T, prog, dir, op, path string, flags int) (uint32, int64, string, error) {
	t.Helper()
	cmd := vmtest.AsHelper(exec.Command(prog, op, path, fmt.Sprint(flags)), "uring")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	var res int64
	if sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan() {
		res, _ = strconv.ParseInt(sc.Text(), 10, 64)
	}
	return uint32(cmd.Process.Pid), res, string(out), err
}

// TestIOUringOpen: opens through io_uring's IORING_OP_OPENAT and
// IORING_OP_OPENAT2 are open events with the path as passed, the flags,
// the result, the opener and via "io_uring", filtered by comm in the
// kernel (the helper's comm, though a create runs in an io-wq worker).
func TestIOUringOpen(t *testing.T) {
	vmtest.RequireRoot(t)
	requireIOUring(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "exists"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(dir, "vigil-uring-t")
	if err := copyFile(os.Args[0], prog); err != nil {
		t.Fatal(err)
	}
	m, c := startMonitor(t, Config{Types: []event.Type{event.TypeOpen}, Open: OpenFilter{Comms: []string{"vigil-uring-t"}}})
	requireIOUringRung(t, m)

	created := filepath.Join(dir, "created")
	for _, tc := range []struct {
		name, op, path string
		flags          int
		syscall        string
		resolved       string // "" for none
		errno          unix.Errno
		noResult       bool
	}{
		// O_CREAT never completes inline: io-wq opens it.
		{"openat create, absolute", "openat", created, unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC, "openat", created, 0, false},
		{"openat2 read, relative", "openat2", "exists", unix.O_RDONLY, "openat2", filepath.Join(dir, "exists"), 0, false},
		{"openat2 missing", "openat2", "missing", unix.O_RDONLY | unix.O_CLOEXEC, "openat2", "", unix.ENOENT, false},
		{"openat missing", "openat", "missing", unix.O_RDONLY, "openat", "", unix.ENOENT, false},
		{"openat, no completion on success", "openat-skip", "exists", unix.O_RDONLY, "openat", "", 0, true},
		// Into a registered file slot: the result is 0, the file is the slot's.
		{"openat2 into a fixed file slot", "openat2-fixed", "exists", unix.O_RDONLY, "openat2", filepath.Join(dir, "exists"), 0, false},
		// Fails being prepared: seen by io_uring_req_failed, with no name.
		{"openat2, bad name pointer", "openat2-fault", "", unix.O_RDONLY, "openat2", "", unix.EFAULT, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pid, res, out, err := uringOpen(t, prog, dir, tc.op, tc.path, tc.flags)
			if err != nil {
				t.Fatalf("uring helper: %v (output %q)", err, out)
			}
			ev := c.waitFor(t, 1, 5*time.Second, "the io_uring open", func(e *event.Event) bool {
				return e.Type == event.TypeOpen && e.Process.Pid == pid && e.Open.Path == tc.path
			})[0]
			o := ev.Open
			if o.Via != event.ViaIOUring || o.Syscall != tc.syscall || o.Flags != uint32(tc.flags) || o.Dirfd != unix.AT_FDCWD {
				t.Errorf("event %+v, want via io_uring, %s, flags %#x, dirfd AT_FDCWD", *o, tc.syscall, tc.flags)
			}
			if ev.Process.Comm != "vigil-uring-t" {
				t.Errorf("comm %q, want the submitter's", ev.Process.Comm)
			}
			switch {
			case tc.noResult:
				if !o.NoResult || o.ResolvedPath != "" {
					t.Errorf("event %+v, want no_result and no resolved path", *o)
				}
			case tc.errno != 0:
				if o.Result != -int64(tc.errno) || res != o.Result {
					t.Errorf("result %d (helper saw %d), want -%v", o.Result, res, tc.errno)
				}
			default:
				if o.Result < 0 || o.Result != res || o.ResolvedPath != tc.resolved || o.Unresolved {
					t.Errorf("event %+v, want the descriptor %d and resolved path %s", *o, res, tc.resolved)
				}
				if fixed := strings.HasSuffix(tc.op, "-fixed"); o.FixedFile != fixed {
					t.Errorf("fixed_file %v, want %v", o.FixedFile, fixed)
				}
			}
		})
	}
}

// TestIOUringOpenPrefixFilter: the in-kernel path prefix filter applies
// to io_uring's opens as to the system calls.
func TestIOUringOpenPrefixFilter(t *testing.T) {
	vmtest.RequireRoot(t)
	requireIOUring(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	for _, d := range []string{in, out} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m, c := startMonitor(t, Config{Types: []event.Type{event.TypeOpen}, Open: OpenFilter{Prefixes: []string{in + "/"}}})
	requireIOUringRung(t, m)
	pidOut, _, o, err := uringOpen(t, os.Args[0], dir, "openat", filepath.Join(out, "f"), unix.O_WRONLY|unix.O_CREAT)
	if err != nil {
		t.Fatalf("uring helper: %v (%q)", err, o)
	}
	pidIn, _, o, err := uringOpen(t, os.Args[0], dir, "openat2", filepath.Join(in, "f"), unix.O_WRONLY|unix.O_CREAT)
	if err != nil {
		t.Fatalf("uring helper: %v (%q)", err, o)
	}
	c.waitFor(t, 1, 5*time.Second, "the open inside the prefix", func(e *event.Event) bool {
		return e.Type == event.TypeOpen && e.Process.Pid == pidIn && e.Open.Via == event.ViaIOUring
	})
	time.Sleep(3 * pollInterval)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.evs {
		if e.Type == event.TypeOpen && (e.Process.Pid == pidOut || !strings.HasPrefix(e.Open.Path, in+"/")) {
			t.Errorf("open of %q (via %q) by pid %d passed the in-kernel prefix filter", e.Open.Path, e.Open.Via, e.Process.Pid)
		}
	}
}

// TestKillIOUringOpenInKernel: an in-kernel kill rule on open kills a
// process that opens the file through io_uring, inline or from an io-wq
// worker, before it can use the descriptor; a read is left alone.
func TestKillIOUringOpenInKernel(t *testing.T) {
	vmtest.RequireRoot(t)
	requireIOUring(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	rules := kernelRules(t, fmt.Sprintf(`rules:
  - name: no-write-secret
    event: open
    match:
      path: [%q]
      open_flags: [write]
    action: kill
`, secret))
	// Open events filtered to nothing: the rule still sees every open.
	m, c := startMonitor(t, Config{Types: []event.Type{event.TypeOpen}, Rules: rules,
		Open: OpenFilter{Prefixes: []string{"/nonexistent-vigil/"}}})
	requireIOUringRung(t, m)
	for _, tc := range []struct {
		op    string
		flags int
	}{
		{"openat", unix.O_WRONLY | unix.O_APPEND}, // completes inline, in the submitter
		{"openat2", unix.O_RDWR | unix.O_TRUNC},   // completes in an io-wq worker
		{"openat-fixed", unix.O_WRONLY},           // into a registered file slot
	} {
		pid, _, out, err := uringOpen(t, os.Args[0], dir, tc.op, secret, tc.flags)
		if !killedBySIGKILL(err) || strings.Contains(out, "survived") {
			t.Errorf("%s %#x: %v (output %q), want killed by SIGKILL before it continues", tc.op, tc.flags, err, out)
			continue
		}
		ev := c.waitFor(t, 1, 5*time.Second, "the killed open", func(e *event.Event) bool {
			return e.Type == event.TypeOpen && e.Process.Pid == pid
		})[0]
		if v := ev.Verdict; v == nil || v.Rule != "no-write-secret" || !v.Enforced || ev.Open.ResolvedPath != secret || ev.Open.Via != event.ViaIOUring {
			t.Errorf("%s: verdict %+v on %+v, want no-write-secret enforced on %s via io_uring", tc.op, v, *ev.Open, secret)
		}
	}
	vmtest.Mechanism(t, "enforced kill open via io_uring", "bpf_send_signal at tp_btf/io_uring_complete")
	if _, _, out, err := uringOpen(t, os.Args[0], dir, "openat", secret, unix.O_RDONLY); err != nil || !strings.Contains(out, "survived") {
		t.Fatalf("read open through io_uring: %v (output %q), want it to run on", err, out)
	}
}
