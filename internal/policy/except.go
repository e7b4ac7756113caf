package policy

import (
	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// except parses a rule's except list: matcher maps like match, any one of
// which silences the rule. Exceptions are evaluated in userspace after
// the event, so a kill or deny rule, which the kernel or fanotify carries
// out before the call returns, cannot have them.
func (p *parser) except(r *Rule, n *yaml.Node, hasEvent, hasAction bool) {
	field := r.field("except")
	if n.Kind != yaml.SequenceNode {
		p.Errorf(n, field, "expected a list of matcher maps (each like a match block), got %s", yamldoc.Describe(n))
		return
	}
	if len(n.Content) == 0 {
		p.Errorf(n, field, "empty list: remove except, or give matcher maps")
		return
	}
	if hasAction && r.Action != ActionLog {
		p.Errorf(n, field, "except is evaluated in userspace once the event is reported, too late for %s; "+
			"a %s rule cannot have exceptions (narrow its match, or use action log)", r.Action, r.Action)
		return
	}
	for i, e := range n.Content {
		key := yamldoc.Index("except", i)
		var m Match
		p.matchInto(r, e, key, &m, hasEvent)
		if m.All {
			p.Errs.Add(r.FieldPos(key+".all"), r.field(key+".all"), "all: true in except silences the whole rule; remove the rule instead")
		}
		r.Except = append(r.Except, m)
	}
}
