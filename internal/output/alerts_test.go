package output

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

func TestAlertsOnly(t *testing.T) {
	var buf bytes.Buffer
	w := Alerts{Next: NewText(&buf)}
	evs := []*event.Event{
		{Type: event.TypeExec, Process: event.Process{Pid: 1, Comm: "plain"}, Exec: &event.Exec{Path: "/bin/plain"}},
		{Type: event.TypeExec, Process: event.Process{Pid: 2, Comm: "logged"}, Exec: &event.Exec{Path: "/bin/logged"},
			Verdict: &event.Verdict{Rule: "no-severity", Action: "log", Enforced: true}},
		{Type: event.TypeOpen, Process: event.Process{Pid: 3, Comm: "cat"}, Open: &event.Open{Syscall: "openat", Path: "/etc/shadow", ResolvedPath: "/etc/shadow", Result: 3},
			Verdict: &event.Verdict{Rule: "detect-shadow-read", Action: "log", Enforced: true, Severity: "high", Mitre: "T1003.008"}},
	}
	for _, ev := range evs {
		if err := w.Emit(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "plain") || strings.Contains(out, "logged") {
		t.Errorf("non-alerts written:\n%s", out)
	}
	if !strings.Contains(out, "[log detect-shadow-read enforced=true severity=high mitre=T1003.008]") {
		t.Errorf("alert missing or without severity and mitre:\n%s", out)
	}
}
