package dynhook

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/vmtest"
)

func TestDiagnose(t *testing.T) {
	vmtest.RequireRoot(t)
	for _, tc := range []struct {
		desc, target, kind string
		problem            string
	}{
		{"a tracepoint by group/name", "sched/sched_switch", "tracepoint:sched/sched_switch", ""},
		{"a misspelled tracepoint", "sched/sched_swich", "tracepoint:sched/sched_swich", "did you mean sched/sched_switch"},
		{"a bare name that is only a raw tracepoint", "sys_enter", "raw_tracepoint:sys_enter", ""},
		{"a function", "commit_creds", "function:commit_creds", ""},
	} {
		d := Diagnose(tc.target)
		if d.Target != tc.kind || !strings.Contains(d.Problem, tc.problem) || (tc.problem == "" && d.Problem != "") {
			t.Errorf("%s: Diagnose(%q) = %+v", tc.desc, tc.target, d)
			continue
		}
		if tc.problem != "" {
			continue
		}
		var b strings.Builder
		if err := d.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s", b.String())
		ok := false
		for _, a := range d.Mechanisms {
			ok = ok || a.OK
			if !a.OK && a.Why == "" {
				t.Errorf("%s: %s refused without a reason", tc.desc, a.Mech)
			}
		}
		if !ok && !strings.HasPrefix(tc.kind, "function:") {
			t.Errorf("%s: no mechanism can hook a tracepoint here: %+v", tc.desc, d.Mechanisms)
		}
	}
}
