package policy

import (
	"syscall"

	"github.com/vigil-sec/vigil/internal/event"
)

// Action is what a rule does when it matches.
type Action string

// The actions.
const (
	// ActionLog emits the event with the rule's name and nothing more.
	ActionLog Action = "log"
	// ActionKill sends SIGKILL from inside the kernel at the hook.
	ActionKill Action = "kill"
	// ActionDeny makes the call fail (EPERM unless the rule says otherwise).
	ActionDeny Action = "deny"
)

// Rule is one compiled rule. Its fields are plain data: the kernel side
// turns them into map entries, and Set.Match evaluates them in userspace.
type Rule struct {
	// Name is unique within a Set.
	Name string
	// Description is free text for people; vigil does not use it.
	Description string
	// Severity ranks how urgent a match is (SeverityInfo to
	// SeverityCritical); "" when the rule gives none. Events carrying
	// the rule's verdict report it, and alert routing picks them by it.
	Severity Severity
	// Mitre is the MITRE ATT&CK technique id the rule detects, such as
	// "T1003.008"; "" when the rule gives none.
	Mitre string
	// Event is the event type the rule applies to.
	Event event.Type
	// Action is what happens on a match.
	Action Action
	// Errno is the error a denied call fails with; 0 means the
	// mechanism's default, EPERM. Only set for ActionDeny.
	Errno syscall.Errno
	// Match is the conjunction of the rule's matchers.
	Match Match
	// Except are exceptions: when any one of them matches an event
	// (each is a conjunction, like Match), the rule does not. They are
	// evaluated in userspace, so only log rules may have them.
	Except []Match
	// Pos is where the rule starts in its file.
	Pos Pos

	// pos holds the position of each field ("action", "match.path", ...)
	// for errors found after compiling, such as a missing mechanism.
	pos map[string]Pos
	// idx is the rule's index in its file, for field paths.
	idx int
}

// Match holds a rule's matchers. Every matcher that is set must match
// (AND); within one list any element may match (OR). A nil slice or nil
// pointer is a matcher that is not set.
type Match struct {
	// All is set by `all: true`: the rule matches every event of its type.
	// It is the only way to write such a rule, so that an empty match
	// block is an error rather than a silent catch-all.
	All bool
	// Path lists absolute paths of the file executed, opened or loaded as
	// a module, compared after resolution (symlinks, relative paths).
	Path []string
	// PathPrefix lists string prefixes of that resolved path.
	PathPrefix []string
	// Comm lists task names (at most 15 bytes). For exec it is the name
	// of the program executed.
	Comm []string
	// Uid lists real user ids of the acting process.
	Uid []uint32
	// ArgsContain lists strings any one of which must occur in one of
	// the exec's arguments (argv[1:]... and argv[0]).
	ArgsContain []string
	// ParentComm lists task names of the parent process.
	ParentComm []string
	// AncestorPathPrefix lists prefixes of the executable path of any
	// ancestor (parent, grandparent, ... up to init).
	AncestorPathPrefix []string
	// WX, when set, must equal event.Mprotect.WX.
	WX *bool
	// Prot lists protection sets; the mprotect's requested protection
	// matches one when it holds all of its bits (or is PROT_NONE, for the
	// set written "none").
	Prot []ProtSet
	// ModuleName lists kernel module names.
	ModuleName []string
	// OpenFlags lists flag sets; the open's flags match one when they
	// satisfy all of its conditions.
	OpenFlags []OpenFlagSet
	// Memfd, when set, must equal event.Exec.Memfd.
	Memfd *bool
	// Deleted, when set, must equal event.Exec.Deleted.
	Deleted *bool
	// Container, when set, says whether the acting process must be in a
	// container (event.Process.Container is set) or on the host.
	Container *bool
	// ContainerID lists container ids (full, or hex prefixes of at
	// least 12 digits) or names (nspawn, LXC).
	ContainerID []string
	// CgroupPrefix lists string prefixes of the acting process's cgroup
	// path in the unified hierarchy.
	CgroupPrefix []string
	// Net holds the matchers of connect, accept and listen events.
	Net NetMatch
	// ModeBits lists special mode bits (S_ISUID, S_ISGID, S_ISVTX,
	// S_IWOTH: event.ModeBits); a chmod matches when its new mode has
	// any of them.
	ModeBits []uint32
	// NewEuid lists effective user ids a cred event's new credentials
	// must have one of.
	NewEuid []uint32
	// CapsGained lists capabilities ("sys_admin"), any one of which a
	// cred event must add to the permitted or effective set.
	CapsGained []string
	// Request lists ptrace requests ("attach", "seize", "traceme",
	// "poketext", ...) or "process_vm_writev".
	Request []string
	// Namespaces lists namespace kinds ("user", "net", ...), any one of
	// which a namespace event must be about (event.Namespace.Kinds).
	Namespaces []string
	// FSType lists filesystem types of a mount event.
	FSType []string
	// MountFlags lists mount(2) flag sets; a mount call's flags match one
	// when they hold all of its flags.
	MountFlags []MountFlagSet
	// BPFCmd lists bpf(2) commands ("BPF_PROG_LOAD").
	BPFCmd []string
	// ProgType lists BPF program types, named as vigil hooks names them.
	ProgType []string
	// PathGlob lists shell patterns (path.Match: '*' does not cross '/')
	// of the resolved path, such as "/home/*/.ssh/id_*".
	PathGlob []string
	// ArgsGlob lists patterns ('*' any run of bytes, '?' one byte) any
	// one of which must match one whole argument of the exec, argv[1:].
	ArgsGlob []string
	// OtherProcess, when set, must equal whether the opened file is below
	// /proc/PID/ of a process other than the opener.
	OtherProcess *bool
}

