package seccomp

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxLinks is the kernel's MAXSYMLINKS.
const maxLinks = 40

// walk resolves oc.Path to an O_PATH fd one component at a time, so that
// the parts of procfs that depend on who looks resolve for the caller,
// not for vigil:
//   - "self" and "thread-self" in the procfs root become TGID and
//     TGID/task/TID;
//   - a symlink inside /proc/PID (fd/N, cwd, root, exe, map_files/...) is
//     followed by the kernel, which resolves it for that process;
//   - every other symlink is read and followed here (an absolute one
//     restarts at the root), up to 40 as the kernel allows.
//
// ".." at the root of a process that chrooted is not clamped to its
// root; see docs/run.md.
func (o *opener) walk(oc *openCall, base int, extra uint64) (int, error) {
	p := oc.Path
	root := func() (int, error) {
		if extra&unix.RESOLVE_IN_ROOT != 0 {
			return unix.Open("/proc/"+strconv.FormatUint(uint64(o.tid), 10)+"/root", unix.O_PATH|unix.O_CLOEXEC, 0)
		}
		return unix.Open("/", unix.O_PATH|unix.O_CLOEXEC, 0)
	}
	var cur int
	var err error
	if strings.HasPrefix(p, "/") || base == unix.AT_FDCWD {
		cur, err = root()
	} else {
		cur, err = unix.Dup(base)
	}
	if err != nil {
		return -1, err
	}
	comps := strings.Split(p, "/")
	followLast := oc.Flags&unix.O_NOFOLLOW == 0
	dirLast := strings.HasSuffix(p, "/")
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		if c == "" || c == "." {
			continue
		}
		last := len(comps) == 0 || allEmpty(comps)
		if c == "self" || c == "thread-self" {
			if isProcRoot(cur) {
				if err := o.loadTgid(); err != nil {
					unix.Close(cur)
					return -1, err
				}
				sub := []string{strconv.FormatUint(uint64(o.tgid), 10)}
				if c == "thread-self" {
					sub = append(sub, "task", strconv.FormatUint(uint64(o.tid), 10))
				}
				comps = append(sub, comps...)
				continue
			}
		}
		next, err := unix.Openat(cur, c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			unix.Close(cur)
			return -1, err
		}
		if (!last || followLast || dirLast) && isSymlink(next) {
			o.links++
			if o.links > maxLinks {
				unix.Close(next)
				unix.Close(cur)
				return -1, unix.ELOOP
			}
			if onProc(cur) && !isProcRoot(cur) {
				// A per-process link: the kernel knows what it means.
				unix.Close(next)
				next, err = unix.Openat(cur, c, unix.O_PATH|unix.O_CLOEXEC, 0)
				if err != nil {
					unix.Close(cur)
					return -1, err
				}
			} else {
				target, err := readlinkFd(next)
				unix.Close(next)
				if err != nil {
					unix.Close(cur)
					return -1, err
				}
				if strings.HasPrefix(target, "/") {
					unix.Close(cur)
					if cur, err = root(); err != nil {
						return -1, err
					}
				}
				comps = append(strings.Split(target, "/"), comps...)
				continue
			}
		}
		unix.Close(cur)
		cur = next
	}
	if oc.Flags&unix.O_DIRECTORY != 0 || dirLast {
		var st unix.Stat_t
		if err := unix.Fstat(cur, &st); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			unix.Close(cur)
			return -1, unix.ENOTDIR
		}
	}
	return cur, nil
}

func allEmpty(comps []string) bool {
	for _, c := range comps {
		if c != "" && c != "." {
			return false
		}
	}
	return true
}

// loadTgid learns the caller's thread-group id, for /proc/self.
func (o *opener) loadTgid() error {
	if o.tgid != 0 {
		return nil
	}
	st, err := readStatus(o.tid)
	if err != nil {
		return err
	}
	o.tgid = st.Tgid
	return nil
}

// isProcRoot reports whether fd is the root directory of a procfs mount
// (procfs gives its root inode number 1, PROC_ROOT_INO).
func isProcRoot(fd int) bool {
	if !onProc(fd) {
		return false
	}
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Ino == 1
}

func isSymlink(fd int) bool {
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// readlinkFd reads the symlink an O_PATH|O_NOFOLLOW fd refers to
// (readlinkat with an empty path, Linux 2.6.39).
func readlinkFd(fd int) (string, error) {
	var b [pathMax]byte
	n, err := unix.Readlinkat(fd, "", b[:])
	if err != nil {
		return "", err
	}
	return string(b[:n]), nil
}
