package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
)

// containerMatchers are the matchers on the container context; only
// userspace evaluates them (kill and in-kernel deny rules cannot use
// them, see Kernel).
var containerMatchers = []string{"container", "container_id", "cgroup_prefix"}

// matchesContainer evaluates container, container_id and cgroup_prefix.
// An event without container context (a source that gives none, or a
// process gone before /proc could be read) matches none of them:
// container: false does not hold for it either.
func (m *Match) matchesContainer(p *event.Process) bool {
	if !m.hasContainerMatchers() {
		return true
	}
	if p.Cgroup.ID == 0 && p.Cgroup.Path == "" {
		return false // no context
	}
	if m.Container != nil && (p.Container != nil) != *m.Container {
		return false
	}
	if m.ContainerID != nil && (p.Container == nil || !slices.ContainsFunc(m.ContainerID, p.Container.MatchesID)) {
		return false
	}
	if m.CgroupPrefix != nil && (p.Cgroup.Path == "" || !hasAnyPrefix(p.Cgroup.Path, m.CgroupPrefix)) {
		return false
	}
	return true
}

// hasContainerMatchers reports whether m uses any of containerMatchers.
func (m *Match) hasContainerMatchers() bool {
	return m.Container != nil || m.ContainerID != nil || m.CgroupPrefix != nil
}

// checkContainerAction refuses kill and deny rules whose container
// matchers no mechanism can evaluate: kill is carried out in the kernel,
// and deny only through fanotify (exec and open rules it can enforce).
// The error is at the first container matcher.
func (p *parser) checkContainerAction(r *Rule) {
	if !r.Match.hasContainerMatchers() || r.Action == ActionLog {
		return
	}
	var f string
	for _, name := range containerMatchers {
		if _, ok := r.pos["match."+name]; ok {
			f = name
			break
		}
	}
	at := r.FieldPos("match." + f)
	switch {
	case r.Action == ActionKill:
		p.Errs.Add(at, r.field("match."+f), "%s is a userspace-only matcher: kill is carried out in the kernel, which does not evaluate container, container_id or cgroup_prefix; use log (or deny through fanotify, for exec and open)", f)
	case r.Event != event.TypeExec && r.Event != event.TypeOpen:
		p.Errs.Add(at, r.field("match."+f), "%s is a userspace-only matcher: deny on %s events is carried out in the kernel (BPF LSM), which does not evaluate it; use log", f, r.Event)
	default:
		if why := r.FanotifyProblem(); why != "" {
			p.Errs.Add(at, r.field("match."+f), "%s is a userspace-only matcher, so this deny needs fanotify, which cannot enforce it: %s", f, why)
		}
	}
}

// checkContainerID checks one container_id: a name, a full 64-digit id
// or a prefix of at least 12 hex digits.
func checkContainerID(s string) string {
	switch {
	case s == "":
		return "empty container id: it can never match"
	case strings.ContainsAny(s, "/\x00"):
		return fmt.Sprintf("bad container id %q: ids and names never hold '/'", s)
	case len(s) < 12 && isHexString(s):
		return fmt.Sprintf("container id %q is too short: write the full id or at least its first 12 hex digits (docker ps's short form)", s)
	case len(s) > 64 && isHexString(s):
		return fmt.Sprintf("container id %q is longer than 64 hex digits: it can never match", s)
	case strings.ToLower(s) != s && isHexString(strings.ToLower(s)):
		return fmt.Sprintf("container id %q has upper-case hex digits; runtimes write ids in lower case (write %q)", s, strings.ToLower(s))
	}
	return ""
}

// checkCgroupPrefix checks one cgroup_prefix: an absolute path prefix
// in the unified hierarchy ("/system.slice/docker-", "/kubepods.slice/").
func checkCgroupPrefix(s string) string {
	if msg := checkPrefix(s); msg != "" {
		return strings.Replace(msg, "resolved paths", "cgroup paths", 1)
	}
	return ""
}

func isHexString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}
