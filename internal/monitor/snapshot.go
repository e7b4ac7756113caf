package monitor

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// snapshotEvery bounds how often take reads the manager's counters.
const snapshotEvery = 500 * time.Millisecond

// snapshotter hands the sensor side's counters to metrics scrapes.
//
// Events and kernel losses are counted live as they pass the fanout
// (count), so scrapes see them even in a storm that never lets the ring
// run dry. Decode errors and the process-table size come from
// Manager.Stats, which must run on the reader's goroutine (it reads
// counters that goroutine writes): take copies them from Flush, at most
// every snapshotEvery. Ring-buffer fill is read live: its positions are
// atomic.
type snapshotter struct {
	m      *sensor.Manager
	last   time.Time
	cur    atomic.Pointer[metrics.Snapshot]
	events []atomic.Uint64 // by countedIndex
	lost   []atomic.Uint64
}

// countedTypes are the types counted live: every type the sensors make,
// and the seccomp supervisor's syscall events. countedIndex is their index.
var (
	countedTypes = append(slices.Clone(event.KernelTypes), event.TypeSyscall)
	countedIndex = func() map[event.Type]int {
		m := make(map[event.Type]int, len(countedTypes))
		for i, t := range countedTypes {
			m[t] = i
		}
		return m
	}()
)

func typeIndex(t event.Type) int {
	if i, ok := countedIndex[t]; ok {
		return i
	}
	return -1
}

// newSnapshotter takes the first snapshot; call it before Manager.Run.
func newSnapshotter(m *sensor.Manager) *snapshotter {
	s := &snapshotter{m: m, events: make([]atomic.Uint64, len(countedTypes)), lost: make([]atomic.Uint64, len(countedTypes))}
	s.store()
	return s
}

// count adds ev to the live counters; the fanout calls it under its lock.
func (s *snapshotter) count(ev *event.Event) {
	if ev.Lost != nil {
		for t, n := range ev.Lost.Counts {
			if i := typeIndex(t); i >= 0 {
				s.lost[i].Add(n)
			}
		}
		return
	}
	if i := typeIndex(ev.Type); i >= 0 {
		s.events[i].Add(1)
	}
}

// take refreshes the snapshot; only the reader's goroutine calls it.
func (s *snapshotter) take() {
	if time.Since(s.last) < snapshotEvery {
		return
	}
	s.store()
}

func (s *snapshotter) store() {
	s.last = time.Now()
	st := s.m.Stats()
	types := make([]event.Type, 0, len(st.Events))
	for t := range st.Events {
		types = append(types, t)
	}
	s.cur.Store(&metrics.Snapshot{DecodeErrors: st.DecodeErrors, TableSize: st.TableSize, Types: types})
}

// source returns the counters for a scrape. It must not be called after
// the manager is closed (services.close stops the metrics server first).
func (s *snapshotter) source() metrics.Snapshot {
	snap := *s.cur.Load()
	snap.Events = map[event.Type]uint64{}
	snap.Lost = map[event.Type]uint64{}
	for _, t := range snap.Types { // watched types appear at 0
		snap.Events[t] = 0
		snap.Lost[t] = 0
	}
	for i, t := range countedTypes {
		if n := s.events[i].Load(); n > 0 {
			snap.Events[t] = n
		}
		if n := s.lost[i].Load(); n > 0 {
			snap.Lost[t] = n
		}
	}
	snap.RingUsed, snap.RingSize = s.m.RingFill()
	return snap
}
