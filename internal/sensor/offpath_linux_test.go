package sensor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// protSeq is what helperProtSeq asks of one anonymous RW page, in order,
// and whether the default mprotect events keep each call (bpf/mprotect.c
// relevant()).
var protSeq = []struct {
	prot int
	keep bool
	why  string
}{
	{unix.PROT_READ, false, "RW -> R: neither W nor X"},
	{unix.PROT_READ | unix.PROT_WRITE, false, "R -> RW: nothing executable"},
	{unix.PROT_READ | unix.PROT_EXEC, true, "RW -> RX: adds EXEC"},
	{unix.PROT_READ | unix.PROT_EXEC, false, "RX -> RX: no change"},
	{unix.PROT_READ | unix.PROT_WRITE, true, "RX -> RW: executable memory made writable"},
	{unix.PROT_NONE, false, "RW -> none"},
	{unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC, true, "none -> RWX: W+X"},
}

// helperProtSeq runs protSeq's mprotects on one page, then exits.
func helperProtSeq() int {
	mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The test tells these calls from the runtime's own (the race
	// detector's runtime mprotects too) by the mapping's address.
	fmt.Println(uintptr(unsafe.Pointer(&mem[0])))
	for _, s := range protSeq {
		if err := unix.Mprotect(mem, s.prot); err != nil {
			fmt.Fprintln(os.Stderr, "mprotect:", err)
			return 1
		}
	}
	return 0
}

// TestMprotectDefaultFilter: by default the kernel queues only the
// mprotects that matter for security; with MprotectAll, every one.
func TestMprotectDefaultFilter(t *testing.T) {
	for _, all := range []bool{false, true} {
		t.Run(fmt.Sprintf("all=%v", all), func(t *testing.T) {
			_, c := startMonitor(t, Config{Types: []event.Type{event.TypeMprotect}, MprotectAll: all})
			cmd := helper("protseq")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("protseq helper: %v", err)
			}
			addr, err := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
			if err != nil {
				t.Fatalf("protseq helper's address %q: %v", out, err)
			}
			pid := uint32(cmd.Process.Pid)
			var want []int
			for _, s := range protSeq {
				if all || s.keep {
					want = append(want, s.prot)
				}
			}
			mine := func(e *event.Event) bool {
				return e.Type == event.TypeMprotect && e.Process.Pid == pid && e.Mprotect.Syscall == "mprotect" && e.Mprotect.Addr == addr
			}
			c.waitFor(t, len(want), 5*time.Second, "the helper's mprotects", mine)
			time.Sleep(3 * pollInterval) // anything the filter let through by mistake
			var got []int
			c.mu.Lock()
			for _, e := range c.evs {
				if mine(&e) {
					got = append(got, int(e.Mprotect.Prot))
				}
			}
			c.mu.Unlock()
			if !slices.Equal(got, want) {
				t.Errorf("mprotect events of the helper: prot %v, want %v (%s)", got, want, keptWhy(all))
			}
		})
	}
}

func keptWhy(all bool) string {
	if all {
		return "every call"
	}
	var kept []string
	for _, s := range protSeq {
		if s.keep {
			kept = append(kept, s.why)
		}
	}
	return "kept: " + strings.Join(kept, ", ")
}

// TestKillRuleSeesFilteredMprotect: a kill rule on calls the default
// events leave out (mprotect to PROT_NONE) still sees them and kills.
func TestKillRuleSeesFilteredMprotect(t *testing.T) {
	const comm = "vigil-pnone-t"
	rules := kernelRules(t, `rules:
  - name: no-prot-none
    event: mprotect
    match:
      comm: [`+comm+`]
      prot: [none]
    action: kill
`)
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeMprotect}, Rules: rules})
	cp := filepath.Join(t.TempDir(), comm)
	if err := copyFile(os.Args[0], cp); err != nil {
		t.Fatal(err)
	}
	cmd := vmtest.AsHelper(exec.Command(cp), "protseq")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); !killedBySIGKILL(err) {
		t.Fatalf("protseq helper: %v, want killed by SIGKILL at its mprotect(PROT_NONE)", err)
	}
	pid := uint32(cmd.Process.Pid)
	ev := c.waitFor(t, 1, 5*time.Second, "the PROT_NONE mprotect", func(e *event.Event) bool {
		return e.Type == event.TypeMprotect && e.Process.Pid == pid && e.Mprotect.Prot == unix.PROT_NONE
	})[0]
	if v := ev.Verdict; v == nil || v.Rule != "no-prot-none" || !v.Enforced {
		t.Errorf("verdict %+v, want no-prot-none enforced", v)
	}
}

