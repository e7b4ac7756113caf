package seccomp

import (
	"bytes"
	"encoding/binary"
	"syscall"

	"golang.org/x/sys/unix"
)

// pathMax is PATH_MAX, the most the kernel reads of a path, NUL included.
const pathMax = 4096

// readMem copies len(buf) bytes at addr in process tid's memory with
// process_vm_readv (one syscall, no /proc/PID/mem fd to keep per process).
// The caller must check NOTIF_ID_VALID afterwards: tid may have died and
// been reused between the notification and the read.
func readMem(tid uint32, addr uint64, buf []byte) (int, error) {
	local := []unix.Iovec{{Base: &buf[0]}}
	local[0].SetLen(len(buf))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(buf)}}
	return unix.ProcessVMReadv(int(tid), local, remote, 0)
}

// readPath reads the NUL-terminated path at addr as the kernel's
// getname() would: EFAULT for a bad pointer, ENAMETOOLONG past PATH_MAX.
// Reads stop at page boundaries so a path that ends just before an
// unmapped page still reads.
func readPath(tid uint32, addr uint64, buf []byte) (string, syscall.Errno) {
	const page = 4096
	n := 0
	for n < pathMax {
		chunk := page - int((addr+uint64(n))%page)
		chunk = min(chunk, pathMax-n)
		got, err := readMem(tid, addr+uint64(n), buf[n:n+chunk])
		if err != nil || got == 0 {
			return "", syscall.EFAULT
		}
		if i := bytes.IndexByte(buf[n:n+got], 0); i >= 0 {
			return string(buf[:n+i]), 0
		}
		n += got
	}
	return "", syscall.ENAMETOOLONG
}

// openHow is struct open_how (include/uapi/linux/openat2.h, Linux 5.6).
type openHow struct {
	Flags, Mode, Resolve uint64
}

// readOpenHow reads openat2's struct open_how the way the kernel's
// copy_struct_from_user does: smaller than version 0 is EINVAL, larger
// is E2BIG unless the extra bytes are zero.
func readOpenHow(tid uint32, addr, size uint64) (openHow, syscall.Errno) {
	const v0 = 24
	if size < v0 {
		return openHow{}, syscall.EINVAL
	}
	if size > 4096 {
		return openHow{}, syscall.E2BIG
	}
	buf := make([]byte, size)
	if n, err := readMem(tid, addr, buf); err != nil || n != int(size) {
		return openHow{}, syscall.EFAULT
	}
	for _, b := range buf[v0:] {
		if b != 0 {
			return openHow{}, syscall.E2BIG
		}
	}
	return openHow{
		Flags:   binary.NativeEndian.Uint64(buf),
		Mode:    binary.NativeEndian.Uint64(buf[8:]),
		Resolve: binary.NativeEndian.Uint64(buf[16:]),
	}, 0
}
