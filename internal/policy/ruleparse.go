package policy

import (
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/errno"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

var ruleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// field returns the path of a field of r, such as "rules[2].action".
func (r *Rule) field(f string) string {
	return yamldoc.Field(yamldoc.Index("rules", r.idx), f)
}

// denyErrnos are the errors a deny rule may choose, by name, in the order
// messages list them. Fanotify can only give the ones in fanotifyErrnos
// (fs/notify/fanotify/fanotify_user.c, process_access_response, Linux
// 6.13+); BPF LSM can give any.
var denyErrnos = []string{"EPERM", "EACCES", "ENOENT", "EIO", "EBUSY", "ETXTBSY", "EAGAIN", "ENOSPC", "EDQUOT", "ENOEXEC", "EROFS"}

// rule parses and validates rule number idx.
func (p *parser) rule(n *yaml.Node, idx int) *Rule {
	r := &Rule{idx: idx, Pos: p.Pos(n), pos: map[string]Pos{}}
	f := func(name string) string { return r.field(name) }
	var matchNode, errnoNode, exceptNode *yaml.Node
	hasEvent, hasAction := false, false
	for _, kv := range p.Mapping(n, yamldoc.Index("rules", idx), nil) {
		r.pos[kv.Key] = p.Pos(kv.Value)
		switch kv.Key {
		case "name":
			if s, ok := p.Str(kv.Value, f("name")); ok {
				if !ruleName.MatchString(s) {
					p.Errorf(kv.Value, f("name"), "bad rule name %q: use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit", s)
				}
				r.Name = s
			}
		case "description":
			r.Description, _ = p.Str(kv.Value, f("description"))
		case "severity":
			if s, ok := p.Str(kv.Value, f("severity")); ok {
				v, known := ParseSeverity(s)
				if !known {
					p.Errorf(kv.Value, f("severity"), "unknown severity %q (expected info, low, medium, high or critical)", s)
				}
				r.Severity = v
			}
		case "mitre":
			if s, ok := p.Str(kv.Value, f("mitre")); ok {
				if msg := checkMitre(s); msg != "" {
					p.Errorf(kv.Value, f("mitre"), "%s", msg)
				} else {
					r.Mitre = s
				}
			}
		case "except":
			exceptNode = kv.Value
		case "event":
			if s, ok := p.Str(kv.Value, f("event")); ok {
				t, known := event.ParseType(s)
				if !known {
					p.Errorf(kv.Value, f("event"), "unknown event type %q (expected one of %s)", s, eventNames(event.KernelTypes))
				}
				r.Event = t
				hasEvent = known
			}
		case "action":
			if s, ok := p.Str(kv.Value, f("action")); ok {
				switch a := Action(s); a {
				case ActionLog, ActionKill, ActionDeny:
					r.Action = a
					hasAction = true
				default:
					p.Errorf(kv.Value, f("action"), "unknown action %q (expected log, kill or deny)", s)
				}
			}
		case "errno":
			errnoNode = kv.Value
		case "match":
			matchNode = kv.Value
		default:
			p.Errorf(kv.KeyNode, f(kv.Key), "unknown field %q (expected name, description, severity, mitre, event, match, except, action or errno)", kv.Key)
		}
	}
	if n.Kind != yaml.MappingNode {
		return r
	}
	for _, req := range []string{"name", "event", "action"} {
		if _, ok := r.pos[req]; !ok {
			p.Errorf(n, f(req), "missing: every rule needs a name, an event, a match and an action")
		}
	}
	if matchNode == nil {
		all := "`match: {all: true}`"
		p.Errorf(n, f("match"), "missing: every rule needs a match block (write %s to match every event of its type)", all)
	} else {
		p.match(r, matchNode, hasEvent)
	}
	if exceptNode != nil {
		p.except(r, exceptNode, hasEvent, hasAction)
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
	at := p.Pos(n)
	if pp, ok := r.pos["action"]; ok {
		at = pp
	}
	if r.Event == event.TypeExit && r.Action != ActionLog {
		p.Errs.Add(at, r.field("action"), "%s cannot apply to exit events: the process is already exiting (use log)", r.Action)
	}
	p.checkContainerAction(r)
}

func (p *parser) errno(r *Rule, n *yaml.Node, hasAction bool) {
	s, ok := p.Str(n, r.field("errno"))
	if !ok {
		return
	}
	e, known := errno.ByName(s)
	if !known || !contains(denyErrnos, s) {
		p.Errorf(n, r.field("errno"), "unknown errno %q (expected one of %s)", s, strings.Join(denyErrnos, ", "))
		return
	}
	if hasAction && r.Action != ActionDeny {
		p.Errorf(n, r.field("errno"), "errno applies only to action deny, not %s", r.Action)
		return
	}
	r.Errno = e
}
