package sensor

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/vmtest"
)

// privHelpers are the helpers of the privilege sensor's tests: each makes
// its system calls on one locked thread with raw syscalls, so that the
// Go runtime does not repeat them on every thread (as syscall.Setuid does).
var privHelpers = vmtest.Helpers{
	"setuid":     func(args []string) int { return rawCall(unix.SYS_SETUID, 65534, 0, 0) },
	"capset":     func([]string) int { return helperCapset() },
	"sleep":      func([]string) int { fmt.Println("ready"); time.Sleep(5 * time.Second); return 0 },
	"ptrace":     func([]string) int { return helperPtraceAttach() },
	"traceme":    func([]string) int { return rawCall(unix.SYS_PTRACE, unix.PTRACE_TRACEME, 0, 0) },
	"vm-writev":  func([]string) int { return helperVMWritev() },
	"unshare":    func([]string) int { return rawCall(unix.SYS_UNSHARE, unix.CLONE_NEWNET, 0, 0) },
	"print-addr": func([]string) int { fmt.Println(uintptr(unsafe.Pointer(&vmTarget[0]))); return 0 },
}

// vmTarget is what helper vm-writev writes into its child, at the same
// address there: the test binary is not position-independent.
var vmTarget [8]byte

// rawCall makes one system call on the calling thread and reports its
// error on stderr.
func rawCall(nr, a1, a2, a3 uintptr) int {
	runtime.LockOSThread()
	if _, _, e := unix.RawSyscall(nr, a1, a2, a3); e != 0 {
		fmt.Fprintln(os.Stderr, e)
		return 1
	}
	return 0
}

// helperCapset drops CAP_NET_RAW from the effective set.
func helperCapset() int {
	runtime.LockOSThread()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		fmt.Fprintln(os.Stderr, "capget:", err)
		return 1
	}
	data[0].Effective &^= 1 << unix.CAP_NET_RAW
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		fmt.Fprintln(os.Stderr, "capset:", err)
		return 1
	}
	return 0
}

// sleeper starts the helper "sleep" as a child to be traced or written,
// and returns once it runs: exec(2) returns to the parent (its
// close-on-exec pipe closes) before the kernel's exec tracepoint fires,
// and the test wants the child's exec event first.
func sleeper() (*exec.Cmd, error) {
	cmd := vmtest.AsHelper(exec.Command("/proc/self/exe"), "sleep")
	cmd.Stderr = os.Stderr
	// A kill rule ends the tracer at its ptrace call, after the attach
	// stopped the child: without this the child would stay stopped,
	// holding the test's output open, long after the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the child: %w", err)
	}
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("waiting for the child: %w", err)
	}
	return cmd, nil
}

// helperPtraceAttach attaches to a child, waits for it to stop, detaches
// and prints the child's pid.
func helperPtraceAttach() int {
	runtime.LockOSThread()
	child, err := sleeper()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer child.Process.Kill()
	fmt.Println(child.Process.Pid)
	pid := child.Process.Pid
	if err := unix.PtraceAttach(pid); err != nil {
		fmt.Fprintln(os.Stderr, "attach:", err)
		return 1
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		fmt.Fprintln(os.Stderr, "wait:", err)
		return 1
	}
	if err := unix.PtraceDetach(pid); err != nil {
		fmt.Fprintln(os.Stderr, "detach:", err)
		return 1
	}
	return 0
}

// helperVMWritev writes 8 bytes into vmTarget of a child and prints the
// child's pid.
func helperVMWritev() int {
	child, err := sleeper()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer child.Process.Kill()
	fmt.Println(child.Process.Pid)
	src := []byte("injected")
	local := []unix.Iovec{{Base: &src[0], Len: uint64(len(src))}}
	remote := []unix.RemoteIovec{{Base: uintptr(unsafe.Pointer(&vmTarget[0])), Len: len(src)}}
	// The child may not have reached main yet: its data segment is
	// mapped from the start, so the write lands either way.
	n, err := unix.ProcessVMWritev(child.Process.Pid, local, remote, 0)
	if err != nil || n != len(src) {
		fmt.Fprintln(os.Stderr, "process_vm_writev:", n, err)
		return 1
	}
	return 0
}

// helperOutputPid runs a helper and returns the pid it printed.
func helperOutputPid(cmd *exec.Cmd) (int, error) {
	out, err := cmd.Output()
	if err != nil {
		return 0, err
	}
	pid, perr := strconv.Atoi(string(trimNL(out)))
	if perr != nil {
		return 0, fmt.Errorf("helper printed %q: %w", out, perr)
	}
	return pid, nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
