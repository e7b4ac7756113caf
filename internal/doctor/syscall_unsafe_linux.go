package doctor

import (
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// finitModuleBadFD calls finit_module(2) with fd -1 and empty arguments,
// which can never load a module, and returns the errno: EBADF when the
// caller got past the permission checks, EPERM when refused, ENOSYS
// without module support.
func finitModuleBadFD() unix.Errno {
	empty := []byte{0}
	_, _, errno := unix.Syscall(unix.SYS_FINIT_MODULE, ^uintptr(0), uintptr(unsafe.Pointer(&empty[0])), 0)
	return errno
}

// Kernel ABI of seccomp user notification (include/uapi/linux/seccomp.h);
// x/sys/unix has the ioctl numbers but not these structs.

// seccompData is struct seccomp_data.
type seccompData struct {
	Nr                 int32
	Arch               uint32
	InstructionPointer uint64
	Args               [6]uint64
}

// seccompNotif is struct seccomp_notif (80 bytes).
type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

// seccompNotifResp is struct seccomp_notif_resp (24 bytes).
type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// seccompNotifAddfd is struct seccomp_notif_addfd (24 bytes, Linux 5.9).
type seccompNotifAddfd struct {
	ID         uint64
	Flags      uint32
	Srcfd      uint32
	Newfd      uint32
	NewfdFlags uint32
}

// installFilter installs a classic BPF seccomp filter on the calling
// thread with seccomp(2) and returns its result (a listener fd when flags
// has SECCOMP_FILTER_FLAG_NEW_LISTENER).
func installFilter(insns []bpf.RawInstruction, flags uintptr) (int, error) {
	prog := unix.SockFprog{
		Len:    uint16(len(insns)),
		Filter: (*unix.SockFilter)(unsafe.Pointer(&insns[0])),
	}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// notifRecv blocks in SECCOMP_IOCTL_NOTIF_RECV on listener fd.
func notifRecv(fd int, n *seccompNotif) error {
	*n = seccompNotif{} // the kernel requires a zeroed buffer
	return ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(n))
}

// notifSend answers a notification.
func notifSend(fd int, r *seccompNotifResp) error {
	return ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(r))
}

// notifAddfd installs a file descriptor in the notifying task and returns
// its number there.
func notifAddfd(fd int, a *seccompNotifAddfd) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_ADDFD, uintptr(unsafe.Pointer(a)))
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}
