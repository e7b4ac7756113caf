package sensor

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/vigil-sec/vigil/internal/cgroup"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/proc"
)

// sensor is one of vigil's eBPF sensors.
type sensor interface {
	name() string
	// types are the event types the sensor reports.
	types() []event.Type
	// rungs are the mechanisms the sensor implements, named as in
	// doctor.Ladders, which gives their order of preference.
	rungs() []rung
	loadSpec() (*ebpf.CollectionSpec, error)
	// decode fills ev's per-type part from a record of the given kind.
	decode(kind uint32, raw []byte, ev *event.Event) error
}

// configurer is a sensor with runtime configuration in its maps.
type configurer interface {
	vars(cfg *Config) map[string]any
	configure(coll *ebpf.Collection, cfg *Config) error
}

// Manager owns the sensors of one monitor: their programs, maps, links
// and the ring buffer reader.
type Manager struct {
	cfg       Config
	table     *proc.Table
	cgroups   *cgroup.Resolver // nil without a cgroup2 hierarchy: ids only
	ancestors []event.Ancestor // reused by enrich, on the reader goroutine
	sh        shared
	byKind    [kindMax]sensor
	loaded    []*loaded
	choices   []Choice
	reader    *ringbuf.Reader

	// wallOffset turns the kernel's monotonic clock into wall time.
	wallOffset int64

	// The kernel rules: two generations (SetRules), the running one gen.
	rulesMu  sync.RWMutex
	gen      uint32
	gens     [2]*policy.KernelRules
	lsmTypes map[event.Type]bool // event types with BPF LSM deny hooks
	lsmMap   bool                // BPF LSM denies mapping exec rules' files

	counts     [kindMax]atomic.Uint64
	lostSeen   [kindMax]uint64
	decodeErrs atomic.Uint64
}

// pollInterval bounds how long an event can wait in the ring buffer when
// the kernel side batches wakeups.
const pollInterval = 20 * time.Millisecond

// wakeupBytes: below this much pending data the programs do not wake the
// reader, which then polls every pollInterval. Storms cost one wakeup per
// batch instead of one per event.
const wakeupBytes = 256 << 10

// New checks the host, loads and attaches the sensors for cfg.Types and
// returns a manager ready to Run. table enriches events with what is known
// of their processes; New does not seed it.
func New(cfg Config, table *proc.Table) (*Manager, error) {
	if err := Prepare(); err != nil {
		return nil, err
	}
	if cfg.RingBytes == 0 {
		cfg.RingBytes = DefaultRingBytes
	}
	if err := cfg.Open.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Net.validate(); err != nil {
		return nil, err
	}
	if err := validateFilePrefixes(cfg.FilePrefixes); err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, table: table, lsmTypes: map[event.Type]bool{}}
	if err := m.createShared(); err != nil {
		m.Close()
		return nil, err
	}
	if err := m.createRuleMaps(cfg.Rules); err != nil {
		m.Close()
		return nil, err
	}
	if err := m.start(); err != nil {
		m.Close()
		return nil, err
	}
	if err := m.startLSM(); err != nil {
		m.Close()
		return nil, err
	}
	if err := m.startFileLSM(); err != nil {
		m.Close()
		return nil, err
	}
	// The decoded kernel BTF is tens of megabytes, needed only to load.
	m.sh.cache = nil
	debug.FreeOSMemory()
	rd, err := ringbuf.NewReader(m.sh.events)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("opening ring buffer reader: %w", err)
	}
	m.reader = rd
	m.wallOffset = proc.WallOffset()
	if m.cgroups, err = cgroup.NewResolver(); err != nil {
		// Events keep their cgroup ids; paths and containers need the
		// hierarchy.
		slog.Warn("cgroup paths and containers not reported", "err", err)
	}
	return m, nil
}

func (m *Manager) createShared() error {
	var err error
	m.sh.events, err = ebpf.NewMap(&ebpf.MapSpec{Name: "events", Type: ebpf.RingBuf, MaxEntries: uint32(m.cfg.RingBytes)})
	if err != nil {
		return fmt.Errorf("creating ring buffer of %d bytes: %w", m.cfg.RingBytes, err)
	}
	m.sh.lost, err = ebpf.NewMap(&ebpf.MapSpec{Name: "lost", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: kindMax})
	if err != nil {
		return fmt.Errorf("creating loss counters: %w", err)
	}
	return nil
}

// sensors is the explicit list of vigil's sensors.
func sensors() []sensor {
	return []sensor{&processSensor{}, &moduleSensor{}, &mprotectSensor{}, &openSensor{},
		&netSensor{}, &fileSensor{}, &privSensor{}, &mountSensor{}, &bpfSensor{},
	}
}

// job is one selected event type of one sensor, to load.
type job struct {
	s      sensor
	t      event.Type
	ladder []rung
	spec   *ebpf.CollectionSpec

	l      *loaded
	choice Choice
	err    error
}

