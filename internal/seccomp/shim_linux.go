package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// shimFd is the fd number of the socket the supervisor gives the shim
// (its first ExtraFile).
const shimFd = 3

// Shim is the body of the re-executed vigil that becomes the command. Go
// cannot run code between fork and exec, so vigil runs itself as the shim
// with the command's argv; the shim, on one locked OS thread:
//
//  1. reads the filter program from the socket on fd 3,
//  2. sets no_new_privs (required to install a filter unprivileged, and
//     what keeps set-uid binaries in the tree from gaining privileges
//     vigil would not reproduce),
//  3. installs the filter with SECCOMP_FILTER_FLAG_NEW_LISTENER,
//  4. sends the listener fd to the supervisor with SCM_RIGHTS,
//  5. execs the command from the same thread, so the filter it installed
//     is the one the command inherits.
//
// Between 3 and 5 the shim makes only sendmsg and execve (plus whatever
// the Go runtime does on a parked thread); NewPlan refuses rules that
// would break that. Shim returns only on failure, with the exit status
// to use: 127 when the command cannot be found, 126 when it cannot be
// executed, 125 for anything else (as env(1) and timeout(1) do).
func Shim(argv []string) int {
	runtime.LockOSThread()
	code, err := shim(argv)
	fmt.Fprintf(os.Stderr, "vigil: %v\n", err)
	return code
}

func shim(argv []string) (int, error) {
	if len(argv) == 0 {
		return 125, errors.New("shim: no command")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		code := 127
		if errors.Is(err, os.ErrPermission) {
			code = 126
		}
		return code, fmt.Errorf("running %s: %w", argv[0], err)
	}
	prog, err := readFilter(shimFd)
	if err != nil {
		return 125, err
	}
	unix.CloseOnExec(shimFd)
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return 125, fmt.Errorf("setting no_new_privs: %w", err)
	}
	lfd, err := InstallFilter(prog, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER)
	if err != nil {
		return 125, fmt.Errorf("installing seccomp filter: %w", err)
	}
	if err := unix.Sendmsg(shimFd, []byte{'L'}, unix.UnixRights(lfd), nil, 0); err != nil {
		return 125, fmt.Errorf("sending the seccomp listener: %w", err)
	}
	err = syscall.Exec(path, argv, os.Environ())
	code := 126
	if errors.Is(err, syscall.ENOENT) {
		code = 127
	}
	return code, fmt.Errorf("executing %s: %w", path, err)
}

// readFilter reads one message holding the filter program: classic BPF
// instructions in the kernel's 8-byte sock_filter layout, host order.
func readFilter(fd int) ([]bpf.RawInstruction, error) {
	buf := make([]byte, 8*4096+1)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return nil, fmt.Errorf("reading the filter: %w", err)
	}
	if n == 0 || n%8 != 0 || n > 8*4096 {
		return nil, fmt.Errorf("reading the filter: bad length %d", n)
	}
	prog := make([]bpf.RawInstruction, n/8)
	for i := range prog {
		b := buf[8*i:]
		prog[i] = bpf.RawInstruction{Op: binary.NativeEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.NativeEndian.Uint32(b[4:])}
	}
	return prog, nil
}

// encodeFilter is the inverse of readFilter.
func encodeFilter(prog []bpf.RawInstruction) []byte {
	b := make([]byte, 8*len(prog))
	for i, in := range prog {
		binary.NativeEndian.PutUint16(b[8*i:], in.Op)
		b[8*i+2], b[8*i+3] = in.Jt, in.Jf
		binary.NativeEndian.PutUint32(b[8*i+4:], in.K)
	}
	return b
}
