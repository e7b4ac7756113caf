package dynhook

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// The test binary doubles as the processes the hooks watch.
func TestMain(m *testing.M) {
	vmtest.Main(m, vmtest.Helpers{
		"sleep": func(args []string) int {
			d, _ := time.ParseDuration(args[len(args)-1])
			time.Sleep(d)
			return 0
		},
		"uname": func([]string) int {
			var u unix.Utsname
			for i := 0; i < 500; i++ {
				_ = unix.Uname(&u)
				time.Sleep(10 * time.Millisecond)
			}
			return 0
		},
		"signal": func(args []string) int {
			pid, _ := strconv.Atoi(args[len(args)-2])
			sig, _ := strconv.Atoi(args[len(args)-1])
			if err := unix.Kill(pid, unix.Signal(sig)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			return 0
		},
		"open": func(args []string) int {
			f, err := os.Open(args[len(args)-1])
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				if errors.Is(err, unix.EPERM) {
					return 3
				}
				return 1
			}
			f.Close()
			return 0
		},
		"module-load": func(args []string) int {
			f, err := os.Open(args[len(args)-1])
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer f.Close()
			if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil {
				fmt.Fprintln(os.Stderr, "finit_module:", err)
				return 1
			}
			return 0
		},
		"setuid": func([]string) int {
			if err := unix.Setresuid(65534, 65534, 65534); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			return 0
		},
	})
}

// startWith is start, with each resolved hook's ladder replaced by
// ladder when it is not nil (to test the fallback mechanisms where the
// better ones load).
func startWith(t *testing.T, text string, ladder []Mech) (*started, error) {
	t.Helper()
	vmtest.RequireRoot(t)
	if err := rlimit.RemoveMemlock(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "hooks.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ps, err := policy.Load(file)
	if err != nil {
		t.Fatalf("policy.Load: %v", err)
	}
	k, err := LoadKernel()
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := Resolve(ps.Hooks, k)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if ladder != nil {
		for _, h := range hooks {
			h.Ladder = ladder
		}
	}
	set, err := Start(hooks, Options{ExcludePid: uint32(os.Getpid())})
	if err != nil {
		return nil, err
	}
	return read(t, set), nil
}

// started is a policy's hooks running, their events on a channel.
type started struct {
	set    *Set
	events chan *event.Event
}

// start loads the policy text through policy.Load, resolves and starts
// its hooks, ignoring the test process itself.
func start(t *testing.T, text string) (*started, error) {
	t.Helper()
	return startWith(t, text, nil)
}

// read reads set's events onto a channel until the test ends.
func read(t *testing.T, set *Set) *started {
	t.Helper()
	rd, err := set.NewReader()
	if err != nil {
		set.Close()
		t.Fatal(err)
	}
	s := &started{set: set, events: make(chan *event.Event, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ev := new(event.Event)
			if err := rd.Read(ev); err != nil {
				if !errors.Is(err, ringbuf.ErrClosed) {
					t.Errorf("reading: %v", err)
				}
				return
			}
			select {
			case s.events <- ev:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		rd.Close()
		<-done
		set.Close()
	})
	return s
}

// wait returns the first event that ok accepts, or fails after 10s.
func (s *started) wait(t *testing.T, ok func(*event.Event) bool) *event.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	var seen []string
	for {
		select {
		case ev := <-s.events:
			if ok(ev) {
				return ev
			}
			if len(seen) < 5 {
				seen = append(seen, string(ev.AppendJSON(nil)))
			}
		case <-timeout:
			t.Fatalf("no matching hook event in 10s; others:\n%s", strings.Join(seen, "\n"))
			return nil
		}
	}
}

func arg(ev *event.Event, name string) event.HookArg {
	for _, a := range ev.Hook.Args {
		if a.Name == name {
			return a
		}
	}
	return event.HookArg{}
}

// TestSignalTracepoint: a signal sent to a sleeper is reported with its
// number, its target's pid and comm, and the sender.
func TestSignalTracepoint(t *testing.T) {
	s, err := start(t, `
hooks:
  - name: signals-to-the-sleeper
    tracepoint: signal/signal_generate
    args: [sig, task, task->comm, result]
    match:
      args:
        sig: [12]
    action: log
`)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	vmtest.Mechanism(t, "hook tracepoint", string(s.set.Hooks[0].Mech))
	t.Logf("loaded on %s in %v", s.set.Hooks[0].Mech, s.set.Hooks[0].LoadTime)
	// vigil hooks and bpftool name the program after the hook, in full
	// although the kernel keeps 15 bytes (the BTF function has it all).
	info, err := s.set.Hooks[0].Program.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "vh_signals_to_the_sleeper" {
		t.Errorf("program name %q, want vh_signals_to_the_sleeper", info.Name)
	}
	sleeper := vmtest.HelperCommand("sleep", "30s")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer sleeper.Process.Kill()
	sender := vmtest.HelperCommand("signal", strconv.Itoa(sleeper.Process.Pid), strconv.Itoa(int(unix.SIGUSR2)))
	if out, err := sender.CombinedOutput(); err != nil {
		t.Fatalf("sending the signal: %v: %s", err, out)
	}
	ev := s.wait(t, func(ev *event.Event) bool {
		return ev.Hook != nil && ev.Hook.Name == "signals-to-the-sleeper" && arg(ev, "task").Int == uint64(sleeper.Process.Pid)
	})
	if got := arg(ev, "sig").Int; got != uint64(unix.SIGUSR2) {
		t.Errorf("sig = %d, want %d", got, unix.SIGUSR2)
	}
	if ev.Process.Pid != uint32(sender.Process.Pid) {
		t.Errorf("acting process = %d, want the sender %d", ev.Process.Pid, sender.Process.Pid)
	}
	if got, want := arg(ev, "task->comm").Str, filepath.Base(os.Args[0]); !strings.HasPrefix(want, got) || got == "" {
		t.Errorf("task->comm = %q, want a prefix of %q", got, want)
	}
	if ev.Hook.Target != "tracepoint:signal/signal_generate" || ev.Hook.Mechanism == "" {
		t.Errorf("hook = %+v", ev.Hook)
	}
	t.Logf("%s", ev.AppendJSON(nil))
}

// TestKillAtTracepoint: a kill hook at raw_syscalls/sys_enter kills the
// process that makes the matching call, before the call runs.
func TestKillAtTracepoint(t *testing.T) {
	s, err := start(t, fmt.Sprintf(`
hooks:
  - name: no-uname
    tracepoint: raw_syscalls/sys_enter
    args: [id]
    match:
      comm: [%q]
      args:
        id: [%d]
    action: [kill, log]
`, comm(), unix.SYS_UNAME))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	victim := vmtest.HelperCommand("uname")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = victim.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("victim ended with %v after %v, want SIGKILL", err, time.Since(start))
	}
	ev := s.wait(t, func(ev *event.Event) bool { return ev.Process.Pid == uint32(victim.Process.Pid) })
	if !ev.Hook.Killed || arg(ev, "id").Int != unix.SYS_UNAME {
		t.Errorf("event = %s, want killed and id %d", ev.AppendJSON(nil), unix.SYS_UNAME)
	}
}