// start loads every selected event type, all at once: most of start-up
// is the kernel verifying programs, which runs in parallel.
func (m *Manager) start() error {
	want := make(map[event.Type]bool, len(m.cfg.Types))
	for _, t := range m.cfg.Types {
		want[t] = true
	}
	var jobs []*job
	for _, s := range sensors() {
		var spec *ebpf.CollectionSpec
		for _, t := range s.types() {
			if !want[t] {
				continue
			}
			ladder, err := ladderFor(t, s.rungs())
			if err != nil {
				return err
			}
			if spec == nil {
				var err error
				if spec, err = s.loadSpec(); err != nil {
					return fmt.Errorf("reading %s sensor object: %w", s.name(), err)
				}
			}
			jobs = append(jobs, &job{s: s, t: t, ladder: ladder, spec: spec})
		}
	}
	// Decode the kernel's BTF once, before the loaders race for it.
	m.sh.cache = btf.NewCache()
	kernel, err := m.sh.cache.Kernel()
	if err != nil {
		return fmt.Errorf("reading kernel BTF: %w", err)
	}
	specs := make([]*ebpf.CollectionSpec, 0, len(jobs))
	for _, j := range jobs {
		specs = append(specs, j.spec)
		for _, r := range j.ladder {
			if r.spec != nil {
				if s, err := r.spec(); err == nil {
					specs = append(specs, s)
				}
			}
		}
	}
	if err := dedupAttachFuncs(kernel, specs); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.load(j)
		}()
	}
	wg.Wait()
	var errs []error
	for _, j := range jobs {
		if j.l != nil {
			m.loaded = append(m.loaded, j.l)
		}
		if j.err != nil {
			errs = append(errs, j.err)
			continue
		}
		m.choices = append(m.choices, j.choice)
		m.byKind[kindOf(j.t)] = j.s
	}
	if len(errs) == 0 {
		errs = append(errs, checkFileRules(m.choices, m.cfg.Rules))
	}
	return errors.Join(errs...)
}

// load climbs one job's ladder and configures what it loaded.
func (m *Manager) load(j *job) {
	vars := baseVars(m.cfg.SelfTgid)
	c, _ := j.s.(configurer)
	if c != nil {
		for k, v := range c.vars(&m.cfg) {
			vars[k] = v
		}
	}
	l, r, refused, err := climb(j.spec, j.ladder, &m.sh, vars, m.cfg.ForceMechanism)
	if err != nil {
		j.err = fmt.Errorf("starting %s events: %w", j.t, err)
		return
	}
	j.l = l
	if c != nil {
		if err := c.configure(l.coll, &m.cfg); err != nil {
			j.err = fmt.Errorf("configuring %s events: %w", j.t, err)
			return
		}
	}
	j.choice = Choice{Type: j.t, Mechanism: r.mechanism, Refused: refused}
}

// baseVars are the constants of bpf/include/common.h every object gets.
func baseVars(self uint32) map[string]any {
	return map[string]any{"self_tgid": self, "wakeup_bytes": uint64(wakeupBytes)}
}

func kindOf(t event.Type) int {
	for k, kt := range kindTypes {
		if kt == t && t != "" {
			return k
		}
	}
	return 0
}

// Watching reports whether the sensors report events of type t.
func (m *Manager) Watching(t event.Type) bool {
	k := kindOf(t)
	return k != 0 && m.byKind[k] != nil
}

// Choices reports the mechanism each selected event type uses.
func (m *Manager) Choices() []Choice { return m.choices }

// Run reads events until stop is closed or the reader fails, passing each
// to sink. Every lostEvery it reports kernel-side losses as a lost event.
func (m *Manager) Run(stop <-chan struct{}, sink event.Sink, lostEvery time.Duration) error {
	var rec ringbuf.Record
	var ev event.Event
	var h hdr
	lastLost := time.Now()
	for {
		select {
		case <-stop:
			return m.drain(sink, &rec)
		default:
		}
		m.reader.SetDeadline(time.Now().Add(pollInterval))
		err := m.reader.ReadInto(&rec)
		switch {
		case err == nil:
			if err := m.handle(rec.RawSample, &h, &ev, sink); err != nil {
				return err
			}
			continue
		case errors.Is(err, os.ErrDeadlineExceeded):
		case errors.Is(err, ringbuf.ErrClosed):
			return nil
		default:
			return fmt.Errorf("reading ring buffer: %w", err)
		}
		if lostEvery > 0 && time.Since(lastLost) >= lostEvery {
			lastLost = time.Now()
			m.wallOffset = proc.WallOffset() // follow clock adjustments
			if err := m.reportLost(sink); err != nil {
				return err
			}
		}
		if err := sink.Flush(); err != nil {
			return err
		}
	}
}

