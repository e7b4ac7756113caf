//go:build !amd64

package permission

import "golang.org/x/sys/unix"

// openFlags returns the open flags of the call a task is blocked in, or
// false when the call is not one whose flags are known (openat2 keeps
// them in user memory, which another thread could change after the
// kernel copied them, so it is treated as unknown).
func openFlags(nr int64, args [6]uint64) (uint32, bool) {
	switch nr {
	case unix.SYS_OPENAT, unix.SYS_OPEN_BY_HANDLE_AT:
		return uint32(args[2]), true
	case unix.SYS_EXECVE, unix.SYS_EXECVEAT:
		return unix.O_RDONLY, true
	}
	return 0, false
}
