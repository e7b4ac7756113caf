package policy

import "github.com/vigil-sec/vigil/internal/event"

// Verdict is the one constructor of an event's verdict for a monitor
// rule, whoever decided it: the BPF programs (kill, deny through BPF LSM;
// internal/sensor decodes the record's rule id), the fanotify engine
// (deny and kill through permission events; internal/permission), or the
// userspace matcher of log rules (internal/monitor). mech is empty for
// log rules, which nothing carries out. docs/architecture.md, "Verdicts",
// maps each path.
func Verdict(rule string, a Action, mech Mechanism, enforced bool) *event.Verdict {
	return &event.Verdict{Rule: rule, Action: string(a), Enforced: enforced, Mechanism: string(mech)}
}
