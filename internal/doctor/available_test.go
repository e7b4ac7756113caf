package doctor

import (
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// TestActionLaddersMatchPolicy: what the policy planner believes it can
// do in the kernel or through fanotify is what the action ladders (and so
// vigil doctor) list, event type by event type.
func TestActionLaddersMatchPolicy(t *testing.T) {
	for _, typ := range event.KernelTypes {
		lsm := RungNamed("deny "+string(typ), rungLSM) != ""
		if got := policy.InKernel(typ, policy.ActionDeny); got != lsm {
			t.Errorf("%s: policy says in-kernel deny %t, doctor's ladders have an LSM rung: %t", typ, got, lsm)
		}
		fan := RungNamed("deny "+string(typ), rungFanotify) != ""
		r := &policy.Rule{Event: typ, Action: policy.ActionDeny, Match: policy.Match{Path: []string{"/x"}}}
		if got := slices.Contains(r.Options(), policy.MechFanotify); got != fan {
			t.Errorf("%s: policy offers deny through fanotify %t, doctor's ladders have a fanotify rung: %t", typ, got, fan)
		}
	}
	if RungNamed("kill", rungKill) == "" {
		t.Error("no kill ladder with a bpf_send_signal rung")
	}
}

// TestCheckCaches: a probe runs once per process; the second answer is
// the first one.
func TestCheckCaches(t *testing.T) {
	calls := 0
	probes["test-counter"] = func() (string, error) { calls++; return "n", nil }
	t.Cleanup(func() { delete(probes, "test-counter"); delete(checks, "test-counter") })
	for range 3 {
		if d, err := Check("test-counter"); d != "n" || err != nil {
			t.Fatalf("Check = %q, %v", d, err)
		}
	}
	if calls != 1 {
		t.Errorf("probe ran %d times, want 1", calls)
	}
	if _, err := Check("no-such-probe"); err == nil {
		t.Error("Check of an unknown probe succeeded")
	}
}

// TestAvailableOnThisKernel: the planner's view agrees with the probes
// it is built from.
func TestAvailableOnThisKernel(t *testing.T) {
	vmtest.RequireRoot(t)
	av := Available()
	_, sendErr := Check("bpf-send-signal")
	if av.Kill != (sendErr == nil) {
		t.Errorf("Available().Kill = %t, bpf-send-signal probe: %v", av.Kill, sendErr)
	}
	_, lsmErr := Check("bpf-lsm")
	_, activeErr := Check("lsm-bpf-active")
	if av.LSM != (lsmErr == nil && activeErr == nil) {
		t.Errorf("Available().LSM = %t, bpf-lsm: %v, lsm-bpf-active: %v", av.LSM, lsmErr, activeErr)
	}
	_, openErr := Check("fanotify-open-perm")
	_, execErr := Check("fanotify-exec-perm")
	if av.Fanotify != (openErr == nil && execErr == nil) {
		t.Errorf("Available().Fanotify = %t, open: %v, exec: %v", av.Fanotify, openErr, execErr)
	}
}
