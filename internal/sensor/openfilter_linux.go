package sensor

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
)

func (f *OpenFilter) validate() error {
	if len(f.Prefixes) > MaxOpenPrefixes {
		return fmt.Errorf("open filter: %d path prefixes, at most %d", len(f.Prefixes), MaxOpenPrefixes)
	}
	for _, p := range f.Prefixes {
		if p == "" || len(p) > MaxPrefixLen {
			return fmt.Errorf("open filter: path prefix %q must be 1 to %d bytes", p, MaxPrefixLen)
		}
	}
	if len(f.Pids) > MaxFilterPids || len(f.Comms) > MaxFilterComms {
		return fmt.Errorf("open filter: at most %d pids and %d comms", MaxFilterPids, MaxFilterComms)
	}
	for _, c := range f.Comms {
		if c == "" || len(c) > 15 {
			return fmt.Errorf("open filter: comm %q must be 1 to 15 bytes", c)
		}
	}
	return nil
}

func (s *openSensor) vars(cfg *Config) map[string]any {
	b := func(v bool) uint32 {
		if v {
			return 1
		}
		return 0
	}
	return map[string]any{
		"filter_pids":  b(len(cfg.Open.Pids) > 0),
		"filter_comms": b(len(cfg.Open.Comms) > 0),
		"n_prefixes":   uint32(len(cfg.Open.Prefixes)),
	}
}

func (s *openSensor) configure(coll *ebpf.Collection, cfg *Config) error {
	one := uint8(1)
	for _, pid := range cfg.Open.Pids {
		if err := coll.Maps["open_pids"].Put(pid, one); err != nil {
			return fmt.Errorf("adding pid %d to the open filter: %w", pid, err)
		}
	}
	for _, c := range cfg.Open.Comms {
		var key [16]byte
		copy(key[:], c)
		if err := coll.Maps["open_comms"].Put(key, one); err != nil {
			return fmt.Errorf("adding comm %q to the open filter: %w", c, err)
		}
	}
	for i, p := range cfg.Open.Prefixes {
		var v bpfobj.OpenPrefix
		v.Len = uint32(len(p))
		for j := 0; j < len(p); j++ {
			v.S[j] = int8(p[j])
		}
		if err := coll.Maps["open_prefixes"].Put(uint32(i), v); err != nil {
			return fmt.Errorf("adding prefix %q to the open filter: %w", p, err)
		}
	}
	return nil
}
