package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

func TestDoctorText(t *testing.T) {
	vmtest.RequireRoot(t)
	code, out, errOut := run(t, "doctor")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"MECHANISM", "tracepoints", "PLAN", "fork event", "deny exec action"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestDoctorJSON(t *testing.T) {
	vmtest.RequireRoot(t)
	code, out, errOut := run(t, "doctor", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep doctor.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("decoding: %v\n%s", err, out)
	}
	if !rep.Privileged || len(rep.Results) == 0 || len(rep.Plan) != len(doctor.Ladders) {
		t.Errorf("report %+v", rep)
	}
}

func TestDoctorUsage(t *testing.T) {
	if code, _, _ := run(t, "doctor", "extra"); code != 2 {
		t.Errorf("doctor extra: exit %d, want 2", code)
	}
	if code, _, _ := run(t, "doctor", "--help"); code != 0 {
		t.Errorf("doctor --help: exit %d, want 0", code)
	}
}

// TestDoctorUnprivileged runs vigil doctor as uid 65534 (the test binary
// re-executed with that identity) and checks that it says what it could
// not check instead of calling it missing.
func TestDoctorUnprivileged(t *testing.T) {
	cmd := asNobody(t, "doctor", "--json")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running as 65534: %v\n%s", err, out)
	}
	var rep doctor.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("decoding: %v\n%s", err, out)
	}
	if rep.Privileged || rep.UID != 65534 {
		t.Fatalf("privileged %t uid %d, want false 65534", rep.Privileged, rep.UID)
	}
	for name, want := range map[string]doctor.Status{
		"btf":                doctor.Yes,     // /sys/kernel/btf/vmlinux is world-readable
		"seccomp-filter":     doctor.Yes,     // no_new_privs makes it unprivileged
		"tracepoint":         doctor.Unknown, // BPF needs privilege here
		"fentry":             doctor.Unknown,
		"bpf-lsm":            doctor.Unknown,
		"fanotify-open-perm": doctor.Unknown, // FAN_CLASS_CONTENT needs CAP_SYS_ADMIN
	} {
		r, ok := rep.Result(name)
		if !ok || r.Status != want {
			t.Errorf("%s: %s %q, want %s", name, r.Status, r.Reason, want)
			continue
		}
		if want == doctor.Unknown && !strings.Contains(r.Reason, "not privileged") && !strings.Contains(r.Reason, "could not tell") {
			t.Errorf("%s: reason %q does not say why it could not tell", name, r.Reason)
		}
	}
	for _, c := range rep.Plan {
		if c.Ladder == "fork" && (c.Use != "" || !strings.HasPrefix(c.IfNone, "undecided")) {
			t.Errorf("fork planned as %q/%q without knowing what works", c.Use, c.IfNone)
		}
	}
}
