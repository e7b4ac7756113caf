package doctor

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// ErrNotSupported is matched (errors.Is) by every error that says the
// kernel lacks or refuses a mechanism. It is cilium/ebpf's sentinel, so
// errors from that library's own feature checks match it too.
var ErrNotSupported = ebpf.ErrNotSupported

// Status is a probe's verdict on one mechanism.
type Status string

// The three verdicts, following the package's error contract.
const (
	Yes     Status = "yes"     // the probe succeeded
	No      Status = "no"      // the kernel lacks or refuses it
	Unknown Status = "unknown" // the probe could not tell (see Reason)
)

// Result is one row of the doctor table.
type Result struct {
	// Name is the probe's stable identifier, e.g. "fentry".
	Name string `json:"name"`
	// Title is the row's human label, e.g. "fentry (ftrace trampoline)".
	Title  string `json:"title"`
	Status Status `json:"status"`
	// Reason is the exact reason when Status is not Yes.
	Reason string `json:"reason,omitempty"`
	// Detail is extra information when Status is Yes (a mode, a list).
	Detail string `json:"detail,omitempty"`
	// UsedBy names the vigil features that rely on the mechanism.
	UsedBy []string `json:"used_by,omitempty"`
}

// Report is the outcome of Probe: every row and the resulting plan.
type Report struct {
	Kernel string `json:"kernel"`
	UID    int    `json:"uid"`
	// Privileged says whether vigil had CAP_SYS_ADMIN; without it many
	// rows are Unknown.
	Privileged bool     `json:"privileged"`
	Results    []Result `json:"results"`
	Plan       []Choice `json:"plan"`
}

// Result returns the row named name and whether it exists.
func (r *Report) Result(name string) (Result, bool) {
	for _, res := range r.Results {
		if res.Name == name {
			return res, true
		}
	}
	return Result{}, false
}

// verdict turns a probe error into a status and reason following the
// package's error contract.
func verdict(err error) (Status, string) {
	switch {
	case err == nil:
		return Yes, ""
	case errors.Is(err, ErrNotSupported):
		return No, err.Error()
	default:
		return Unknown, "could not tell: " + err.Error()
	}
}

// missingError says the kernel refused op; it matches ErrNotSupported and
// unwraps to the kernel's errno. Its text is "EPERM loading x".
type missingError struct {
	op  string
	err error
}

func (e *missingError) Error() string {
	if name := errnoName(e.err); name != "" {
		return name + " " + e.op
	}
	if e.err == nil {
		return e.op
	}
	return e.op + ": " + e.err.Error()
}

func (e *missingError) Unwrap() error        { return e.err }
func (e *missingError) Is(target error) bool { return target == ErrNotSupported }

// missing returns an error matching ErrNotSupported for op.
func missing(op string, err error) error { return &missingError{op: op, err: err} }

// privilegeError says op failed for lack of privilege: could not tell.
type privilegeError struct {
	op  string
	err error
}

func (e *privilegeError) Error() string {
	name := errnoName(e.err)
	if name == "" {
		name = e.err.Error()
	}
	return fmt.Sprintf("%s %s: not privileged (uid %d without CAP_SYS_ADMIN)", name, e.op, unix.Geteuid())
}

func (e *privilegeError) Unwrap() error { return e.err }

// enotsupp is the kernel-internal ENOTSUPP (524) that BPF returns to user
// space; x/sys/unix has no name for it.
const enotsupp = syscall.Errno(524)

// errnoName returns the symbolic name of the errno err wraps ("EPERM"),
// or "" when it wraps none.
func errnoName(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return ""
	}
	if errno == enotsupp {
		return "ENOTSUPP"
	}
	return unix.ErrnoName(errno)
}

// judge classifies err from op. Kernel refusals become ErrNotSupported
// when vigil is privileged; the same errnos without privilege mean the
// probe could not tell. Anything else is wrapped as "could not tell".
func judge(op string, err error) error {
	if err == nil {
		return nil
	}
	var errno syscall.Errno
	hasErrno := errors.As(err, &errno)
	if hasErrno && (errno == unix.EPERM || errno == unix.EACCES) && !privileged() {
		return &privilegeError{op: op, err: err}
	}
	if errors.Is(err, ErrNotSupported) {
		return missing(op, err)
	}
	if hasErrno {
		switch errno {
		case unix.EPERM, unix.EACCES, unix.EINVAL, unix.ENOENT, unix.EOPNOTSUPP,
			unix.ENOSYS, unix.ESRCH, unix.E2BIG, enotsupp:
			return missing(op, err)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}
