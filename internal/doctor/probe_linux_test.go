package doctor

import (
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/proc"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// TestProbeDecidesAsRoot checks that with privilege every probe reaches a
// verdict, that every refusal says why, and that the plan decides every
// ladder: a mechanism, or what vigil does without one, with each skipped
// rung's reason. It records the actions' plan for the README's matrix
// table (the "host" column, and each guest kernel's).
func TestProbeDecidesAsRoot(t *testing.T) {
	vmtest.RequireRoot(t)
	rep := Probe(context.Background())
	if !rep.Privileged || len(rep.Results) != len(rows) {
		t.Fatalf("privileged %t, %d results, want true and %d", rep.Privileged, len(rep.Results), len(rows))
	}
	for _, r := range rep.Results {
		if r.Status == Unknown {
			t.Errorf("%s: unknown as root: %s", r.Name, r.Reason)
		}
		if r.Status == No && r.Reason == "" {
			t.Errorf("%s: no without a reason", r.Name)
		}
		t.Logf("%-20s %-7s %s%s", r.Name, r.Status, r.Reason, r.Detail)
	}
	if len(rep.Plan) != len(Ladders) {
		t.Fatalf("plan has %d choices, want %d", len(rep.Plan), len(Ladders))
	}
	for i, c := range rep.Plan {
		l := Ladders[i]
		if c.Ladder != l.Name {
			t.Errorf("plan %d is %s, want %s", i, c.Ladder, l.Name)
			continue
		}
		for _, sk := range c.Skipped {
			if sk.Reason == "" {
				t.Errorf("plan %s: %s skipped without a reason", c.Ladder, sk.Mechanism)
			}
		}
		switch {
		case c.Use == "" && c.IfNone != l.IfNone:
			t.Errorf("plan %s: no mechanism and %q, want %q", c.Ladder, c.IfNone, l.IfNone)
		case c.Use == "" && len(c.Skipped) != len(l.Rungs):
			t.Errorf("plan %s: no mechanism, but %d of %d rungs say why", c.Ladder, len(c.Skipped), len(l.Rungs))
		case c.Use != "" && c.IfNone != "":
			t.Errorf("plan %s: uses %q and still says %q", c.Ladder, c.Use, c.IfNone)
		case c.Use != "" && (len(c.Skipped) >= len(l.Rungs) || l.Rungs[len(c.Skipped)].Mechanism != c.Use):
			t.Errorf("plan %s: uses %q after skipping %d rungs of %v", c.Ladder, c.Use, len(c.Skipped), l.Rungs)
		}
		if c.Kind == Action {
			use := c.Use
			if use == "" {
				use = c.IfNone
			}
			vmtest.Mechanism(t, "plan "+c.Ladder, use)
		}
	}
}

// TestProbeAgreesWithKernelConfig checks the probes against the running
// kernel's build configuration (/proc/config.gz or /boot/config-RELEASE):
// what the kernel was built without must be reported missing; what it was
// built with and cannot be refused by a security policy (BTF, seccomp
// filters, fanotify permission events as root) must be there; what it was
// built with and a policy may still refuse (BPF program types) is either
// there or refused with EPERM or EACCES, never "not configured". The
// active LSMs are compared with the boot's lsm= or CONFIG_LSM.
func TestProbeAgreesWithKernelConfig(t *testing.T) {
	vmtest.RequireRoot(t)
	cfg := kernelConfig(t)
	on := func(opts ...string) bool {
		for _, o := range opts {
			if cfg[o] != "y" && cfg[o] != "m" {
				return false
			}
		}
		return true
	}
	rep := Probe(context.Background())
	// built says whether the kernel has the mechanism at all; refusable
	// whether a security policy (lockdown, an LSM, a sandbox) may still
	// refuse it with EPERM or EACCES.
	for _, c := range []struct {
		name      string
		built     bool
		refusable bool
	}{
		{"btf", on("CONFIG_DEBUG_INFO_BTF"), false},
		{"ringbuf", on("CONFIG_BPF_SYSCALL"), true},
		{"tracepoint", on("CONFIG_BPF_EVENTS", "CONFIG_TRACEPOINTS"), true},
		{"syscall-tracepoints", on("CONFIG_BPF_EVENTS", "CONFIG_FTRACE_SYSCALLS"), true},
		{"raw-tracepoint", on("CONFIG_BPF_EVENTS"), true},
		{"tp-btf", on("CONFIG_BPF_EVENTS", "CONFIG_DEBUG_INFO_BTF"), true},
		{"fentry", on("CONFIG_BPF_JIT", "CONFIG_DEBUG_INFO_BTF", "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"), true},
		{"fexit", on("CONFIG_BPF_JIT", "CONFIG_DEBUG_INFO_BTF", "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"), true},
		{"fmod-ret", on("CONFIG_BPF_JIT", "CONFIG_DEBUG_INFO_BTF", "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"), true},
		{"kprobe", on("CONFIG_BPF_EVENTS", "CONFIG_KPROBES", "CONFIG_KPROBE_EVENTS"), true},
		{"kretprobe", on("CONFIG_BPF_EVENTS", "CONFIG_KPROBES", "CONFIG_KPROBE_EVENTS"), true},
		{"bpf-lsm", on("CONFIG_BPF_LSM", "CONFIG_BPF_JIT", "CONFIG_DEBUG_INFO_BTF"), true},
		{"bpf-send-signal", on("CONFIG_BPF_EVENTS"), true},
		{"seccomp-filter", on("CONFIG_SECCOMP_FILTER"), false},
		{"fanotify-open-perm", on("CONFIG_FANOTIFY_ACCESS_PERMISSIONS"), false},
		{"fanotify-exec-perm", on("CONFIG_FANOTIFY_ACCESS_PERMISSIONS"), false},
		{"modules", on("CONFIG_MODULES"), true},
	} {
		r, ok := rep.Result(c.name)
		switch {
		case !ok:
			t.Errorf("%s: no such row", c.name)
		case !c.built && r.Status != No:
			t.Errorf("%s: %s %q, but the kernel is built without it", c.name, r.Status, r.Reason)
		case c.built && !c.refusable && r.Status != Yes:
			t.Errorf("%s: %s %q, but the kernel is built with it", c.name, r.Status, r.Reason)
		case c.built && r.Status == No && !strings.Contains(r.Reason, "EPERM") && !strings.Contains(r.Reason, "EACCES") &&
			!strings.Contains(r.Reason, "modules_disabled"):
			t.Errorf("%s: no %q, but the kernel is built with it: want yes or a refusal (EPERM, EACCES)", c.name, r.Reason)
		}
		t.Logf("%-20s built %-5t %s %s", c.name, c.built, r.Status, r.Reason)
	}
	// Without CONFIG_KPROBES or CONFIG_MODULES the reason says so.
	if !on("CONFIG_KPROBES") {
		expect(t, &rep, "kprobe", No, "CONFIG_KPROBES")
	}
	if !on("CONFIG_MODULES") {
		expect(t, &rep, "modules", No, "CONFIG_MODULES")
	}
	// The active LSMs: the boot's lsm= if given, else CONFIG_LSM; bpf
	// among them counts only in a kernel built with CONFIG_BPF_LSM.
	lsms := strings.Trim(cfg["CONFIG_LSM"], `"`)
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	for _, arg := range strings.Fields(string(cmdline)) {
		if v, ok := strings.CutPrefix(arg, "lsm="); ok {
			lsms = v
		}
	}
	want := No
	if on("CONFIG_SECURITY", "CONFIG_BPF_LSM") && slices.Contains(strings.Split(lsms, ","), "bpf") {
		want = Yes
	}
	expect(t, &rep, "lsm-bpf-active", want, "")
}

// kernelConfig returns the running kernel's build options (CONFIG_X to
// "y", "m", a number or a quoted string), from /proc/config.gz or
// /boot/config-RELEASE, or skips when neither exists (the VM guests have
// neither: TestProbeInMatrix checks their facts).
func kernelConfig(t *testing.T) map[string]string {
	t.Helper()
	var text []byte
	gz, err := os.Open("/proc/config.gz")
	if err == nil {
		defer gz.Close()
		zr, err := gzip.NewReader(gz)
		if err != nil {
			t.Fatalf("/proc/config.gz: %v", err)
		}
		if text, err = io.ReadAll(zr); err != nil {
			t.Fatalf("/proc/config.gz: %v", err)
		}
	} else {
		boot := "/boot/config-" + proc.Host.KernelRelease()
		var err2 error
		if text, err2 = os.ReadFile(boot); err2 != nil {
			t.Skipf("no configuration of this kernel to compare with: %v; %v", err, err2)
		}
	}
	cfg := map[string]string{}
	for _, line := range strings.Split(string(text), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "CONFIG_") {
			cfg[k] = v
		}
	}
	if len(cfg) == 0 {
		t.Fatal("the kernel configuration has no CONFIG_ lines")
	}
	return cfg
}

