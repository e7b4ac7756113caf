package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleFile(t *testing.T) {
	// The file shipped in deploy/ is the one docs/operations.md shows.
	c, err := Load(filepath.Join("..", "..", "deploy", "vigil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Outputs.File.Path != "/var/log/vigil/vigil.ndjson" || c.Outputs.File.MaxMB != 100 || *c.Outputs.File.Keep != 5 {
		t.Errorf("file output: %+v", c.Outputs.File)
	}
	if c.LostInterval != 10*time.Second || c.RingMB != 16 || c.Metrics.Addr != "127.0.0.1:9464" {
		t.Errorf("config: %+v", c)
	}
	if len(c.Events) != 5 || c.Outputs.Stdout != "none" {
		t.Errorf("events %v stdout %q", c.Events, c.Outputs.Stdout)
	}
}

func TestEmpty(t *testing.T) {
	c, err := Parse("empty.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.RingMB != 0 || c.Outputs.File.Path != "" {
		t.Errorf("empty file set %+v", c)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		desc string
		yaml string
		want []string // every one must appear in the error
	}{
		{"unknown key names its line", "events: [exec]\nouputs: {}\n", []string{"bad.yaml", "line 2", "field ouputs not found"}},
		{"unknown nested key", "outputs:\n  file:\n    size: 3\n", []string{"line 3", "field size not found"}},
		{"wrong type", "ring_mb: lots\n", []string{"line 1", "cannot unmarshal"}},
		{"bad duration", "lost_interval: soon\n", []string{"line 1"}},
		{"two documents", "events: [exec]\n---\nring_mb: 2\n", []string{"bad.yaml:2", "one YAML document"}},
		{"all validation errors at once, with positions", strings.Join([]string{
			"events: [exec, bogus]",
			"ring_mb: 3",
			"outputs:",
			"  stdout: xml",
			"  file:",
			"    max_mb: -1",
			"  nats:",
			"    url: http://x:1",
			"  otlp:",
			"    endpoint: nowhere",
			"metrics:",
			"  addr: 9464",
		}, "\n"), []string{
			`bad.yaml:1:16: events.1: unknown event type "bogus"`,
			"bad.yaml:2:1: ring_mb: 3 is not a power of two",
			`bad.yaml:4:3: outputs.stdout: "xml"`,
			"bad.yaml:6:5: outputs.file.max_mb: must not be negative",
			"outputs.file.path: max_mb and keep need a path",
			`bad.yaml:8:5: outputs.nats.url: "http://x:1"`,
			`bad.yaml:10:5: outputs.otlp.endpoint: "nowhere"`,
			`bad.yaml:12:3: metrics.addr: "9464"`,
		}},
		{"kernel filters", strings.Join([]string{
			"open:",
			"  prefixes: [/a, /b, /c, /d, /e, /f, /g, /h, /i]",
			"file:",
			"  prefixes: ['']",
			"net:",
			"  ports: [22, 0]",
		}, "\n"), []string{
			"bad.yaml:2:3: open.prefixes: 9 prefixes: at most 8",
			`bad.yaml:4:14: file.prefixes.0: "": want 1 to 127 bytes`,
			"bad.yaml:6:15: net.ports.1: port 0",
		}},
		{"port out of range", "net:\n  ports: [70000]\n", []string{"line 2", "cannot unmarshal"}},
		{"keys that need their output", "outputs:\n  nats:\n    stream: X\n  otlp:\n    insecure: true\n", []string{
			"outputs.nats.url: the nats keys need a url", "outputs.otlp.endpoint: the otlp keys need an endpoint",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.yaml"))
	if !os.IsNotExist(err) && !strings.Contains(err.Error(), "reading config") {
		t.Fatalf("got %v", err)
	}
}

func TestRestartNeeded(t *testing.T) {
	a, err := Parse("a.yaml", []byte("events: [exec]\npolicies: [/a.yaml]\noutputs:\n  file: {path: /x, keep: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("b.yaml", []byte("events: [exec]\npolicies: [/b.yaml]\noutputs:\n  file: {path: /x, keep: 3}\nmetrics: {addr: ':9'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := RestartNeeded(a, b)
	if len(got) != 3 || got[0] != "outputs.file" || got[1] != "metrics" || got[2] != "policies" {
		t.Fatalf("got %v, want [outputs.file metrics policies]", got)
	}
	if got := RestartNeeded(a, a); len(got) != 0 {
		t.Fatalf("same config: %v", got)
	}
}

func TestFiltersAndSwitches(t *testing.T) {
	c, err := Parse("ok.yaml", []byte(strings.Join([]string{
		"events: [all]",
		"file: {prefixes: [/etc/, /root/]}",
		"net: {ports: [22, 4444]}",
		"mprotect_all: true",
		"outputs: {alerts_only: true}",
	}, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.File.Prefixes) != 2 || c.File.Prefixes[1] != "/root/" || len(c.Net.Ports) != 2 || c.Net.Ports[1] != 4444 ||
		!c.MprotectAll || !c.Outputs.AlertsOnly || c.Events[0] != "all" {
		t.Errorf("parsed %+v", c)
	}
	next := *c
	next.Net.Ports = []uint16{22}
	next.Outputs.AlertsOnly = false
	if got := RestartNeeded(c, &next); len(got) != 2 || got[0] != "net" || got[1] != "outputs.alerts_only" {
		t.Errorf("RestartNeeded: %v, want [net outputs.alerts_only]", got)
	}
}
