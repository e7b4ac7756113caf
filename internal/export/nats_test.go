package export

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsServer runs a real nats-server with JetStream, in process, on a
// fixed loopback port and store so that it can be restarted.
type natsServer struct {
	t    *testing.T
	opts *server.Options
	s    *server.Server
}

func startNATS(t *testing.T) *natsServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ns := &natsServer{t: t, opts: &server.Options{
		Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
	}}
	ns.start()
	t.Cleanup(ns.stop)
	return ns
}

func (ns *natsServer) start() {
	ns.t.Helper()
	s, err := server.NewServer(ns.opts)
	if err != nil {
		ns.t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		ns.t.Fatal("nats-server not ready")
	}
	ns.s = s
}

func (ns *natsServer) stop() {
	if ns.s != nil {
		ns.s.Shutdown()
		ns.s.WaitForShutdown()
		ns.s = nil
	}
}

func (ns *natsServer) url() string {
	return "nats://" + net.JoinHostPort("127.0.0.1", itoa(ns.opts.Port))
}

// streamState returns the message count of the stream and of one subject.
func (ns *natsServer) streamState(t *testing.T, stream, subject string) (total, onSubject uint64) {
	t.Helper()
	nc, err := nats.Connect(ns.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs, info.State.Subjects[subject]
}

func TestNATSDeliversAcrossServerRestart(t *testing.T) {
	ns := startNATS(t)
	const n = 20000
	x, err := NewNATS(NATSConfig{URL: ns.url(), Host: "testhost", AckTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := x.Emit(seqEvent(i)); err != nil {
			t.Fatal(err)
		}
		switch i {
		case n / 3:
			waitDelivered(t, x, 1000) // the stream exists and data flows
			ns.stop()
		case n / 2:
			time.Sleep(500 * time.Millisecond) // events queue while the server is away
			ns.start()
		}
		if i%100 == 0 {
			time.Sleep(time.Millisecond) // about 50,000 events/s
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := x.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := x.Stats()
	t.Logf("stats %+v", st)
	if st.Delivered < n || st.Dropped != 0 || st.Enqueued != n {
		t.Fatalf("stats %+v, want %d delivered and none dropped", st, n)
	}
	if st.Retries == 0 {
		t.Error("no retries: the restart did not interrupt anything")
	}
	total, exec := ns.streamState(t, "VIGIL", "vigil.testhost.exec")
	if total != n || exec != n {
		t.Fatalf("stream holds %d messages (%d on vigil.testhost.exec), want exactly %d", total, exec, n)
	}
}

func TestNATSBoundedWhileAway(t *testing.T) {
	ns := startNATS(t)
	ns.stop() // the server is away from the start
	var logs syncBuf
	log := slog.New(slog.NewTextHandler(&logs, nil))
	x, err := NewNATS(NATSConfig{URL: ns.url(), Host: "testhost", BufferBytes: 64 << 10, AckTimeout: time.Second, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	start := time.Now()
	for i := range n {
		_ = x.Emit(seqEvent(i))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("%d emits with the server away took %v: Emit must not wait for the server", n, d)
	}
	st := x.Stats()
	if st.Dropped == 0 || st.QueuedBytes > 64<<10 || st.Enqueued+st.Dropped != n {
		t.Fatalf("stats %+v: want drops counted and the queue within 64 KiB", st)
	}
	if !strings.Contains(logs.String(), `msg="dropping events" output=nats why="queue full"`) {
		t.Errorf("drops were not logged:\n%s", logs.String())
	}
	ns.start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := x.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st = x.Stats()
	total, _ := ns.streamState(t, "VIGIL", "vigil.testhost.exec")
	if total != st.Enqueued || st.Delivered != st.Enqueued {
		t.Fatalf("stream holds %d, stats %+v: every queued event must arrive", total, st)
	}
}

func waitDelivered(t *testing.T, x *NATS, n uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for x.Stats().Delivered < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d delivered", x.Stats().Delivered)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
