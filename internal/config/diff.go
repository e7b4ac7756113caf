package config

import "reflect"

// RestartNeeded lists the keys whose value differs between old and next
// and which a reload cannot apply: the caller warns that they take effect
// at the next start. A reload rereads the policy files vigil runs with
// (monitor.Options.Reload); a different list of files needs a restart.
func RestartNeeded(old, next *Config) []string {
	var keys []string
	check := func(key string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			keys = append(keys, key)
		}
	}
	check("events", old.Events, next.Events)
	check("open", old.Open, next.Open)
	check("file", old.File, next.File)
	check("net", old.Net, next.Net)
	check("mprotect_all", old.MprotectAll, next.MprotectAll)
	check("ring_mb", old.RingMB, next.RingMB)
	check("lost_interval", old.LostInterval, next.LostInterval)
	check("outputs.stdout", old.Outputs.Stdout, next.Outputs.Stdout)
	check("outputs.alerts_only", old.Outputs.AlertsOnly, next.Outputs.AlertsOnly)
	check("outputs.file", old.Outputs.File, next.Outputs.File)
	check("outputs.nats", old.Outputs.NATS, next.Outputs.NATS)
	check("outputs.otlp", old.Outputs.OTLP, next.Outputs.OTLP)
	check("metrics", old.Metrics, next.Metrics)
	check("policies", old.Policies, next.Policies)
	return keys
}
