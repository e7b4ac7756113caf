package monitor

import (
	"slices"
	"sync/atomic"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestCountedTypes: every type the sensors make is counted live, each at
// its own index (the metrics of an opt-in type must not read zero).
func TestCountedTypes(t *testing.T) {
	s := &snapshotter{events: make([]atomic.Uint64, len(countedTypes)), lost: make([]atomic.Uint64, len(countedTypes))}
	for _, typ := range append(slices.Clone(event.KernelTypes), event.TypeSyscall) {
		i := typeIndex(typ)
		if i < 0 {
			t.Fatalf("type %s is not counted", typ)
		}
		s.count(&event.Event{Type: typ})
		if n := s.events[i].Load(); n != 1 {
			t.Errorf("type %s: counter at %d reads %d after one event, want 1 (shared index?)", typ, i, n)
		}
	}
	s.count(&event.Event{Type: event.TypeLost, Lost: &event.Lost{Counts: map[event.Type]uint64{event.TypeBPF: 3}}})
	if n := s.lost[typeIndex(event.TypeBPF)].Load(); n != 3 {
		t.Errorf("lost bpf events: %d, want 3", n)
	}
	if typeIndex(event.TypeHook) != -1 {
		t.Errorf("hook events are not the sensors' and are not counted here")
	}
}
