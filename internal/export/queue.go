package export

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// queue is a FIFO bounded by bytes between the event reader (Push, which
// never blocks) and one delivery goroutine (take, which waits). What does
// not fit is dropped, counted and logged, never silently lost.
type queue[T any] struct {
	maxBytes int64
	log      *slog.Logger

	mu     sync.Mutex
	items  []entry[T]
	head   int
	bytes  int64
	closed bool
	ready  chan struct{} // capacity 1: a wakeup for take

	pushed  atomic.Uint64
	dropped atomic.Uint64
	depth   atomic.Int64 // items waiting, for metrics without the lock
	qbytes  atomic.Int64

	lastLog   atomic.Int64 // unix nanos of the last drop log line
	loggedAt  atomic.Uint64
	dropEvery time.Duration
}

type entry[T any] struct {
	v    T
	size int64
	enq  int64 // monotonic-ish nanos at Push, for delivery latency
}

// newQueue returns a queue of at most maxBytes; log names the output.
func newQueue[T any](maxBytes int64, log *slog.Logger) *queue[T] {
	return &queue[T]{maxBytes: maxBytes, log: log, ready: make(chan struct{}, 1), dropEvery: 10 * time.Second}
}

// push adds v of the given size; it reports false when v was dropped
// because the queue is full or closed.
func (q *queue[T]) push(v T, size int64) bool {
	now := nanotime()
	q.mu.Lock()
	if q.closed || q.bytes+size > q.maxBytes {
		q.mu.Unlock()
		q.drop(1, "queue full")
		return false
	}
	q.items = append(q.items, entry[T]{v: v, size: size, enq: now})
	q.bytes += size
	q.mu.Unlock()
	q.pushed.Add(1)
	q.depth.Add(1)
	q.qbytes.Add(size)
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// drop counts n lost events and logs at most one line per dropEvery.
func (q *queue[T]) drop(n uint64, why string) {
	total := q.dropped.Add(n)
	now := time.Now().UnixNano()
	last := q.lastLog.Load()
	if now-last >= int64(q.dropEvery) && q.lastLog.CompareAndSwap(last, now) {
		since := total - q.loggedAt.Swap(total)
		q.log.Warn("dropping events", "why", why, "dropped", since, "dropped_total", total, "queue_bytes", q.maxBytes)
	}
}

// take moves up to max entries into dst, waiting until there is one, or
// until stop is closed (then it returns what is there, maybe nothing).
func (q *queue[T]) take(dst []entry[T], max int, stop <-chan struct{}) []entry[T] {
	for {
		q.mu.Lock()
		if n := len(q.items) - q.head; n > 0 {
			n = min(n, max)
			for _, e := range q.items[q.head : q.head+n] {
				dst = append(dst, e)
				q.bytes -= e.size
				q.qbytes.Add(-e.size)
			}
			clear(q.items[q.head : q.head+n])
			q.head += n
			if q.head == len(q.items) {
				q.items, q.head = q.items[:0], 0
			} else if q.head > 4096 && q.head > len(q.items)/2 {
				q.items = append(q.items[:0], q.items[q.head:]...)
				q.head = 0
			}
			q.mu.Unlock()
			q.depth.Add(-int64(n))
			return dst
		}
		q.mu.Unlock()
		select {
		case <-q.ready:
		case <-stop:
			return dst
		}
	}
}

// close makes later pushes drop and returns how many entries were left.
func (q *queue[T]) close() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	return len(q.items) - q.head
}

var start = time.Now()

// nanotime is a monotonic clock reading in nanoseconds.
func nanotime() int64 { return int64(time.Since(start)) }
