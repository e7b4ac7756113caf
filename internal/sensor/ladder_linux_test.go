package sensor

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
)

// TestLaddersMatchDoctor keeps the mechanisms doctor prints and the ones
// the sensors implement the same, in both directions.
func TestLaddersMatchDoctor(t *testing.T) {
	implemented := map[string]bool{}
	covered := map[event.Type]bool{}
	for _, s := range sensors() {
		for _, r := range s.rungs() {
			implemented[r.mechanism] = true
		}
		for _, typ := range s.types() {
			covered[typ] = true
			ladder, err := ladderFor(typ, s.rungs())
			if err != nil {
				t.Error(err)
				continue
			}
			if len(ladder) == 0 {
				t.Errorf("%s: empty ladder", typ)
			}
		}
	}
	for _, typ := range event.KernelTypes {
		if !covered[typ] {
			t.Errorf("no sensor reports %s events", typ)
		}
	}
	for _, l := range doctor.Ladders {
		if l.Kind != doctor.Event {
			continue
		}
		for _, r := range l.Rungs {
			if !implemented[r.Mechanism] {
				t.Errorf("doctor lists %q for %s, which no sensor implements", r.Mechanism, l.Name)
			}
			delete(implemented, r.Mechanism)
		}
	}
	for m := range implemented {
		t.Errorf("sensor mechanism %q is missing from doctor.Ladders", m)
	}
}
