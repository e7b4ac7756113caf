package dynhook

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/proc"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// progFor names each mechanism's generic program in bpf/hook.c.
var progFor = map[Mech]string{
	TPBTF: bpfobj.HookProgHookTpBtf, RawTP: bpfobj.HookProgHookRawTp,
	Fentry: bpfobj.HookProgHookFentry, Fexit: bpfobj.HookProgHookFexit,
	FmodRet: bpfobj.HookProgHookFmodRet, Kprobe: bpfobj.HookProgHookKprobe,
	Kretprobe: bpfobj.HookProgHookKretprobe,
}

// tracing are the mechanisms whose programs are verified against their
// target: they must be loaded with AttachTo set to it.
var tracing = map[Mech]bool{TPBTF: true, Fentry: true, Fexit: true, FmodRet: true}

var (
	specOnce sync.Once
	spec     *ebpf.CollectionSpec
	specErr  error
)

// hookSpec returns the parsed bpf/hook.c object; callers copy it. Where
// the kernel refuses BPF_CMPXCHG (before 5.12) it is the compat build,
// which claims its scratch slots with add-and-look instead.
func hookSpec() (*ebpf.CollectionSpec, error) {
	specOnce.Do(func() {
		if doctor.ProbeAtomics() != nil {
			spec, specErr = bpfobj.LoadHookCompat()
			return
		}
		spec, specErr = bpfobj.LoadHook()
	})
	return spec, specErr
}

// Options are Start's settings.
type Options struct {
	// ExcludePid is a process the hooks ignore (vigil itself), 0 for none.
	ExcludePid uint32
}

// Loaded is one hook running in the kernel.
type Loaded struct {
	Hook *Hook
	// Mech is the mechanism it runs on.
	Mech Mech
	// Program is the loaded program, named ProgName(hook name).
	Program *ebpf.Program
	// LoadTime is how long loading (mostly the verifier) took.
	LoadTime time.Duration
	// Refusals say why the better mechanisms were not used.
	Refusals []string
	link     link.Link
}

// ProgName is the name of a hook's program: "vh_" and the hook's name,
// with characters the kernel refuses in names made '_'. The kernel keeps
// 15 bytes of it as the program's name; the program's BTF function
// carries it whole, which `vigil hooks` and bpftool show when the
// kernel's name is cut short.
func ProgName(hook string) string {
	b := []byte("vh_" + hook)
	for i, c := range b {
		if c > unicode.MaxASCII || !(c == '_' || unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))) {
			b[i] = '_'
		}
	}
	return string(b)
}

// rename names the program ps name, in the kernel and in its BTF.
func rename(ps *ebpf.ProgramSpec, name string) {
	ps.Name = name
	if len(ps.Instructions) == 0 {
		return
	}
	if fn := btf.FuncMetadata(&ps.Instructions[0]); fn != nil {
		named := *fn // the spec's copy shares its *btf.Func with the original
		named.Name = name
		ps.Instructions[0] = btf.WithFuncMetadata(ps.Instructions[0], &named)
	}
}

// Set is the running hooks of one policy and the maps they share.
type Set struct {
	Hooks  []*Loaded
	ring   *ebpf.Map
	counts *ebpf.Map
	last   []uint64 // counts at the previous Counts call, by hook id

	wallOffset int64
	mu         sync.Mutex
	closed     bool
}

// Start loads and attaches hooks, each on the first mechanism of its
// ladder the kernel accepts. On any hook that no mechanism can run it
// closes what it started and returns, for each such hook, an error at
// the hook's position with every mechanism's refusal.
func Start(hooks []*Hook, opts Options) (*Set, error) {
	s, cs, err := newSet()
	if err != nil {
		return nil, err
	}
	cache := btf.NewCache()
	var errs yamldoc.List
	for _, h := range hooks {
		l, refusals := s.start(cs, h, opts, cache)
		if l == nil {
			ph := h.Policy
			errs.Add(ph.FieldPos(string(ph.Kind)), ph.Field(string(ph.Kind)), "cannot hook %s here: %s", ph.TargetString(), strings.Join(refusals, "; "))
			continue
		}
		s.Hooks = append(s.Hooks, l)
	}
	if len(errs) > 0 {
		s.Close()
		return nil, errs.Join()
	}
	return s, nil
}

