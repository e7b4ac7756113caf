package policy

import (
	"iter"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
)

// Ancestry gives the executable paths of a process's ancestors. The
// process table satisfies it; Set.Match needs it for ancestor_path_prefix.
type Ancestry interface {
	// Ancestors yields the executable paths of pid's parent,
	// grandparent and so on up to init, nearest first; "" for an
	// ancestor whose executable is unknown.
	Ancestors(pid uint32) iter.Seq[string]
}

// Match returns the rules that match ev, in order. anc may be nil: then
// ancestor_path_prefix sees only the parent (ev.Process.ParentExe).
func (s *Set) Match(ev *event.Event, anc Ancestry) []*Rule {
	var out []*Rule
	for _, r := range s.Rules {
		if r.Event == ev.Type && r.Matches(ev, anc) {
			out = append(out, r)
		}
	}
	return out
}

// Matches reports whether every matcher of r holds for ev, which must be
// of r's event type. A matcher whose data the event lacks (an exec with
// no path) does not hold.
func (r *Rule) Matches(ev *event.Event, anc Ancestry) bool {
	if ev.Type != r.Event || !r.Match.matches(ev, anc) {
		return false
	}
	for i := range r.Except {
		if r.Except[i].matches(ev, anc) {
			return false
		}
	}
	return true
}

// matches reports whether every matcher of m holds for ev.
func (m *Match) matches(ev *event.Event, anc Ancestry) bool {
	if m.All {
		return true
	}
	p := &ev.Process
	if (m.Path != nil || m.PathPrefix != nil || m.PathGlob != nil) && !pathMatches(m, EventPaths(ev)) {
		return false
	}
	if m.Comm != nil && !slices.Contains(m.Comm, p.Comm) {
		return false
	}
	if m.Uid != nil && !slices.Contains(m.Uid, p.Uid) {
		return false
	}
	if m.ParentComm != nil && !slices.Contains(m.ParentComm, p.ParentComm) {
		return false
	}
	if m.AncestorPathPrefix != nil && !ancestorUnder(ev, anc, m.AncestorPathPrefix) {
		return false
	}
	if !m.matchesContainer(p) {
		return false
	}
	return m.matchesPayload(ev)
}

// matchesPayload checks the matchers on the per-type part of ev.
func (m *Match) matchesPayload(ev *event.Event) bool {
	if m.ArgsContain != nil && (ev.Exec == nil || !argsContain(ev.Exec.Args, m.ArgsContain)) {
		return false
	}
	if m.Memfd != nil && (ev.Exec == nil || ev.Exec.Memfd != *m.Memfd) {
		return false
	}
	if m.Deleted != nil && (ev.Exec == nil || ev.Exec.Deleted != *m.Deleted) {
		return false
	}
	if m.WX != nil && (ev.Mprotect == nil || ev.Mprotect.WX != *m.WX) {
		return false
	}
	if m.Prot != nil && (ev.Mprotect == nil || !slices.ContainsFunc(m.Prot, func(s ProtSet) bool { return s.Matches(ev.Mprotect.Prot) })) {
		return false
	}
	if m.ModuleName != nil && (ev.Module == nil || !slices.Contains(m.ModuleName, ev.Module.Name)) {
		return false
	}
	if !m.Net.matches(ev) {
		return false
	}
	if m.ModeBits != nil && (ev.File == nil || !slices.ContainsFunc(m.ModeBits, func(b uint32) bool { return ev.File.Mode&b != 0 })) {
		return false
	}
	if m.OpenFlags != nil && (ev.Open == nil || !slices.ContainsFunc(m.OpenFlags, func(s OpenFlagSet) bool { return s.Matches(ev.Open.Flags) })) {
		return false
	}
	if m.ArgsGlob != nil && (ev.Exec == nil || !argsGlobAny(ev.Exec.Args, m.ArgsGlob)) {
		return false
	}
	if m.OtherProcess != nil && (ev.Open == nil || ev.Open.ResolvedPath == "" ||
		otherProcess(ev.Open.ResolvedPath, ev.Process.Pid, ev.Process.Tid) != *m.OtherProcess) {
		return false
	}
	return m.matchesPriv(ev) && m.matchesMountBPF(ev)
}

// pathMatches reports whether one of paths satisfies path, path_prefix
// and path_glob (where set).
func pathMatches(m *Match, paths []string) bool {
	for _, p := range paths {
		if p == "" {
			continue
		}
		if (m.Path == nil || slices.Contains(m.Path, p)) && (m.PathPrefix == nil || hasAnyPrefix(p, m.PathPrefix)) &&
			(m.PathGlob == nil || globPathAny(p, m.PathGlob)) {
			return true
		}
	}
	return false
}

// EventPaths returns the resolved paths that path and path_prefix match:
// EventPath's, and for rename and link the new name too (either matches),
// for symlink the link made (not its target).
func EventPaths(ev *event.Event) []string {
	if f := ev.File; f != nil {
		if f.NewPath != "" {
			return []string{f.Path, f.NewPath}
		}
		return []string{f.Path}
	}
	return []string{EventPath(ev)}
}

// EventPath returns the resolved path that path and path_prefix match:
// the file executed, the file opened (its resolved path; the path the
// caller gave only when it is absolute and nothing resolved it) or the
// module file loaded.
func EventPath(ev *event.Event) string {
	switch {
	case ev.Exec != nil:
		return ev.Exec.Path
	case ev.Open != nil:
		if ev.Open.ResolvedPath != "" {
			return ev.Open.ResolvedPath
		}
		return ""
	case ev.Module != nil:
		return ev.Module.Path
	}
	return ""
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func argsContain(args, subs []string) bool {
	for _, a := range args {
		for _, s := range subs {
			if strings.Contains(a, s) {
				return true
			}
		}
	}
	return false
}

func ancestorUnder(ev *event.Event, anc Ancestry, prefixes []string) bool {
	if anc == nil {
		return ev.Process.ParentExe != "" && hasAnyPrefix(ev.Process.ParentExe, prefixes)
	}
	for exe := range anc.Ancestors(ev.Process.Pid) {
		if exe != "" && hasAnyPrefix(exe, prefixes) {
			return true
		}
	}
	return false
}
