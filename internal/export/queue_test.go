package export

import (
	"log/slog"
	"testing"
	"time"
)

func TestQueueBoundAndOrder(t *testing.T) {
	q := newQueue[int](100, slog.New(slog.DiscardHandler))
	for i := range 20 {
		q.push(i, 10) // room for 10
	}
	if q.pushed.Load() != 10 || q.dropped.Load() != 10 || q.qbytes.Load() != 100 || q.depth.Load() != 10 {
		t.Fatalf("pushed %d dropped %d bytes %d depth %d", q.pushed.Load(), q.dropped.Load(), q.qbytes.Load(), q.depth.Load())
	}
	got := q.take(nil, 4, nil)
	if len(got) != 4 || got[0].v != 0 || got[3].v != 3 {
		t.Fatalf("first take %v", got)
	}
	if !q.push(10, 40) { // the room taken out is free again
		t.Fatal("push after take dropped")
	}
	got = q.take(got[:0], 100, nil)
	var vs []int
	for _, e := range got {
		vs = append(vs, e.v)
	}
	if len(vs) != 7 || vs[0] != 4 || vs[5] != 9 || vs[6] != 10 {
		t.Fatalf("second take %v", vs)
	}
	if q.qbytes.Load() != 0 || q.depth.Load() != 0 {
		t.Fatalf("empty queue holds %d bytes, %d items", q.qbytes.Load(), q.depth.Load())
	}
}

func TestQueueTakeWaitsAndStops(t *testing.T) {
	q := newQueue[int](1<<20, slog.New(slog.DiscardHandler))
	got := make(chan int, 1)
	go func() { got <- len(q.take(nil, 10, nil)) }()
	time.Sleep(20 * time.Millisecond)
	q.push(1, 1)
	select {
	case n := <-got:
		if n != 1 {
			t.Fatalf("took %d", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("take did not wake on push")
	}
	stop := make(chan struct{})
	close(stop)
	if n := len(q.take(nil, 10, stop)); n != 0 {
		t.Fatalf("stopped take on an empty queue returned %d", n)
	}
	if left := q.close(); left != 0 || q.push(2, 1) {
		t.Fatal("a closed queue took an entry")
	}
}
