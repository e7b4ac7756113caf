package policy

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/vigil-sec/vigil/internal/event"
)

// MaxReplayLine bounds one line of a recorded event stream; vigil's
// events are far smaller (argv and paths are bounded).
const MaxReplayLine = 4 << 20

// Hit is one recorded event that a rule matches on replay. Event carries
// the rule's verdict (action, severity, mitre; not enforced: nothing was
// carried out).
type Hit struct {
	// Line is the event's line in its file, from 1.
	Line  int
	Event *event.Event
	Rule  *Rule
}

// ReplayStats counts what a replay read.
type ReplayStats struct {
	Lines, Events, Bad, Hits int
	// ByRule counts the hits of each rule by name.
	ByRule map[string]int
}

// Replay evaluates every rule of s in userspace (Rule.Matches, the
// semantics of log rules; kill and deny rules are evaluated the same
// way, with path_prefix as a string prefix) against the NDJSON events
// read from r, as vigil writes them, and calls hit for each event that a
// rule matches, with the first rule that does. A process's ancestors are
// those recorded in its event ("ancestors"; the parent's executable when
// there are none).
//
// A line that is not an event is skipped and reported, as "name:line:
// message", in the joined error that Replay returns once it has read
// everything; an error from hit or from reading stops it at once.
// Blank lines are skipped. Recorded verdicts are ignored: the event is
// judged afresh.
func (s *Set) Replay(r io.Reader, name string, hit func(Hit) error) (ReplayStats, error) {
	st := ReplayStats{ByRule: map[string]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxReplayLine)
	var bad []error
	for sc.Scan() {
		st.Lines++
		line := sc.Bytes()
		if len(line) == 0 || isBlank(line) {
			continue
		}
		ev, err := decodeRecorded(line)
		if err != nil {
			st.Bad++
			bad = append(bad, fmt.Errorf("%s:%d: %w", name, st.Lines, err))
			continue
		}
		st.Events++
		m := s.Match(ev, recordedAncestry{ev})
		if len(m) == 0 {
			continue
		}
		rule := m[0]
		ev.Verdict = Verdict(rule.Name, rule.Action, "", false)
		s.Annotate(ev.Verdict)
		st.Hits++
		st.ByRule[rule.Name]++
		if err := hit(Hit{Line: st.Lines, Event: ev, Rule: rule}); err != nil {
			return st, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("a line longer than %d bytes", MaxReplayLine)
		}
		return st, fmt.Errorf("%s:%d: reading events: %w", name, st.Lines+1, err)
	}
	return st, errors.Join(bad...)
}

// decodeRecorded parses one NDJSON line into an event the rules can
// judge: a JSON object of a known event type.
func decodeRecorded(line []byte) (*event.Event, error) {
	ev := &event.Event{}
	if err := json.Unmarshal(line, ev); err != nil {
		return nil, fmt.Errorf("not an event: %w", err)
	}
	if ev.Type == "" {
		return nil, errors.New(`not an event: no "type"`)
	}
	if _, known := event.ParseType(string(ev.Type)); !known {
		switch ev.Type {
		case event.TypeLost, event.TypeHook, event.TypeHookCount, event.TypeSyscall:
		default:
			return nil, fmt.Errorf("unknown event type %q", ev.Type)
		}
	}
	ev.Verdict = nil
	return ev, nil
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// recordedAncestry gives the rules the ancestors an event recorded.
type recordedAncestry struct{ ev *event.Event }

func (a recordedAncestry) Ancestors(uint32) iter.Seq[string] {
	return func(yield func(string) bool) {
		p := &a.ev.Process
		if len(p.Ancestors) == 0 {
			if p.ParentExe != "" {
				yield(p.ParentExe)
			}
			return
		}
		for _, anc := range p.Ancestors {
			if !yield(anc.Exe) {
				return
			}
		}
	}
}
