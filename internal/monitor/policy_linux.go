package monitor

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/dynhook"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/permission"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/proc"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// enforcement is a loaded policy split by where each rule is carried out.
type enforcement struct {
	set    *policy.Set
	kernel *policy.KernelRules // kill, and deny through BPF LSM
	fan    []*policy.Rule      // deny through fanotify
	shadow []*policy.Rule      // kill rules fanotify also carries out (scripts)
	log    *policy.Set         // log rules, matched in userspace
	types  []event.Type        // event types the sensors must watch
	hooks  []*dynhook.Hook     // the policy's hooks section, resolved
}

// loadPolicy loads the policy files, plans a mechanism for every rule
// with what this kernel offers and compiles the kernel's share. A policy
// that asks for what nothing here can do is refused, with every problem
// at its file:line:col.
func loadPolicy(paths []string, log *slog.Logger) (*enforcement, error) {
	set, err := policy.Load(paths...)
	if err != nil {
		return nil, err
	}
	av := doctor.Available()
	plan, err := set.Plan(av)
	if err != nil {
		return nil, err
	}
	k, err := set.Kernel(plan, sensor.StatFile)
	if err != nil {
		return nil, err
	}
	for _, w := range k.Warnings {
		log.Warn("policy", "warning", w)
	}
	hooks, err := resolveHooks(set)
	if err != nil {
		return nil, err
	}
	e := &enforcement{set: set, kernel: k, log: &policy.Set{}, hooks: hooks}
	for _, r := range set.Rules {
		// A kill rule on files is also given to fanotify where it can
		// take it: FAN_OPEN_EXEC_PERM sees a script itself, where the
		// kernel's exec hook sees its interpreter, and acts before exec.
		if r.Action == policy.ActionKill && av.Fanotify && r.FanotifyProblem() == "" {
			e.shadow = append(e.shadow, r)
		}
		switch {
		case r.Action == policy.ActionLog:
			e.log.Rules = append(e.log.Rules, r)
		case plan[r] == policy.MechFanotify:
			e.fan = append(e.fan, r)
			continue // fanotify needs no sensor
		}
		if !slices.Contains(e.types, r.Event) {
			e.types = append(e.types, r.Event)
		}
	}
	// Exec rules on files also stop mappings of their files, which the
	// mprotect sensor watches and reports.
	if k.Mapping() && !slices.Contains(e.types, event.TypeMprotect) {
		e.types = append(e.types, event.TypeMprotect)
	}
	for _, r := range set.Rules {
		log.Info("policy rule", "rule", r.Name, "event", r.Event, "action", r.Action, "mechanism", mechanismOf(plan, r))
	}
	return e, nil
}

func mechanismOf(plan map[*policy.Rule]policy.Mechanism, r *policy.Rule) string {
	if m, ok := plan[r]; ok {
		return string(m)
	}
	return "userspace match"
}

// startFanotify runs the fanotify engine until ctx ends. The process
// that holds the fanotify group must not fork while it runs (a child
// stuck in exec would keep the group, and every watched exec, waiting):
// vigil monitor starts no process.
func (e *enforcement) startFanotify(ctx context.Context, emit func(*event.Event), observe func(time.Duration), log *slog.Logger) (wait func() error, err error) {
	none := func() error { return nil }
	if len(e.fan)+len(e.shadow) == 0 {
		return none, nil
	}
	wait, err = runEngine(ctx, append(append([]*policy.Rule(nil), e.fan...), e.shadow...), emit, observe, log)
	if err == nil || len(e.shadow) == 0 {
		return wait, err
	}
	// The kill rules stay in force in the kernel; only scripts lose
	// their second line. Deny rules that need fanotify still refuse.
	log.Warn("kill rules: fanotify cannot also watch their files, so scripts there are not killed", "err", err)
	if len(e.fan) == 0 {
		return none, nil
	}
	return runEngine(ctx, e.fan, emit, observe, log)
}

