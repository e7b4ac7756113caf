package policy

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/errno"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// argExpr is an argument expression: a name, then members through
// pointers (->) or within structs (.).
var argExpr = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*((->|\.)[A-Za-z_][A-Za-z0-9_]*)*$`)

// targetName is a tracepoint ("group/name"), raw tracepoint or function name.
var targetName = regexp.MustCompile(`^([A-Za-z0-9_]+/)?[A-Za-z0-9_.]+$`)

// hook parses and validates hook number idx.
func (p *parser) hook(n *yaml.Node, idx int) *Hook {
	h := &Hook{idx: idx, Pos: p.Pos(n), pos: map[string]Pos{}}
	f := h.Field
	var matchNode, overrideNode *yaml.Node
	for _, kv := range p.Mapping(n, yamldoc.Index("hooks", idx), nil) {
		h.pos[kv.Key] = p.Pos(kv.Value)
		switch kv.Key {
		case "name":
			if s, ok := p.Str(kv.Value, f("name")); ok {
				if !ruleName.MatchString(s) {
					p.Errorf(kv.Value, f("name"), "bad hook name %q: use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit", s)
				}
				h.Name = s
			}
		case "description":
			_, _ = p.Str(kv.Value, f("description"))
		case string(HookTracepoint), string(HookRawTracepoint), string(HookFunction):
			if h.Kind != "" {
				p.Errorf(kv.KeyNode, f(kv.Key), "a hook has one target: %s is already given", h.Kind)
				continue
			}
			h.Kind = HookKind(kv.Key)
			if s, ok := p.Str(kv.Value, f(kv.Key)); ok {
				h.Target = s
				p.checkTarget(h, kv.Value, s)
			}
		case "args":
			h.Args, _ = listOf(p, kv.Value, f("args"), func(e *yaml.Node, field string) (HookArg, bool) {
				s, ok := p.Str(e, field)
				if ok && !argExpr.MatchString(s) {
					p.Errorf(e, field, "bad argument %q: write a name, then members with -> or . (mod->name, file->f_path.dentry)", s)
					ok = false
				}
				return HookArg{Expr: s, Pos: p.Pos(e)}, ok
			})
			if len(h.Args) > MaxHookArgs {
				p.Errorf(kv.Value, f("args"), "%d arguments: a hook fetches at most %d", len(h.Args), MaxHookArgs)
			}
		case "return":
			h.Return, _ = p.Bool(kv.Value, f("return"))
		case "action":
			h.Actions, _ = strListOf(p, kv.Value, f("action"), func(s string) (Action, string) {
				switch a := Action(s); a {
				case ActionLog, ActionKill, ActionCount, ActionOverride:
					return a, ""
				}
				return "", fmt.Sprintf("unknown hook action %q (expected log, kill, count or override)", s)
			})
		case "override":
			overrideNode = kv.Value
		case "match":
			matchNode = kv.Value
		default:
			p.Errorf(kv.KeyNode, f(kv.Key), "unknown field %q (expected name, description, tracepoint, raw_tracepoint, function, args, return, match, action or override)", kv.Key)
		}
	}
	if n.Kind != yaml.MappingNode {
		return h
	}
	if h.Name == "" {
		if _, ok := h.pos["name"]; !ok {
			p.Errorf(n, f("name"), "missing: every hook needs a name")
		}
	}
	if h.Kind == "" {
		p.Errorf(n, f("function"), "missing target: give one of tracepoint, raw_tracepoint or function")
	}
	if overrideNode != nil {
		p.override(h, overrideNode)
	}
	if len(h.Actions) == 0 && h.pos["action"] == (Pos{}) {
		if overrideNode == nil {
			p.Errorf(n, f("action"), "missing: every hook needs an action (log, kill, count or override)")
		} else {
			h.Actions = []Action{ActionOverride}
		}
	}
	if h.Has(ActionOverride) && overrideNode == nil {
		p.Errorf(n, f("override"), "missing: action override needs the value to return, such as override: EPERM")
	}
	if h.Has(ActionOverride) && h.Kind != "" && h.Kind != HookFunction {
		p.Errs.Add(h.FieldPos("action"), f("action"), "override needs a function (fmod_ret or bpf_override_return): a %s's callers ignore what a hook returns", h.Kind)
	}
	if h.Return && h.Kind != "" && h.Kind != HookFunction {
		p.Errs.Add(h.FieldPos("return"), f("return"), "only functions return a value; %s %s has none", h.Kind, h.Target)
	}
	if matchNode != nil {
		p.hookMatch(h, matchNode)
	}
	return h
}

// checkTarget checks the form of a target name; whether it exists is for
// internal/dynhook, against the kernel's BTF.
func (p *parser) checkTarget(h *Hook, n *yaml.Node, s string) {
	field := h.Field(string(h.Kind))
	if !targetName.MatchString(s) {
		p.Errorf(n, field, "bad %s name %q", h.Kind, s)
		return
	}
	if h.Kind != HookTracepoint && strings.Contains(s, "/") {
		p.Errorf(n, field, "a %s is named without a group: %q", h.Kind, s[strings.IndexByte(s, '/')+1:])
	}
}

// override parses the value a function returns: an errno name (EPERM
// stands for -1) or a number.
func (p *parser) override(h *Hook, n *yaml.Node) {
	field := h.Field("override")
	s, ok := p.Scalar(n, field)
	if !ok {
		return
	}
	if e, known := errno.ByName(s); known {
		h.Override = -int32(e)
		return
	}
	v, err := strconv.ParseInt(s, 0, 32)
	if err != nil {
		p.Errorf(n, field, "expected an errno name (EPERM) or a number, got %q", s)
		return
	}
	h.Override = int32(v)
}

// hookMatch parses a hook's match block: pid, comm, uid of the acting
// process, and args: {expression: matcher}.
func (p *parser) hookMatch(h *Hook, n *yaml.Node) {
	f := func(s string) string { return h.Field("match." + s) }
	for _, kv := range p.Mapping(n, h.Field("match"), nil) {
		h.pos["match."+kv.Key] = p.Pos(kv.Value)
		switch kv.Key {
		case "pid", "uid":
			vals, _ := listOf(p, kv.Value, f(kv.Key), func(e *yaml.Node, field string) (uint32, bool) {
				v, ok := p.Int(e, field)
				if ok && (v < 0 || v > math.MaxUint32) {
					p.Errorf(e, field, "expected a %s from 0 to %d, got %d", kv.Key, uint32(math.MaxUint32), v)
					return 0, false
				}
				return uint32(v), ok
			})
			if len(vals) > MaxHookValues {
				p.Errorf(kv.Value, f(kv.Key), "%d values: a hook matcher takes at most %d", len(vals), MaxHookValues)
			}
			if kv.Key == "pid" {
				h.Match.Pid = vals
			} else {
				h.Match.Uid = vals
			}
		case "comm":
			h.Match.Comm, _ = strListOf(p, kv.Value, f("comm"), func(s string) (string, string) {
				if s == "" || len(s) > 15 {
					return "", fmt.Sprintf("bad comm %q: the kernel keeps 1 to 15 bytes of a task's name", s)
				}
				return s, ""
			})
			if len(h.Match.Comm) > MaxHookValues {
				p.Errorf(kv.Value, f("comm"), "%d values: a hook matcher takes at most %d", len(h.Match.Comm), MaxHookValues)
			}
		case "args":
			for _, a := range p.Mapping(kv.Value, f("args"), nil) {
				p.argMatch(h, a)
			}
		default:
			p.Errorf(kv.KeyNode, f(kv.Key), "unknown field %q (expected pid, comm, uid or args)", kv.Key)
		}
	}
}

// argMatch parses one argument matcher: a number or a list of numbers
// (equal), a string (the whole string), or a mapping with one of equal,
// prefix or mask.
func (p *parser) argMatch(h *Hook, kv yamldoc.Entry) {
	field := h.Field("match.args." + kv.Key)
	m := HookArgMatch{Arg: kv.Key, Pos: p.Pos(kv.KeyNode)}
	known := false
	for _, a := range h.Args {
		known = known || a.Expr == kv.Key
	}
	if !known {
		p.Errorf(kv.KeyNode, field, "%q is not among the hook's args; add it there to match on it", kv.Key)
		return
	}
	v := kv.Value
	op, val := "equal", v
	if v.Kind == yaml.MappingNode {
		es := p.Mapping(v, field, nil)
		if len(es) != 1 {
			p.Errorf(v, field, "expected one of equal, prefix or mask")
			return
		}
		op, val = es[0].Key, es[0].Value
		field = yamldoc.Field(field, op)
	}
	switch op {
	case "equal":
		if val.Kind == yaml.ScalarNode && val.Tag == "!!str" {
			m.Str, m.HasStr = val.Value, true
			if len(m.Str)+1 > MaxHookPrefix {
				p.Errorf(val, field, "string of %d bytes: a hook compares at most %d", len(m.Str), MaxHookPrefix-1)
			}
			break
		}
		m.Equal, _ = listOf(p, val, field, func(e *yaml.Node, f string) (uint64, bool) {
			n, ok := p.Int(e, f)
			return uint64(n), ok
		})
		if len(m.Equal) > MaxHookValues {
			p.Errorf(val, field, "%d values: a hook matcher takes at most %d", len(m.Equal), MaxHookValues)
		}
	case "prefix":
		s, ok := p.Str(val, field)
		if ok && (s == "" || len(s) > MaxHookPrefix) {
			p.Errorf(val, field, "bad prefix %q: 1 to %d bytes", s, MaxHookPrefix)
		}
		m.Prefix = s
	case "mask":
		n, ok := p.Int(val, field)
		if ok && n == 0 {
			p.Errorf(val, field, "mask 0 can never match")
		}
		m.Mask, m.HasMask = uint64(n), true
	default:
		p.Errorf(val, field, "unknown matcher %q (expected equal, prefix or mask)", op)
		return
	}
	h.Match.Args = append(h.Match.Args, m)
}

// checkHookNames reports hooks that reuse a name, at the later hook, and
// more hooks than the kernel side holds.
func checkHookNames(hooks []*Hook, errs *yamldoc.List) {
	first := map[string]*Hook{}
	for i, h := range hooks {
		if i == MaxHooks {
			errs.Add(h.Pos, h.Field("name"), "more than %d hooks", MaxHooks)
		}
		if h.Name == "" {
			continue
		}
		if f, dup := first[h.Name]; dup {
			fp := f.FieldPos("name")
			errs.Add(h.FieldPos("name"), h.Field("name"), "duplicate hook name %q (first used at %s:%d:%d)", h.Name, fp.File, fp.Line, fp.Col)
			continue
		}
		first[h.Name] = h
	}
}
