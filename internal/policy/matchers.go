package policy

import (
	"fmt"
	"math"
	"net/netip"
	"path"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// taskCommLen is TASK_COMM_LEN - 1: the kernel keeps at most 15 bytes of
// a task's name (include/linux/sched.h).
const taskCommLen = 15

// moduleNameLen is MODULE_NAME_LEN - 1 (include/linux/module.h).
const moduleNameLen = 55

// every lists all kernel event types: matchers on the acting process
// apply to all of them.
var every = event.KernelTypes

// matcher describes one matcher: the event types it applies to and how
// to parse its value into a Match.
type matcher struct {
	events []event.Type
	parse  func(p *parser, n *yaml.Node, field string, m *Match) bool
}

// pathEvents are the event types that have a path.
var pathEvents = append([]event.Type{event.TypeExec, event.TypeOpen, event.TypeModule}, event.FileTypes...)

// matchers is every matcher by its YAML name, in documentation order.
var matchers = map[string]matcher{
	"all": {every, func(p *parser, n *yaml.Node, f string, m *Match) bool {
		v, ok := p.Bool(n, f)
		if ok && !v {
			p.Errorf(n, f, "all: false can never match; remove it and write matchers")
			return false
		}
		m.All = v
		return ok
	}},
	"path":        {pathEvents, stringsInto(checked(checkPath), func(m *Match) *[]string { return &m.Path })},
	"path_prefix": {pathEvents, stringsInto(checked(checkPrefix), func(m *Match) *[]string { return &m.PathPrefix })},
	"comm":        {every, stringsInto(checked(checkComm), func(m *Match) *[]string { return &m.Comm })},
	"uid": {every, func(p *parser, n *yaml.Node, f string, m *Match) bool {
		var ok bool
		m.Uid, ok = p.uidList(n, f)
		return ok
	}},
	"args_contain": {[]event.Type{event.TypeExec}, stringsInto(checked(func(s string) string {
		if s == "" {
			return "empty string: it is in every argument list; remove it"
		}
		return ""
	}), func(m *Match) *[]string { return &m.ArgsContain })},
	"parent_comm":          {every, stringsInto(checked(checkComm), func(m *Match) *[]string { return &m.ParentComm })},
	"ancestor_path_prefix": {every, stringsInto(checked(checkPrefix), func(m *Match) *[]string { return &m.AncestorPathPrefix })},
	"wx":                   {[]event.Type{event.TypeMprotect}, flagInto(func(m *Match) **bool { return &m.WX })},
	"prot":                 {[]event.Type{event.TypeMprotect}, stringsInto(parseProtSet, func(m *Match) *[]ProtSet { return &m.Prot })},
	"module_name": {[]event.Type{event.TypeModule}, stringsInto(checked(func(s string) string {
		if s == "" || len(s) > moduleNameLen || strings.ContainsAny(s, "/\x00") {
			return fmt.Sprintf("bad module name %q: module names are 1-%d bytes without '/'", s, moduleNameLen)
		}
		return ""
	}), func(m *Match) *[]string { return &m.ModuleName })},
	"open_flags":    {[]event.Type{event.TypeOpen}, stringsInto(parseOpenFlagSet, func(m *Match) *[]OpenFlagSet { return &m.OpenFlags })},
	"memfd":         {[]event.Type{event.TypeExec}, flagInto(func(m *Match) **bool { return &m.Memfd })},
	"deleted":       {[]event.Type{event.TypeExec}, flagInto(func(m *Match) **bool { return &m.Deleted })},
	"container":     {every, flagInto(func(m *Match) **bool { return &m.Container })},
	"container_id":  {every, stringsInto(checked(checkContainerID), func(m *Match) *[]string { return &m.ContainerID })},
	"cgroup_prefix": {every, stringsInto(checked(checkCgroupPrefix), func(m *Match) *[]string { return &m.CgroupPrefix })},
	// Network matchers (policy/net.go).
	"remote_port":   {remoteEvents, portsInto(func(m *Match) *[]uint16 { return &m.Net.RemotePort })},
	"local_port":    {netEvents, portsInto(func(m *Match) *[]uint16 { return &m.Net.LocalPort })},
	"remote_addr":   {remoteEvents, stringsInto(parsePrefix, func(m *Match) *[]netip.Prefix { return &m.Net.RemoteAddr })},
	"family":        {netEvents, stringsInto(parseFamily, func(m *Match) *[]uint16 { return &m.Net.Family })},
	"mode_bits":     {[]event.Type{event.TypeChmod}, stringsInto(parseModeBit, func(m *Match) *[]uint32 { return &m.ModeBits })},
	"new_euid":      {[]event.Type{event.TypeCred}, parseNewEuid},
	"caps_gained":   {[]event.Type{event.TypeCred}, stringsInto(checked(checkCapName), func(m *Match) *[]string { return &m.CapsGained })},
	"request":       {[]event.Type{event.TypePtrace}, stringsInto(checked(checkPtraceRequest), func(m *Match) *[]string { return &m.Request })},
	"namespaces":    {[]event.Type{event.TypeNamespace}, stringsInto(checked(checkNamespace), func(m *Match) *[]string { return &m.Namespaces })},
	"fstype":        {[]event.Type{event.TypeMount}, stringsInto(checked(checkFSType), func(m *Match) *[]string { return &m.FSType })},
	"mount_flags":   {[]event.Type{event.TypeMount}, stringsInto(parseMountFlagSet, func(m *Match) *[]MountFlagSet { return &m.MountFlags })},
	"bpf_cmd":       {[]event.Type{event.TypeBPF}, stringsInto(checked(checkBPFCmd), func(m *Match) *[]string { return &m.BPFCmd })},
	"prog_type":     {[]event.Type{event.TypeBPF}, stringsInto(checked(checkProgType), func(m *Match) *[]string { return &m.ProgType })},
	"path_glob":     {pathEvents, stringsInto(checked(checkPathGlob), func(m *Match) *[]string { return &m.PathGlob })},
	"args_glob":     {[]event.Type{event.TypeExec}, stringsInto(checked(checkArgGlob), func(m *Match) *[]string { return &m.ArgsGlob })},
	"other_process": {[]event.Type{event.TypeOpen}, flagInto(func(m *Match) **bool { return &m.OtherProcess })},
}

// stringsInto returns the parse function of a matcher whose value is a
// list of strings, each made into a T by parse (which returns a message
// for a bad one); the list goes to *dst(m).
func stringsInto[T any](parse func(string) (T, string), dst func(*Match) *[]T) func(*parser, *yaml.Node, string, *Match) bool {
	return func(p *parser, n *yaml.Node, f string, m *Match) bool {
		var ok bool
		*dst(m), ok = strListOf(p, n, f, parse)
		return ok
	}
}

// checked turns a check of a string (which returns "" or a message) into
// a parse function for stringsInto that keeps the string.
func checked(check func(string) string) func(string) (string, string) {
	return func(s string) (string, string) { return s, check(s) }
}

// flagInto returns the parse function of a matcher whose value is true or
// false; the value goes to *dst(m).
func flagInto(dst func(*Match) **bool) func(*parser, *yaml.Node, string, *Match) bool {
	return func(p *parser, n *yaml.Node, f string, m *Match) bool {
		v, ok := p.Bool(n, f)
		if ok {
			*dst(m) = &v
		}
		return ok
	}
}

// matcherOrder is the order matchers are listed in messages.
var matcherOrder = []string{"all", "path", "path_prefix", "comm", "uid", "args_contain", "parent_comm",
	"ancestor_path_prefix", "wx", "prot", "module_name", "open_flags", "memfd", "deleted",
	"container", "container_id", "cgroup_prefix",
	"remote_port", "remote_addr", "local_port", "family", "mode_bits",
	"new_euid", "caps_gained", "request", "namespaces",
	"fstype", "mount_flags", "bpf_cmd", "prog_type",
	"path_glob", "args_glob", "other_process",
}

func checkPath(s string) string {
	if !strings.HasPrefix(s, "/") || path.Clean(s) != s {
		return fmt.Sprintf("%q is not a clean absolute path; paths are matched after resolution, so they are always absolute and clean (write %q)", s, path.Clean("/"+s))
	}
	return ""
}

func checkPrefix(s string) string {
	if !strings.HasPrefix(s, "/") {
		return fmt.Sprintf("%q is not absolute; resolved paths always start with /", s)
	}
	c := path.Clean(s)
	if strings.HasSuffix(s, "/") && c != "/" {
		c += "/"
	}
	if c != s {
		return fmt.Sprintf("%q is not clean; resolved paths never hold //, /./ or /../, so it can never match (write %q)", s, c)
	}
	return ""
}

func checkComm(s string) string {
	if s == "" {
		return "empty task name: it can never match"
	}
	if len(s) > taskCommLen {
		return fmt.Sprintf("task name %q is longer than %d bytes; the kernel truncates task names, so it can never match (write %q)", s, taskCommLen, s[:taskCommLen])
	}
	return ""
}

// uidList parses uid: user ids, 0 to 2^32-2 (2^32-1 is the kernel's
// "no uid", (uid_t)-1).
func (p *parser) uidList(n *yaml.Node, field string) ([]uint32, bool) {
	return listOf(p, n, field, func(e *yaml.Node, f string) (uint32, bool) {
		v, ok := p.Int(e, f)
		if !ok {
			return 0, false
		}
		if v < 0 || v >= math.MaxUint32 {
			p.Errorf(e, f, "uid %d out of range (0 to %d)", v, uint32(math.MaxUint32-1))
			return 0, false
		}
		return uint32(v), true
	})
}

// match parses a match block into r.Match and checks that each matcher
// applies to r.Event (when known) and that the rule can match at all.
func (p *parser) match(r *Rule, n *yaml.Node, hasEvent bool) {
	p.matchInto(r, n, "match", &r.Match, hasEvent)
}

// matchInto parses the matcher map n, found at key (a field under the
// rule: "match", "except[1]"), into m.
func (p *parser) matchInto(r *Rule, n *yaml.Node, key string, m *Match, hasEvent bool) {
	field := r.field(key)
	kvs := p.Mapping(n, field, nil)
	if n.Kind == yaml.MappingNode && len(kvs) == 0 && len(n.Content) == 0 {
		p.Errorf(n, field, "empty match block: write matchers, or `all: true` to match every %s event", orAny(r.Event))
		return
	}
	allOK := true
	for _, kv := range kvs {
		f := yamldoc.Field(field, kv.Key)
		r.pos[key+"."+kv.Key] = p.Pos(kv.Value)
		mt, known := matchers[kv.Key]
		if !known {
			p.Errorf(kv.KeyNode, f, "unknown matcher %q (expected one of %s)", kv.Key, strings.Join(matcherOrder, ", "))
			allOK = false
			continue
		}
		if hasEvent && !applies(mt.events, r.Event) {
			p.Errorf(kv.KeyNode, f, "%s does not apply to %s events (it applies to %s)", kv.Key, r.Event, eventNames(mt.events))
			allOK = false
			continue
		}
		if !mt.parse(p, kv.Value, f, m) {
			allOK = false
		}
	}
	if allOK {
		p.contradictions(r, key, m)
	}
}

func orAny(t event.Type) string {
	if t == "" {
		return "matching"
	}
	return string(t)
}

func applies(ts []event.Type, t event.Type) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}
