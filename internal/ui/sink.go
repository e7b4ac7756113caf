package ui

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// Alert is an event with a verdict, as the view keeps it: the recent ones
// are served by /api/alerts and shown on the page.
type Alert struct {
	Time      time.Time  `json:"time"`
	Type      event.Type `json:"type"`
	Rule      string     `json:"rule"`
	Action    string     `json:"action"`
	Enforced  bool       `json:"enforced"`
	Severity  string     `json:"severity,omitempty"` // policies have none yet
	Pid       uint32     `json:"pid"`
	Comm      string     `json:"comm"`
	Exe       string     `json:"exe"`
	Container string     `json:"container,omitempty"` // event.ShortID of the container's id; "" on the host
	// Ancestors is the chain that led to the process, parent first.
	Ancestors []Ancestor `json:"ancestors,omitempty"`
}

// Ancestor is one entry of Alert.Ancestors.
type Ancestor struct {
	Pid   uint32    `json:"pid"`
	Comm  string    `json:"comm"`
	Exe   string    `json:"exe"`
	Args  []string  `json:"args,omitempty"`
	Start time.Time `json:"start_time,omitzero"`
}

const (
	maxAlerts = 256  // recent alerts kept
	maxMarked = 4096 // processes whose marks are kept
)

// alerts holds the recent alerts and, per pid, the rules it triggered.
type alerts struct {
	mu     sync.Mutex
	recent []Alert // ring of maxAlerts, next at n % maxAlerts
	n      int
	marks  map[uint32][]Mark
}

func (a *alerts) add(ev *event.Event) {
	v, p := ev.Verdict, &ev.Process
	al := Alert{Time: ev.Time, Type: ev.Type, Rule: v.Rule, Action: v.Action, Enforced: v.Enforced,
		Pid: p.Pid, Comm: p.Comm, Exe: p.Exe, Ancestors: make([]Ancestor, len(p.Ancestors))}
	if p.Container != nil {
		al.Container = event.ShortID(p.Container.ID)
	}
	for i, x := range p.Ancestors {
		// Strings and args are shared with the process table, which never
		// modifies them; the array is the reader's, so it is copied.
		al.Ancestors[i] = Ancestor{Pid: x.Pid, Comm: x.Comm, Exe: x.Exe, Args: x.Args, Start: x.Start}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.recent == nil {
		a.recent = make([]Alert, maxAlerts)
		a.marks = map[uint32][]Mark{}
	}
	a.recent[a.n%maxAlerts] = al
	a.n++
	ms := a.marks[p.Pid]
	for i := range ms {
		if ms[i].Rule == v.Rule && ms[i].Action == v.Action {
			ms[i].Count++
			return
		}
	}
	if _, ok := a.marks[p.Pid]; !ok && len(a.marks) >= maxMarked {
		// Forget an arbitrary half: memory stays bounded under a storm
		// of alerts from short-lived processes.
		n := maxMarked / 2
		for pid := range a.marks {
			if n == 0 {
				break
			}
			delete(a.marks, pid)
			n--
		}
	}
	a.marks[p.Pid] = append(ms, Mark{Rule: v.Rule, Action: v.Action, Count: 1})
}

// list returns the recent alerts, newest first.
func (a *alerts) list() []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := min(a.n, maxAlerts)
	out := make([]Alert, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, a.recent[(a.n-i)%maxAlerts])
	}
	return out
}

// markCopy returns a copy of the marks.
func (a *alerts) markCopy() map[uint32][]Mark {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[uint32][]Mark, len(a.marks))
	for pid, ms := range a.marks {
		out[pid] = slices.Clone(ms)
	}
	return out
}

// client is one /api/events stream. Emit appends whole SSE messages to
// buf, up to max bytes, and pokes notify; the stream's goroutine swaps
// buf for its spare and writes it out. No allocation per event, and a
// busy stream is written in large pieces.
type client struct {
	types  map[event.Type]bool // nil: all
	rule   string              // "": any
	alerts bool                // only events with a verdict

	mu      sync.Mutex
	buf     []byte
	max     int
	notify  chan struct{} // capacity 1
	dropped atomic.Uint64
}

func newClient(max int) *client {
	return &client{max: max, buf: make([]byte, 0, min(max, 64<<10)), notify: make(chan struct{}, 1)}
}

func (c *client) wants(ev *event.Event) bool {
	if c.types != nil && !c.types[ev.Type] {
		return false
	}
	if (c.alerts || c.rule != "") && ev.Verdict == nil {
		return false
	}
	return c.rule == "" || ev.Verdict.Rule == c.rule
}

// queue appends one message with data; false when it does not fit.
func (c *client) queue(data []byte) bool {
	c.mu.Lock()
	ok := len(c.buf)+len(data)+8 <= c.max
	if ok {
		c.buf = append(c.buf, "data: "...)
		c.buf = append(c.buf, data...)
		c.buf = append(c.buf, '\n', '\n')
	}
	c.mu.Unlock()
	if ok {
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
	return ok
}

// take returns what is queued, leaving spare (emptied) in its place.
func (c *client) take(spare []byte) []byte {
	c.mu.Lock()
	out := c.buf
	c.buf = spare[:0]
	c.mu.Unlock()
	return out
}

// Emit records ev if it is an alert and queues it for every client that
// wants it. It never blocks on a client: one whose queue is full loses
// the event, and the loss is counted (and told to it). Without clients,
// only alerts cost anything.
func (s *Server) Emit(ev *event.Event) error {
	if ev.Verdict != nil {
		s.alerts.add(ev)
	}
	if s.nclients.Load() == 0 {
		return nil
	}
	s.emu.Lock()
	defer s.emu.Unlock()
	s.cmu.RLock()
	defer s.cmu.RUnlock()
	encoded := false
	for c := range s.clients {
		if !c.wants(ev) {
			continue
		}
		if !encoded {
			s.scratch = ev.AppendJSON(s.scratch[:0])
			encoded = true
		}
		if c.queue(s.scratch) {
			s.sent.Add(1)
		} else {
			c.dropped.Add(1)
			s.dropped.Add(1)
		}
	}
	return nil
}

// Flush does nothing: each stream flushes as it writes.
func (s *Server) Flush() error { return nil }

// Stats are the view's counters.
type Stats struct {
	Clients int    `json:"clients"`
	Sent    uint64 `json:"sent"`    // events queued to clients
	Dropped uint64 `json:"dropped"` // events a slow client lost
}

// Stats returns the view's counters.
func (s *Server) Stats() Stats {
	return Stats{Clients: int(s.nclients.Load()), Sent: s.sent.Load(), Dropped: s.dropped.Load()}
}

func (s *Server) addClient(c *client) {
	s.cmu.Lock()
	s.clients[c] = struct{}{}
	s.nclients.Store(int32(len(s.clients)))
	s.cmu.Unlock()
}

func (s *Server) removeClient(c *client) {
	s.cmu.Lock()
	delete(s.clients, c)
	s.nclients.Store(int32(len(s.clients)))
	s.cmu.Unlock()
}
