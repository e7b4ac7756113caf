package seccomp

import (
	"errors"
	"path"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// validOpenFlags is the kernel's VALID_OPEN_FLAGS (include/linux/fcntl.h):
// open and openat silently drop other bits, so the emulation does too.
const validOpenFlags = unix.O_RDONLY | unix.O_WRONLY | unix.O_RDWR | unix.O_CREAT | unix.O_EXCL |
	unix.O_NOCTTY | unix.O_TRUNC | unix.O_APPEND | unix.O_NONBLOCK | unix.O_DSYNC | unix.O_ASYNC |
	unix.O_DIRECT | unix.O_LARGEFILE | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_NOATIME |
	unix.O_CLOEXEC | unix.O_PATH | unix.O_TMPFILE | unix.O_SYNC

// openCall is one open-family call decoded from a notification.
type openCall struct {
	Syscall string
	Dirfd   int32
	Path    string
	Flags   uint64
	Mode    uint64
	Resolve uint64
}

// decodeOpen decodes the arguments of open, creat, openat or openat2,
// reading the path (and openat2's open_how) from the caller's memory.
func decodeOpen(n *Notif, buf []byte) (openCall, syscall.Errno) {
	a := n.Data.Args
	oc := openCall{Dirfd: unix.AT_FDCWD}
	var pathAddr uint64
	switch uint32(n.Data.Nr) {
	case sysOpen:
		oc.Syscall, pathAddr, oc.Flags, oc.Mode = "open", a[0], a[1], a[2]
	case sysCreat:
		oc.Syscall, pathAddr, oc.Mode = "creat", a[0], a[1]
		oc.Flags = unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC
	case sysOpenat:
		oc.Syscall, oc.Dirfd, pathAddr, oc.Flags, oc.Mode = "openat", int32(a[0]), a[1], a[2], a[3]
	case sysOpenat2:
		oc.Syscall, oc.Dirfd, pathAddr = "openat2", int32(a[0]), a[1]
		how, e := readOpenHow(n.Pid, a[2], a[3])
		if e != 0 {
			return oc, e
		}
		oc.Flags, oc.Mode, oc.Resolve = how.Flags, how.Mode, how.Resolve
		if oc.Flags&(unix.O_CREAT|unix.O_TMPFILE) == 0 && oc.Mode != 0 {
			return oc, syscall.EINVAL // as openat2 itself
		}
	}
	if oc.Syscall != "openat2" {
		// build_open_how: unknown bits dropped, O_LARGEFILE forced on
		// 64-bit, mode ignored unless a file may be created.
		oc.Flags = oc.Flags&validOpenFlags | unix.O_LARGEFILE
		oc.Flags &= 0xffffffff
		if oc.Flags&(unix.O_CREAT|unix.O_TMPFILE) == 0 {
			oc.Mode = 0
		}
		oc.Mode &= 07777
	}
	p, e := readPath(n.Pid, pathAddr, buf)
	oc.Path = p
	return oc, e
}

// opened is the outcome of an emulated open.
type opened struct {
	fd       int // vigil's fd to inject, -1 on failure
	errno    syscall.Errno
	resolved string // the file opened (or refused), absolute, where known
	rule     *PathRule
}

// opener resolves and opens one call's path on behalf of process tid. It
// runs on a worker thread already carrying the caller's credentials.
type opener struct {
	tid   uint32
	tgid  uint32 // 0 until needed
	umask uint32
	rules *Rules
	ids   *identities // the deny rules' files, nil without deny rules
	view  bool        // the tree changed root or mount namespace: resolve under /proc/TID/root
	links int
}

// baseFd returns the directory the path resolves from, as an O_PATH fd
// (or AT_FDCWD for an absolute path with vigil's own root), and the
// extra RESOLVE_ flags that go with it.
func (o *opener) baseFd(oc *openCall) (int, uint64, syscall.Errno) {
	proc := "/proc/" + strconv.FormatUint(uint64(o.tid), 10)
	var p string
	var extra uint64
	switch {
	case strings.HasPrefix(oc.Path, "/"):
		if !o.view {
			return unix.AT_FDCWD, 0, 0
		}
		p, extra = proc+"/root", unix.RESOLVE_IN_ROOT
	case oc.Dirfd == unix.AT_FDCWD:
		p = proc + "/cwd"
	case oc.Dirfd < 0:
		return -1, 0, syscall.EBADF
	default:
		p = proc + "/fd/" + strconv.Itoa(int(oc.Dirfd))
	}
	fd, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		if oc.Dirfd >= 0 && errors.Is(err, unix.ENOENT) {
			return -1, 0, syscall.EBADF
		}
		return -1, 0, errnoOf(err)
	}
	return fd, extra, 0
}

// lexical returns the absolute clean form of the path as written, joined
// to the directory it is relative to.
func lexical(base int, p string) string {
	if strings.HasPrefix(p, "/") || base < 0 {
		return path.Clean(p)
	}
	dir, err := fdPath(base)
	if err != nil {
		return ""
	}
	return path.Clean(dir + "/" + p)
}

