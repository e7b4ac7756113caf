package export

import (
	"maps"
	"slices"

	"github.com/vigil-sec/vigil/internal/event"
)

// cloneEvent returns a deep copy of ev that the delivery goroutine may
// keep: a sink must not keep the event it is given.
func cloneEvent(ev *event.Event) *event.Event {
	c := *ev
	// The reader reuses the ancestors' array from event to event.
	c.Process.Ancestors = slices.Clone(ev.Process.Ancestors)
	if ev.Fork != nil {
		x := *ev.Fork
		c.Fork = &x
	}
	if ev.Exec != nil {
		x := *ev.Exec
		x.Args = slices.Clone(x.Args)
		c.Exec = &x
	}
	if ev.Exit != nil {
		x := *ev.Exit
		c.Exit = &x
	}
	if ev.Module != nil {
		x := *ev.Module
		c.Module = &x
	}
	if ev.Mprotect != nil {
		x := *ev.Mprotect
		c.Mprotect = &x
	}
	if ev.Open != nil {
		x := *ev.Open
		c.Open = &x
	}
	if ev.Syscall != nil {
		x := *ev.Syscall
		c.Syscall = &x
	}
	if ev.Lost != nil {
		c.Lost = &event.Lost{Counts: maps.Clone(ev.Lost.Counts)}
	}
	if ev.Verdict != nil {
		x := *ev.Verdict
		c.Verdict = &x
	}
	return &c
}

// eventSize estimates the memory an event clone holds, for queue bounds.
func eventSize(ev *event.Event) int64 {
	n := 256 + len(ev.Process.Comm) + len(ev.Process.Exe) + len(ev.Process.ParentComm) + len(ev.Process.ParentExe) + len(ev.Process.Cgroup.Path)
	// An ancestor's strings are shared with the process table; only the
	// array is the clone's.
	n += len(ev.Process.Ancestors) * 88 // unsafe.Sizeof(event.Ancestor{}) on 64-bit
	if x := ev.Exec; x != nil {
		n += len(x.Filename) + len(x.Path)
		for _, a := range x.Args {
			n += 16 + len(a)
		}
	}
	if o := ev.Open; o != nil {
		n += len(o.Path) + len(o.ResolvedPath)
	}
	if m := ev.Module; m != nil {
		n += len(m.Name) + len(m.Path)
	}
	return int64(n)
}
