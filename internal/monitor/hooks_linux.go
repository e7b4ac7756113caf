package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/cilium/ebpf/ringbuf"

	"github.com/vigil-sec/vigil/internal/dynhook"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/proc"
)

// resolveHooks resolves a policy's hooks against this kernel's BTF; every
// wrong name is an error at its file:line:col.
func resolveHooks(set *policy.Set) ([]*dynhook.Hook, error) {
	if len(set.Hooks) == 0 {
		return nil, nil
	}
	k, err := dynhook.LoadKernel()
	if err != nil {
		return nil, fmt.Errorf("resolving policy hooks: %w", err)
	}
	return dynhook.Resolve(set.Hooks, k)
}

// startHooks starts the policy's hooks and a goroutine that emits their
// records, with the executables of the process and its parent from table
// (nil: none), and their counts every interval, until ctx ends. The
// returned wait stops nothing itself: it waits for that goroutine after
// ctx ends.
func startHooks(ctx context.Context, hooks []*dynhook.Hook, table *proc.Table, emit func(*event.Event), interval time.Duration, log *slog.Logger) (func() error, error) {
	if len(hooks) == 0 {
		return func() error { return nil }, nil
	}
	set, err := dynhook.Start(hooks, dynhook.Options{ExcludePid: uint32(os.Getpid())})
	if err != nil {
		return nil, err
	}
	rd, err := set.NewReader()
	if err != nil {
		set.Close()
		return nil, err
	}
	for _, l := range set.Hooks {
		attrs := []any{"hook", l.Hook.Policy.Name, "target", l.Hook.Policy.TargetString(), "mechanism", l.Mech, "load_ms", l.LoadTime.Milliseconds()}
		if len(l.Refusals) > 0 {
			attrs = append(attrs, "refused", l.Refusals)
		}
		log.Info("policy hook", attrs...)
	}
	read := make(chan error, 1)
	go func() {
		for {
			ev := new(event.Event)
			if err := rd.Read(ev); err != nil {
				if errors.Is(err, ringbuf.ErrClosed) {
					err = nil
				}
				read <- err
				return
			}
			if table != nil {
				p := &ev.Process
				if e, ok := table.Get(p.Pid); ok {
					p.Exe = e.Exe
				}
				if e, ok := table.Get(p.Ppid); ok && p.Ppid != 0 {
					p.ParentComm, p.ParentExe = e.Comm, e.Exe
				}
			}
			emit(ev)
		}
	}()
	done := make(chan error, 1)
	go func() {
		if interval <= 0 {
			interval = 10 * time.Second
		}
		tick := time.NewTicker(interval)
		defer tick.Stop()
		last := time.Now()
		report := func() {
			now := time.Now()
			evs, lost, err := set.Counts(now.Sub(last))
			last = now
			if err != nil {
				log.Warn("reading hook counts", "err", err)
				return
			}
			for _, ev := range evs {
				emit(ev)
			}
			if lost > 0 {
				log.Warn("hook records lost: the ring buffer was full", "records", lost)
			}
		}
		for {
			select {
			case <-tick.C:
				report()
			case <-ctx.Done():
				rd.Close()
				rerr := <-read
				report() // the last, partial interval
				done <- errors.Join(rerr, set.Close())
				return
			}
		}
	}()
	return func() error { return <-done }, nil
}