// fdPath returns the path of vigil's fd, as /proc/self/fd shows it.
func fdPath(fd int) (string, error) {
	return readlink("/proc/self/fd/" + strconv.Itoa(fd))
}

func readlink(p string) (string, error) {
	var b [pathMax]byte
	n, err := unix.Readlink(p, b[:])
	if err != nil {
		return "", err
	}
	return string(b[:n]), nil
}

// open performs the call. The rules are checked against the path as
// written (made absolute and clean); a path without symlinks is then
// opened directly, refusing symlinks, so it can only reach that file. A
// path through symlinks is resolved without side effects (O_PATH), the
// rules are checked against the file it leads to as well, and that very
// file is opened with the caller's flags. The path was read once from
// the caller's memory; nothing re-reads it, so a thread that rewrites it
// after the check changes nothing.
//
// Deny rules are also checked by identity (see identities): after the
// open for a call that cannot change the file, before it (on the O_PATH
// fd, or on the directory a file is created in) for one that can.
func (o *opener) open(oc *openCall, base int, extra uint64) opened {
	lex := lexical(base, oc.Path)
	r, target := o.rules.MatchPath(lex)
	if r.enforces() {
		return o.apply(oc, r, target, lex)
	}
	if oc.Path == "" {
		return opened{fd: -1, errno: syscall.ENOENT, rule: r}
	}
	// With deny rules, a call that creates or truncates goes the O_PATH
	// way, so that the identity check comes before any change.
	changes := o.ids != nil && oc.Flags&(unix.O_CREAT|unix.O_TRUNC|unix.O_TMPFILE) != 0
	if lex != "" && !changes {
		// Fast path: open with RESOLVE_NO_SYMLINKS. Without symlinks the
		// kernel walks exactly the components of the lexical path just
		// checked (".." included), so the file opened or created is the
		// one the rules saw, and procfs's self links (symlinks) cannot be
		// involved. Any error but ELOOP is the caller's answer.
		fd, err := o.direct(oc, base, extra)
		if err == nil {
			return o.checkID(opened{fd: fd, resolved: lex, rule: r})
		}
		if !errors.Is(err, unix.ELOOP) || oc.Resolve&unix.RESOLVE_NO_SYMLINKS != 0 {
			return opened{fd: -1, errno: errnoOf(err), resolved: lex, rule: r}
		}
	}
	// The path crosses a symlink: resolve it without side effects, check
	// where it leads, then open that very file.
	pfd, err := o.resolve(oc, base, extra)
	if errors.Is(err, unix.ENOENT) && oc.Flags&unix.O_CREAT != 0 {
		return o.create(oc, base, extra, r)
	}
	if err != nil {
		return opened{fd: -1, errno: errnoOf(err), resolved: lex, rule: r}
	}
	real, _ := fdPath(pfd)
	if real != lex {
		if r2, target := o.rules.MatchPath(real); r2.enforces() {
			unix.Close(pfd)
			return o.apply(oc, r2, target, real)
		} else if r == nil {
			r = r2
		}
	}
	if d := o.ids.match(pfd, o.rules.index(r), false); d != nil {
		unix.Close(pfd)
		return opened{fd: -1, errno: d.Errno, resolved: real, rule: d}
	}
	fd, e := o.reopen(oc, pfd)
	return opened{fd: fd, errno: e, resolved: real, rule: r}
}

// checkID denies res, an open that succeeded, when its file is one a
// deny rule before res.rule names by identity.
func (o *opener) checkID(res opened) opened {
	if d := o.ids.match(res.fd, o.rules.index(res.rule), false); d != nil {
		unix.Close(res.fd)
		return opened{fd: -1, errno: d.Errno, resolved: res.resolved, rule: d}
	}
	return res
}

// enforces reports whether r changes the outcome (deny or redirect)
// rather than only marking it (allow, log).
func (r *PathRule) enforces() bool {
	return r != nil && (r.Action == ActionDeny || r.Action == ActionRedirect)
}

// apply carries out the deny or redirect rule r matched at p.
func (o *opener) apply(oc *openCall, r *PathRule, target, p string) opened {
	if r.Action == ActionDeny {
		return opened{fd: -1, errno: r.Errno, resolved: p, rule: r}
	}
	flags := oc.Flags | unix.O_CLOEXEC
	mode := oc.Mode
	if flags&(unix.O_CREAT|unix.O_TMPFILE) == 0 {
		mode = 0
	} else {
		mode &^= uint64(o.umask)
	}
	fd, err := unix.Openat2(unix.AT_FDCWD, target, &unix.OpenHow{Flags: flags, Mode: mode})
	if err != nil {
		return opened{fd: -1, errno: errnoOf(err), resolved: target, rule: r}
	}
	return opened{fd: fd, resolved: target, rule: r}
}