// ProtSet is one element of a prot matcher.
type ProtSet struct {
	// Bits are PROT_* bits that must all be requested.
	Bits uint32
	// None requires the requested protection to be PROT_NONE (Bits is 0).
	None bool
}

// Matches reports whether requested protection prot satisfies p.
func (p ProtSet) Matches(prot uint32) bool {
	if p.None {
		return prot == 0
	}
	return prot&p.Bits == p.Bits
}

// OpenFlagSet is one element of an open_flags matcher.
type OpenFlagSet struct {
	// Read requires read access (O_RDONLY or O_RDWR).
	Read bool
	// Write requires write access (O_WRONLY or O_RDWR).
	Write bool
	// AccMode, when HasAccMode, is the exact O_ACCMODE value required
	// (from O_RDONLY, O_WRONLY, O_RDWR).
	AccMode    uint32
	HasAccMode bool
	// Bits are O_* flags (outside O_ACCMODE) that must all be set.
	Bits uint32
}

// Matches reports whether open flags satisfy f.
func (f OpenFlagSet) Matches(flags uint32) bool {
	acc := flags & syscall.O_ACCMODE
	if f.Read && acc != syscall.O_RDONLY && acc != syscall.O_RDWR {
		return false
	}
	if f.Write && acc != syscall.O_WRONLY && acc != syscall.O_RDWR {
		return false
	}
	if f.HasAccMode && acc != f.AccMode {
		return false
	}
	return flags&f.Bits == f.Bits
}

// Set is a compiled, valid policy: the rules of every file loaded, in
// load order.
type Set struct {
	// Rules are all rules, in the order of the files and of the rules in
	// each file.
	Rules []*Rule
	// Hooks are the dynamic hooks (docs/hooks.md), in the same order;
	// internal/dynhook resolves them against the kernel's BTF.
	Hooks []*Hook

	// byName indexes Rules by name, for Annotate; built by compile.
	byName map[string]*Rule
}

// Rule returns the rule named name, or nil.
func (s *Set) Rule(name string) *Rule {
	if s.byName == nil {
		for _, r := range s.Rules {
			if r.Name == name {
				return r
			}
		}
		return nil
	}
	return s.byName[name]
}

// Annotate fills v's Severity and Mitre from the rule it names, whoever
// decided the verdict (the kernel, fanotify or the userspace matcher
// know the rule only by name). A verdict of a rule not in s is left as
// it is.
func (s *Set) Annotate(v *event.Verdict) {
	if v == nil {
		return
	}
	if r := s.Rule(v.Rule); r != nil {
		v.Severity, v.Mitre = string(r.Severity), r.Mitre
	}
}

// ByEvent returns the rules for event type t, in order.
func (s *Set) ByEvent(t event.Type) []*Rule {
	var out []*Rule
	for _, r := range s.Rules {
		if r.Event == t {
			out = append(out, r)
		}
	}
	return out
}

// FieldPos returns the position of field (a path under the rule such as
// "action" or "match.path_prefix"), or the rule's own position when the
// field was not written.
func (r *Rule) FieldPos(field string) Pos {
	if p, ok := r.pos[field]; ok {
		return p
	}
	return r.Pos
}
