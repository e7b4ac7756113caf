package sensor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proc"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// collector is an event.Sink that keeps every event.
type collector struct {
	mu  sync.Mutex
	evs []event.Event
}

func (c *collector) Emit(ev *event.Event) error {
	c.mu.Lock()
	c.evs = append(c.evs, *ev)
	// The reader reuses the ancestors' array: a sink must not keep it.
	c.evs[len(c.evs)-1].Process.Ancestors = slices.Clone(ev.Process.Ancestors)
	c.mu.Unlock()
	return nil
}

func (c *collector) Flush() error { return nil }

// waitFor returns the events matching pred once there are at least n,
// or fails after timeout.
func (c *collector) waitFor(t *testing.T, n int, timeout time.Duration, what string, pred func(*event.Event) bool) []event.Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var got []event.Event
		c.mu.Lock()
		for i := range c.evs {
			if pred(&c.evs[i]) {
				got = append(got, c.evs[i])
			}
		}
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: got %d of %d events in %v", what, len(got), n, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startMonitor starts a manager for cfg and stops it when the test ends.
func startMonitor(t *testing.T, cfg Config) (*Manager, *collector) {
	t.Helper()
	vmtest.RequireRoot(t)
	if cfg.SelfTgid == 0 {
		cfg.SelfTgid = uint32(os.Getpid())
	}
	table := proc.NewTable("/proc", 0)
	m, err := New(cfg, table)
	if err != nil {
		t.Fatalf("starting sensors: %v", err)
	}
	if err := table.Seed(); err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- m.Run(stop, c, time.Second) }()
	t.Cleanup(func() {
		close(stop)
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	for _, ch := range m.Choices() {
		t.Logf("%s: %s (refused: %v)", ch.Type, ch.Mechanism, ch.Refused)
		if _, isEvent := event.ParseType(string(ch.Type)); cfg.ForceMechanism == "" && isEvent {
			vmtest.Mechanism(t, "event "+string(ch.Type), ch.Mechanism)
			// The matrix kernels offer fentry/fexit: vigil must prefer them.
			// Open's best adds io_uring's tracepoints where they exist.
			if want, ok := guestBest[ch.Type]; ok && vmtest.InGuest() && !bestOrItsCompat(ch.Mechanism, want) &&
				!strings.HasPrefix(ch.Mechanism, want+" + ") && !lacksSyscallRegs(want) {
				t.Errorf("%s events use %s in the guest, want %s (refused: %v)", ch.Type, ch.Mechanism, want, ch.Refused)
			}
		}
	}
	return m, c
}

// bestOrItsCompat reports whether got is want, or want's compat twin
// (doctor.Ladders) where a probe of doctor.CompatProbes says the kernel
// lacks what want's default object uses.
func bestOrItsCompat(got, want string) bool {
	if got == want {
		return true
	}
	if !strings.HasPrefix(got, want+" (compat: ") {
		return false
	}
	for _, p := range doctor.CompatProbes {
		if _, err := doctor.Check(p); err != nil {
			return true
		}
	}
	return false
}

// guestBest is the mechanism each event type must use on the matrix
// kernels, where every mechanism loads.
var guestBest = map[event.Type]string{
	event.TypeFork:      "fexit/kernel_clone",
	event.TypeExit:      "fentry/acct_collect (in do_exit)",
	event.TypeModule:    doctor.ModuleFentry,
	event.TypeMprotect:  doctor.MprotectFentry,
	event.TypeOpen:      doctor.OpenFentry,
	event.TypeCred:      "fentry/commit_creds",
	event.TypeNamespace: doctor.NamespaceFentry,
}

func TestProcessLifecycle(t *testing.T) {
	// The best mechanism the kernel offers, then the tp_btf fallback
	// forced (the same on hosts that refuse fentry).
	for _, force := range []string{"", "tp_btf"} {
		t.Run("mechanism="+force, func(t *testing.T) { testProcessLifecycle(t, force) })
	}
}

func testProcessLifecycle(t *testing.T, force string) {
	m, c := startMonitor(t, Config{Types: []event.Type{event.TypeFork, event.TypeExec, event.TypeExit}, ForceMechanism: force})
	fexit := false
	for _, ch := range m.Choices() {
		fexit = fexit || ch.Mechanism == "fexit/kernel_clone"
	}
	marker := fmt.Sprintf("vigil-marker-%d", time.Now().UnixNano())
	cmd := helper("exit", marker, "7")
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("helper: %v, want exit status 7", err)
	}
	child := uint32(cmd.Process.Pid)
	me := uint32(os.Getpid())

	forks := c.waitFor(t, 1, 5*time.Second, "fork of the helper", func(e *event.Event) bool {
		return e.Type == event.TypeFork && e.Fork.ChildPid == child
	})
	if f := forks[0]; f.Process.Pid != me || f.Fork.Thread || f.Fork.ChildTid != child {
		t.Errorf("fork event = %+v %+v, want parent %d, child %d, a process", f.Process, *f.Fork, me, child)
	}
	// fexit/kernel_clone sees the clone flags: a plain fork-like clone has
	// no CLONE_THREAD, and SIGCHLD as its exit signal.
	if f := forks[0].Fork; fexit && (!f.HasFlags || f.CloneFlags&unix.CLONE_THREAD != 0) {
		t.Errorf("fork via fexit: flags %#x (known %v), want known and no CLONE_THREAD", f.CloneFlags, f.HasFlags)
	} else if !fexit && f.HasFlags {
		t.Errorf("fork via tp_btf claims clone flags %#x", f.CloneFlags)
	}
	execs := c.waitFor(t, 1, 5*time.Second, "exec of the helper", func(e *event.Event) bool {
		return e.Type == event.TypeExec && e.Process.Pid == child
	})
	x := execs[0]
	if want := []string{os.Args[0], marker, "7"}; !equal(x.Exec.Args, want) {
		t.Errorf("exec args = %q, want %q", x.Exec.Args, want)
	}
	self, _ := os.Executable()
	if x.Exec.Path != self || x.Exec.BaseAddr == 0 || x.Process.Ppid != me || x.Exec.Ino == 0 {
		t.Errorf("exec = path %q base %#x ppid %d ino %d; want path %q, base != 0, ppid %d, ino != 0",
			x.Exec.Path, x.Exec.BaseAddr, x.Process.Ppid, x.Exec.Ino, self, me)
	}
	if x.Process.Exe != self {
		t.Errorf("exec process.exe = %q, want %q", x.Process.Exe, self)
	}
	// The chain starts at this test (seeded from /proc: its cmdline and
	// start time) and goes up to pid 1 or MaxAncestors.
	if anc := x.Process.Ancestors; len(anc) == 0 || anc[0].Pid != me || anc[0].Exe != self || anc[0].Start.IsZero() ||
		len(anc[0].Args) == 0 || anc[0].Args[0] != os.Args[0] {
		t.Errorf("exec ancestors = %+v, want this test (%d, %s, with args and start time) first", anc, me, self)
	} else if last := anc[len(anc)-1]; last.Pid != 1 && len(anc) != event.MaxAncestors {
		t.Errorf("exec ancestors end at %d after %d, want pid 1 or %d of them", last.Pid, len(anc), event.MaxAncestors)
	}
	exits := c.waitFor(t, 1, 5*time.Second, "exit of the helper", func(e *event.Event) bool {
		return e.Type == event.TypeExit && e.Process.Pid == child && !e.Exit.Thread
	})
	if e := exits[0].Exit; e.Code != 7 || e.Signal != 0 {
		t.Errorf("exit = %+v, want code 7, no signal", *e)
	}
}

