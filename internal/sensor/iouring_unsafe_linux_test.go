package sensor

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A minimal io_uring client for the tests, without liburing: one ring,
// one request at a time (include/uapi/linux/io_uring.h).

const (
	ioringOpOpenat  = 18
	ioringOpOpenat2 = 28

	ioringOffSqRing = 0
	ioringOffCqRing = 0x8000000
	ioringOffSqes   = 0x10000000

	ioringEnterGetevents = 1 << 0
	ioringRegisterFiles  = 2
	iosqeCqeSkipSuccess  = 1 << 6
)

// uringParams is struct io_uring_params.
type uringParams struct {
	SqEntries, CqEntries, Flags, SqThreadCPU, SqThreadIdle, Features, WqFd uint32
	Resv                                                                   [3]uint32
	SqOff                                                                  sqOffsets
	CqOff                                                                  cqOffsets
}

// sqOffsets is struct io_sqring_offsets.
type sqOffsets struct {
	Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1 uint32
	UserAddr                                                        uint64
}

// cqOffsets is struct io_cqring_offsets.
type cqOffsets struct {
	Head, Tail, RingMask, RingEntries, Overflow, Cqes, Flags, Resv1 uint32
	UserAddr                                                        uint64
}

// uringSqe is struct io_uring_sqe with the members an open uses.
type uringSqe struct {
	Opcode, Flags uint8
	Ioprio        uint16
	Fd            int32
	Off           uint64 // openat2: the struct open_how
	Addr          uint64 // the path
	Len           uint32 // openat: mode; openat2: sizeof(struct open_how)
	OpenFlags     uint32
	UserData      uint64
	BufIndex      uint16
	Personality   uint16
	FileIndex     uint32
	Addr3         uint64
	_             uint64
}

type uringCqe struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// uring is a ring with its three mappings.
type uring struct {
	fd         int
	p          uringParams
	sq, cq, se []byte
}

func newUring() (*uring, error) {
	r := &uring{}
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 4, uintptr(unsafe.Pointer(&r.p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	r.fd = int(fd)
	var err error
	mmap := func(off int64, size uint32) []byte {
		if err != nil {
			return nil
		}
		var b []byte
		b, err = unix.Mmap(r.fd, off, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		return b
	}
	r.sq = mmap(ioringOffSqRing, r.p.SqOff.Array+r.p.SqEntries*4)
	r.cq = mmap(ioringOffCqRing, r.p.CqOff.Cqes+r.p.CqEntries*uint32(unsafe.Sizeof(uringCqe{})))
	r.se = mmap(ioringOffSqes, r.p.SqEntries*uint32(unsafe.Sizeof(uringSqe{})))
	if err != nil {
		r.close()
		return nil, fmt.Errorf("mapping the rings: %w", err)
	}
	return r, nil
}

func (r *uring) close() {
	for _, b := range [][]byte{r.sq, r.cq, r.se} {
		if b != nil {
			_ = unix.Munmap(b)
		}
	}
	unix.Close(r.fd)
}

func (r *uring) u32(b []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }

// do submits sqe and waits for its completion; skip says the request
// asked for none on success (then the result is 0 once it is consumed).
func (r *uring) do(sqe uringSqe, skip bool) (int32, error) {
	tail := atomic.LoadUint32(r.u32(r.sq, r.p.SqOff.Tail))
	idx := tail & *r.u32(r.sq, r.p.SqOff.RingMask)
	*(*uringSqe)(unsafe.Pointer(&r.se[uintptr(idx)*unsafe.Sizeof(sqe)])) = sqe
	*r.u32(r.sq, r.p.SqOff.Array+4*idx) = idx
	atomic.StoreUint32(r.u32(r.sq, r.p.SqOff.Tail), tail+1)
	minComplete := uintptr(1)
	if skip {
		minComplete = 0
	}
	n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 1, minComplete, ioringEnterGetevents, 0, 0)
	if errno != 0 {
		return 0, fmt.Errorf("io_uring_enter: %w", errno)
	}
	if n != 1 {
		return 0, fmt.Errorf("io_uring_enter submitted %d requests, want 1", n)
	}
	if skip {
		return 0, nil
	}
	head := atomic.LoadUint32(r.u32(r.cq, r.p.CqOff.Head))
	if atomic.LoadUint32(r.u32(r.cq, r.p.CqOff.Tail)) == head {
		return 0, fmt.Errorf("no completion")
	}
	i := head & *r.u32(r.cq, r.p.CqOff.RingMask)
	cqe := *(*uringCqe)(unsafe.Pointer(&r.cq[uintptr(r.p.CqOff.Cqes)+uintptr(i)*unsafe.Sizeof(uringCqe{})]))
	atomic.StoreUint32(r.u32(r.cq, r.p.CqOff.Head), head+1)
	return cqe.Res, nil
}

// openSqe is an IORING_OP_OPENAT (op "openat") or IORING_OP_OPENAT2
// (op "openat2") of path relative to the working directory; path and how
// must stay alive until the request is submitted.
func openSqe(op string, path *byte, flags uint32, how *unix.OpenHow) uringSqe {
	sqe := uringSqe{Fd: unix.AT_FDCWD, Addr: uint64(uintptr(unsafe.Pointer(path)))}
	if op == "openat2" {
		sqe.Opcode = ioringOpOpenat2
		how.Flags = uint64(flags)
		if flags&unix.O_CREAT != 0 {
			how.Mode = 0o644
		}
		sqe.Off = uint64(uintptr(unsafe.Pointer(how)))
		sqe.Len = uint32(unsafe.Sizeof(*how))
		return sqe
	}
	sqe.Opcode = ioringOpOpenat
	sqe.OpenFlags = flags
	sqe.Len = 0o644
	return sqe
}

// helperUring opens args[1] with io_uring, args[0] ("openat", "openat2",
// or either with "-skip": IOSQE_CQE_SKIP_SUCCESS, "-fault": an invalid
// name pointer instead of args[1], or "-fixed": into a registered file
// slot) and the O_* flags in
// args[2], prints the result (a descriptor or -errno) and, for a
// descriptor, writes "survived" after it.
func helperUring(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: uring openat|openat2[-skip|-fault|-fixed] PATH FLAGS")
		return 2
	}
	op, skip, fault := args[0], false, false
	if o, ok := strings.CutSuffix(op, "-skip"); ok {
		op, skip = o, true
	}
	if o, ok := strings.CutSuffix(op, "-fault"); ok {
		op, fault = o, true
	}
	fixed := false
	if o, ok := strings.CutSuffix(op, "-fixed"); ok {
		op, fixed = o, true
	}
	flags, err := strconv.ParseUint(args[2], 0, 32)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	r, err := newUring()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer r.close()
	path, err := unix.BytePtrFromString(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var how unix.OpenHow
	sqe := openSqe(op, path, uint32(flags), &how)
	if skip {
		sqe.Flags |= iosqeCqeSkipSuccess
	}
	if fault {
		sqe.Addr = 8 // no name there: the request fails being prepared
	}
	if fixed {
		// One empty registered file slot; open into it (file_index is
		// the slot plus one), and the result is 0, not a descriptor.
		empty := int32(-1)
		if _, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), ioringRegisterFiles, uintptr(unsafe.Pointer(&empty)), 1, 0, 0); errno != 0 {
			fmt.Fprintln(os.Stderr, "io_uring_register:", errno)
			return 1
		}
		sqe.FileIndex = 1
	}
	res, err := r.do(sqe, skip)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(res)
	if res >= 0 {
		fmt.Println("survived")
	}
	return 0
}
