package monitor

import (
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// snapshotEvery bounds how stale the sensor counters a scrape sees are.
const snapshotEvery = 500 * time.Millisecond

// snapshotter hands the sensor manager's counters to metrics scrapes.
// Manager.Stats must run on the reader goroutine (it reads counters that
// goroutine writes), so take, called there from the sink, copies them at
// most every snapshotEvery, and source, called by scrapes, reads the
// copy. Ring-buffer fill is read live: its positions are atomic.
type snapshotter struct {
	m    *sensor.Manager
	last time.Time
	cur  atomic.Pointer[metrics.Snapshot]
}

// newSnapshotter takes the first snapshot; call it before Manager.Run.
func newSnapshotter(m *sensor.Manager) *snapshotter {
	s := &snapshotter{m: m}
	s.store()
	return s
}

func (s *snapshotter) take() {
	if time.Since(s.last) < snapshotEvery {
		return
	}
	s.store()
}

func (s *snapshotter) store() {
	s.last = time.Now()
	st := s.m.Stats()
	s.cur.Store(&metrics.Snapshot{Events: st.Events, Lost: st.Lost, DecodeErrors: st.DecodeErrors, TableSize: st.TableSize})
}

// source returns the latest snapshot with the ring fill read now. It must
// not be called after the manager is closed (services.close stops the
// metrics server first).
func (s *snapshotter) source() metrics.Snapshot {
	snap := *s.cur.Load()
	snap.RingUsed, snap.RingSize = s.m.RingFill()
	return snap
}