func TestExitSignal(t *testing.T) {
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeExit}})
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(unix.SIGTERM)
	_ = cmd.Wait()
	pid := uint32(cmd.Process.Pid)
	exits := c.waitFor(t, 1, 5*time.Second, "exit by SIGTERM", func(e *event.Event) bool {
		return e.Type == event.TypeExit && e.Process.Pid == pid && !e.Exit.Thread
	})
	if e := exits[0].Exit; e.Signal != int32(unix.SIGTERM) {
		t.Errorf("exit = %+v, want signal SIGTERM", *e)
	}
}

func TestMprotectWX(t *testing.T) {
	// MprotectAll: the default events leave out the RW -> R below.
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeMprotect}, MprotectAll: true})
	cmd := helper("wx")
	if err := cmd.Run(); err != nil {
		t.Fatalf("wx helper: %v", err)
	}
	pid := uint32(cmd.Process.Pid)
	wx := c.waitFor(t, 2, 5*time.Second, "two W^X mprotects", func(e *event.Event) bool {
		return e.Type == event.TypeMprotect && e.Process.Pid == pid && e.Mprotect.WX
	})
	flip, rwx := wx[0].Mprotect, wx[1].Mprotect
	if flip.Prot != unix.PROT_READ|unix.PROT_EXEC || !flip.HasOld || flip.OldProt != unix.PROT_READ|unix.PROT_WRITE || flip.Result != 0 {
		t.Errorf("RW->RX event = %+v", *flip)
	}
	if rwx.Prot != unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC || rwx.Result != 0 {
		t.Errorf("RWX event = %+v", *rwx)
	}
	plain := c.waitFor(t, 1, 5*time.Second, "the RW -> R mprotect", func(e *event.Event) bool {
		return e.Type == event.TypeMprotect && e.Process.Pid == pid && e.Mprotect.Prot == unix.PROT_READ
	})
	// Neither W nor X requested: no W^X possible, so the old protection
	// is not looked up (docs/events.md).
	if p := plain[0].Mprotect; p.WX || p.HasOld {
		t.Errorf("RW->R event = %+v, want no wx and no old protection", *p)
	}
}

