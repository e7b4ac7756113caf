package policy

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/errno"
	"github.com/vigil-sec/vigil/internal/event"
)

var ruleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// field returns the path of a field of r, such as "rules[2].action".
func (r *Rule) field(f string) string {
	return fmt.Sprintf("rules[%d].%s", r.idx, f)
}

// denyErrnos are the errors a deny rule may choose, by name, in the order
// messages list them. Fanotify can only give the ones in fanotifyErrnos
// (fs/notify/fanotify/fanotify_user.c, process_access_response, Linux
// 6.13+); BPF LSM can give any.
var denyErrnos = []string{"EPERM", "EACCES", "ENOENT", "EIO", "EBUSY", "ETXTBSY", "EAGAIN", "ENOSPC", "EDQUOT", "ENOEXEC", "EROFS"}

// rule parses and validates rule number idx.
func (p *parser) rule(n *yaml.Node, idx int) *Rule {
	r := &Rule{idx: idx, Pos: p.pos(n), pos: map[string]Pos{}}
	f := func(name string) string { return r.field(name) }
	var matchNode, errnoNode *yaml.Node
	hasEvent, hasAction := false, false
	for _, kv := range p.mapping(n, fmt.Sprintf("rules[%d]", idx)) {
		r.pos[kv.key] = p.pos(kv.val)
		switch kv.key {
		case "name":
			if s, ok := p.str(kv.val, f("name")); ok {
				if !ruleName.MatchString(s) {
					p.errorf(kv.val, f("name"), "bad rule name %q: use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit", s)
				}
				r.Name = s
			}
		case "description":
			r.Description, _ = p.str(kv.val, f("description"))
		case "event":
			if s, ok := p.str(kv.val, f("event")); ok {
				t, known := event.ParseType(s)
				if !known {
					p.errorf(kv.val, f("event"), "unknown event type %q (expected one of %s)", s, eventNames(event.KernelTypes))
				}
				r.Event = t
				hasEvent = known
			}
		case "action":
			if s, ok := p.str(kv.val, f("action")); ok {
				switch a := Action(s); a {
				case ActionLog, ActionKill, ActionDeny:
					r.Action = a
					hasAction = true
				default:
					p.errorf(kv.val, f("action"), "unknown action %q (expected log, kill or deny)", s)
				}
			}
		case "errno":
			errnoNode = kv.val
		case "match":
			matchNode = kv.val
		default:
			p.errorf(kv.keyNode, f(kv.key), "unknown field %q (expected name, description, event, match, action or errno)", kv.key)
		}
	}
	if n.Kind != yaml.MappingNode {
		return r
	}
	for _, req := range []string{"name", "event", "action"} {
		if _, ok := r.pos[req]; !ok {
			p.errorf(n, f(req), "missing: every rule needs a name, an event, a match and an action")
		}
	}
	if matchNode == nil {
		all := "`match: {all: true}`"
		p.errorf(n, f("match"), "missing: every rule needs a match block (write %s to match every event of its type)", all)
	} else {
		p.match(r, matchNode, hasEvent)
	}
	if hasAction && hasEvent {
		p.checkAction(r, n)
	}
	if errnoNode != nil {
		p.errno(r, errnoNode, hasAction)
	}
	return r
}

// checkAction reports actions that no mechanism can carry out for the
// rule's event type.
func (p *parser) checkAction(r *Rule, n *yaml.Node) {
	at := p.pos(n)
	if pp, ok := r.pos["action"]; ok {
		at = pp
	}
	if r.Event == event.TypeExit && r.Action != ActionLog {
		p.errs.add(at, r.field("action"), "%s cannot apply to exit events: the process is already exiting (use log)", r.Action)
	}
}

func (p *parser) errno(r *Rule, n *yaml.Node, hasAction bool) {
	s, ok := p.str(n, r.field("errno"))
	if !ok {
		return
	}
	e, known := errno.ByName(s)
	if !known || !contains(denyErrnos, s) {
		p.errorf(n, r.field("errno"), "unknown errno %q (expected one of %s)", s, strings.Join(denyErrnos, ", "))
		return
	}
	if hasAction && r.Action != ActionDeny {
		p.errorf(n, r.field("errno"), "errno applies only to action deny, not %s", r.Action)
		return
	}
	r.Errno = e
}