// TestDefaultsOffSyscallPath: where fentry and fexit load, the default
// event types attach no syscall tracepoint (a classic syscalls:* one sets
// TIF_SYSCALL_TRACEPOINT on every task; raw sys_enter/sys_exit run a
// program on every system call). It reads what is attached from the
// kernel: each program's type and each link's raw tracepoint name.
func TestDefaultsOffSyscallPath(t *testing.T) {
	vmtest.RequireRoot(t)
	for _, p := range []string{"fentry", "fexit"} {
		if _, err := doctor.Check(p); err != nil {
			t.Skipf("probe %s: %v (the syscall tracepoints are this kernel's only hooks)", p, err)
		}
	}
	if lacksSyscallRegs(doctor.MprotectFentry) {
		t.Skipf("%s pinned as lacking fentry-syscall-regs (test/vm/kernels.txt): mprotect stays on its syscall tracepoints", vmtest.Kernel())
	}
	types := []event.Type{event.TypeFork, event.TypeExec, event.TypeExit, event.TypeModule, event.TypeMprotect}
	m, _ := startMonitor(t, Config{Types: types})
	for _, l := range m.loaded {
		for name, p := range l.coll.Programs {
			if p.Type() == ebpf.TracePoint {
				t.Errorf("program %s is a classic tracepoint program", name)
			}
		}
		for _, lk := range l.links {
			info, err := lk.Info()
			if err != nil {
				t.Errorf("reading link info: %v", err)
				continue
			}
			switch info.Type {
			case link.PerfEventType:
				t.Errorf("link %d is a perf event (a classic tracepoint)", info.ID)
			case link.RawTracepointType:
				if rt := info.RawTracepoint(); rt != nil && (rt.Name == "sys_enter" || rt.Name == "sys_exit") {
					t.Errorf("link %d is on the raw tracepoint %s", info.ID, rt.Name)
				}
			}
		}
	}
	for _, ch := range m.Choices() {
		if strings.Contains(ch.Mechanism, "syscalls/") || strings.Contains(ch.Mechanism, "sys_enter") {
			t.Errorf("%s events use %s", ch.Type, ch.Mechanism)
		}
	}
}

// killSite names, for a row of the matrix table, where a kill rule of
// type t acts: the system call's tracepoint tp ("sys_enter_mmap"), or its
// fentry/fexit twin where the sensor chose that rung.
func killSite(m *Manager, t event.Type, tp string) string {
	for _, ch := range m.Choices() {
		if ch.Type == t && strings.HasPrefix(ch.Mechanism, "fentry/fexit ") {
			tp = strings.NewReplacer("sys_enter_", "fentry/__x64_sys_", "sys_exit_", "fexit/__x64_sys_").Replace(tp)
		}
	}
	return "bpf_send_signal at " + tp
}

// lacksSyscallRegs reports whether mechanism is a fentry rung on system
// calls' entry points that this guest is pinned as refusing
// (fentry-syscall-regs: 5.10's verifier takes no pointer argument to a
// type its BTF leaves a forward declaration, as it does pt_regs for
// __x64_sys_mprotect and __x64_sys_finit_module). The ladder then falls
// back to the syscall tracepoints.
func lacksSyscallRegs(mechanism string) bool {
	return vmtest.Lacks("fentry-syscall-regs") && strings.HasPrefix(mechanism, "fentry/fexit __x64_sys_")
}
