package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/grpc"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/export"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// The cost of each output at a steady event rate, all in one run so the
// numbers compare: CPU of this process per 10,000 events (the receivers
// run in other processes, so their CPU is not counted) and the p99 time
// from Emit to delivery (written to the fd for stdout and file, acked by
// the server for NATS and OTLP).
//
//	go test -run '^$' -bench Outputs -benchtime 1x ./bench
const (
	outputRate     = 50000 // events per second
	outputDuration = 3 * time.Second
)

// BenchmarkOutputs runs each output alone, then all together.
func BenchmarkOutputs(b *testing.B) {
	natsURL := startNATSServer(b)
	otlpAddr := startOTLPReceiver(b)
	cases := []struct {
		name string
		open func(b *testing.B, obs func(time.Duration)) []event.Sink
	}{
		{"stdout", func(b *testing.B, _ func(time.Duration)) []event.Sink { return []event.Sink{stdoutPipe(b)} }},
		{"file", func(b *testing.B, _ func(time.Duration)) []event.Sink { return []event.Sink{rotatingFile(b)} }},
		{"stdout+nats", func(b *testing.B, obs func(time.Duration)) []event.Sink {
			return []event.Sink{stdoutPipe(b), natsOut(b, natsURL, obs)}
		}},
		{"stdout+otlp", func(b *testing.B, obs func(time.Duration)) []event.Sink {
			return []event.Sink{stdoutPipe(b), otlpOut(b, otlpAddr, obs)}
		}},
		{"all", func(b *testing.B, obs func(time.Duration)) []event.Sink {
			return []event.Sink{stdoutPipe(b), rotatingFile(b), natsOut(b, natsURL, obs), otlpOut(b, otlpAddr, obs)}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				runOutputs(b, c.open)
			}
		})
	}
}

// closer is an exporter's Close.
type closer interface{ Close(context.Context) error }

func runOutputs(b *testing.B, open func(*testing.B, func(time.Duration)) []event.Sink) {
	var mu sync.Mutex
	var async []time.Duration
	obs := func(d time.Duration) { mu.Lock(); async = append(async, d); mu.Unlock() }
	ws := open(b, obs)
	hasAsync := false
	for _, w := range ws {
		_, ok := w.(closer)
		hasAsync = hasAsync || ok
	}

	ev := &event.Event{
		Type: event.TypeExec, Process: event.Process{Ppid: 1, Uid: 1000, Comm: "bash", Exe: "/usr/bin/bash", ParentComm: "sshd", ParentExe: "/usr/sbin/sshd"},
		Exec: &event.Exec{Filename: "/usr/bin/git", Path: "/usr/bin/git", Args: []string{"git", "status", "--porcelain", "--branch"}, Dev: 2049, Ino: 1234567, BaseAddr: 0x400000},
	}
	total := int(outputRate * outputDuration / time.Second)
	pending := make([]time.Time, 0, 1024)
	var syncLat []time.Duration
	cpu0 := selfCPU()
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for n := 0; n < total; {
		<-tick.C
		due := min(total, int(time.Since(start).Seconds()*outputRate))
		for ; n < due; n++ {
			ev.Time = time.Now()
			ev.Process.Pid = uint32(n)
			pending = append(pending, ev.Time)
			for _, w := range ws {
				if err := w.Emit(ev); err != nil {
					b.Fatal(err)
				}
			}
		}
		for _, w := range ws { // the ring ran dry: Manager.Run flushes
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
		}
		now := time.Now()
		for _, t := range pending {
			syncLat = append(syncLat, now.Sub(t))
		}
		pending = pending[:0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var delivered, dropped uint64
	for _, w := range ws {
		if c, ok := w.(closer); ok {
			if err := c.Close(ctx); err != nil {
				b.Error(err)
			}
		}
		if s, ok := w.(interface{ Stats() export.Stats }); ok {
			delivered += s.Stats().Delivered
			dropped += s.Stats().Dropped
		}
		if f, ok := w.(*output.File); ok {
			_ = f.Close()
		}
	}
	elapsed := time.Since(start)
	cpu := selfCPU() - cpu0
	lat := syncLat
	if hasAsync {
		lat = async // the slowest path is the exporters'
	}
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(total)*10000, "cpu-ms/10k-events")
	b.ReportMetric(float64(p99(lat).Microseconds()), "p99-µs")
	b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
	if hasAsync {
		b.ReportMetric(float64(dropped), "dropped")
		if want := uint64(total) * uint64(countAsync(ws)); delivered != want {
			b.Errorf("delivered %d of %d", delivered, want)
		}
	}
}

func countAsync(ws []event.Sink) int {
	n := 0
	for _, w := range ws {
		if _, ok := w.(closer); ok {
			n++
		}
	}
	return n
}

func p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[len(d)*99/100]
}

