package export

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestNATSAlertSubject checks that an alert (an event with a rule's
// severity) is published on <prefix>.<host>.alert as well as on its
// type's subject, and that other events, verdicts without a severity
// included, are not.
func TestNATSAlertSubject(t *testing.T) {
	ns := startNATS(t)
	x, err := NewNATS(NATSConfig{URL: ns.url(), Host: "testhost", AckTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	plain := seqEvent(1)
	logged := seqEvent(2)
	logged.Verdict = &event.Verdict{Rule: "exec-memfd", Action: "log", Enforced: true}
	alert := seqEvent(3)
	alert.Verdict = &event.Verdict{Rule: "detect-exec-fileless", Action: "log", Enforced: true, Severity: "high", Mitre: "T1620"}
	for _, ev := range []*event.Event{plain, logged, alert} {
		if err := x.Emit(ev); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := x.Close(ctx); err != nil {
		t.Fatal(err)
	}
	total, alerts := ns.streamState(t, "VIGIL", "vigil.testhost.alert")
	_, execs := ns.streamState(t, "VIGIL", "vigil.testhost.exec")
	if total != 4 || alerts != 1 || execs != 3 {
		t.Fatalf("stream holds %d messages, %d on .alert, %d on .exec; want 4, 1, 3", total, alerts, execs)
	}
}
