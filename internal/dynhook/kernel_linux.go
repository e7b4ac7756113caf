package dynhook

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// LoadKernel reads the running kernel's BTF and, when tracefs is
// mounted, the group of every tracepoint.
func LoadKernel() (*Kernel, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("loading kernel BTF: %w", err)
	}
	return &Kernel{BTF: spec, Groups: tracepointGroups()}, nil
}

// tracepointGroups reads available_events ("group:name" lines); nil when
// tracefs is not mounted.
func tracepointGroups() map[string]string {
	for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		f, err := os.Open(dir + "/available_events")
		if err != nil {
			continue
		}
		defer f.Close()
		out := map[string]string{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if g, n, ok := strings.Cut(sc.Text(), ":"); ok {
				out[n] = g
			}
		}
		return out
	}
	return nil
}
