package runpolicy

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ParseErrno parses an errno by name ("EACCES", case-insensitive) or
// number (1-4095).
func ParseErrno(s string) (syscall.Errno, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 4095 {
			return 0, fmt.Errorf("errno %d out of range 1-4095", n)
		}
		return syscall.Errno(n), nil
	}
	want := strings.ToUpper(s)
	for e := syscall.Errno(1); e < 256; e++ {
		if unix.ErrnoName(e) == want {
			return e, nil
		}
	}
	return 0, fmt.Errorf("unknown errno %q (want a name like EACCES or a number)", s)
}
