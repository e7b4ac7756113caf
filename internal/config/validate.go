package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/event"
)

// validate returns every problem of c at once, each at the position of
// its key in root.
func (c *Config) validate(name string, root *yaml.Node) error {
	v := validator{name: name, root: root}
	for i, e := range c.Events {
		if _, ok := event.ParseType(e); !ok && e != "all" {
			v.errf([]string{"events", fmt.Sprint(i)}, "unknown event type %q", e)
		}
	}
	prefixes(&v, []string{"open", "prefixes"}, c.Open.Prefixes)
	prefixes(&v, []string{"file", "prefixes"}, c.File.Prefixes)
	if len(c.Net.Ports) > MaxNetPorts {
		v.errf([]string{"net", "ports"}, "%d ports: at most %d", len(c.Net.Ports), MaxNetPorts)
	}
	for i, p := range c.Net.Ports {
		if p == 0 {
			v.errf([]string{"net", "ports", fmt.Sprint(i)}, "port 0")
		}
	}
	if c.RingMB < 0 || c.RingMB&(c.RingMB-1) != 0 {
		v.errf([]string{"ring_mb"}, "%d is not a power of two", c.RingMB)
	}
	if c.LostInterval < 0 {
		v.errf([]string{"lost_interval"}, "must not be negative")
	}
	for i, p := range c.Policies {
		if p == "" {
			v.errf([]string{"policies", fmt.Sprint(i)}, "empty path")
		}
	}
	switch c.Outputs.Stdout {
	case "", "json", "text", "none":
	default:
		v.errf([]string{"outputs", "stdout"}, "%q: want json, text or none", c.Outputs.Stdout)
	}
	c.Outputs.File.validate(&v)
	c.Outputs.NATS.validate(&v)
	c.Outputs.OTLP.validate(&v)
	if a := c.Metrics.Addr; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			v.errf([]string{"metrics", "addr"}, "%q: want host:port", a)
		}
	}
	return errors.Join(v.errs...)
}

// MaxPrefixes and MaxNetPorts bound the kernel filters as the monitor's
// flags do (--open-prefix, --file-prefix: 8 of at most MaxPrefixLen bytes;
// --connect-port: 64).
const (
	MaxPrefixes  = 8
	MaxPrefixLen = 127
	MaxNetPorts  = 64
)

// prefixes checks a list of kernel-filter path prefixes at key.
func prefixes(v *validator, key []string, ps []string) {
	if len(ps) > MaxPrefixes {
		v.errf(key, "%d prefixes: at most %d", len(ps), MaxPrefixes)
	}
	for i, p := range ps {
		if p == "" || len(p) > MaxPrefixLen {
			v.errf(append(slices.Clone(key), fmt.Sprint(i)), "%q: want 1 to %d bytes", p, MaxPrefixLen)
		}
	}
}

func (f *File) validate(v *validator) {
	p := []string{"outputs", "file"}
	if f.Path == "" && (f.MaxMB != 0 || f.Keep != nil) {
		v.errf(append(p, "path"), "max_mb and keep need a path")
	}
	if f.MaxMB < 0 {
		v.errf(append(p, "max_mb"), "must not be negative")
	}
	if f.Keep != nil && *f.Keep < 0 {
		v.errf(append(p, "keep"), "must not be negative")
	}
}

func (n *NATS) validate(v *validator) {
	p := []string{"outputs", "nats"}
	if n.URL == "" {
		if n.Stream != "" || n.SubjectPrefix != "" || n.Creds != "" || n.BufferMB != 0 || n.Host != "" {
			v.errf(append(p, "url"), "the nats keys need a url")
		}
		return
	}
	for _, u := range strings.Split(n.URL, ",") {
		pu, err := url.Parse(strings.TrimSpace(u))
		if err != nil || (pu.Scheme != "nats" && pu.Scheme != "tls") || pu.Host == "" {
			v.errf(append(p, "url"), "%q: want nats://host:port or tls://host:port", u)
		}
	}
	if strings.ContainsAny(n.Stream, " \t.*>") {
		v.errf(append(p, "stream"), "%q: a stream name has no spaces, dots or wildcards", n.Stream)
	}
	if strings.ContainsAny(n.SubjectPrefix, " \t*>") || strings.HasPrefix(n.SubjectPrefix, ".") || strings.HasSuffix(n.SubjectPrefix, ".") {
		v.errf(append(p, "subject_prefix"), "%q: want dot-separated tokens without wildcards", n.SubjectPrefix)
	}
	if strings.ContainsAny(n.Host, " \t.*>") {
		v.errf(append(p, "host"), "%q: one subject token: no spaces, dots or wildcards", n.Host)
	}
	if n.BufferMB < 0 {
		v.errf(append(p, "buffer_mb"), "must not be negative")
	}
}

func (o *OTLP) validate(v *validator) {
	p := []string{"outputs", "otlp"}
	if o.Endpoint == "" {
		if o.Insecure || len(o.Headers) > 0 || o.BufferMB != 0 {
			v.errf(append(p, "endpoint"), "the otlp keys need an endpoint")
		}
		return
	}
	if _, _, err := net.SplitHostPort(o.Endpoint); err != nil {
		v.errf(append(p, "endpoint"), "%q: want host:port", o.Endpoint)
	}
	if o.BufferMB < 0 {
		v.errf(append(p, "buffer_mb"), "must not be negative")
	}
}

// validator collects errors with the position of the key they are about.
type validator struct {
	name string
	root *yaml.Node
	errs []error
}

func (v *validator) errf(path []string, format string, args ...any) {
	line, col := position(v.root, path)
	v.errs = append(v.errs, fmt.Errorf("%s:%d:%d: %s: %s", v.name, line, col, strings.Join(path, "."), fmt.Sprintf(format, args...)))
}

// position finds the node at path (mapping keys and sequence indexes)
// and returns its line and column; where the path ends early it returns
// the deepest node found.
func position(n *yaml.Node, path []string) (line, col int) {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line, col = n.Line, n.Column
	for _, key := range path {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					next = n.Content[i+1]
					line, col = n.Content[i].Line, n.Content[i].Column
				}
			}
		case yaml.SequenceNode:
			var idx int
			if _, err := fmt.Sscan(key, &idx); err == nil && idx < len(n.Content) {
				next = n.Content[idx]
				line, col = next.Line, next.Column
			}
		}
		if next == nil {
			return line, col
		}
		n = next
	}
	return line, col
}