func TestModuleAttempt(t *testing.T) {
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeModule}})
	ko := filepath.Join(t.TempDir(), "bogus.ko")
	if err := os.WriteFile(ko, []byte("not an ELF module"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := helper("module", ko)
	if err := cmd.Run(); err != nil {
		t.Fatalf("module helper: %v", err)
	}
	pid := uint32(cmd.Process.Pid)
	evs := c.waitFor(t, 2, 5*time.Second, "finit_module and init_module attempts", func(e *event.Event) bool {
		return e.Type == event.TypeModule && e.Process.Pid == pid
	})
	byCall := map[string]*event.Module{}
	for _, e := range evs {
		byCall[e.Module.Syscall] = e.Module
	}
	f, i := byCall["finit_module"], byCall["init_module"]
	if f == nil || i == nil {
		t.Fatalf("module events = %+v, want one finit_module and one init_module", evs)
	}
	if f.Path != ko || f.Result >= 0 || f.Fd < 0 {
		t.Errorf("finit_module event = %+v, want path %s and an error", *f, ko)
	}
	if i.Result >= 0 {
		t.Errorf("init_module event = %+v, want an error", *i)
	}
	t.Logf("finit_module: %s, init_module: %s", event.ErrnoName(f.Result), event.ErrnoName(i.Result))
}

// TestModuleLoadInGuest loads a real module in the matrix kernels (hosts
// have none) and checks the event names it, as fentry/do_init_module or
// the module's .modinfo tells.
func TestModuleLoadInGuest(t *testing.T) {
	ko := vmtest.Module(t, "dummy")
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeModule}})
	cmd := helper("module-load", ko)
	if err := cmd.Run(); err != nil {
		t.Fatalf("loading %s: %v", ko, err)
	}
	evs := c.waitFor(t, 1, 10*time.Second, "the module load", func(e *event.Event) bool {
		return e.Type == event.TypeModule && e.Process.Pid == uint32(cmd.Process.Pid)
	})
	if m := evs[0].Module; m.Syscall != "finit_module" || m.Name != "dummy" || m.Result != 0 || m.Path != ko {
		t.Errorf("module event = %+v, want finit_module of dummy from %s, result 0", *m, ko)
	}
}

