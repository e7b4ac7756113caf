package output

import "github.com/vigil-sec/vigil/internal/event"

// Alerts passes on only the events that are alerts (event.Event.Alert:
// they carry the verdict of a rule with a severity), for --alerts-only.
type Alerts struct {
	// Next receives the alerts.
	Next event.Sink
}

// Emit passes ev to Next when it is an alert.
func (a Alerts) Emit(ev *event.Event) error {
	if !ev.Alert() {
		return nil
	}
	return a.Next.Emit(ev)
}

// Flush flushes Next.
func (a Alerts) Flush() error { return a.Next.Flush() }