// newSet creates the maps every hook of a Set shares.
func newSet() (*Set, *ebpf.CollectionSpec, error) {
	cs, err := hookSpec()
	if err != nil {
		return nil, nil, fmt.Errorf("loading hook programs: %w", err)
	}
	s := &Set{wallOffset: proc.WallOffset()}
	if s.ring, err = ebpf.NewMap(cs.Maps[bpfobj.HookMapHookEvents]); err != nil {
		return nil, nil, fmt.Errorf("creating hook ring buffer: %w", err)
	}
	if s.counts, err = ebpf.NewMap(cs.Maps[bpfobj.HookMapHookCounts]); err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("creating hook counts: %w", err)
	}
	s.last = make([]uint64, cs.Maps[bpfobj.HookMapHookCounts].MaxEntries)
	return s, cs, nil
}

// start tries h's ladder; it returns the loaded hook, or nil and why
// every mechanism was refused.
func (s *Set) start(cs *ebpf.CollectionSpec, h *Hook, opts Options, cache *btf.Cache) (*Loaded, []string) {
	refusals := append([]string(nil), h.whyNot...)
	for _, m := range h.Ladder {
		l, err := s.load(cs, h, m, opts, cache)
		if err != nil {
			refusals = append(refusals, fmt.Sprintf("%s: %v", m, err))
			continue
		}
		l.Refusals = refusals
		return l, nil
	}
	return nil, refusals
}

// load loads h's program for mechanism m and attaches it.
func (s *Set) load(cs *ebpf.CollectionSpec, h *Hook, m Mech, opts Options, cache *btf.Cache) (*Loaded, error) {
	c := cs.Copy()
	name := progFor[m]
	for n := range c.Programs {
		if n != name {
			delete(c.Programs, n)
		}
	}
	ps := c.Programs[name]
	rename(ps, ProgName(h.Policy.Name))
	if tracing[m] {
		ps.AttachTo = h.Attach
	}
	cfg := h.Cfg
	cfg.Mech = uint32(mechCode[m])
	cfg.SelfTgid = opts.ExcludePid
	if err := c.Variables[bpfobj.HookVarCfg].Set(cfg); err != nil {
		return nil, fmt.Errorf("configuring: %w", err)
	}
	start := time.Now()
	coll, err := ebpf.NewCollectionWithOptions(c, ebpf.CollectionOptions{
		MapReplacements: map[string]*ebpf.Map{bpfobj.HookMapHookEvents: s.ring, bpfobj.HookMapHookCounts: s.counts},
		Cache:           cache,
	})
	took := time.Since(start)
	if err != nil {
		return nil, loadError(err)
	}
	prog := coll.DetachProgram(name)
	coll.Close()
	lk, err := attach(prog, m, h.Attach)
	if err != nil {
		prog.Close()
		return nil, fmt.Errorf("attaching: %w", err)
	}
	return &Loaded{Hook: h, Mech: m, Program: prog, LoadTime: took, link: lk}, nil
}

// loadError shortens a load error to what the user needs: the whole
// verifier log when the verifier refused, else the kernel's errno.
func loadError(err error) error {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return fmt.Errorf("loading: %+v", ve)
	}
	msg := strings.TrimSuffix(err.Error(), " (MEMLOCK may be too low, consider rlimit.RemoveMemlock)")
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("loading: the kernel refused the program (EPERM): %s", msg)
	}
	return fmt.Errorf("loading: %s", msg)
}

func attach(prog *ebpf.Program, m Mech, target string) (link.Link, error) {
	switch m {
	case TPBTF, Fentry, Fexit, FmodRet:
		return link.AttachTracing(link.TracingOptions{Program: prog})
	case RawTP:
		return link.AttachRawTracepoint(link.RawTracepointOptions{Name: target, Program: prog})
	case Kprobe:
		return link.Kprobe(target, prog, nil)
	case Kretprobe:
		return link.Kretprobe(target, prog, nil)
	}
	return nil, fmt.Errorf("unknown mechanism %s", m)
}

// Close detaches every hook and frees the maps. It makes Read return.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for _, l := range s.Hooks {
		if l.link != nil {
			errs = append(errs, l.link.Close())
		}
		errs = append(errs, l.Program.Close())
	}
	for _, m := range []*ebpf.Map{s.ring, s.counts} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	return errors.Join(errs...)
}
