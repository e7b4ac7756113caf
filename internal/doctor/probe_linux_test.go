package doctor

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/vmtest"
)

// TestProbeDecidesAsRoot checks that with privilege every probe reaches a
// verdict, and that every refusal says why.
func TestProbeDecidesAsRoot(t *testing.T) {
	mustBeRoot(t)
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
		t.Errorf("plan has %d choices, want %d", len(rep.Plan), len(Ladders))
	}
}

// knownHost is the kernel image of vigil's test machines, where these
// facts were measured by hand: tracepoints, raw tracepoints, tp_btf and
// perf events load; fentry/fexit/fmod_ret and BPF LSM are refused with
// EPERM; kprobes and modules are not configured; seccomp user
// notification, fanotify permission events, the proc connector and
// ptrace work.
const knownHost = "6.18.44-fc-"

func TestProbeMatchesKnownHost(t *testing.T) {
	mustBeRoot(t)
	if rel := kernelRelease(); !strings.HasPrefix(rel, knownHost) {
		t.Skipf("facts recorded for kernel %s*, this is %s", knownHost, rel)
	}
	rep := Probe(context.Background())
	for _, name := range []string{"btf", "ringbuf", "tracepoint", "syscall-tracepoints", "raw-tracepoint", "tp-btf",
		"bpf-send-signal", "lsm-bpf-active", "seccomp-filter", "seccomp-notify", "seccomp-addfd", "seccomp-notify-wake",
		"fanotify-open-perm", "fanotify-exec-perm", "fanotify-deny-errno"} {
		expect(t, &rep, name, Yes, "")
	}
	expect(t, &rep, "fentry", No, "EPERM loading fentry/kernel_clone")
	expect(t, &rep, "fexit", No, "EPERM loading fexit/kernel_clone")
	expect(t, &rep, "fmod-ret", No, "EPERM loading fmod_ret/")
	expect(t, &rep, "bpf-lsm", No, "EPERM loading lsm/bprm_check_security")
	expect(t, &rep, "kprobe", No, "CONFIG_KPROBES")
	expect(t, &rep, "modules", No, "CONFIG_MODULES")
	plan := map[string]Choice{}
	for _, c := range rep.Plan {
		plan[c.Ladder] = c
	}
	for ladder, use := range map[string]string{
		"fork": "tp_btf/sched_process_fork", "exec": "tp_btf/sched_process_exec", "exit": "tp_btf/sched_process_exit",
		"module": "tp_btf/sys_enter (filtered by syscall number; no modules: ENOSYS)", "mprotect": "tracepoint/syscalls/sys_{enter,exit}_{mprotect,pkey_mprotect,mmap}",
		"kill": "bpf_send_signal(SIGKILL) from the event's hook", "deny exec": "fanotify FAN_OPEN_EXEC_PERM",
		"deny open": "fanotify FAN_OPEN_PERM", "deny mprotect": "", "deny module": "",
	} {
		if got := plan[ladder].Use; got != use {
			t.Errorf("plan %s uses %q, want %q", ladder, got, use)
		}
	}
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
	mustBeRoot(t)
	mustHave(t, "tracepoint", ProbeTracepoint())
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
	mustBeRoot(t)
	mustHave(t, "tp_btf", ProbeTPBTF())
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
	mustBeRoot(t)
	mustHave(t, "fanotify-open-perm", ProbeFanotifyOpenPerm())
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

// TestSeccompHelper checks the helper's verdicts directly; the helper
// itself checks each mechanism end to end (the trapped call's result, the
// added fd's identity, the wake-up).
func TestSeccompHelper(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sc := ProbeSeccomp(ctx)
	mustHave(t, "seccomp filter", sc.Filter)
	for name, err := range map[string]error{"notify": sc.Notify, "addfd": sc.AddFD, "notify wake": sc.NotifyWake} {
		if st, reason := verdict(err); st == Unknown {
			t.Errorf("%s: %s", name, reason)
		} else {
			t.Logf("%s: %s %s", name, st, reason)
		}
	}
}

// TestProbeInMatrix checks, inside the kernel matrix (Debian's stock
// kernels under qemu), that doctor reports every mechanism our hosts
// refuse as available there, and records its plan for the README table.
func TestProbeInMatrix(t *testing.T) {
	if !vmtest.InGuest() {
		t.Skip("the matrix kernels' facts; on a host TestProbeMatchesKnownHost checks the host's")
	}
	rep := Probe(context.Background())
	for _, name := range []string{"fentry", "fexit", "fmod-ret", "kprobe", "bpf-lsm", "lsm-bpf-active",
		"tracepoint", "tp-btf", "bpf-send-signal", "seccomp-notify", "seccomp-addfd", "fanotify-exec-perm", "modules"} {
		expect(t, &rep, name, Yes, "")
	}
	for _, c := range rep.Plan {
		if c.Use == "" {
			t.Errorf("plan %s: nothing usable in the matrix (%v)", c.Ladder, c.Skipped)
			continue
		}
		if c.Kind == Action {
			vmtest.Mechanism(t, "plan "+c.Ladder, c.Use)
		}
	}
}

// TestPlanOnHost records the host's plan for the README table.
func TestPlanOnHost(t *testing.T) {
	mustBeRoot(t)
	if vmtest.InGuest() {
		t.Skip("TestProbeInMatrix records the guest's plan")
	}
	rep := Probe(context.Background())
	for _, c := range rep.Plan {
		if c.Kind != Action {
			continue
		}
		use := c.Use
		if use == "" {
			use = c.IfNone
		}
		vmtest.Mechanism(t, "plan "+c.Ladder, use)
	}
}
