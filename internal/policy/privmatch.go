package policy

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/event"
)

// The privilege matchers (cred, ptrace and namespace events). They are
// evaluated in userspace: rules that kill in the kernel use the process
// matchers only (comm, uid, parent_comm).

// parseNewEuid parses new_euid: effective user ids after a cred change.
func parseNewEuid(p *parser, n *yaml.Node, f string, m *Match) bool {
	var ok bool
	m.NewEuid, ok = listOf(p, n, f, func(e *yaml.Node, f string) (uint32, bool) {
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
	return ok
}

// checkCapName checks a capability name of caps_gained ("sys_admin").
func checkCapName(s string) string {
	for i := range 64 {
		if event.CapNames(1 << i)[0] == s {
			return ""
		}
	}
	return fmt.Sprintf("unknown capability %q (write it lower case without CAP_, e.g. sys_admin)", s)
}

// checkPtraceRequest checks a request name: one vigil reports, or
// process_vm_writev.
func checkPtraceRequest(s string) string {
	known := append(event.PtraceRequests(), "process_vm_writev")
	slices.Sort(known)
	if slices.Contains(known, s) {
		return ""
	}
	return fmt.Sprintf("unknown ptrace request %q (expected one of %s)", s, strings.Join(known, ", "))
}

// checkNamespace checks a namespace kind name.
func checkNamespace(s string) string {
	if slices.Contains(event.NSNames[:], s) {
		return ""
	}
	return fmt.Sprintf("unknown namespace %q (expected one of %s)", s, strings.Join(event.NSNames[:], ", "))
}

// matchesPriv checks the privilege matchers on ev.
func (m *Match) matchesPriv(ev *event.Event) bool {
	if m.NewEuid != nil && (ev.Cred == nil || !slices.Contains(m.NewEuid, ev.Cred.New.Euid)) {
		return false
	}
	if m.CapsGained != nil && (ev.Cred == nil || !anyIn(event.CapsGained(&ev.Cred.Old, &ev.Cred.New), m.CapsGained)) {
		return false
	}
	if m.Request != nil {
		if ev.Ptrace == nil {
			return false
		}
		req := ev.Ptrace.Request
		if ev.Ptrace.Syscall == "process_vm_writev" {
			req = "process_vm_writev"
		}
		if !slices.Contains(m.Request, req) {
			return false
		}
	}
	if m.Namespaces != nil && (ev.Namespace == nil || !anyIn(ev.Namespace.Kinds(), m.Namespaces)) {
		return false
	}
	return true
}

// anyIn reports whether any of xs is in set.
func anyIn(xs, set []string) bool {
	for _, x := range xs {
		if slices.Contains(set, x) {
			return true
		}
	}
	return false
}
