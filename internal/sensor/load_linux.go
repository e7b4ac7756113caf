package sensor

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// ErrRefused marks a program the kernel would not load for lack of
// permission: on hosts that block ftrace function hooks, fentry/fexit and
// BPF LSM programs fail this way even for root.
var ErrRefused = errors.New("refused by the kernel")

// rung is one mechanism for one event type: the programs to load and
// attach together.
type rung struct {
	mechanism string   // name shown to users, e.g. "fexit/kernel_clone"
	kind      string   // "fentry", "tp_btf", "tracepoint", "raw_syscall"
	progs     []string // program names in the object
	optional  []string // programs added when they load, dropped when not
	// also lists more attach points (sections) for a program, so one
	// verified program serves several tracepoints.
	also map[string][]string
	// precond, when set, must return nil for the rung to be tried.
	precond func() error
	// spec, when set, loads the rung's object instead of the sensor's
	// (the compat build of a twin rung).
	spec func() (*ebpf.CollectionSpec, error)
	// needs are the probes of doctor.CompatProbes the rung's doctor
	// ladder rung needs; precheck asks them.
	needs []string
}

// ForceCompat is the Config.ForceMechanism that loads only compat twins.
const ForceCompat = "compat"

// compat returns r's twin built with VIGIL_COMPAT (doctor.Ladders names
// it "<mechanism> (<what>)"), loading its programs from spec.
func compat(r rung, what string, spec func() (*ebpf.CollectionSpec, error)) rung {
	r.mechanism += " (" + what + ")"
	r.spec = spec
	return r
}

// sections returns every attach point of the rung's programs.
func (r rung) sections(spec *ebpf.CollectionSpec) []string {
	var out []string
	for _, p := range append(append([]string(nil), r.progs...), r.optional...) {
		if ps, ok := spec.Programs[p]; ok {
			out = append(out, ps.SectionName)
		}
		out = append(out, r.also[p]...)
	}
	return out
}

// loaded is one attached rung: its collection and links.
type loaded struct {
	coll  *ebpf.Collection
	links []link.Link
}

func (l *loaded) Close() error {
	var errs []error
	for _, lk := range l.links {
		errs = append(errs, lk.Close())
	}
	if l.coll != nil {
		l.coll.Close()
	}
	return errors.Join(errs...)
}

// shared are the maps every sensor's object uses, created once.
type shared struct {
	events *ebpf.Map
	lost   *ebpf.Map
	rules  map[string]*ebpf.Map // the maps of bpf/include/rules.h
	// cache holds the kernel's BTF, decoded once for every load at
	// start-up and dropped after.
	cache *btf.Cache
}

// replacements returns the shared maps that spec declares.
func (sh *shared) replacements(spec *ebpf.CollectionSpec) map[string]*ebpf.Map {
	out := map[string]*ebpf.Map{"events": sh.events, "lost": sh.lost}
	for name, mp := range sh.rules {
		if _, ok := spec.Maps[name]; ok {
			out[name] = mp
		}
	}
	return out
}

// climb tries the rungs of a ladder in order and returns the first that
// loads and attaches, with the reasons the ones before it were refused.
// vars are the constants to set in the object before loading.
func climb(spec *ebpf.CollectionSpec, ladder []rung, sh *shared, vars map[string]any, force string) (*loaded, rung, []string, error) {
	var refused []string
	for _, r := range ladder {
		if force != "" && r.kind != force && (force != ForceCompat || r.spec == nil) {
			continue
		}
		if err := precheck(spec, r); err != nil {
			refused = append(refused, fmt.Sprintf("%s: %v", r.mechanism, err))
			continue
		}
		s := spec
		if r.spec != nil {
			var err error
			if s, err = r.spec(); err != nil {
				refused = append(refused, fmt.Sprintf("%s: reading object: %v", r.mechanism, err))
				continue
			}
		}
		l, err := loadRung(s, r, sh, vars)
		if err == nil {
			return l, r, refused, nil
		}
		refused = append(refused, fmt.Sprintf("%s: %v", r.mechanism, err))
	}
	if len(refused) == 0 {
		return nil, rung{}, nil, fmt.Errorf("no mechanism of kind %q", force)
	}
	return nil, rung{}, refused, errors.New(strings.Join(refused, "; "))
}

