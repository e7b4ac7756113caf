package dynhook

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// Mech is a mechanism a hook can run on, named as in events and in
// `vigil hooks`.
type Mech string

// The mechanisms, one generic program each in bpf/hook.c.
const (
	TPBTF     Mech = "tp_btf"
	RawTP     Mech = "raw_tp"
	Fentry    Mech = "fentry"
	Fexit     Mech = "fexit"
	FmodRet   Mech = "fmod_ret"
	Kprobe    Mech = "kprobe"
	Kretprobe Mech = "kretprobe"
)

// mechCode is each mechanism's enum hook_mech value.
var mechCode = map[Mech]bpfobj.HookHookMech{
	TPBTF: bpfobj.HookHookMechHOOK_TP_BTF, RawTP: bpfobj.HookHookMechHOOK_RAW_TP,
	Fentry: bpfobj.HookHookMechHOOK_FENTRY, Fexit: bpfobj.HookHookMechHOOK_FEXIT,
	FmodRet: bpfobj.HookHookMechHOOK_FENTRY, Kprobe: bpfobj.HookHookMechHOOK_KPROBE,
	Kretprobe: bpfobj.HookHookMechHOOK_KRETPROBE,
}

// Hook is a policy hook resolved against the kernel's BTF: the
// configuration of its generic program and the mechanisms to try.
type Hook struct {
	Policy *policy.Hook
	// Ladder are the mechanisms to try, best first.
	Ladder []Mech
	// Attach is the raw tracepoint or function to attach to.
	Attach string
	// Cfg is the program's configuration, but for Mech, set at load.
	Cfg bpfobj.HookHookCfg
	// Args say how to read each fetched value.
	Args []Arg
	// whyNot says, per mechanism left out of Ladder, why.
	whyNot []string
}

// Arg is one fetched argument.
type Arg struct {
	Name   string
	IsStr  bool
	Signed bool
}

// Kernel is what Resolve needs to know of the running kernel.
type Kernel struct {
	// BTF is the kernel's BTF (btf.LoadKernelSpec).
	BTF *btf.Spec
	// Groups maps a tracepoint's name to its group (tracefs'
	// available_events); nil when tracefs cannot be read.
	Groups map[string]string
}

// Resolve resolves hooks against k, numbering them in order. It returns
// every problem at once, each at the hook's position in its policy file.
func Resolve(hooks []*policy.Hook, k *Kernel) ([]*Hook, error) {
	var errs yamldoc.List
	var out []*Hook
	for i, ph := range hooks {
		h, ok := resolve(ph, k, &errs)
		if !ok {
			continue
		}
		h.Cfg.Id = uint32(i)
		out = append(out, h)
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs.Join()
	}
	return out, nil
}

// resolve resolves one hook, adding its problems to errs.
func resolve(ph *policy.Hook, k *Kernel, errs *yamldoc.List) (*Hook, bool) {
	h := &Hook{Policy: ph}
	at := ph.FieldPos(string(ph.Kind))
	field := ph.Field(string(ph.Kind))
	params, first, ok := h.target(k, errs, at, field)
	if !ok {
		return nil, false
	}
	cfg := &h.Cfg
	ok = true
	for i, a := range ph.Args {
		ha, arg, msg := fetchProgram(a.Expr, params, first)
		if msg != "" {
			errs.Add(a.Pos, yamldoc.Index(ph.Field("args"), i), "%s", msg)
			ok = false
			continue
		}
		ha.set(cfg, i)
		h.Args = append(h.Args, arg)
	}
	cfg.Nargs = uint32(len(ph.Args))
	if ph.Return {
		cfg.RetIndex = uint32(len(params))
	}
	argsOK := ok
	for _, m := range ph.Match.Args {
		if argsOK && !h.argMatcher(m, errs) {
			ok = false
		}
	}
	h.process()
	for _, a := range ph.Actions {
		switch a {
		case policy.ActionLog:
			cfg.Actions |= uint32(bpfobj.HookHookActionHOOK_LOG)
		case policy.ActionKill:
			cfg.Actions |= uint32(bpfobj.HookHookActionHOOK_KILL)
		case policy.ActionCount:
			cfg.Actions |= uint32(bpfobj.HookHookActionHOOK_COUNT)
		case policy.ActionOverride:
			cfg.Actions |= uint32(bpfobj.HookHookActionHOOK_OVERRIDE)
			cfg.Override = ph.Override
		}
	}
	return h, ok
}