// comm is the test binary's comm, which its helpers share.
func comm() string {
	c := filepath.Base(os.Args[0])
	if len(c) > 15 {
		c = c[:15]
	}
	return c
}

// TestFunctionHook: a function hook reports commit_creds' new uid where
// fentry loads; where the kernel refuses fentry and has no kprobes (our
// hosts), Start says so with the kernel's reasons.
func TestFunctionHook(t *testing.T) {
	s, err := start(t, fmt.Sprintf(`
hooks:
  - name: creds
    function: commit_creds
    args: [new->uid.val, new->euid.val]
    match:
      comm: [%q]
    action: log
`, comm()))
	if err != nil {
		msg := err.Error()
		if vmtest.InGuest() {
			t.Fatalf("Start in the guest: %v", err)
		}
		if !strings.Contains(msg, "hooks.yaml:4:15: hooks[0].function: cannot hook function:commit_creds here: fentry: ") || !strings.Contains(msg, "kprobe: ") {
			t.Fatalf("Start error %q lacks the position and each mechanism's refusal", msg)
		}
		t.Logf("refused as expected: %v", err)
		return
	}
	vmtest.Mechanism(t, "hook function", string(s.set.Hooks[0].Mech))
	cmd := vmtest.HelperCommand("setuid")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("setuid helper: %v: %s", err, out)
	}
	// The helper's exec commits credentials too (uid 0): wait for setresuid's.
	ev := s.wait(t, func(ev *event.Event) bool {
		return ev.Process.Pid == uint32(cmd.Process.Pid) && arg(ev, "new->uid.val").Int == 65534
	})
	if arg(ev, "new->euid.val").Int != 65534 || ev.Process.Uid != 0 {
		t.Errorf("event = %s, want new uid and euid 65534 from a process still uid 0", ev.AppendJSON(nil))
	}
}