// runEngine starts a fanotify engine for rules and waits until its marks
// are placed.
func runEngine(ctx context.Context, rules []*policy.Rule, emit func(*event.Event), observe func(time.Duration), log *slog.Logger) (func() error, error) {
	eng, err := permission.New(permission.Config{Rules: rules, Emit: emit, Observe: observe, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("starting fanotify enforcement: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	select {
	case <-eng.Ready():
	case err := <-done:
		return nil, fmt.Errorf("running fanotify enforcement: %w", err)
	}
	return func() error { return <-done }, nil
}

// verdictSink adds the verdict of the first matching log rule to events
// that carry none, and serializes the sink for the engine's goroutines.
type verdictSink struct {
	mu    sync.Mutex
	next  event.Sink
	rules *policy.Set
	all   *policy.Set // every rule, for the verdicts' severity and mitre
	anc   policy.Ancestry
}

func (s *verdictSink) Emit(ev *event.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev.Verdict == nil && s.rules != nil && len(s.rules.Rules) > 0 {
		if m := s.rules.Match(ev, s.anc); len(m) > 0 {
			ev.Verdict = policy.Verdict(m[0].Name, policy.ActionLog, "", true)
		}
	}
	if ev.Verdict != nil && s.all != nil && ev.Type != event.TypeHook {
		s.all.Annotate(ev.Verdict)
	}
	return s.next.Emit(ev)
}

// setRules swaps the log rules matched in userspace, and all the rules
// whose verdicts it annotates.
func (s *verdictSink) setRules(rules, all *policy.Set) {
	s.mu.Lock()
	s.rules, s.all = rules, all
	s.mu.Unlock()
}

func (s *verdictSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next.Flush()
}

// emitAsync hands an event from another goroutine (the fanotify engine).
// Those events do not pass the reader's enrichment, so they get their
// ancestors here (in a fresh array: this is off the reader's path, and
// the denials are few).
func (s *verdictSink) emitAsync(ev *event.Event) {
	if a, ok := s.anc.(ancestry); ok && len(ev.Process.Ancestors) == 0 && ev.Process.Pid != 0 {
		// Get reads /proc for a process the table has not seen (its fork
		// is not watched, its exec is the one denied).
		a.t.Get(ev.Process.Pid)
		ev.Process.Ancestors = a.t.AppendAncestors(nil, ev.Process.Pid, event.MaxAncestors)
	}
	_ = s.Emit(ev)
}

// ancestry gives the policy the executables of a process's ancestors.
type ancestry struct{ t *proc.Table }

func (a ancestry) Ancestors(pid uint32) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, e := range a.t.Ancestors(pid, 64) {
			if !yield(e.Exe) {
				return
			}
		}
	}
}

// policyRun is the enforcement of a running monitor, and its reload.
type policyRun struct {
	met   *metrics.Metrics // may be nil
	paths []string
	m     *sensor.Manager
	vs    *verdictSink
	ctx   context.Context
	log   *slog.Logger
	// interval is how often count hooks report.
	interval time.Duration
	// table gives hook events their executables.
	table *proc.Table

	mu   sync.Mutex // one reload at a time
	enf  *enforcement
	stop context.CancelFunc
	wait func() error
}

// start begins enforcing enf: its fanotify engine and its log rules (the
// kernel rules are the sensors' already).
func (p *policyRun) start(enf *enforcement) error {
	ctx, cancel := context.WithCancel(p.ctx)
	wait, err := enf.startFanotify(ctx, p.vs.emitAsync, p.met.FanotifyResponse, p.log)
	if err != nil {
		cancel()
		return err
	}
	hookWait, err := startHooks(ctx, enf.hooks, p.table, p.vs.emitAsync, p.interval, p.log)
	if err != nil {
		cancel()
		_ = wait()
		return err
	}
	fanWait := wait
	wait = func() error { return errors.Join(fanWait(), hookWait()) }
	p.vs.setRules(enf.log, enf.set)
	p.enf, p.stop, p.wait = enf, cancel, wait
	return nil
}

// reload rereads the policy files and puts them in force without a gap:
// the new fanotify engine answers before the old one stops, and the
// kernel switches rule generations in one write. A policy that does not
// load, or needs a sensor this run did not start, changes nothing.
func (p *policyRun) reload() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	enf, err := loadPolicy(p.paths, p.log)
	if err != nil {
		return fmt.Errorf("reloading policies: %w", err)
	}
	for _, t := range enf.types {
		if !p.m.Watching(t) {
			return fmt.Errorf("reloading policies: a %s rule needs the %s sensor, which this run did not start: restart vigil", t, t)
		}
	}
	old, oldStop, oldWait := p.enf, p.stop, p.wait
	if err := p.start(enf); err != nil {
		p.enf, p.stop, p.wait = old, oldStop, oldWait
		p.vs.setRules(old.log, old.set)
		return fmt.Errorf("reloading policies: %w", err)
	}
	if err := p.m.SetRules(enf.kernel); err != nil {
		p.stop() // the old engine and kernel rules stay in force
		_ = p.wait()
		p.enf, p.stop, p.wait = old, oldStop, oldWait
		p.vs.setRules(old.log, old.set)
		return fmt.Errorf("reloading policies: %w", err)
	}
	oldStop()
	if err := oldWait(); err != nil {
		p.log.Warn("stopping the previous fanotify engine", "err", err)
	}
	p.log.Info("policies reloaded", "rules", len(enf.set.Rules))
	return nil
}

// close stops enforcing: the engine's shutdown answers allow to anything
// pending.
func (p *policyRun) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop == nil {
		return nil
	}
	p.stop()
	return p.wait()
}
