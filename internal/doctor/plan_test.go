package doctor

import (
	"reflect"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	ladders := []Ladder{{Name: "fork", Kind: Event, IfNone: "no fork events", Rungs: []Rung{
		{"fexit/kernel_clone", []string{"fexit"}, []Point{{BTFFunc, "kernel_clone", false}}},
		{"tp_btf/sched_process_fork", []string{"tp-btf"}, []Point{{BTFTracepoint, "sched_process_fork", false}}},
		{"tracepoint/sched/sched_process_fork", []string{"tracepoint"}, []Point{{Tracepoint, "sched/sched_process_fork", false}, {Tracepoint, "x/optional", true}}},
	}}}
	all := func(Point) (bool, error) { return true, nil }
	none := func(p Point) (bool, error) { return p.Optional, nil }
	onlyTracefs := func(p Point) (bool, error) { return p.Kind == Tracepoint && !p.Optional, nil }
	yes := func(names ...string) []Result {
		var rs []Result
		for _, n := range names {
			rs = append(rs, Result{Name: n, Status: Yes})
		}
		return rs
	}
	for _, tc := range []struct {
		desc      string
		results   []Result
		exists    PointChecker
		use, fall string
		skipped   []string
		undecided bool
	}{
		{"best rung wins, next is fallback", yes("fexit", "tp-btf", "tracepoint"), all,
			"fexit/kernel_clone", "tp_btf/sched_process_fork", nil, false},
		{"refused probe passes a rung over", append(yes("tp-btf", "tracepoint"), Result{Name: "fexit", Status: No, Reason: "EPERM loading fexit/kernel_clone"}), all,
			"tp_btf/sched_process_fork", "tracepoint/sched/sched_process_fork", []string{"fexit/kernel_clone (fexit: EPERM loading fexit/kernel_clone)"}, false},
		{"unknown probe is not used", append(yes("tracepoint"), Result{Name: "tp-btf", Status: Unknown}), all,
			"tracepoint/sched/sched_process_fork", "", []string{"fexit/kernel_clone (fexit not probed)", "tp_btf/sched_process_fork (tp-btf unknown)"}, false},
		{"missing attach point passes a rung over; optional points do not", yes("fexit", "tp-btf", "tracepoint"), onlyTracefs,
			"tracepoint/sched/sched_process_fork", "", []string{"fexit/kernel_clone (no btf-func kernel_clone)", "tp_btf/sched_process_fork (no btf-tracepoint sched_process_fork)"}, false},
		{"nothing usable", nil, none, "", "", []string{"fexit/kernel_clone (fexit not probed)", "tp_btf/sched_process_fork (tp-btf not probed)", "tracepoint/sched/sched_process_fork (tracepoint not probed)"}, true},
		{"nothing usable, decided", []Result{{Name: "fexit", Status: No}, {Name: "tp-btf", Status: No}, {Name: "tracepoint", Status: No}}, all, "", "",
			[]string{"fexit/kernel_clone (fexit: )", "tp_btf/sched_process_fork (tp-btf: )", "tracepoint/sched/sched_process_fork (tracepoint: )"}, false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := Resolve(ladders, tc.results, tc.exists)[0]
			if c.Use != tc.use || c.Fallback != tc.fall {
				t.Errorf("use %q fallback %q, want %q %q", c.Use, c.Fallback, tc.use, tc.fall)
			}
			var skipped []string
			for _, s := range c.Skipped {
				skipped = append(skipped, s.Mechanism+" ("+s.Reason+")")
			}
			if !reflect.DeepEqual(skipped, tc.skipped) {
				t.Errorf("skipped %q, want %q", skipped, tc.skipped)
			}
			if (c.Use == "") != (c.IfNone != "") {
				t.Errorf("IfNone %q with Use %q", c.IfNone, c.Use)
			}
			if c.Use == "" && strings.HasPrefix(c.IfNone, "undecided") != tc.undecided {
				t.Errorf("IfNone %q, want undecided %t", c.IfNone, tc.undecided)
			}
		})
	}
}

// TestLaddersWellFormed checks that every rung names only probes that
// exist, so a typo cannot silently disable a mechanism.
func TestLaddersWellFormed(t *testing.T) {
	known := map[string]bool{}
	for _, r := range rows {
		known[r.name] = true
	}
	for _, l := range Ladders {
		if len(l.Rungs) == 0 || l.IfNone == "" {
			t.Errorf("ladder %s: no rungs or no IfNone", l.Name)
		}
		for _, r := range l.Rungs {
			for _, n := range r.Needs {
				if !known[strings.TrimPrefix(n, "!")] {
					t.Errorf("ladder %s rung %s needs unknown probe %q", l.Name, r.Mechanism, n)
				}
			}
			if strings.TrimSpace(r.Mechanism) == "" {
				t.Errorf("ladder %s: rung without mechanism", l.Name)
			}
		}
	}
}
