package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// prometheusBin finds Debian's prometheus (.ci/run installs the package).
func prometheusBin(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus not installed; .ci/run installs Debian's prometheus package")
		}
		t.Skip("prometheus not installed (apt-get install prometheus); this test scrapes with a real server")
	}
	return p
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startPrometheus runs a real Prometheus server scraping target every
// second, with its own config and store in a temporary directory, and
// returns the base URL of its HTTP API.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin := prometheusBin(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: vigil\n    static_configs:\n      - targets: [%q]\n", target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := freePort(t)
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen, "--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			data, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log:\n%s", data)
		}
	})
	return "http://" + listen
}

// query runs an instant PromQL query and returns the first sample's
// value, or false when the result is empty.
func query(base, q string) (float64, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?query="+url.QueryEscape(q), nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, false, fmt.Errorf("decoding %s: %w", body, err)
	}
	if r.Status != "success" || len(r.Data.Result) == 0 {
		return 0, false, nil
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, true, err
}

func TestScrapedByPrometheus(t *testing.T) {
	m := New()
	m.SetSource(func() Snapshot {
		return Snapshot{
			Events: map[event.Type]uint64{event.TypeExec: 1234, event.TypeExit: 1200},
			Lost:   map[event.Type]uint64{event.TypeExec: 7}, DecodeErrors: 2, TableSize: 321,
			RingUsed: 4096, RingSize: 16 << 20,
		}
	})
	m.AddOutput("nats", func() OutputStats {
		return OutputStats{Queued: 3, QueuedBytes: 900, Enqueued: 100, Delivered: 92, Dropped: 5}
	})
	m.Verdict(&event.Verdict{Rule: "no-memfd-exec", Action: "kill", Enforced: true})
	m.FanotifyResponse(150 * time.Microsecond)
	m.FanotifyResponse(3 * time.Millisecond)
	m.SeccompResponse(time.Millisecond)
	m.DeliveryObserver("nats")(2 * time.Millisecond)

	srv, err := Serve(m, "127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	api := startPrometheus(t, srv.Addr().String())

	want := map[string]float64{
		`up{job="vigil"}`:                                                          1,
		`vigil_events_total{type="exec"}`:                                          1234,
		`vigil_kernel_lost_events_total{type="exec"}`:                              7,
		`vigil_decode_errors_total`:                                                2,
		`vigil_process_table_size`:                                                 321,
		`vigil_ring_buffer_used_bytes / vigil_ring_buffer_size_bytes`:              4096.0 / (16 << 20),
		`vigil_output_dropped_total{output="nats"}`:                                5,
		`vigil_output_queue_events{output="nats"}`:                                 3,
		`vigil_verdicts_total{rule="no-memfd-exec",action="kill",enforced="true"}`: 1,
		`vigil_fanotify_response_seconds_count`:                                    2,
		`vigil_seccomp_response_seconds_count`:                                     1,
		`vigil_output_delivery_seconds_count{output="nats"}`:                       1,
	}
	deadline := time.Now().Add(30 * time.Second)
	for q, w := range want {
		for {
			v, ok, err := query(api, q)
			if ok && v == w {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("prometheus query %s: got %v (present %v, err %v), want %v", q, v, ok, err, w)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
