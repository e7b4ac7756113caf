package event

// Namespace is an entry into new or other namespaces: unshare with a
// CLONE_NEW* flag, setns, or a fork (clone, clone3) whose child has
// other namespaces than its parent.
type Namespace struct {
	Syscall string // "unshare", "setns" or "clone"
	// Flags are unshare's flags or setns's nstype (0: any kind); 0 for
	// clone, where the kinds are those that differ.
	Flags    uint64
	Fd       int32  // setns: the namespace descriptor; -1 otherwise
	ChildPid uint32 // clone: the child
	// Old and New are the namespaces' inode numbers (the ids of
	// /proc/PID/ns/*), indexed by NSKind: before and after the call, or,
	// for clone, the parent's and the child's. pid and time are the
	// namespaces for children, which unshare changes.
	Old, New [NSKinds]uint32
	Result   int64 // 0 (clone: the child's pid) or -errno
}

// NSKind indexes Namespace.Old and New.
type NSKind int

// The namespace kinds, in the order of NSNames (enum ns_kind of
// bpf/include/events.h).
const (
	NSMnt NSKind = iota
	NSUts
	NSIpc
	NSNet
	NSPid
	NSUser
	NSCgroup
	NSTime
	NSKinds
)

// NSNames are the kinds' names, as in /proc/PID/ns and in policies.
var NSNames = [NSKinds]string{"mnt", "uts", "ipc", "net", "pid", "user", "cgroup", "time"}

// nsFlags are the CLONE_NEW* flags of each kind (include/uapi/linux/sched.h).
var nsFlags = [NSKinds]uint64{0x00020000, 0x04000000, 0x08000000, 0x40000000, 0x20000000, 0x10000000, 0x02000000, 0x00000080}

// Kinds returns the names of the namespaces the call is about: those its
// flags ask for (unshare; setns with a non-zero nstype), else those that
// differ after it.
func (n *Namespace) Kinds() []string {
	out := []string{}
	for k := range NSKinds {
		if n.Flags != 0 && n.Flags&nsFlags[k] != 0 || n.Flags == 0 && n.Old[k] != n.New[k] {
			out = append(out, NSNames[k])
		}
	}
	return out
}

// ChangedKinds returns the names of the namespaces whose ids differ.
func (n *Namespace) ChangedKinds() []string {
	out := []string{}
	for k := range NSKinds {
		if n.Old[k] != n.New[k] {
			out = append(out, NSNames[k])
		}
	}
	return out
}

func (n *Namespace) appendJSON(w *objWriter) {
	w.str("syscall", n.Syscall)
	w.strs("namespaces", n.Kinds())
	w.strs("changed", n.ChangedKinds())
	w.uint("flags", n.Flags)
	if n.Syscall == "setns" {
		w.int("fd", int64(n.Fd))
	}
	if n.Syscall == "clone" {
		w.uint("child_pid", uint64(n.ChildPid))
	}
	for _, side := range []struct {
		key string
		ids *[NSKinds]uint32
	}{{"old_ns", &n.Old}, {"new_ns", &n.New}} {
		w.key(side.key)
		nw := objWriter{b: w.b}
		nw.open()
		for k, id := range side.ids {
			nw.uint(NSNames[k], uint64(id))
		}
		nw.close()
		w.b = nw.b
	}
	w.result(n.Result)
}

func decodeNamespace(d *decoder) (*Namespace, error) {
	n := &Namespace{Syscall: d.str("syscall"), Flags: d.u64("flags"), Fd: -1, ChildPid: d.u32("child_pid"), Result: d.i64("result")}
	if _, ok := d.m["fd"]; ok {
		n.Fd = int32(d.i64("fd"))
	}
	for _, side := range []struct {
		key string
		ids *[NSKinds]uint32
	}{{"old_ns", &n.Old}, {"new_ns", &n.New}} {
		raw, ok := d.m[side.key]
		if !ok {
			continue
		}
		nd, err := newDecoder(raw)
		if err != nil {
			return nil, err
		}
		for k := range NSKinds {
			side.ids[k] = nd.u32(NSNames[k])
		}
		if nd.err != nil {
			return nil, nd.err
		}
	}
	return n, nil
}
