package seccomp

import (
	"strings"
	"syscall"
)

// Action is what a rule does to a matching call.
type Action uint8

// The rule actions. A path rule's Allow and Log still emulate the open in
// the supervisor (the call is never continued); they differ only in
// whether the trace carries a verdict.
const (
	ActionAllow    Action = iota // let the call proceed
	ActionLog                    // let it proceed and record a verdict in the trace
	ActionDeny                   // fail it with the rule's errno
	ActionRedirect               // open the rule's target instead (path rules only)
)

// String returns the action's name as written in policies.
func (a Action) String() string {
	switch a {
	case ActionAllow:
		return "allow"
	case ActionLog:
		return "log"
	case ActionDeny:
		return "deny"
	case ActionRedirect:
		return "redirect"
	}
	return "unknown"
}

// PathRule matches opens by path. Path is absolute and clean. With Prefix
// it matches Path itself and everything below it; a redirect then maps the
// part below Path under Target.
type PathRule struct {
	Name   string
	Path   string
	Prefix bool
	Action Action
	Errno  syscall.Errno // for ActionDeny
	Target string        // for ActionRedirect: absolute path opened instead
}

// Match reports whether the absolute clean path p matches r and, for a
// redirect, the path to open instead.
func (r *PathRule) Match(p string) (target string, ok bool) {
	if p == r.Path {
		return r.Target, true
	}
	if !r.Prefix {
		return "", false
	}
	rest, found := strings.CutPrefix(p, r.Path)
	if !found || (r.Path != "/" && !strings.HasPrefix(rest, "/")) {
		return "", false
	}
	if r.Target == "" {
		return "", true
	}
	return strings.TrimSuffix(r.Target, "/") + "/" + strings.TrimPrefix(rest, "/"), true
}

// SyscallRule matches a system call by number (x86_64 ABI).
type SyscallRule struct {
	Name    string
	Syscall string
	Nr      uint32
	Action  Action // ActionDeny, ActionLog or ActionAllow
	Errno   syscall.Errno
}

// Rules is the compiled rule set of one vigil run. The first matching
// rule wins.
type Rules struct {
	Paths    []PathRule
	Syscalls []SyscallRule
}

// MatchPath returns the first path rule matching any of the given paths
// (tried in order for each rule) and the redirect target, or nil.
func (rs *Rules) MatchPath(paths ...string) (*PathRule, string) {
	for i := range rs.Paths {
		for _, p := range paths {
			if p == "" {
				continue
			}
			if t, ok := rs.Paths[i].Match(p); ok {
				return &rs.Paths[i], t
			}
		}
	}
	return nil, ""
}

// SyscallNumber returns the x86_64 number of the named system call.
func SyscallNumber(name string) (uint32, bool) {
	nr, ok := sysnumX8664[name]
	return nr, ok
}