// loadRung loads the programs of one rung into a fresh collection that
// uses the shared maps, and attaches them.
func loadRung(spec *ebpf.CollectionSpec, r rung, sh *shared, vars map[string]any) (*loaded, error) {
	l, err := loadProgs(spec, r.progs, sh, vars, r.also)
	if err != nil {
		return nil, err
	}
	for _, name := range r.optional {
		if precheckProg(spec.Programs[name]) != nil {
			continue
		}
		if opt, err := loadProgs(spec, append(append([]string(nil), r.progs...), name), sh, vars, r.also); err == nil {
			l.Close()
			l = opt
		}
	}
	return l, nil
}

func loadProgs(spec *ebpf.CollectionSpec, progs []string, sh *shared, vars map[string]any, also map[string][]string) (*loaded, error) {
	s := spec.Copy()
	keep := make(map[string]bool, len(progs))
	for _, p := range progs {
		if _, ok := s.Programs[p]; !ok {
			return nil, fmt.Errorf("program %s not in object", p)
		}
		keep[p] = true
	}
	for name := range s.Programs {
		if !keep[name] {
			delete(s.Programs, name)
		}
	}
	for name, v := range vars {
		vs, ok := s.Variables[name]
		if !ok {
			continue
		}
		if err := vs.Set(v); err != nil {
			return nil, fmt.Errorf("setting %s: %w", name, err)
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(s, ebpf.CollectionOptions{
		MapReplacements: sh.replacements(s),
		Cache:           sh.cache,
	})
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("loading: %+v", ve)
		}
		// cilium/ebpf suggests raising MEMLOCK on every EPERM; Prepare
		// already removed the limit, so the hint only misleads.
		msg := strings.TrimSuffix(err.Error(), " (MEMLOCK may be too low, consider rlimit.RemoveMemlock)")
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("loading: %s: %w", msg, ErrRefused)
		}
		return nil, fmt.Errorf("loading: %s", msg)
	}
	l := &loaded{coll: coll}
	for _, p := range progs {
		for _, sec := range append([]string{s.Programs[p].SectionName}, also[p]...) {
			lk, err := attach(coll.Programs[p], s.Programs[p].Type, s.Programs[p].AttachType, sec)
			if err != nil {
				l.Close()
				return nil, fmt.Errorf("attaching %s: %w", sec, err)
			}
			l.links = append(l.links, lk)
		}
	}
	return l, nil
}

// attach attaches prog at section: tracepoint/GROUP/NAME for tracepoint
// programs; the attach point of a tracing (tp_btf/, fentry/, fexit/) or
// LSM program is fixed at load.
func attach(prog *ebpf.Program, typ ebpf.ProgramType, at ebpf.AttachType, section string) (link.Link, error) {
	switch typ {
	case ebpf.TracePoint:
		group, name, err := tracepointName(section)
		if err != nil {
			return nil, err
		}
		return link.Tracepoint(group, name, prog, nil)
	case ebpf.Tracing:
		return link.AttachTracing(link.TracingOptions{Program: prog, AttachType: at})
	case ebpf.LSM:
		return link.AttachLSM(link.LSMOptions{Program: prog})
	}
	return nil, fmt.Errorf("cannot attach program type %s", typ)
}

func tracepointName(section string) (group, name string, err error) {
	parts := strings.SplitN(section, "/", 3)
	if len(parts) != 3 || parts[0] != "tracepoint" {
		return "", "", fmt.Errorf("section %q is not tracepoint/GROUP/NAME", section)
	}
	return parts[1], parts[2], nil
}
