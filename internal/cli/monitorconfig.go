package cli

import (
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/spf13/pflag"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/export"
	"github.com/vigil-sec/vigil/internal/monitor"
	"github.com/vigil-sec/vigil/internal/output"
)

// monitorOps are the flags of vigil monitor that run it as a service:
// the config file, outputs beyond stdout and the metrics endpoint.
type monitorOps struct {
	configPath   string
	outputFile   string
	outputMaxMB  int
	outputKeep   int
	metricsAddr  string
	natsURL      string
	otlpEndpoint string
	alertsOnly   bool

	cfg *config.Config
}

func (o *monitorOps) register(f *pflag.FlagSet) {
	f.StringVar(&o.configPath, "config", "", "read settings from this YAML file (e.g. "+config.DefaultPath+"); flags override it")
	f.StringVar(&o.outputFile, "output-file", "", "also write NDJSON events to this file, rotated by size")
	f.IntVar(&o.outputMaxMB, "output-max-mb", output.DefaultMaxBytes>>20, "rotate --output-file when it would grow past this many MiB")
	f.IntVar(&o.outputKeep, "output-keep", output.DefaultKeep, "rotated files to keep (FILE.1 newest ... FILE.N)")
	f.BoolVar(&o.alertsOnly, "alerts-only", false, "write to standard output and --output-file only alerts: events carrying the verdict of a rule with a severity (docs/detections.md)")
	f.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464)")
	f.StringVar(&o.natsURL, "nats-url", "", "publish events to NATS JetStream at this URL (subjects vigil.<host>.<type>)")
	f.StringVar(&o.otlpEndpoint, "otlp-endpoint", "", "send events as OpenTelemetry logs to this OTLP/gRPC host:port (plain text, unless the config file has an otlp endpoint without insecure: true)")
}

// monitorVars are the other flags' variables, which the config file
// fills when the flag was not given.
type monitorVars struct {
	events       *[]string
	format       *string
	openPrefixes *[]string
	openPids     *[]uint32
	openComms    *[]string
	filePrefixes *[]string
	connectPorts *[]uint16
	mprotectAll  *bool
	ringMB       *int
	lostInterval *time.Duration
	policies     *[]string
}

// load reads --config, if given, and copies each of its settings into
// the variable of the matching flag, unless that flag was set.
func (o *monitorOps) load(f *pflag.FlagSet, v monitorVars) error {
	if o.configPath == "" {
		return nil
	}
	c, err := config.Load(o.configPath)
	if err != nil {
		return usageError{err}
	}
	o.cfg = c
	unset := func(name string) bool { return !f.Changed(name) }
	if len(c.Events) > 0 && unset("events") {
		*v.events = c.Events
	}
	if c.Outputs.Stdout != "" && unset("output") {
		*v.format = c.Outputs.Stdout
	}
	if len(c.Open.Prefixes) > 0 && unset("open-prefix") {
		*v.openPrefixes = c.Open.Prefixes
	}
	if len(c.Open.Pids) > 0 && unset("open-pid") {
		*v.openPids = c.Open.Pids
	}
	if len(c.Open.Comms) > 0 && unset("open-comm") {
		*v.openComms = c.Open.Comms
	}
	if len(c.File.Prefixes) > 0 && unset("file-prefix") {
		*v.filePrefixes = c.File.Prefixes
	}
	if len(c.Net.Ports) > 0 && unset("connect-port") {
		*v.connectPorts = c.Net.Ports
	}
	if c.MprotectAll && unset("mprotect-all") {
		*v.mprotectAll = true
	}
	if c.Outputs.AlertsOnly && unset("alerts-only") {
		o.alertsOnly = true
	}
	if c.RingMB > 0 && unset("ring-mb") {
		*v.ringMB = c.RingMB
	}
	if c.LostInterval > 0 && unset("lost-interval") {
		*v.lostInterval = c.LostInterval
	}
	if len(c.Policies) > 0 && unset("policy") {
		*v.policies = c.Policies
	}
	file := c.Outputs.File
	if file.Path != "" && unset("output-file") {
		o.outputFile = file.Path
	}
	if file.MaxMB > 0 && unset("output-max-mb") {
		o.outputMaxMB = file.MaxMB
	}
	if file.Keep != nil && unset("output-keep") {
		o.outputKeep = *file.Keep
	}
	if c.Metrics.Addr != "" && unset("metrics-addr") {
		o.metricsAddr = c.Metrics.Addr
	}
	if c.Outputs.NATS.URL != "" && unset("nats-url") {
		o.natsURL = c.Outputs.NATS.URL
	}
	if c.Outputs.OTLP.Endpoint != "" && unset("otlp-endpoint") {
		o.otlpEndpoint = c.Outputs.OTLP.Endpoint
	}
	return nil
}

// apply sets the service parts of opts: outputs, metrics and the SIGHUP
// reload, which rereads the config file.
func (o *monitorOps) apply(opts *monitor.Options, log *slog.Logger) error {
	if o.outputFile != "" {
		if o.outputMaxMB <= 0 || o.outputKeep < 0 {
			return usagef("--output-max-mb %d, --output-keep %d: want a positive size and a count of at least 0", o.outputMaxMB, o.outputKeep)
		}
		opts.Outputs.File = &output.FileConfig{Path: o.outputFile, MaxBytes: int64(o.outputMaxMB) << 20, Keep: o.outputKeep}
	}
	opts.MetricsAddr = o.metricsAddr
	opts.Outputs.AlertsOnly = o.alertsOnly
	c := o.cfg
	if c == nil {
		c = &config.Config{}
	}
	if o.natsURL != "" {
		n := c.Outputs.NATS
		opts.Outputs.NATS = &export.NATSConfig{URL: o.natsURL, Stream: n.Stream, SubjectPrefix: n.SubjectPrefix,
			Host: n.Host, Creds: n.Creds, BufferBytes: int64(n.BufferMB) << 20}
	}
	if o.otlpEndpoint != "" {
		x := c.Outputs.OTLP
		// From the command line alone the endpoint is plain text: a
		// loopback or sidecar collector, the common case.
		insecure := x.Insecure || c.Outputs.OTLP.Endpoint == ""
		opts.Outputs.OTLP = &export.OTLPConfig{Endpoint: o.otlpEndpoint, Insecure: insecure, Headers: x.Headers,
			BufferBytes: int64(x.BufferMB) << 20, Version: buildVersion()}
	}
	if o.configPath != "" {
		opts.Reload = func() error { return o.reload(log) }
	}
	return nil
}

// reload rereads the config file on SIGHUP and warns about every key
// that differs from the configuration vigil started with (o.cfg, which
// stays as it is: that is what runs). A file that no longer parses is an
// error and changes nothing. Policy reload, once wired, goes here: load
// next.Policies, swap them in, then record them as running.
func (o *monitorOps) reload(log *slog.Logger) error {
	next, err := config.Load(o.configPath)
	if err != nil {
		return err
	}
	for _, key := range config.RestartNeeded(o.cfg, next) {
		log.Warn("config key changed; it takes effect at the next start", "key", key)
	}
	return nil
}

// buildVersion is the module version vigil was built as, or "(devel)".
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
