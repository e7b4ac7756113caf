package doctor

import (
	"unsafe"

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