// target finds the hook's target in BTF and sets Ladder and Attach. It
// returns the arguments the program sees, named, and the index of the
// first (tracepoints' first parameter is the probe's data, not an
// argument).
func (h *Hook) target(k *Kernel, errs *yamldoc.List, at yamldoc.Pos, field string) ([]btf.FuncParam, int, bool) {
	ph := h.Policy
	switch ph.Kind {
	case policy.HookTracepoint, policy.HookRawTracepoint:
		group, name, hasGroup := strings.Cut(ph.Target, "/")
		if !hasGroup {
			name, group = group, ""
		}
		h.Attach = name
		var td *btf.Typedef
		if err := k.BTF.TypeByName("btf_trace_"+name, &td); err != nil {
			errs.Add(at, field, "no %s %q in this kernel%s", ph.Kind, ph.Target, didYouMean(ph.Target, tracepointNames(k, hasGroup)))
			return nil, 0, false
		}
		if g, ok := k.Groups[name]; ok && hasGroup && g != group {
			errs.Add(at, field, "tracepoint %s is in group %s: write %s/%s", name, g, g, name)
			return nil, 0, false
		}
		// The typedef's prototype has no parameter names; the functions
		// the kernel generates for the tracepoint have them: the probe
		// (__bpf_trace_<name>), or, where BTF lacks it (5.10), the
		// iterator (__traceiter_<name>, 5.10+), same parameters.
		proto := funcProto(td.Type)
		for _, fn := range []string{"__bpf_trace_" + name, "__traceiter_" + name} {
			var probe *btf.Func
			if err := k.BTF.TypeByName(fn, &probe); err == nil {
				if fp, ok := probe.Type.(*btf.FuncProto); ok && len(fp.Params) > 0 && fp.Params[len(fp.Params)-1].Name != "" {
					proto = fp
					break
				}
			}
		}
		if proto == nil || len(proto.Params) == 0 {
			errs.Add(at, field, "%s %q: its BTF type btf_trace_%s is not a probe prototype", ph.Kind, ph.Target, name)
			return nil, 0, false
		}
		h.Ladder = []Mech{TPBTF, RawTP}
		if ph.Kind == policy.HookRawTracepoint {
			h.Ladder = []Mech{RawTP}
		}
		return proto.Params[1:], 0, true
	case policy.HookFunction:
		h.Attach = ph.Target
		var fn *btf.Func
		if err := k.BTF.TypeByName(ph.Target, &fn); err != nil {
			errs.Add(at, field, "no function %q in this kernel's BTF%s", ph.Target, didYouMean(ph.Target, funcNames(k)))
			return nil, 0, false
		}
		proto, _ := fn.Type.(*btf.FuncProto)
		if proto == nil {
			errs.Add(at, field, "function %q: its BTF type is not a prototype", ph.Target)
			return nil, 0, false
		}
		switch {
		case ph.Has(policy.ActionOverride):
			h.Ladder = []Mech{FmodRet, Kprobe}
		case ph.Return && len(ph.Args) > 0:
			h.Ladder = []Mech{Fexit}
			h.whyNot = append(h.whyNot, "kretprobe: a kretprobe sees only the return value, and this hook fetches arguments")
		case ph.Return:
			h.Ladder = []Mech{Fexit, Kretprobe}
		default:
			h.Ladder = []Mech{Fentry, Kprobe}
		}
		if len(proto.Params) > 6 {
			h.Ladder = removeMech(h.Ladder, Kprobe)
			h.whyNot = append(h.whyNot, fmt.Sprintf("kprobe: %s has %d parameters; vigil's kprobe reads the first 6 registers", ph.Target, len(proto.Params)))
		}
		return proto.Params, 0, true
	}
	return nil, 0, false
}