func TestOpenFiltered(t *testing.T) {
	dir := t.TempDir()
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeOpen}, Open: OpenFilter{Prefixes: []string{dir + "/"}}})
	path := filepath.Join(dir, fmt.Sprintf("unique-%d", time.Now().UnixNano()))
	// Opened from a child: the monitor ignores its own process.
	cmd := exec.Command("sh", "-c", `echo hi > "$1"; cat "$1" > /dev/null; cat /proc/version > /dev/null`, "sh", path)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	evs := c.waitFor(t, 2, 5*time.Second, "two opens of the unique path", func(e *event.Event) bool {
		return e.Type == event.TypeOpen && e.Open.Path == path
	})
	w := evs[0].Open
	if w.Flags&unix.O_ACCMODE != unix.O_WRONLY || w.Flags&unix.O_CREAT == 0 || w.Result < 0 || w.ResolvedPath != path {
		t.Errorf("write open = %+v, want O_WRONLY|O_CREAT, a descriptor and resolved path %s", *w, path)
	}
	if r := evs[1].Open; r.Flags&unix.O_ACCMODE != unix.O_RDONLY || r.Result < 0 {
		t.Errorf("read open = %+v, want O_RDONLY and a descriptor", *r)
	}
	time.Sleep(3 * pollInterval)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.evs {
		if e.Type == event.TypeOpen && !strings.HasPrefix(e.Open.Path, dir+"/") {
			t.Errorf("open of %q by %s (pid %d tid %d) passed the in-kernel prefix filter: %+v", e.Open.Path, e.Process.Comm, e.Process.Pid, e.Process.Tid, *e.Open)
		}
	}
}

func TestOpenFailureAndRelative(t *testing.T) {
	dir := t.TempDir()
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeOpen}, Open: OpenFilter{Comms: []string{"vigil-open-t"}}})
	if err := os.WriteFile(filepath.Join(dir, "rel"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(dir, "vigil-open-t")
	if err := copyFile(os.Args[0], cp); err != nil {
		t.Fatal(err)
	}
	cmd := vmtest.AsHelper(exec.Command(cp, "rel", "missing"), "open")
	cmd.Dir = dir
	if err := cmd.Run(); err != nil {
		t.Fatalf("open helper: %v", err)
	}
	evs := c.waitFor(t, 2, 5*time.Second, "the relative opens", func(e *event.Event) bool {
		return e.Type == event.TypeOpen && (e.Open.Path == "rel" || e.Open.Path == "missing")
	})
	for _, e := range evs {
		switch e.Open.Path {
		case "rel":
			if e.Open.ResolvedPath != filepath.Join(dir, "rel") {
				t.Errorf("relative open resolved to %q, want %q", e.Open.ResolvedPath, filepath.Join(dir, "rel"))
			}
		case "missing":
			if e.Open.Result != -int64(unix.ENOENT) {
				t.Errorf("open of a missing file: result %d, want -ENOENT", e.Open.Result)
			}
		}
	}
}

func TestExecBurstNoLoss(t *testing.T) {
	m, c := startMonitor(t, Config{Types: []event.Type{event.TypeExec, event.TypeExit}})
	dir := t.TempDir()
	// Named "true" so that busybox, /bin/true in the matrix guests,
	// still knows which applet it is.
	bin := filepath.Join(dir, "true")
	if err := copyFile("/bin/true", bin); err != nil {
		t.Fatal(err)
	}
	n := 2000
	if vmtest.InGuest() {
		n = 300 // software emulation runs execs ~20x slower
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := exec.Command(bin).Run(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("burst exec: %v", err)
	}
	c.waitFor(t, n, 30*time.Second, "exec events of the burst", func(e *event.Event) bool {
		return e.Type == event.TypeExec && e.Exec.Path == bin
	})
	time.Sleep(5 * pollInterval)
	execs := c.waitFor(t, n, time.Second, "exec events of the burst", func(e *event.Event) bool {
		return e.Type == event.TypeExec && e.Exec.Path == bin
	})
	if len(execs) != n {
		t.Errorf("got %d exec events for %d execs", len(execs), n)
	}
	pids := map[uint32]bool{}
	for _, e := range execs {
		pids[e.Process.Pid] = true
	}
	exits := c.waitFor(t, n, 5*time.Second, "exit events of the burst", func(e *event.Event) bool {
		return e.Type == event.TypeExit && pids[e.Process.Pid]
	})
	if len(exits) != n {
		t.Errorf("got %d exit events for %d processes", len(exits), n)
	}
	if err := m.reportLost(c); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Lost[event.TypeExec] != 0 || st.Lost[event.TypeExit] != 0 || st.DecodeErrors != 0 {
		t.Errorf("losses: %+v", st)
	}
}

func TestHostileNamesRoundTrip(t *testing.T) {
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeExec}})
	dir := filepath.Join(t.TempDir(), "new\nline")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bad\xff\xfename")
	if err := copyFile(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	cmd := vmtest.AsHelper(exec.Command(bin, "arg\nwith newline", "\x80\x81", "0"), "exit")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	evs := c.waitFor(t, 1, 5*time.Second, "exec of the hostile path", func(e *event.Event) bool {
		return e.Type == event.TypeExec && e.Process.Pid == uint32(cmd.Process.Pid)
	})
	line := evs[0].AppendJSON(nil)
	if bytes.IndexByte(line, '\n') >= 0 || !json.Valid(line) {
		t.Fatalf("JSON line broken: %s", line)
	}
	var back event.Event
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatal(err)
	}
	if back.Exec.Path != bin || back.Exec.Filename != bin {
		t.Errorf("path round trip: got %q / %q, want %q", back.Exec.Path, back.Exec.Filename, bin)
	}
	if want := []string{bin, "arg\nwith newline", "\x80\x81", "0"}; !equal(back.Exec.Args, want) {
		t.Errorf("args round trip: got %q, want %q", back.Exec.Args, want)
	}
}

