package dynhook

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/rlimit"

	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// Diagnosis is what `vigil doctor --hook` reports about one target.
type Diagnosis struct {
	// Target is "kind:name" as a policy would write it.
	Target string `json:"target"`
	// Problem says why the target cannot be named at all ("" when it can).
	Problem string `json:"problem,omitempty"`
	// Args are the arguments a hook may fetch, "name type".
	Args []string `json:"args,omitempty"`
	// Mechanisms are the attempts, best first.
	Mechanisms []Attempt `json:"mechanisms,omitempty"`
}

// Attempt is one mechanism tried for real: loaded, attached, detached.
type Attempt struct {
	Mech     Mech          `json:"mechanism"`
	OK       bool          `json:"ok"`
	Why      string        `json:"why,omitempty"`
	LoadTime time.Duration `json:"load_ns,omitempty"`
}

// Diagnose says whether and how target can be hooked here. target is
// "tracepoint:group/name", "raw_tracepoint:name" or "function:name"; a
// bare "group/name" is a tracepoint and a bare name a function (or a raw
// tracepoint when no function has that name). It loads and attaches a
// log hook on every mechanism that could serve, and detaches it.
func Diagnose(target string) *Diagnosis {
	d := &Diagnosis{}
	k, err := LoadKernel()
	if err != nil {
		d.Target, d.Problem = target, err.Error()
		return d
	}
	ph := &policy.Hook{Name: "doctor", Actions: []policy.Action{policy.ActionLog}}
	kind, name, ok := strings.Cut(target, ":")
	switch {
	case ok:
		ph.Kind, ph.Target = policy.HookKind(kind), name
	case strings.Contains(target, "/"):
		ph.Kind, ph.Target = policy.HookTracepoint, target
	default:
		var fn *btf.Func
		ph.Kind, ph.Target = policy.HookFunction, target
		if k.BTF.TypeByName(target, &fn) != nil {
			var td *btf.Typedef
			if k.BTF.TypeByName("btf_trace_"+target, &td) == nil {
				ph.Kind = policy.HookRawTracepoint
			}
		}
	}
	d.Target = ph.TargetString()
	if ph.Kind != policy.HookTracepoint && ph.Kind != policy.HookRawTracepoint && ph.Kind != policy.HookFunction {
		d.Problem = fmt.Sprintf("unknown kind %q: write tracepoint:, raw_tracepoint: or function:", kind)
		return d
	}
	var errs yamldoc.List
	h := &Hook{Policy: ph}
	params, _, ok := h.target(k, &errs, yamldoc.Pos{}, "")
	if !ok {
		var msgs []string
		for _, e := range yamldoc.Errors(errs.Join()) {
			msgs = append(msgs, e.Msg)
		}
		d.Problem = strings.Join(msgs, "; ")
		return d
	}
	for _, p := range params {
		d.Args = append(d.Args, p.Name+" "+typeName(p.Type))
	}
	ladder := h.Ladder
	if ph.Kind == policy.HookFunction {
		ladder = []Mech{Fentry, Fexit, FmodRet, Kprobe, Kretprobe}
		h.Cfg.RetIndex = uint32(len(params))
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		d.Problem = err.Error()
		return d
	}
	set, cs, err := newSet()
	if err != nil {
		d.Problem = err.Error()
		return d
	}
	defer set.Close()
	cache := btf.NewCache()
	for _, m := range ladder {
		l, err := set.load(cs, h, m, Options{}, cache)
		a := Attempt{Mech: m, OK: err == nil}
		if err != nil {
			a.Why = err.Error()
		} else {
			a.LoadTime = l.LoadTime
			l.link.Close()
			l.Program.Close()
		}
		d.Mechanisms = append(d.Mechanisms, a)
	}
	return d
}

// WriteText prints d for people.
func (d *Diagnosis) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "target  %s\n", d.Target)
	if d.Problem != "" {
		fmt.Fprintf(&b, "verdict cannot hook: %s\n", d.Problem)
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "args    %s\n", strings.Join(d.Args, ", "))
	var usable []string
	for _, a := range d.Mechanisms {
		if a.OK {
			usable = append(usable, string(a.Mech))
			fmt.Fprintf(&b, "  %-10s yes (loaded and attached in %v)\n", a.Mech, a.LoadTime.Round(time.Millisecond))
		} else {
			fmt.Fprintf(&b, "  %-10s no: %s\n", a.Mech, a.Why)
		}
	}
	if len(usable) == 0 {
		fmt.Fprintf(&b, "verdict cannot hook here: every mechanism was refused\n")
	} else {
		fmt.Fprintf(&b, "verdict hookable with %s\n", strings.Join(usable, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
