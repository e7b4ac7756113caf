package fanotify

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// ErrNotSupported means the kernel lacks a fanotify feature. It is
// cilium/ebpf's sentinel, the one that every "this kernel cannot" error in
// vigil wraps (doctor.ErrNotSupported is the same value), so errors.Is
// matches across packages.
var ErrNotSupported = ebpf.ErrNotSupported

// Group is a fanotify group: one fanotify fd and the marks on it.
type Group struct {
	f  *os.File
	rc syscall.RawConn
}

// Init creates a fanotify group (fanotify_init(2)) with FAN_NONBLOCK and
// FAN_CLOEXEC added to flags, so that reads go through Go's poller and
// Close wakes a blocked Read. eventFlags are the open(2) flags of the
// event fds (O_RDONLY | O_LARGEFILE | O_CLOEXEC is a good choice).
// Needs CAP_SYS_ADMIN. The caller must Close the Group.
//
// Use FAN_UNLIMITED_QUEUE for permission events: when a bounded queue
// overflows the kernel drops the permission event and allows the access
// (fanotify_handle_event), which would let a flood slip past a deny.
func Init(flags, eventFlags uint) (*Group, error) {
	fd, err := unix.FanotifyInit(flags|unix.FAN_NONBLOCK|unix.FAN_CLOEXEC, eventFlags)
	if err != nil {
		return nil, fmt.Errorf("fanotify_init(%#x): %w", flags, convert(err))
	}
	f := os.NewFile(uintptr(fd), "fanotify")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("fanotify: %w", err)
	}
	return &Group{f: f, rc: rc}, nil
}

// convert maps errnos that mean "this kernel cannot" to ErrNotSupported.
func convert(err error) error {
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("%w (%w)", ErrNotSupported, err)
	}
	return err
}

// Mark adds or removes a mark (fanotify_mark(2)); flags hold FAN_MARK_ADD
// or FAN_MARK_REMOVE and the mark type (FAN_MARK_FILESYSTEM, Linux 4.20+;
// FAN_MARK_MOUNT; or an inode), mask the events (FAN_OPEN_EXEC_PERM,
// Linux 5.0+; FAN_OPEN_PERM), path the object.
func (g *Group) Mark(flags uint, mask uint64, path string) error {
	var err error
	cerr := g.rc.Control(func(fd uintptr) {
		err = unix.FanotifyMark(int(fd), flags, mask, unix.AT_FDCWD, path)
	})
	if cerr != nil {
		return fmt.Errorf("marking %s: %w", path, cerr)
	}
	if err != nil {
		return fmt.Errorf("marking %s (flags %#x mask %#x): %w", path, flags, mask, convert(err))
	}
	return nil
}

// Read reads events into buf, blocking until there are some, and returns
// the byte count for Decode. It returns os.ErrClosed once Close is called.
// A read can fail for one event, for instance with EMFILE when no fd is
// left for it; the kernel then denies that permission event itself, and
// the caller should keep reading.
func (g *Group) Read(buf []byte) (int, error) {
	return g.f.Read(buf)
}

// Respond answers permission event fd: FAN_ALLOW or FAN_DENY, optionally
// with an errno (DenyErrno). It does not close fd. Answering an event that
// is no longer pending gives ENOENT.
func (g *Group) Respond(fd int32, response uint32) error {
	var b [8]byte
	encodeResponse(b[:], fd, response)
	var err error
	cerr := g.rc.Write(func(gfd uintptr) bool {
		// A response write never blocks; the poller is only used to
		// hold the fd against a concurrent Close.
		_, err = unix.Write(int(gfd), b[:])
		return true
	})
	if cerr != nil {
		return fmt.Errorf("answering fanotify event: %w", cerr)
	}
	if err != nil {
		return fmt.Errorf("answering fanotify event fd %d with %#x: %w", fd, response, err)
	}
	return nil
}

// SetReadDeadline makes Read return os.ErrDeadlineExceeded once t has
// passed and no event is queued; a zero t clears it.
func (g *Group) SetReadDeadline(t time.Time) error {
	return g.f.SetReadDeadline(t)
}

// Flush removes every filesystem and mount mark of the group
// (FAN_MARK_FLUSH), so that no new event is queued; events already
// queued stay to be read and answered.
func (g *Group) Flush() error {
	for _, typ := range []uint{unix.FAN_MARK_FILESYSTEM, unix.FAN_MARK_MOUNT} {
		if err := g.Mark(unix.FAN_MARK_FLUSH|typ, 0, "/"); err != nil {
			return fmt.Errorf("flushing marks: %w", err)
		}
	}
	return nil
}

// Close closes the group. The kernel answers allow for every permission
// event still pending; a blocked Read returns os.ErrClosed.
func (g *Group) Close() error {
	return g.f.Close()
}

// DenyErrno returns the FAN_DENY response that makes the call fail with
// errno: FAN_DENY | errno << FAN_ERRNO_SHIFT (FAN_DENY_ERRNO, Linux
// 6.13+, only for FAN_CLASS_PRE_CONTENT groups; see ProbeDenyErrno). For
// errno 0 or EPERM it is plain FAN_DENY, which every kernel gives as EPERM.
func DenyErrno(errno syscall.Errno) uint32 {
	if errno == 0 || errno == unix.EPERM {
		return unix.FAN_DENY
	}
	return unix.FAN_DENY | uint32(errno&unix.FAN_ERRNO_MASK)<<unix.FAN_ERRNO_SHIFT
}

// ProbeDenyErrno reports whether FAN_DENY_ERRNO works: it answers a
// non-existent event with a custom errno on a FAN_CLASS_PRE_CONTENT
// group. A kernel that knows FAN_DENY_ERRNO checks the response, then
// looks for the event and says ENOENT; an older one rejects the errno bits
// with EINVAL (process_access_response).
func ProbeDenyErrno() error {
	g, err := Init(unix.FAN_CLASS_PRE_CONTENT, unix.O_RDONLY)
	if err != nil {
		return err
	}
	defer g.Close()
	err = g.Respond(1<<30, DenyErrno(unix.EIO))
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("FAN_DENY_ERRNO: %w", ErrNotSupported)
	}
	return fmt.Errorf("probing FAN_DENY_ERRNO: unexpected answer %v", err)
}

// ProbePerm reports whether fanotify permission events work: a
// FAN_CLASS_CONTENT group can be made. It needs CAP_SYS_ADMIN and a
// kernel built with CONFIG_FANOTIFY_ACCESS_PERMISSIONS.
func ProbePerm() error {
	g, err := Init(unix.FAN_CLASS_CONTENT, unix.O_RDONLY)
	if err != nil {
		return err
	}
	return g.Close()
}
