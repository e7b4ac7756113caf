package monitor

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"sync"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/enforce"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/fanotify"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/proc"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// enforcement is a loaded policy split by where each rule is carried out.
type enforcement struct {
	set    *policy.Set
	kernel *policy.KernelRules // kill, and deny through BPF LSM
	fan    []*policy.Rule      // deny through fanotify
	log    *policy.Set         // log rules, matched in userspace
	types  []event.Type        // event types the sensors must watch
}

// available probes which mechanisms this kernel offers for verdicts.
func available() policy.Available {
	av := policy.Available{
		Kill:     doctor.ProbeSendSignal() == nil,
		Fanotify: doctor.ProbeFanotifyExecPerm() == nil && doctor.ProbeFanotifyOpenPerm() == nil,
	}
	if doctor.ProbeBPFLSM() == nil {
		if _, err := doctor.ProbeLSMActive(); err == nil {
			av.LSM = true
		}
	}
	av.FanotifyErrno = av.Fanotify && fanotify.ProbeDenyErrno() == nil
	return av
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
	av := available()
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
	e := &enforcement{set: set, kernel: k, log: &policy.Set{}}
	for _, r := range set.Rules {
		// A kill rule on files is also given to fanotify where it can
		// take it: FAN_OPEN_EXEC_PERM sees a script itself, where the
		// kernel's exec hook sees its interpreter, and acts before exec.
		if r.Action == policy.ActionKill && av.Fanotify && r.FanotifyProblem() == "" {
			e.fan = append(e.fan, r)
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

// startFanotify runs the fanotify deny engine until ctx ends. The process
// that holds the fanotify group must not fork while it runs (a child
// stuck in exec would keep the group, and every watched exec, waiting):
// vigil monitor starts no process.
func (e *enforcement) startFanotify(ctx context.Context, emit func(*event.Event), log *slog.Logger) (wait func() error, err error) {
	if len(e.fan) == 0 {
		return func() error { return nil }, nil
	}
	eng, err := enforce.New(enforce.Config{Rules: e.fan, Emit: emit, Logger: log})
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
	next  sensor.Sink
	rules *policy.Set
	anc   policy.Ancestry
}

func (s *verdictSink) Emit(ev *event.Event) error {
	if ev.Verdict == nil && s.rules != nil && len(s.rules.Rules) > 0 {
		if m := s.rules.Match(ev, s.anc); len(m) > 0 {
			ev.Verdict = &event.Verdict{Rule: m[0].Name, Action: string(policy.ActionLog), Enforced: true}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next.Emit(ev)
}

func (s *verdictSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next.Flush()
}

// emitAsync hands an event from another goroutine (the fanotify engine).
func (s *verdictSink) emitAsync(ev *event.Event) {
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