// selfCPU is this process's user plus system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stdoutPipe is the JSON writer on a pipe that another goroutine drains,
// as stdout is under systemd or a shell pipeline.
func stdoutPipe(b *testing.B) event.Sink {
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _, _ = io.Copy(io.Discard, r) }()
	b.Cleanup(func() { w.Close(); <-done; r.Close() })
	return output.NewJSON(w)
}

func rotatingFile(b *testing.B) event.Sink {
	f, err := output.OpenFile(output.FileConfig{Path: filepath.Join(b.TempDir(), "vigil.ndjson"), MaxBytes: 16 << 20, Keep: 2})
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func natsOut(b *testing.B, url string, obs func(time.Duration)) event.Sink {
	x, err := export.NewNATS(export.NATSConfig{URL: url, Host: "bench", Stream: "BENCH" + strconv.FormatInt(time.Now().UnixNano(), 36), SubjectPrefix: "bench" + strconv.FormatInt(time.Now().UnixNano(), 36), Hooks: export.Hooks{Delivered: obs}})
	if err != nil {
		b.Fatal(err)
	}
	return x
}

func otlpOut(b *testing.B, addr string, obs func(time.Duration)) event.Sink {
	x, err := export.NewOTLP(export.OTLPConfig{Endpoint: addr, Insecure: true, Hooks: export.Hooks{Delivered: obs}})
	if err != nil {
		b.Fatal(err)
	}
	return x
}

// startNATSServer builds nats-server from the module and runs it as its
// own process with JetStream on a loopback port.
func startNATSServer(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	bin := filepath.Join(dir, "nats-server")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		b.Fatalf("building nats-server: %v\n%s", err, out)
	}
	port := freeLoopbackPort(b)
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", filepath.Join(dir, "js"))
	startHelper(b, cmd, port)
	return fmt.Sprintf("nats://127.0.0.1:%d", port)
}

// startOTLPReceiver runs this test binary again as an OTLP logs receiver
// (see TestMain), so its CPU is not this process's.
func startOTLPReceiver(b *testing.B) string {
	b.Helper()
	port := freeLoopbackPort(b)
	cmd := vmtest.HelperCommand("otlp-receiver", "127.0.0.1:"+strconv.Itoa(port))
	startHelper(b, cmd, port)
	return "127.0.0.1:" + strconv.Itoa(port)
}

func startHelper(b *testing.B, cmd *exec.Cmd, port int) {
	b.Helper()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s did not listen: %v", cmd.Path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeLoopbackPort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestMain turns the test binary into the OTLP receiver when asked
// (helper "otlp-receiver", argument the address to listen on).
func TestMain(m *testing.M) {
	vmtest.Main(m, vmtest.Helpers{"otlp-receiver": func(args []string) int {
		if len(args) != 1 {
			fmt.Fprintf(os.Stderr, "otlp-receiver: arguments %q, want ADDRESS\n", args)
			return 2
		}
		return serveOTLP(args[0])
	}})
}

type sinkReceiver struct {
	collogs.UnimplementedLogsServiceServer
}

func (sinkReceiver) Export(context.Context, *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	return &collogs.ExportLogsServiceResponse{}, nil
}

func serveOTLP(addr string) int {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s := grpc.NewServer()
	collogs.RegisterLogsServiceServer(s, sinkReceiver{})
	if err := s.Serve(l); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