// drain hands over what is left in the ring, then the final loss report.
func (m *Manager) drain(sink event.Sink, rec *ringbuf.Record) error {
	var ev event.Event
	var h hdr
	m.reader.SetDeadline(time.Now())
	for {
		err := m.reader.ReadInto(rec)
		if err != nil {
			break
		}
		if err := m.handle(rec.RawSample, &h, &ev, sink); err != nil {
			return err
		}
	}
	if err := m.reportLost(sink); err != nil {
		return err
	}
	return sink.Flush()
}

func (m *Manager) handle(raw []byte, h *hdr, ev *event.Event, sink event.Sink) error {
	if len(raw) < hdrSize {
		m.decodeErrs.Add(1)
		return nil
	}
	load(h, raw[:hdrSize])
	if h.Type == 0 || h.Type >= kindMax || m.byKind[h.Type] == nil {
		m.decodeErrs.Add(1)
		return nil
	}
	*ev = event.Event{Type: kindTypes[h.Type], Time: time.Unix(0, m.wallOffset+int64(h.Ktime)), KernelNS: h.Ktime}
	fillProcess(h, &ev.Process)
	ev.Verdict = m.ruleVerdict(h)
	if err := m.byKind[h.Type].decode(h.Type, raw, ev); err != nil {
		m.decodeErrs.Add(1)
		return nil
	}
	m.enrich(ev)
	m.counts[h.Type].Add(1)
	return sink.Emit(ev)
}

// enrich adds what the process table knows and keeps the table current.
func (m *Manager) enrich(ev *event.Event) {
	p := &ev.Process
	switch ev.Type {
	case event.TypeExec:
		m.table.Exec(p.Pid, p.Ppid, p.Uid, p.Comm, ev.Exec.Path, ev.Exec.Args)
	case event.TypeFork:
		if !ev.Fork.Thread {
			m.table.Fork(p.Pid, ev.Fork.ChildPid, ev.Time)
		}
	}
	if e, ok := m.table.Get(p.Pid); ok {
		p.Exe = e.Exe
	}
	if m.cgroups != nil && p.Cgroup.ID != 0 {
		in := m.cgroups.Lookup(p.Cgroup.ID)
		p.Cgroup.Path, p.Container = in.Path, in.Container
		m.table.SetContainer(p.Pid, p.Container)
	}
	m.enrichPriv(ev)
	if p.Ppid != 0 {
		if e, ok := m.table.Get(p.Ppid); ok {
			p.ParentComm, p.ParentExe = e.Comm, e.Exe
		}
	}
	// The buffer is reused: a sink must not keep the event (event.Sink).
	m.ancestors = m.table.AppendAncestors(m.ancestors[:0], p.Pid, event.MaxAncestors)
	p.Ancestors = m.ancestors
	if ev.Type == event.TypeExit && !ev.Exit.Thread {
		m.table.Exit(p.Pid)
	}
}

// reportLost emits a lost event with the losses since the last report.
func (m *Manager) reportLost(sink event.Sink) error {
	delta := map[event.Type]uint64{}
	for k := uint32(1); k < kindMax; k++ {
		var per []uint64
		if err := m.sh.lost.Lookup(uint32(k), &per); err != nil {
			return fmt.Errorf("reading loss counters: %w", err)
		}
		var total uint64
		for _, n := range per {
			total += n
		}
		if d := total - m.lostSeen[k]; d > 0 {
			delta[kindTypes[k]] = d
			m.lostSeen[k] = total
		}
	}
	if len(delta) == 0 {
		return nil
	}
	return sink.Emit(&event.Event{Type: event.TypeLost, Time: time.Now(), Lost: &event.Lost{Counts: delta}})
}

// Stats are the manager's counters.
type Stats struct {
	Events       map[event.Type]uint64 // events handed to the sink
	Lost         map[event.Type]uint64 // records the kernel could not queue
	DecodeErrors uint64
	TableSize    int
}

// Stats returns the counters so far. Lost counts what Run has reported.
func (m *Manager) Stats() Stats {
	s := Stats{Events: map[event.Type]uint64{}, Lost: map[event.Type]uint64{}, DecodeErrors: m.decodeErrs.Load(), TableSize: m.table.Len()}
	for k := uint32(1); k < kindMax; k++ {
		if m.byKind[k] == nil {
			continue
		}
		s.Events[kindTypes[k]] = m.counts[k].Load()
		s.Lost[kindTypes[k]] = m.lostSeen[k]
	}
	return s
}

// Close detaches every program and frees the maps. It interrupts Run.
func (m *Manager) Close() error {
	var errs []error
	if m.reader != nil {
		errs = append(errs, m.reader.Close())
	}
	if m.cgroups != nil {
		errs = append(errs, m.cgroups.Close())
	}
	for _, l := range m.loaded {
		errs = append(errs, l.Close())
	}
	maps := []*ebpf.Map{m.sh.events, m.sh.lost}
	for _, mp := range m.sh.rules {
		maps = append(maps, mp)
	}
	for _, mp := range maps {
		if mp != nil {
			errs = append(errs, mp.Close())
		}
	}
	return errors.Join(errs...)
}
