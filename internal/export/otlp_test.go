package export

import (
	"context"
	"encoding/json"
	"net"
	"sync"
	"testing"
	"time"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-sec/vigil/internal/event"
)

// receiver is a real OTLP/gRPC logs receiver: the generated service of
// the OTLP protocol, served by grpc on loopback.
type receiver struct {
	collogs.UnimplementedLogsServiceServer
	mu       sync.Mutex
	recs     []*logspb.LogRecord
	res      []*common.KeyValue
	failNext int // refuse this many calls with UNAVAILABLE
	srv      *grpc.Server
	addr     string
}

func startReceiver(t *testing.T, addr string) *receiver {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{srv: grpc.NewServer(), addr: l.Addr().String()}
	collogs.RegisterLogsServiceServer(r.srv, r)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.srv.Serve(l)
	}()
	t.Cleanup(func() { r.srv.Stop(); <-done })
	return r
}

func (r *receiver) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failNext > 0 {
		r.failNext--
		return nil, status.Error(codes.Unavailable, "test: not now")
	}
	for _, rl := range req.ResourceLogs {
		r.res = rl.GetResource().GetAttributes()
		for _, sl := range rl.ScopeLogs {
			r.recs = append(r.recs, sl.LogRecords...)
		}
	}
	return &collogs.ExportLogsServiceResponse{}, nil
}

func (r *receiver) records() []*logspb.LogRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*logspb.LogRecord(nil), r.recs...)
}

func attrs(kvs []*common.KeyValue) map[string]*common.AnyValue {
	m := map[string]*common.AnyValue{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func closeOTLP(t *testing.T, o *OTLP) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := o.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOTLPRecordsAndAttributes(t *testing.T) {
	rcv := startReceiver(t, "127.0.0.1:0")
	o, err := NewOTLP(OTLPConfig{Endpoint: rcv.addr, Insecure: true, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	exec := seqEvent(42)
	exec.Exec.Args = []string{"sh", "-c", "exit 3"}
	exec.Exec.Path = "/usr/bin/dash"
	open := &event.Event{Type: event.TypeOpen, Time: time.Now(), Process: event.Process{Pid: 7, Comm: "cat", Exe: "/usr/bin/cat",
		Cgroup: event.Cgroup{ID: 9, Path: "/machine.slice/machine-web.scope"}, Container: &event.Container{ID: "web", Runtime: event.RuntimeNspawn}},
		Open:    &event.Open{Syscall: "openat", Path: "shadow", ResolvedPath: "/etc/shadow"},
		Verdict: &event.Verdict{Rule: "no-shadow", Action: "deny", Enforced: true}}
	exit := &event.Event{Type: event.TypeExit, Time: time.Now(), Process: event.Process{Pid: 42}, Exit: &event.Exit{Code: 3}}
	for _, ev := range []*event.Event{exec, open, exit} {
		_ = o.Emit(ev)
	}
	exec.Exec.Args[0] = "changed after Emit" // the exporter must hold its own copy
	closeOTLP(t, o)

	recs := rcv.records()
	if len(recs) != 3 {
		t.Fatalf("received %d records, want 3", len(recs))
	}
	a := attrs(recs[0].Attributes)
	if got := a["process.pid"].GetIntValue(); got != 42 {
		t.Errorf("process.pid %d", got)
	}
	if got := a["process.executable.path"].GetStringValue(); got != "/usr/bin/dash" {
		t.Errorf("process.executable.path %q", got)
	}
	var args []string
	for _, v := range a["process.command_args"].GetArrayValue().GetValues() {
		args = append(args, v.GetStringValue())
	}
	if len(args) != 3 || args[0] != "sh" || args[2] != "exit 3" {
		t.Errorf("process.command_args %q", args)
	}
	if recs[0].EventName != "vigil.exec" || recs[0].TimeUnixNano != uint64(exec.Time.UnixNano()) {
		t.Errorf("event name %q time %d", recs[0].EventName, recs[0].TimeUnixNano)
	}
	var body event.Event
	if err := json.Unmarshal([]byte(recs[0].Body.GetStringValue()), &body); err != nil || body.Exec == nil || body.Exec.Path != "/usr/bin/dash" {
		t.Errorf("body is not the event's JSON: %v %q", err, recs[0].Body.GetStringValue())
	}
	b := attrs(recs[1].Attributes)
	if b["file.path"].GetStringValue() != "/etc/shadow" || b["vigil.verdict.rule"].GetStringValue() != "no-shadow" {
		t.Errorf("open attributes %v", b)
	}
	if b["container.id"].GetStringValue() != "web" || b["container.runtime.name"].GetStringValue() != "systemd-nspawn" || b["vigil.cgroup.path"].GetStringValue() != "/machine.slice/machine-web.scope" {
		t.Errorf("open's container attributes %v", b)
	}
	if _, ok := a["container.id"]; ok {
		t.Errorf("a host process has container.id: %v", a)
	}
	if recs[1].SeverityText != "WARN" {
		t.Errorf("a deny verdict has severity %q", recs[1].SeverityText)
	}
	if c := attrs(recs[2].Attributes); c["process.exit.code"].GetIntValue() != 3 {
		t.Errorf("exit attributes %v", c)
	}
	res := attrs(rcv.res)
	if res["service.name"].GetStringValue() != "vigil" || res["host.name"].GetStringValue() == "" {
		t.Errorf("resource %v", res)
	}
}

func TestOTLPRetriesUntilAccepted(t *testing.T) {
	rcv := startReceiver(t, "127.0.0.1:0")
	rcv.failNext = 3
	o, err := NewOTLP(OTLPConfig{Endpoint: rcv.addr, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	for i := range n {
		_ = o.Emit(seqEvent(i))
	}
	closeOTLP(t, o)
	st := o.Stats()
	if got := len(rcv.records()); got != n || st.Delivered != n || st.Retries == 0 {
		t.Fatalf("received %d, stats %+v; want %d after retries", got, st, n)
	}
	seen := make([]bool, n)
	for _, r := range rcv.records() {
		seen[attrs(r.Attributes)["process.pid"].GetIntValue()] = true
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("event %d missing", i)
		}
	}
}

func TestOTLPReceiverLate(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens yet
	o, err := NewOTLP(OTLPConfig{Endpoint: addr, Insecure: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		_ = o.Emit(seqEvent(i))
	}
	time.Sleep(300 * time.Millisecond)
	rcv := startReceiver(t, addr)
	closeOTLP(t, o)
	if got := len(rcv.records()); got != 100 {
		t.Fatalf("received %d of 100", got)
	}
}
