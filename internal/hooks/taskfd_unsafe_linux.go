package hooks

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bpfTaskFDQuery is the bpf(2) command BPF_TASK_FD_QUERY (Linux 4.18).
const bpfTaskFDQuery = 20

// taskFDQueryAttr is the task_fd_query member of union bpf_attr. Buf is an
// unsafe.Pointer so the runtime keeps it valid if the stack moves; the
// layout assumes 64-bit pointers.
type taskFDQueryAttr struct {
	Pid         uint32
	Fd          uint32
	Flags       uint32
	BufLen      uint32
	Buf         unsafe.Pointer
	ProgID      uint32
	FdType      uint32
	ProbeOffset uint64
	ProbeAddr   uint64
}

// BPF_FD_TYPE_* values of task_fd_query.fd_type.
const (
	fdTypeRawTracepoint = iota
	fdTypeTracepoint
	fdTypeKprobe
	fdTypeKretprobe
	fdTypeUprobe
	fdTypeUretprobe
)

// perfEventProgram asks the kernel which BPF program file descriptor fd of
// process pid (a perf event or raw tracepoint) runs, and where, covering
// programs attached without a BPF link (PERF_EVENT_IOC_SET_BPF). It needs
// CAP_SYS_ADMIN; ok is false when fd has no program.
func perfEventProgram(pid, fd int) (id uint32, where string, ok bool) {
	buf := make([]byte, 256)
	attr := taskFDQueryAttr{Pid: uint32(pid), Fd: uint32(fd), BufLen: uint32(len(buf)), Buf: unsafe.Pointer(&buf[0])}
	_, _, errno := unix.Syscall(unix.SYS_BPF, bpfTaskFDQuery, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	if errno != 0 || attr.ProgID == 0 {
		return 0, "", false
	}
	name := unix.ByteSliceToString(buf)
	switch attr.FdType {
	case fdTypeRawTracepoint:
		where = "raw_tracepoint " + name
	case fdTypeTracepoint:
		where = "tracepoint " + name
	case fdTypeKprobe, fdTypeKretprobe:
		kind := map[uint32]string{fdTypeKprobe: "kprobe", fdTypeKretprobe: "kretprobe"}[attr.FdType]
		if name == "" {
			where = fmt.Sprintf("%s %#x", kind, attr.ProbeAddr)
		} else {
			where = fmt.Sprintf("%s %s+%d", kind, name, attr.ProbeOffset)
		}
	case fdTypeUprobe, fdTypeUretprobe:
		kind := map[uint32]string{fdTypeUprobe: "uprobe", fdTypeUretprobe: "uretprobe"}[attr.FdType]
		where = fmt.Sprintf("%s %s+%#x", kind, name, attr.ProbeOffset)
	default:
		where = fmt.Sprintf("perf_event fd type %d", attr.FdType)
	}
	return attr.ProgID, where, true
}
