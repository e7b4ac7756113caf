package bench

import (
	"path/filepath"
	"testing"
)

// detectStorms: the exec and openat storms bare, under vigil monitoring
// only, and under vigil with builtin:detect. builtin:detect's open rules
// turn open events on and match every one in userspace, so on the openat
// storm the fair comparison is with every open reported
// (vigil-open-all); on the exec storm, with the default events. No rule
// matches the storms' own calls: this is the cost of evaluating the
// rules, not of writing alerts.
func detectStorms() []storm {
	bare := peer{name: "bare"}
	detect := peer{"vigil+detect", func(b *testing.B, v string) *monitor {
		return startVigil(b, v, "--policy", "builtin:detect")
	}}
	return []storm{
		{
			name: "exec",
			args: func(string) []string { return []string{"exec", "1500"} },
			peers: []peer{bare,
				{"vigil", func(b *testing.B, v string) *monitor { return startVigil(b, v) }},
				{"vigil-open-all", func(b *testing.B, v string) *monitor {
					return startVigil(b, v, "--events", defaultEvents+",open")
				}},
				detect},
		},
		{
			name: "openat",
			args: func(dir string) []string { return []string{"open", "300000", filepath.Join(dir, "target")} },
			peers: []peer{bare,
				{"vigil-open-all", func(b *testing.B, v string) *monitor {
					return startVigil(b, v, "--events", defaultEvents+",open")
				}},
				detect},
		},
	}
}

// BenchmarkDetect is BenchmarkOverhead for builtin:detect: the metrics
// "vigil+detect-x" and "vigil-open-all-x" are slowdowns next to bare, so
// their quotient is what the detections cost over monitoring only.
func BenchmarkDetect(b *testing.B) { overhead(b, detectStorms()) }