func TestMemfdAndDeletedExec(t *testing.T) {
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeExec}})
	// A deleted binary, still executable through its open descriptor.
	dir := t.TempDir()
	bin := filepath.Join(dir, "vigil-deleted")
	if err := copyFile(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	del := vmtest.AsHelper(exec.Command("/proc/self/fd/3", "0"), "exit")
	del.ExtraFiles = []*os.File{f}
	if err := del.Run(); err != nil {
		t.Fatalf("exec of deleted file: %v", err)
	}
	// A memfd binary.
	fd, err := unix.MemfdCreate("vigil-memfd", 0)
	if err != nil {
		t.Fatal(err)
	}
	mf := os.NewFile(uintptr(fd), "memfd")
	defer mf.Close()
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mf.Write(data); err != nil {
		t.Fatal(err)
	}
	mem := vmtest.AsHelper(exec.Command("/proc/self/fd/3", "0"), "exit")
	mem.ExtraFiles = []*os.File{mf}
	if err := mem.Run(); err != nil {
		t.Fatalf("exec of memfd: %v", err)
	}
	d := c.waitFor(t, 1, 5*time.Second, "exec of the deleted file", func(e *event.Event) bool {
		return e.Type == event.TypeExec && e.Process.Pid == uint32(del.Process.Pid)
	})[0].Exec
	if !d.Deleted || d.Memfd || d.Path != bin {
		t.Errorf("deleted exec = path %q deleted %v memfd %v, want %q deleted", d.Path, d.Deleted, d.Memfd, bin)
	}
	mx := c.waitFor(t, 1, 5*time.Second, "exec of the memfd", func(e *event.Event) bool {
		return e.Type == event.TypeExec && e.Process.Pid == uint32(mem.Process.Pid)
	})[0].Exec
	if !mx.Memfd || mx.Deleted || mx.Path != "memfd:vigil-memfd" {
		t.Errorf("memfd exec = path %q deleted %v memfd %v, want memfd:vigil-memfd", mx.Path, mx.Deleted, mx.Memfd)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}
