// Package errno names Linux error numbers: the one table from names such
// as "EACCES" to syscall.Errno and back, for every place where a policy or
// a flag lets a user choose the error a denied call fails with.
//
// The names are those of golang.org/x/sys/unix (ErrnoName), so they match
// the kernel's include/uapi/asm-generic/errno*.h; an errno with two names
// (EAGAIN and EWOULDBLOCK, EDEADLK and EDEADLOCK, ENOTSUP and EOPNOTSUPP)
// is known by the one unix.ErrnoName gives.
//
// Errors: ByName reports an unknown name with false; Parse returns an
// error that says what it wanted.
package errno

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// MaxErrno is the largest error number a system call can return
// (MAX_ERRNO, include/linux/err.h).
const MaxErrno = 4095

// byName maps each name unix.ErrnoName knows to its number. Linux's
// errnos are all below 256 (EHWPOISON is 133 on x86_64).
var byName = func() map[string]syscall.Errno {
	m := map[string]syscall.Errno{}
	for e := syscall.Errno(1); e < 256; e++ {
		if n := unix.ErrnoName(e); n != "" {
			if _, dup := m[n]; !dup {
				m[n] = e
			}
		}
	}
	return m
}()

// ByName returns the errno called name, which is upper case as in the
// kernel's headers ("EACCES").
func ByName(name string) (syscall.Errno, bool) {
	e, ok := byName[name]
	return e, ok
}

// Name returns e's name, such as "EACCES", or "" for a number that has
// none.
func Name(e syscall.Errno) string {
	return unix.ErrnoName(e)
}

// Names returns the names of es joined by ", ", for messages.
func Names(es []syscall.Errno) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = Name(e)
	}
	return strings.Join(s, ", ")
}

// Parse reads an errno given by name, in any case ("EACCES", "eacces"),
// or by number (1 to MaxErrno).
func Parse(s string) (syscall.Errno, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > MaxErrno {
			return 0, fmt.Errorf("errno %d out of range 1-%d", n, MaxErrno)
		}
		return syscall.Errno(n), nil
	}
	if e, ok := ByName(strings.ToUpper(s)); ok {
		return e, nil
	}
	return 0, fmt.Errorf("unknown errno %q (want a name like EACCES or a number)", s)
}
