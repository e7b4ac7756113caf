package dynhook

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/vigil-sec/vigil/internal/policy"
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

// Check resolves hooks against the running kernel's BTF without loading
// anything, for `vigil policy check`. checked is false, with the reason in
// err, when the kernel's BTF cannot be read; otherwise err holds every
// wrong name at its file:line:col.
func Check(hooks []*policy.Hook) (checked bool, err error) {
	k, err := LoadKernel()
	if err != nil {
		return false, err
	}
	_, err = Resolve(hooks, k)
	return true, err
}
