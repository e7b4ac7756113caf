package policy

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
)

// protNames maps the names a prot matcher accepts to PROT_* bits.
var protNames = map[string]uint32{
	"read": unix.PROT_READ, "PROT_READ": unix.PROT_READ,
	"write": unix.PROT_WRITE, "PROT_WRITE": unix.PROT_WRITE,
	"exec": unix.PROT_EXEC, "PROT_EXEC": unix.PROT_EXEC,
}

// openFlagNames maps the flag names an open_flags matcher accepts to O_*
// bits outside O_ACCMODE. O_LARGEFILE is the kernel's value, which
// x/sys/unix gives as 0 on 64-bit.
var openFlagNames = map[string]uint32{
	"create": unix.O_CREAT, "O_CREAT": unix.O_CREAT,
	"excl": unix.O_EXCL, "O_EXCL": unix.O_EXCL,
	"trunc": unix.O_TRUNC, "O_TRUNC": unix.O_TRUNC,
	"append": unix.O_APPEND, "O_APPEND": unix.O_APPEND,
	"nonblock": unix.O_NONBLOCK, "O_NONBLOCK": unix.O_NONBLOCK,
	"sync": unix.O_SYNC, "O_SYNC": unix.O_SYNC,
	"dsync": unix.O_DSYNC, "O_DSYNC": unix.O_DSYNC,
	"direct": unix.O_DIRECT, "O_DIRECT": unix.O_DIRECT,
	"directory": unix.O_DIRECTORY, "O_DIRECTORY": unix.O_DIRECTORY,
	"nofollow": unix.O_NOFOLLOW, "O_NOFOLLOW": unix.O_NOFOLLOW,
	"noatime": unix.O_NOATIME, "O_NOATIME": unix.O_NOATIME,
	"cloexec": unix.O_CLOEXEC, "O_CLOEXEC": unix.O_CLOEXEC,
	"path": unix.O_PATH, "O_PATH": unix.O_PATH,
	"tmpfile": unix.O_TMPFILE, "O_TMPFILE": unix.O_TMPFILE,
	"noctty": unix.O_NOCTTY, "O_NOCTTY": unix.O_NOCTTY,
	"largefile": 0o100000, "O_LARGEFILE": 0o100000,
}

// accModeNames maps exact access-mode names to their O_ACCMODE values.
var accModeNames = map[string]uint32{
	"O_RDONLY": unix.O_RDONLY, "rdonly": unix.O_RDONLY,
	"O_WRONLY": unix.O_WRONLY, "wronly": unix.O_WRONLY,
	"O_RDWR": unix.O_RDWR, "rdwr": unix.O_RDWR,
}

// parseProtSet parses one element of prot: "none" or names joined by "|"
// ("write|exec"), all of which must be requested. It returns a message
// for a bad element.
func parseProtSet(s string) (ProtSet, string) {
	if s == "none" || s == "PROT_NONE" {
		return ProtSet{None: true}, ""
	}
	var set ProtSet
	for _, name := range strings.Split(s, "|") {
		bit, known := protNames[strings.TrimSpace(name)]
		if !known {
			return set, fmt.Sprintf("unknown protection %q in %q (expected read, write, exec or none, or PROT_* names, joined with |)", name, s)
		}
		set.Bits |= bit
	}
	return set, ""
}