// TestModuleHookInGuest: fexit on do_init_module decodes the module's
// name on a real load, with the return value. Hosts have no modules.
func TestModuleHookInGuest(t *testing.T) {
	ko := vmtest.Module(t, "dummy")
	s, err := start(t, `
hooks:
  - name: module-init
    function: do_init_module
    args: [mod->name]
    return: true
    action: log
`)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	vmtest.Mechanism(t, "hook function return", string(s.set.Hooks[0].Mech))
	cmd := vmtest.HelperCommand("module-load", ko)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("loading %s: %v: %s", ko, err, out)
	}
	ev := s.wait(t, func(ev *event.Event) bool { return ev.Process.Pid == uint32(cmd.Process.Pid) })
	if arg(ev, "mod->name").Str != "dummy" || !ev.Hook.HasRet || ev.Hook.Ret != 0 {
		t.Errorf("event = %s, want mod->name dummy and ret 0", ev.AppendJSON(nil))
	}
}

// TestOverride: an override hook on security_file_open makes opening
// one file fail with EPERM where fmod_ret loads; elsewhere Start refuses
// with the kernel's reasons, never ignoring the override.
func TestOverride(t *testing.T) {
	target := filepath.Join(t.TempDir(), "vigil-override-target")
	if err := os.WriteFile(target, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := start(t, `
hooks:
  - name: no-open
    function: security_file_open
    args: [file]
    match:
      args:
        file: vigil-override-target
    override: EPERM
    action: [override, log]
`)
	if err != nil {
		if vmtest.InGuest() {
			t.Fatalf("Start in the guest: %v", err)
		}
		if !strings.Contains(err.Error(), "fmod_ret: ") || !strings.Contains(err.Error(), "kprobe: ") {
			t.Fatalf("Start error %q lacks each mechanism's refusal", err)
		}
		t.Logf("refused as expected: %v", err)
		return
	}
	vmtest.Mechanism(t, "hook override", string(s.set.Hooks[0].Mech))
	cmd := vmtest.HelperCommand("open", target)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("open helper: %v: %s; want EPERM (exit 3)", err, out)
	}
	ev := s.wait(t, func(ev *event.Event) bool { return ev.Process.Pid == uint32(cmd.Process.Pid) })
	if arg(ev, "file").Str != "vigil-override-target" {
		t.Errorf("event = %s", ev.AppendJSON(nil))
	}
	// Other files still open.
	if out, err := vmtest.HelperCommand("open", "/proc/self/status").CombinedOutput(); err != nil {
		t.Errorf("opening another file: %v: %s", err, out)
	}
}

// TestKprobeInGuest: the fallback mechanisms, forced where fentry and
// fexit load: a kprobe reads commit_creds' new uid from the registers, a
// kretprobe its return value.
func TestKprobeInGuest(t *testing.T) {
	if !vmtest.InGuest() {
		t.Skip("kprobes are not configured on our hosts; the matrix kernels have them")
	}
	text := fmt.Sprintf(`
hooks:
  - name: creds
    function: commit_creds
    args: [new->uid.val]
    match:
      comm: [%q]
    action: log
`, comm())
	s, err := startWith(t, text, []Mech{Kprobe})
	if err != nil {
		t.Fatalf("Start on kprobe: %v", err)
	}
	cmd := vmtest.HelperCommand("setuid")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("setuid helper: %v: %s", err, out)
	}
	ev := s.wait(t, func(ev *event.Event) bool {
		return ev.Process.Pid == uint32(cmd.Process.Pid) && arg(ev, "new->uid.val").Int == 65534
	})
	if ev.Hook.Mechanism != "kprobe" {
		t.Errorf("event = %s, want mechanism kprobe", ev.AppendJSON(nil))
	}
	s.set.Close()

	text = fmt.Sprintf(`
hooks:
  - name: creds-ret
    function: commit_creds
    return: true
    match:
      comm: [%q]
    action: log
`, comm())
	s, err = startWith(t, text, []Mech{Kretprobe})
	if err != nil {
		t.Fatalf("Start on kretprobe: %v", err)
	}
	cmd = vmtest.HelperCommand("setuid")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("setuid helper: %v: %s", err, out)
	}
	ev = s.wait(t, func(ev *event.Event) bool { return ev.Process.Pid == uint32(cmd.Process.Pid) })
	if ev.Hook.Mechanism != "kretprobe" || !ev.Hook.HasRet || ev.Hook.Ret != 0 {
		t.Errorf("event = %s, want kretprobe and ret 0", ev.AppendJSON(nil))
	}
}
