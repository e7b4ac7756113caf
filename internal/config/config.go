// Package config reads vigil's configuration file, /etc/vigil/vigil.yaml
// by default, every key of which docs/operations.md describes.
//
// Decoding is strict: an unknown key, a value of the wrong type or a
// second document is an error that names the file and line. Validation
// then reports every remaining problem at once (errors.Join), each as
// file:line:col and the key's path. The package is pure Go: it knows
// the names of event types but nothing of the kernel, so its tests run
// anywhere.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultPath is where the systemd unit points vigil monitor --config.
const DefaultPath = "/etc/vigil/vigil.yaml"

// Config is the whole file. A zero field means "not set": the command
// line or the built-in default decides.
type Config struct {
	// Events are the event types to report.
	Events []string `yaml:"events"`
	// Open filters open events in the kernel.
	Open Open `yaml:"open"`
	// File filters the file-tampering events (unlink, rename, link,
	// symlink, chmod, chown) in the kernel.
	File FileFilter `yaml:"file"`
	// Net filters the network events (connect, accept, listen) in the
	// kernel.
	Net Net `yaml:"net"`
	// MprotectAll reports every mprotect, not only the calls that matter
	// for security.
	MprotectAll bool `yaml:"mprotect_all"`
	// RingMB is the ring buffer's size in MiB, a power of two.
	RingMB int `yaml:"ring_mb"`
	// LostInterval is how often kernel-side losses are reported.
	LostInterval time.Duration `yaml:"lost_interval"`
	// Policies are policy files, directories or builtin:NAME, as the
	// --policy flag takes them.
	Policies []string `yaml:"policies"`
	// Outputs say where events go.
	Outputs Outputs `yaml:"outputs"`
	// Metrics configure the Prometheus endpoint.
	Metrics Metrics `yaml:"metrics"`
}

// Open is the kernel-side filter of open events.
type Open struct {
	Prefixes []string `yaml:"prefixes"`
	Pids     []uint32 `yaml:"pids"`
	Comms    []string `yaml:"comms"`
}

// FileFilter is the kernel-side filter of the file-tampering events.
type FileFilter struct {
	// Prefixes keep the events one of whose names, as passed, starts
	// with one of these.
	Prefixes []string `yaml:"prefixes"`
}

// Net is the kernel-side filter of the network events.
type Net struct {
	// Ports keep connects to these remote ports, and accepts and
	// listens on these local ports.
	Ports []uint16 `yaml:"ports"`
}

// Outputs are the destinations of events; each one set receives every
// event.
type Outputs struct {
	// Stdout is the format of events on standard output: "json", "text"
	// or "none".
	Stdout string `yaml:"stdout"`
	// AlertsOnly makes standard output and the file output write only
	// alerts: events carrying the verdict of a rule with a severity.
	AlertsOnly bool `yaml:"alerts_only"`
	File       File `yaml:"file"`
	NATS       NATS `yaml:"nats"`
	OTLP       OTLP `yaml:"otlp"`
}

// File is NDJSON written to a file with size-based rotation.
type File struct {
	Path  string `yaml:"path"`
	MaxMB int    `yaml:"max_mb"`
	// Keep is how many rotated files are kept; nil means the default.
	Keep *int `yaml:"keep"`
}

// NATS is the JetStream exporter.
type NATS struct {
	URL string `yaml:"url"`
	// Stream is created when missing, capturing <subject_prefix>.>.
	Stream        string `yaml:"stream"`
	SubjectPrefix string `yaml:"subject_prefix"`
	// Host replaces the host name in subjects; "" means os.Hostname.
	Host string `yaml:"host"`
	// Creds is a NATS credentials file.
	Creds string `yaml:"creds"`
	// BufferMB bounds the events held while the server is away.
	BufferMB int `yaml:"buffer_mb"`
}

// OTLP is the OpenTelemetry logs exporter (OTLP over gRPC).
type OTLP struct {
	// Endpoint is host:port of an OTLP/gRPC receiver.
	Endpoint string            `yaml:"endpoint"`
	Insecure bool              `yaml:"insecure"`
	Headers  map[string]string `yaml:"headers"`
	BufferMB int               `yaml:"buffer_mb"`
}

// Metrics is the Prometheus endpoint.
type Metrics struct {
	// Addr is host:port to listen on; "" disables the endpoint.
	Addr string `yaml:"addr"`
}

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates data, naming it name in errors.
func Parse(name string, data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return &c, nil // an empty file sets nothing
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s:%d: only one YAML document is allowed", name, extra.Line)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := c.validate(name, &root); err != nil {
		return nil, err
	}
	return &c, nil
}