// parseOpenFlagSet parses one element of open_flags: names joined by "|"
// ("write|create"), all of which must hold. It returns a message for a
// bad element.
func parseOpenFlagSet(s string) (OpenFlagSet, string) {
	var set OpenFlagSet
	for _, name := range strings.Split(s, "|") {
		name = strings.TrimSpace(name)
		switch {
		case name == "read":
			set.Read = true
		case name == "write":
			set.Write = true
		case accModeNames[name] != 0 || name == "O_RDONLY" || name == "rdonly":
			m := accModeNames[name]
			if set.HasAccMode && set.AccMode != m {
				return set, fmt.Sprintf("%q asks for two access modes at once; it can never match", s)
			}
			set.AccMode, set.HasAccMode = m, true
		case openFlagNames[name] != 0:
			set.Bits |= openFlagNames[name]
		default:
			return set, fmt.Sprintf("unknown open flag %q in %q (expected read, write, create, trunc, append, excl, tmpfile, directory, nofollow, path, cloexec... or O_* names, joined with |)", name, s)
		}
	}
	if set.HasAccMode && ((set.Read && set.AccMode == unix.O_WRONLY) || (set.Write && set.AccMode == unix.O_RDONLY)) {
		return set, fmt.Sprintf("%q asks for an access mode that excludes %s; it can never match", s, map[bool]string{true: "read", false: "write"}[set.Read && set.AccMode == unix.O_WRONLY])
	}
	return set, ""
}

// contradictions reports matchers that together can never match.
func (p *parser) contradictions(r *Rule, key string, m *Match) {
	at := func(k string) Pos { return r.FieldPos(key + "." + k) }
	fd := func(k string) string { return r.field(key + "." + k) }
	if m.All && len(r.pos) > 0 && countMatchers(m) > 1 {
		p.Errs.Add(at("all"), fd("all"), "all: true cannot be combined with other matchers")
	}
	if len(m.Path) > 0 && len(m.PathPrefix) > 0 && !anyUnder(m.Path, m.PathPrefix) {
		p.Errs.Add(at("path"), fd("path"), "no path is under any path_prefix: the rule can never match")
	}
	if m.Memfd != nil && *m.Memfd {
		paths := append(append([]string{}, m.Path...), m.PathPrefix...)
		if len(paths) > 0 && !anyUnder([]string{"/memfd:"}, paths) && !anyUnder(paths, []string{"/memfd:"}) {
			p.Errs.Add(at("memfd"), fd("memfd"), "memfd: true with path or path_prefix outside /memfd: can never match (a memfd's path is \"/memfd:NAME (deleted)\")")
		}
	}
	if m.WX != nil && *m.WX && len(m.Prot) > 0 {
		never := true
		for _, s := range m.Prot {
			if !s.None {
				never = false
			}
		}
		if never {
			p.Errs.Add(at("prot"), fd("prot"), "prot none with wx: true can never match: PROT_NONE is neither writable nor executable")
		}
	}
}

// countMatchers returns how many matchers m sets.
func countMatchers(m *Match) int {
	n := 0
	for _, set := range []bool{m.All, m.Path != nil, m.PathPrefix != nil, m.Comm != nil, m.Uid != nil,
		m.ArgsContain != nil, m.ParentComm != nil, m.AncestorPathPrefix != nil, m.WX != nil, m.Prot != nil,
		m.ModuleName != nil, m.OpenFlags != nil, m.Memfd != nil, m.Deleted != nil,
		m.Container != nil, m.ContainerID != nil, m.CgroupPrefix != nil, m.ModeBits != nil,
		m.NewEuid != nil, m.CapsGained != nil, m.Request != nil, m.Namespaces != nil,
		m.FSType != nil, m.MountFlags != nil, m.BPFCmd != nil, m.ProgType != nil,
		m.PathGlob != nil, m.ArgsGlob != nil, m.OtherProcess != nil} {
		if set {
			n++
		}
	}
	m.Net.setNames(func(on bool, _ string) {
		if on {
			n++
		}
	})
	return n
}

// anyUnder reports whether any of paths starts with any of prefixes.
func anyUnder(paths, prefixes []string) bool {
	for _, s := range paths {
		if hasAnyPrefix(s, prefixes) {
			return true
		}
	}
	return false
}

// parseModeBit parses one element of mode_bits: a name of event.ModeBits
// ("setuid", "setgid", "sticky", "world_writable").
func parseModeBit(s string) (uint32, string) {
	var names []string
	for _, b := range event.ModeBits {
		if b.Name == s {
			return b.Bit, ""
		}
		names = append(names, b.Name)
	}
	return 0, fmt.Sprintf("unknown mode bit %q (expected one of %s)", s, strings.Join(names, ", "))
}