func expect(t *testing.T, rep *Report, name string, st Status, reason string) {
	t.Helper()
	r, ok := rep.Result(name)
	if !ok {
		t.Errorf("%s: no such row", name)
		return
	}
	if r.Status != st || !strings.Contains(r.Reason, reason) {
		t.Errorf("%s: %s %q, want %s containing %q", name, r.Status, r.Reason, st, reason)
	}
}

// TestTracepointFires checks that "tracepoint: yes" is true: a program
// attached the way the probe attaches counts a fork we cause.
func TestTracepointFires(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.Require(t, "tracepoint", ProbeTracepoint())
	prog, counter := countingProgram(t, &ebpf.ProgramSpec{Type: ebpf.TracePoint})
	l, err := link.Tracepoint("sched", "sched_process_fork", prog, nil)
	if err != nil {
		t.Fatalf("attaching tracepoint: %v", err)
	}
	defer l.Close()
	forkAndCheck(t, counter)
}

// TestTPBTFFires is TestTracepointFires for tp_btf.
func TestTPBTFFires(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.Require(t, "tp_btf", ProbeTPBTF())
	prog, counter := countingProgram(t, &ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceRawTp, AttachTo: "sched_process_fork"})
	l, err := link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		t.Fatalf("attaching tp_btf: %v", err)
	}
	defer l.Close()
	forkAndCheck(t, counter)
}