func removeMech(ms []Mech, m Mech) []Mech {
	var out []Mech
	for _, x := range ms {
		if x != m {
			out = append(out, x)
		}
	}
	return out
}

// funcProto returns the prototype a typedef of a function pointer names.
func funcProto(t btf.Type) *btf.FuncProto {
	if p, ok := btf.UnderlyingType(t).(*btf.Pointer); ok {
		fp, _ := btf.UnderlyingType(p.Target).(*btf.FuncProto)
		return fp
	}
	return nil
}

// tracepointNames lists the kernel's raw tracepoints for suggestions,
// as group/name where the group is known and wanted.
func tracepointNames(k *Kernel, withGroup bool) []string {
	var out []string
	for t, err := range k.BTF.All() {
		if err != nil {
			break
		}
		td, ok := t.(*btf.Typedef)
		if !ok {
			continue
		}
		name, ok := strings.CutPrefix(td.Name, "btf_trace_")
		if !ok {
			continue
		}
		if g, ok := k.Groups[name]; ok && withGroup {
			name = g + "/" + name
		}
		out = append(out, name)
	}
	return out
}

// funcNames lists the kernel's functions for suggestions.
func funcNames(k *Kernel) []string {
	var out []string
	for t, err := range k.BTF.All() {
		if err != nil {
			break
		}
		if fn, ok := t.(*btf.Func); ok {
			out = append(out, fn.Name)
		}
	}
	return out
}

// argMatcher configures the matcher m on its argument.
func (h *Hook) argMatcher(m policy.HookArgMatch, errs *yamldoc.List) bool {
	k := -1
	for i, a := range h.Policy.Args {
		if a.Expr == m.Arg {
			k = i
		}
	}
	if k < 0 || k >= len(h.Args) {
		return false // reported by the parser or by fetchProgram
	}
	a, arg := &h.Cfg.Args[k], h.Args[k]
	field := h.Policy.Field("match.args." + m.Arg)
	switch {
	case m.HasStr || m.Prefix != "":
		if !arg.IsStr {
			errs.Add(m.Pos, field, "%s is an integer: match it with a number or a mask", m.Arg)
			return false
		}
		s := m.Prefix
		if m.HasStr {
			s = m.Str + "\x00"
		}
		a.Op = uint32(bpfobj.HookHookOpHOOK_OP_PREFIX)
		a.Plen = uint32(copy(a.Prefix[:], s))
	case m.HasMask:
		if arg.IsStr {
			errs.Add(m.Pos, field, "%s is a string: match it with a string or a prefix", m.Arg)
			return false
		}
		a.Op = uint32(bpfobj.HookHookOpHOOK_OP_MASK)
		a.Nvals = 1
		a.Vals[0] = m.Mask
	default:
		if arg.IsStr {
			errs.Add(m.Pos, field, "%s is a string: match it with a string or a prefix", m.Arg)
			return false
		}
		a.Op = uint32(bpfobj.HookHookOpHOOK_OP_EQ)
		a.Nvals = uint32(copy(a.Vals[:], m.Equal))
	}
	return true
}

// process configures the matchers on the acting process.
func (h *Hook) process() {
	m, cfg := &h.Policy.Match, &h.Cfg
	cfg.Npids = uint32(copy(cfg.Pids[:], m.Pid))
	cfg.Nuids = uint32(copy(cfg.Uids[:], m.Uid))
	for i, c := range m.Comm {
		if i < len(cfg.Comms) {
			copy(cfg.Comms[i][:], c)
			cfg.Ncomms++
		}
	}
}
