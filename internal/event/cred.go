package event

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Cred is a change of a process's credentials: a set*id, setgroups or
// capset call (reported when it changed something or failed), or an
// exec that changed them (a setuid, setgid or file-capability binary).
type Cred struct {
	Syscall string // "setuid", "setresuid", "setgroups", "capset", "execve", ...
	// Args are the call's first three arguments as passed (uids are
	// (uid_t)-1 where "unchanged" was asked); zero for an exec.
	Args   [3]uint64
	Old    Creds // before the call
	New    Creds // after it
	Groups bool  // the supplementary groups were replaced (setgroups)
	Result int64 // 0 or -errno
}

// Creds are a task's credentials, ids as seen from the initial user
// namespace, capability sets as bit masks (bit n is capability n).
type Creds struct {
	Uid, Gid, Suid, Sgid, Euid, Egid, Fsuid, Fsgid                      uint32
	CapInheritable, CapPermitted, CapEffective, CapBounding, CapAmbient uint64
	Groups                                                              uint32 // number of supplementary groups
	Securebits                                                          uint32
}

// credFields are Creds' members by their JSON names, in schema order.
var credFields = []struct {
	name string
	get  func(*Creds) *uint32
}{
	{"uid", func(c *Creds) *uint32 { return &c.Uid }},
	{"gid", func(c *Creds) *uint32 { return &c.Gid }},
	{"suid", func(c *Creds) *uint32 { return &c.Suid }},
	{"sgid", func(c *Creds) *uint32 { return &c.Sgid }},
	{"euid", func(c *Creds) *uint32 { return &c.Euid }},
	{"egid", func(c *Creds) *uint32 { return &c.Egid }},
	{"fsuid", func(c *Creds) *uint32 { return &c.Fsuid }},
	{"fsgid", func(c *Creds) *uint32 { return &c.Fsgid }},
	{"groups", func(c *Creds) *uint32 { return &c.Groups }},
	{"securebits", func(c *Creds) *uint32 { return &c.Securebits }},
}

var capFields = []struct {
	name string
	get  func(*Creds) *uint64
}{
	{"cap_inheritable", func(c *Creds) *uint64 { return &c.CapInheritable }},
	{"cap_permitted", func(c *Creds) *uint64 { return &c.CapPermitted }},
	{"cap_effective", func(c *Creds) *uint64 { return &c.CapEffective }},
	{"cap_bounding", func(c *Creds) *uint64 { return &c.CapBounding }},
	{"cap_ambient", func(c *Creds) *uint64 { return &c.CapAmbient }},
}

// Changed returns the JSON names of the members of c that differ from
// old, in schema order.
func (c *Creds) Changed(old *Creds) []string {
	out := []string{}
	for _, f := range credFields {
		if *f.get(c) != *f.get(old) {
			out = append(out, f.name)
		}
	}
	for _, f := range capFields {
		if *f.get(c) != *f.get(old) {
			out = append(out, f.name)
		}
	}
	return out
}

// CapsGained returns the names of the capabilities in new's permitted
// or effective set that were in neither of old's.
func CapsGained(old, new *Creds) []string {
	return CapNames((new.CapPermitted | new.CapEffective) &^ (old.CapPermitted | old.CapEffective))
}

// CapsLost returns the names of the capabilities in old's permitted or
// effective set that are in neither of new's.
func CapsLost(old, new *Creds) []string {
	return CapNames((old.CapPermitted | old.CapEffective) &^ (new.CapPermitted | new.CapEffective))
}

func (c *Cred) appendJSON(w *objWriter) {
	w.str("syscall", c.Syscall)
	w.key("args")
	w.b = append(w.b, '[')
	for i, a := range c.Args {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = strconv.AppendUint(w.b, a, 10)
	}
	w.b = append(w.b, ']')
	w.key("old")
	w.b = c.Old.appendJSON(w.b)
	w.key("new")
	w.b = c.New.appendJSON(w.b)
	w.strs("changed", c.New.Changed(&c.Old))
	w.strs("caps_gained", CapsGained(&c.Old, &c.New))
	w.strs("caps_lost", CapsLost(&c.Old, &c.New))
	if c.Groups {
		w.bool("groups_replaced", true)
	}
	w.result(c.Result)
}

func (c *Creds) appendJSON(dst []byte) []byte {
	w := objWriter{b: dst}
	w.open()
	for _, f := range credFields {
		w.uint(f.name, uint64(*f.get(c)))
	}
	for _, f := range capFields {
		w.uint(f.name, *f.get(c))
	}
	w.close()
	return w.b
}

func decodeCred(d *decoder) (*Cred, error) {
	c := &Cred{Syscall: d.str("syscall"), Groups: d.bool("groups_replaced"), Result: d.i64("result")}
	if raw, ok := d.m["args"]; ok {
		var a []uint64
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("decoding args: %w", err)
		}
		copy(c.Args[:], a)
	}
	for _, side := range []struct {
		key string
		dst *Creds
	}{{"old", &c.Old}, {"new", &c.New}} {
		raw, ok := d.m[side.key]
		if !ok {
			continue
		}
		cd, err := newDecoder(raw)
		if err != nil {
			return nil, fmt.Errorf("decoding %s: %w", side.key, err)
		}
		for _, f := range credFields {
			*f.get(side.dst) = cd.u32(f.name)
		}
		for _, f := range capFields {
			*f.get(side.dst) = cd.u64(f.name)
		}
		if cd.err != nil {
			return nil, cd.err
		}
	}
	return c, nil
}

// capNames are the capabilities' names by number
// (include/uapi/linux/capability.h).
var capNames = []string{
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
	"setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
	"ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
	"sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
	"lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
	"wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
}

// CapNames returns the names of the capabilities in mask, lowest first
// ("sys_admin"; an unknown one as "cap_<n>").
func CapNames(mask uint64) []string {
	out := []string{}
	for i := 0; mask != 0 && i < 64; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		mask &^= 1 << i
		if i < len(capNames) {
			out = append(out, capNames[i])
		} else {
			out = append(out, fmt.Sprintf("cap_%d", i))
		}
	}
	return out
}

// Fields returns c's id members by their JSON names.
func (c *Creds) Fields() map[string]uint32 {
	out := make(map[string]uint32, len(credFields))
	for _, f := range credFields {
		out[f.name] = *f.get(c)
	}
	return out
}