// countingProgram loads a program that adds one to a one-slot array on
// every run.
func countingProgram(t *testing.T, spec *ebpf.ProgramSpec) (*ebpf.Program, *ebpf.Map) {
	t.Helper()
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		t.Fatalf("creating map: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	spec.License = "GPL"
	spec.Instructions = asm.Instructions{
		// key = 0; v = map_lookup_elem(m, &key); if v == NULL goto out
		asm.StoreImm(asm.RFP, -4, 0, asm.Word),
		asm.LoadMapPtr(asm.R1, m.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		// *v += 1, atomically
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
		// out: return 0
		asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
		asm.Return(),
	}
	prog, err := ebpf.NewProgram(spec)
	if err != nil {
		t.Fatalf("loading program: %+v", err)
	}
	t.Cleanup(func() { prog.Close() })
	return prog, m
}

func forkAndCheck(t *testing.T, counter *ebpf.Map) {
	t.Helper()
	if err := exec.Command("/bin/true").Run(); err != nil {
		t.Fatal(err)
	}
	var n uint64
	if err := counter.Lookup(uint32(0), &n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("program did not run on our fork")
	}
}

// TestFanotifyOpenPermDecides checks that "fanotify FAN_OPEN_PERM: yes"
// is true: an open of a marked file waits for our answer and fails when
// we deny it.
func TestFanotifyOpenPermDecides(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.Require(t, "fanotify-open-perm", ProbeFanotifyOpenPerm())
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_CONTENT|unix.FAN_CLOEXEC, unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	path := filepath.Join(t.TempDir(), "guarded")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD, unix.FAN_OPEN_PERM, unix.AT_FDCWD, path); err != nil {
		t.Fatal(err)
	}
	opened := make(chan error, 1)
	go func() {
		f, err := os.Open(path)
		if err == nil {
			f.Close()
		}
		opened <- err
	}()
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if n, err := unix.Poll(pfd, 5000); err != nil || n == 0 {
		t.Fatalf("no permission event within 5s (%v)", err)
	}
	buf := make([]byte, 4096)
	n, err := unix.Read(fd, buf)
	if err != nil || n < 24 {
		t.Fatalf("reading event: %d bytes, %v", n, err)
	}
	// struct fanotify_event_metadata: event_len, vers, reserved,
	// metadata_len, mask (u64), fd (s32), pid (s32).
	evFd := int32(binary.NativeEndian.Uint32(buf[16:]))
	mask := binary.NativeEndian.Uint64(buf[8:])
	if mask&unix.FAN_OPEN_PERM == 0 {
		t.Errorf("event mask %#x lacks FAN_OPEN_PERM", mask)
	}
	resp := make([]byte, 8) // struct fanotify_response: fd, response
	binary.NativeEndian.PutUint32(resp, uint32(evFd))
	binary.NativeEndian.PutUint32(resp[4:], unix.FAN_DENY)
	if _, err := unix.Write(fd, resp); err != nil {
		t.Fatalf("answering: %v", err)
	}
	unix.Close(int(evFd))
	select {
	case err := <-opened:
		if !errors.Is(err, unix.EPERM) {
			t.Errorf("open after FAN_DENY: %v, want EPERM", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("open still blocked 5s after FAN_DENY")
	}
}

// TestSeccompHelper checks the helper's verdicts (the helper itself checks
// each mechanism end to end: the trapped call's result, the added fd's
// identity, the wake-up) against the mainline version that brought each
// mechanism: from that version on it must be there. An older kernel may
// have it through a backport, so there either answer is accepted, but
// never "could not tell".
func TestSeccompHelper(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sc := ProbeSeccomp(ctx)
	vmtest.Require(t, "seccomp filter", sc.Filter)
	for _, c := range []struct {
		name         string
		err          error
		major, minor int
	}{
		{"notify", sc.Notify, 5, 0},
		{"addfd", sc.AddFD, 5, 14}, // the probe adds with SECCOMP_ADDFD_FLAG_SEND
		{"notify wake", sc.NotifyWake, 6, 11},
	} {
		st, reason := verdict(c.err)
		switch {
		case st == Unknown:
			t.Errorf("%s: %s", c.name, reason)
		case st != Yes && vmtest.KernelAtLeast(t, c.major, c.minor):
			t.Errorf("%s: %s %s on a kernel since %d.%d, which has it", c.name, st, reason, c.major, c.minor)
		}
		t.Logf("%s (Linux %d.%d): %s %s", c.name, c.major, c.minor, st, reason)
	}
}

// TestProbeInMatrix checks, inside the kernel matrix (Debian's stock
// kernels under qemu), that doctor reports every mechanism our hosts
// refuse as available there, and that every ladder has a mechanism.
func TestProbeInMatrix(t *testing.T) {
	if !vmtest.InGuest() {
		t.Skip("the matrix kernels' facts; on a host TestProbeAgreesWithKernelConfig checks the host's")
	}
	rep := Probe(context.Background())
	for _, name := range []string{"fentry", "fexit", "fmod-ret", "kprobe", "bpf-lsm", "lsm-bpf-active",
		"tracepoint", "tp-btf", "bpf-send-signal", "seccomp-notify", "seccomp-addfd", "fanotify-exec-perm", "modules"} {
		if vmtest.Lacks(name) {
			continue // test/vm/kernels.txt pins this kernel as lacking it
		}
		expect(t, &rep, name, Yes, "")
	}
	for _, c := range rep.Plan {
		if c.Use == "" {
			t.Errorf("plan %s: nothing usable in the matrix (%v)", c.Ladder, c.Skipped)
		}
	}
}
