package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/grpc"

	"github.com/vigil-sec/vigil/internal/vmtest"
)

// runShared is run with output buffers safe for concurrent writers: the
// exporters' goroutines log to stderr while the summary is written there,
// which is fine on a file but not on a bytes.Buffer.
func runShared(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut syncBuffer
	code := Run(ctx, args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// execStorm runs `true` every few milliseconds until the test ends.
func execStorm(t *testing.T) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				_ = exec.Command("true").Run()
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

type countingReceiver struct {
	collogs.UnimplementedLogsServiceServer
	mu    sync.Mutex
	names map[string]int
}

func (r *countingReceiver) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				r.names[lr.EventName]++
			}
		}
	}
	return &collogs.ExportLogsServiceResponse{}, nil
}

// TestMonitorExports runs vigil monitor against a real nats-server with
// JetStream and a real OTLP/gRPC logs receiver, both on loopback, and
// checks that every event reaches both.
func TestMonitorExports(t *testing.T) {
	vmtest.RequireRoot(t)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rcv := &countingReceiver{names: map[string]int{}}
	gs := grpc.NewServer()
	collogs.RegisterLogsServiceServer(gs, rcv)
	served := make(chan struct{})
	go func() { defer close(served); _ = gs.Serve(l) }()
	t.Cleanup(func() { gs.Stop(); <-served })

	cfg := filepath.Join(t.TempDir(), "vigil.yaml")
	yaml := fmt.Sprintf("outputs:\n  nats:\n    url: %s\n    host: testhost\n", ns.ClientURL())
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	execStorm(t)
	const n = 50
	code, out, errOut := runShared(t, "monitor", "--config", cfg, "--otlp-endpoint", l.Addr().String(),
		"--events", "exec", "--count", fmt.Sprint(n), "--duration", "30s", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := strings.Count(out, "\n"); got != n {
		t.Fatalf("stdout has %d lines, want %d", got, n)
	}
	for _, want := range []string{fmt.Sprintf("output nats: %d delivered, 0 dropped", n), fmt.Sprintf("output otlp: %d delivered, 0 dropped", n)} {
		if !strings.Contains(errOut, want) {
			t.Errorf("summary lacks %q:\n%s", want, errOut)
		}
	}

	nc, err := nats.Connect(ns.ClientURL())
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
	st, err := js.Stream(ctx, "VIGIL")
	if err != nil {
		t.Fatalf("stream VIGIL was not created: %v", err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("vigil.testhost.exec"))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.State.Subjects["vigil.testhost.exec"]; got != n {
		t.Errorf("vigil.testhost.exec holds %d messages, want %d", got, n)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if got := rcv.names["vigil.exec"]; got != n {
		t.Errorf("OTLP receiver got %d vigil.exec records, want %d", got, n)
	}
}

// TestMonitorAbsentExporter checks that a NATS server that is not there
// never holds up the events on stdout, and that what could not be sent
// is reported.
func TestMonitorAbsentExporter(t *testing.T) {
	vmtest.RequireRoot(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody listens there
	execStorm(t)
	start := time.Now()
	code, out, errOut := runShared(t, "monitor", "--nats-url", "nats://"+addr, "--events", "exec", "--count", "20", "--duration", "30s", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := strings.Count(out, "\n"); got != 20 {
		t.Fatalf("stdout has %d lines, want 20", got)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v: the absent server held the run up beyond the drain timeout", d)
	}
	if !strings.Contains(errOut, "output nats: 0 delivered, 20 dropped") || !strings.Contains(errOut, "20 events undelivered") {
		t.Errorf("undelivered events not reported:\n%s", errOut)
	}
}