// direct opens the path with the caller's flags, refusing symlinks.
func (o *opener) direct(oc *openCall, base int, extra uint64) (int, error) {
	how := unix.OpenHow{Flags: oc.Flags | unix.O_CLOEXEC, Resolve: oc.Resolve | extra | unix.RESOLVE_NO_SYMLINKS}
	if oc.Flags&(unix.O_CREAT|unix.O_TMPFILE) != 0 {
		how.Mode = oc.Mode &^ uint64(o.umask)
	}
	return unix.Openat2(base, oc.Path, &how)
}

// reopen turns the O_PATH fd of the resolved file into the fd the caller
// asked for, by reopening it through /proc/self/fd: the same inode, with
// the permission checks of the current (borrowed) credentials.
func (o *opener) reopen(oc *openCall, pfd int) (int, syscall.Errno) {
	f := oc.Flags
	if f&unix.O_PATH != 0 {
		return pfd, 0
	}
	defer unix.Close(pfd)
	if f&unix.O_CREAT != 0 && f&unix.O_EXCL != 0 {
		return -1, syscall.EEXIST
	}
	if f&unix.O_NOFOLLOW != 0 {
		var st unix.Stat_t
		if err := unix.Fstat(pfd, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return -1, syscall.ELOOP
		}
	}
	mode := uint32(0)
	if f&unix.O_TMPFILE == unix.O_TMPFILE {
		mode = uint32(oc.Mode) &^ o.umask
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), int(f&^(unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW))|unix.O_CLOEXEC, mode)
	if err != nil {
		return -1, errnoOf(err)
	}
	return fd, 0
}

// create handles O_CREAT of a path that does not exist yet: resolve the
// parent, check the rules against the file about to be made, create it
// there. The last component is not followed (O_NOFOLLOW): creating
// through a dangling symlink fails with ELOOP rather than create a file
// the rules never saw.
func (o *opener) create(oc *openCall, base int, extra uint64, r *PathRule) opened {
	dir, name := path.Split(oc.Path)
	if name == "" || name == "." || name == ".." {
		return opened{fd: -1, errno: syscall.EISDIR}
	}
	if dir == "" {
		dir = "."
	}
	parent := *oc
	parent.Path, parent.Flags = dir, unix.O_DIRECTORY
	dfd, err := o.resolve(&parent, base, extra)
	if err != nil {
		return opened{fd: -1, errno: errnoOf(err), rule: r}
	}
	defer unix.Close(dfd)
	rdir, _ := fdPath(dfd)
	real := path.Join(rdir, name)
	if r2, target := o.rules.MatchPath(real); r2.enforces() {
		return o.apply(oc, r2, target, real)
	} else if r == nil {
		r = r2
	}
	// A directory denied by a prefix rule, under another name.
	if d := o.ids.match(dfd, o.rules.index(r), true); d != nil {
		return opened{fd: -1, errno: d.Errno, resolved: real, rule: d}
	}
	fd, err := unix.Openat(dfd, name, int(oc.Flags)|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(oc.Mode)&^o.umask)
	if err != nil {
		return opened{fd: -1, errno: errnoOf(err), resolved: real, rule: r}
	}
	// The name may have appeared since the parent was resolved, as a
	// second name for a denied file.
	return o.checkID(opened{fd: fd, resolved: real, rule: r})
}

// resolve opens the call's path with O_PATH. The fast path is one
// openat2 with RESOLVE_NO_MAGICLINKS; it is wrong only where a path means
// something else to vigil than to the caller: /proc/self and
// /proc/thread-self, and the per-process magic links under /proc/PID
// (fd/N, cwd, root, exe), which /dev/stdin and /dev/fd lead to. Those
// either fail with ELOOP (a magic link) or end on procfs, and then the
// slow path walks the path one component at a time in the caller's terms.
func (o *opener) resolve(oc *openCall, base int, extra uint64) (int, error) {
	flags := unix.O_PATH | unix.O_CLOEXEC | oc.Flags&(unix.O_NOFOLLOW|unix.O_DIRECTORY)
	how := unix.OpenHow{Flags: flags, Resolve: oc.Resolve | extra | unix.RESOLVE_NO_MAGICLINKS}
	fd, err := unix.Openat2(base, oc.Path, &how)
	if err == nil {
		if !onProc(fd) {
			return fd, nil
		}
		unix.Close(fd)
	} else if !errors.Is(err, unix.ELOOP) || oc.Resolve&unix.RESOLVE_NO_MAGICLINKS != 0 {
		return -1, err
	}
	o.links = 0
	return o.walk(oc, base, extra)
}

// onProc reports whether fd is on a procfs mount.
func onProc(fd int) bool {
	var st unix.Statfs_t
	return unix.Fstatfs(fd, &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
}

// errnoOf returns the errno in err, EIO if there is none.
func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}
