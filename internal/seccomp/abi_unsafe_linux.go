package seccomp

import (
	"errors"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The kernel ABI of seccomp user notification (include/uapi/linux/seccomp.h,
// Linux 5.0; ADDFD 5.9, ADDFD_FLAG_SEND 5.14, SET_FLAGS 6.6). The sizes
// are fixed by the ioctl numbers x/sys/unix carries: RECV 0x50, SEND
// 0x18, ADDFD 0x18.

// Data is struct seccomp_data: the system call a filter or a
// notification describes.
type Data struct {
	Nr                 int32
	Arch               uint32
	InstructionPointer uint64
	Args               [6]uint64
}

// Notif is struct seccomp_notif, one notification as
// SECCOMP_IOCTL_NOTIF_RECV returns it.
type Notif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  Data
}

// NotifResp is struct seccomp_notif_resp, the answer to a notification
// (SECCOMP_IOCTL_NOTIF_SEND).
type NotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// notifAddfd is struct seccomp_notif_addfd.
type notifAddfd struct {
	ID         uint64
	Flags      uint32
	Srcfd      uint32
	Newfd      uint32
	NewfdFlags uint32
}

func init() {
	// Catch a layout mistake at start-up rather than as kernel EINVAL.
	if unsafe.Sizeof(Notif{}) != 0x50 || unsafe.Sizeof(NotifResp{}) != 0x18 || unsafe.Sizeof(notifAddfd{}) != 0x18 {
		panic("seccomp: notification structs do not match the kernel ABI")
	}
}

// InstallFilter loads prog as a seccomp filter of the calling thread
// (seccomp(2) SECCOMP_SET_MODE_FILTER, Linux 3.17) with the
// SECCOMP_FILTER_FLAG_* bits in flags, and returns the syscall's result:
// the listener fd (created O_CLOEXEC by the kernel) when flags has
// SECCOMP_FILTER_FLAG_NEW_LISTENER (Linux 5.0), else 0. The error is the
// bare errno, for the caller to wrap or judge.
//
// The filter stays on the thread for good. The caller must have set
// no_new_privs (or hold CAP_SYS_ADMIN) and must lock its goroutine to the
// OS thread: without SECCOMP_FILTER_FLAG_TSYNC the filter covers only the
// calling thread, so Go's other threads stay unfiltered (the shim execs
// from that same thread; doctor's probe lets the thread die).
func InstallFilter(prog []bpf.RawInstruction, flags uint) (int, error) {
	if len(prog) == 0 || len(prog) > 0xffff {
		return -1, unix.EINVAL
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	fd, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		uintptr(flags), uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// ioctl performs a seccomp ioctl with a pointer argument.
func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

// RecvNotif waits on listener fd for the next notification
// (SECCOMP_IOCTL_NOTIF_RECV, Linux 5.0), retrying on EINTR. ENOENT means
// the notifying task went away before it was read or, since Linux 6.6,
// that the filter has no users left.
func RecvNotif(fd int, n *Notif) error {
	*n = Notif{} // the kernel insists on a zeroed buffer
	for {
		err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(n))
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// SendResp answers a notification on listener fd
// (SECCOMP_IOCTL_NOTIF_SEND, Linux 5.0). ENOENT means the task is gone or
// was interrupted; the answer is then moot.
func SendResp(fd int, r *NotifResp) error {
	return ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(r))
}

// idValid reports whether notification id is still pending
// (SECCOMP_IOCTL_NOTIF_ID_VALID): the task is still blocked in that call,
// so a pid read from it still names it.
func idValid(fd int, id uint64) bool {
	return ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id)) == nil
}

// AddFDSend installs a copy of srcfd in the task that made notification
// id on listener fd and answers the notification with the new fd number
// in one step (SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND,
// Linux 5.14), so the task never sees a window where the fd exists but
// the call has not returned. It returns the fd number in the task; on an
// error the notification is still unanswered (EINVAL before 5.14, ENOENT
// when the task is gone).
func AddFDSend(fd int, id uint64, srcfd int, cloexec bool) (int, error) {
	a := notifAddfd{ID: id, Flags: unix.SECCOMP_ADDFD_FLAG_SEND, Srcfd: uint32(srcfd)}
	if cloexec {
		a.NewfdFlags = unix.O_CLOEXEC
	}
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(unix.SECCOMP_IOCTL_NOTIF_ADDFD), uintptr(unsafe.Pointer(&a)))
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// setSyncWakeUp asks the kernel to wake the notifying task on the CPU the
// supervisor answers from (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, Linux 6.6),
// which saves a migration per call when both sides ping-pong.
func setSyncWakeUp(fd int) error {
	// The flags are the ioctl's argument itself, not a pointer.
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(unix.SECCOMP_IOCTL_NOTIF_SET_FLAGS), unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
	if errno != 0 {
		return errno
	}
	return nil
}
