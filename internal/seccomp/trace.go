package seccomp

import (
	"io"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/cgroup"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proc"
)

// tracer writes one JSON line per event. Lines from concurrent workers
// never interleave: each is a single Write under the lock.
type tracer struct {
	mu  sync.Mutex
	w   io.Writer
	err error // the first write error; tracing stops after it
}

// write appends e's JSON form and a newline to buf and writes it.
func (t *tracer) write(buf []byte, e *event.Event) []byte {
	buf = e.AppendJSON(buf[:0])
	buf = append(buf, '\n')
	t.mu.Lock()
	if t.err == nil {
		_, t.err = t.w.Write(buf)
	}
	t.mu.Unlock()
	return buf
}

// newEvent returns an event of type typ for the process in st (which may
// be nil when the process was already gone).
func newEvent(typ event.Type, tid uint32, st *procStatus) *event.Event {
	e := &event.Event{Type: typ, Time: time.Now(), Process: event.Process{Tid: tid}}
	if st != nil {
		e.Process.Pid, e.Process.Ppid = st.Tgid, st.Ppid
		e.Process.Uid, e.Process.Gid, e.Process.Comm = st.Uid[0], st.Gid[0], st.Name
		e.Process.Exe = proc.Host.Exe(tid)
		cgroup.FromProc(int(tid), &e.Process)
	}
	return e
}

// verdict returns the trace verdict of a rule, nil for no rule.
func verdict(name string, a Action) *event.Verdict {
	return &event.Verdict{Rule: name, Action: a.String(), Enforced: a != ActionLog && a != ActionAllow, Mechanism: "seccomp"}
}
