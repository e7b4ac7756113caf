package seccomp

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// threadCreds switches the credentials of one locked OS thread. Linux
// keeps credentials per thread; the raw syscalls below change only the
// calling thread (glibc's and Go's setgroups/setuid would broadcast to
// every thread), so a worker thread can open with a traced process's
// fsuid, fsgid, groups and effective capabilities while the rest of vigil
// keeps its own. The caller must hold runtime.LockOSThread for good: a
// thread with borrowed credentials must never run other goroutines.
type threadCreds struct {
	own, cur creds
	perm     uint64 // permitted set, never changed
	inh      uint64
}

// newThreadCreds records the calling thread's credentials.
func newThreadCreds(own creds) (*threadCreds, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return nil, fmt.Errorf("reading capabilities: %w", err)
	}
	t := &threadCreds{own: own, cur: own,
		perm: uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32,
		inh:  uint64(data[0].Inheritable) | uint64(data[1].Inheritable)<<32}
	return t, nil
}

// apply makes c the calling thread's credentials for file access. The
// effective capabilities become c.CapEff limited to what vigil holds.
// Changing groups and fs ids needs CAP_SETGID and CAP_SETUID, so the
// effective set is first raised back to the permitted one, and lowered
// last.
func (t *threadCreds) apply(c *creds) error {
	if t.cur.equal(c) {
		return nil
	}
	if t.cur.CapEff != t.perm || t.cur.Fsuid != t.own.Fsuid {
		if err := t.capset(t.perm); err != nil {
			return err
		}
	}
	t.cur = creds{CapEff: t.perm} // the ids are unknown until every step succeeded
	if err := setgroupsThread(c.Groups); err != nil {
		return fmt.Errorf("setting groups: %w", err)
	}
	unix.Setfsgid(int(c.Fsgid))
	unix.Setfsuid(int(c.Fsuid))
	if got, _ := unix.SetfsuidRetUid(-1); got != int(c.Fsuid) {
		return fmt.Errorf("setting fsuid %d: still %d", c.Fsuid, got)
	}
	// Always set: a change of fsuid from or to 0 also changes the
	// effective file capabilities (cap_task_fix_setuid).
	if err := t.capset(c.CapEff & t.perm); err != nil {
		return err
	}
	t.cur = *c
	t.cur.CapEff &= t.perm
	t.cur.Groups = append([]uint32(nil), c.Groups...)
	return nil
}

// capset sets the calling thread's effective capabilities.
func (t *threadCreds) capset(eff uint64) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(eff), Permitted: uint32(t.perm), Inheritable: uint32(t.inh)},
		{Effective: uint32(eff >> 32), Permitted: uint32(t.perm >> 32), Inheritable: uint32(t.inh >> 32)},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("setting capabilities: %w", err)
	}
	return nil
}

// setgroupsThread sets the calling thread's supplementary groups only.
func setgroupsThread(gids []uint32) error {
	var p unsafe.Pointer
	if len(gids) > 0 {
		p = unsafe.Pointer(&gids[0])
	}
	_, _, errno := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(gids)), uintptr(p), 0)
	if errno != 0 {
		return errno
	}
	return nil
}
