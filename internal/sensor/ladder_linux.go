package sensor

import (
	"fmt"
	"slices"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
)

// ladderFor orders a sensor's rungs for event type t as doctor.Ladders,
// the one list of mechanisms that vigil doctor also prints, says.
func ladderFor(t event.Type, impl []rung) ([]rung, error) {
	for _, l := range doctor.Ladders {
		if l.Kind != doctor.Event || l.Name != string(t) {
			continue
		}
		var out []rung
		for _, r := range l.Rungs {
			found := false
			for _, im := range impl {
				if im.mechanism == r.Mechanism {
					for _, n := range r.Needs {
						if slices.Contains(doctor.CompatProbes, n) {
							im.needs = append(im.needs, n)
						}
					}
					out = append(out, im)
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("%s events: mechanism %q has no programs", t, r.Mechanism)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s events: no ladder in doctor.Ladders", t)
}
