package export

import (
	"bytes"
	"strconv"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

func itoa(i int) string { return strconv.Itoa(i) }

func seqEvent(i int) *event.Event {
	return &event.Event{
		Type: event.TypeExec, Time: time.Unix(1700000000, int64(i)),
		Process: event.Process{Pid: uint32(i), Ppid: 1, Uid: 1000, Comm: "true", Exe: "/usr/bin/true"},
		Exec:    &event.Exec{Filename: "true", Path: "/usr/bin/true", Args: []string{"true", strconv.Itoa(i)}},
	}
}

// syncBuf is a bytes.Buffer safe for concurrent use, for logs.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
