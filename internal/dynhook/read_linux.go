package dynhook

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cilium/ebpf/ringbuf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/event"
)

// Reader reads the records of a Set's log hooks. Closing it makes Read
// return ringbuf.ErrClosed; it must be closed before its Set.
type Reader struct {
	set  *Set
	rd   *ringbuf.Reader
	rec  ringbuf.Record
	raw  bpfobj.HookHookEvent
	byID map[uint32]*Loaded
}

// NewReader returns a Reader of s's ring buffer.
func (s *Set) NewReader() (*Reader, error) {
	rd, err := ringbuf.NewReader(s.ring)
	if err != nil {
		return nil, fmt.Errorf("opening hook ring buffer: %w", err)
	}
	r := &Reader{set: s, rd: rd, byID: map[uint32]*Loaded{}}
	for _, l := range s.Hooks {
		r.byID[l.Hook.Cfg.Id] = l
	}
	return r, nil
}

// Close stops the reader.
func (r *Reader) Close() error { return r.rd.Close() }

// Read blocks for the next record and decodes it into ev.
func (r *Reader) Read(ev *event.Event) error {
	for {
		if err := r.rd.ReadInto(&r.rec); err != nil {
			return err
		}
		if _, err := binary.Decode(r.rec.RawSample, binary.NativeEndian, &r.raw); err != nil {
			return fmt.Errorf("decoding hook record: %w", err)
		}
		l := r.byID[r.raw.Hook]
		if l == nil {
			continue // a record of a hook being replaced
		}
		r.decode(l, ev)
		return nil
	}
}

// decode fills ev from the record in r.raw, made by l.
func (r *Reader) decode(l *Loaded, ev *event.Event) {
	e := &r.raw
	h := &event.Hook{
		Name:      l.Hook.Policy.Name,
		Target:    l.Hook.Policy.TargetString(),
		Mechanism: string(l.Mech),
		HasRet:    e.Flags&uint32(bpfobj.HookHookFlagsHOOK_HAS_RET) != 0,
		Ret:       e.Ret,
		Killed:    e.Flags&uint32(bpfobj.HookHookFlagsHOOK_KILLED) != 0,
		Args:      make([]event.HookArg, len(l.Hook.Args)),
	}
	for i, a := range l.Hook.Args {
		v := event.HookArg{Name: a.Name, IsStr: a.IsStr, Signed: a.Signed}
		if a.IsStr {
			v.Str = cstring(e.Strs[i][:])
		} else {
			v.Int = e.Vals[i]
		}
		h.Args[i] = v
	}
	*ev = event.Event{
		Type:     event.TypeHook,
		Time:     time.Unix(0, r.set.wallOffset+int64(e.Ktime)),
		KernelNS: e.Ktime,
		Process: event.Process{Pid: e.Pid, Tid: e.Tid, Ppid: e.Ppid, Uid: e.Uid, Gid: e.Gid,
			Comm: cstring(e.Comm[:])},
		Hook: h,
	}
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// lostBase is where hook_counts keeps each hook's lost records
// (bpf/hook.c: id + 256).
const lostBase = 256

// Counts returns a hook_count event for each count hook with the matches
// since the previous call (the first call counts from Start), and the
// records the ring buffer had no room for in that time.
func (s *Set) Counts(interval time.Duration) (evs []*event.Event, lost uint64, err error) {
	now := time.Now()
	for _, l := range s.Hooks {
		id := l.Hook.Cfg.Id
		n, err := s.sum(id)
		if err != nil {
			return nil, 0, err
		}
		lst, err := s.sum(id + lostBase)
		if err != nil {
			return nil, 0, err
		}
		lost += lst - s.last[id+lostBase]
		s.last[id+lostBase] = lst
		if l.Hook.Cfg.Actions&uint32(bpfobj.HookHookActionHOOK_COUNT) == 0 {
			continue
		}
		evs = append(evs, &event.Event{Type: event.TypeHookCount, Time: now, Hook: &event.Hook{
			Name: l.Hook.Policy.Name, Target: l.Hook.Policy.TargetString(), Mechanism: string(l.Mech),
			Count: n - s.last[id], Interval: interval,
		}})
		s.last[id] = n
	}
	return evs, lost, nil
}

// sum adds up the per-CPU values of hook_counts[key].
func (s *Set) sum(key uint32) (uint64, error) {
	var per []uint64
	if err := s.counts.Lookup(key, &per); err != nil {
		return 0, fmt.Errorf("reading hook counts: %w", err)
	}
	var n uint64
	for _, v := range per {
		n += v
	}
	return n, nil
}
