package sensor

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf/rlimit"

	"github.com/vigil-sec/vigil/internal/kernfs"
)

// btfPath is where the kernel exposes its own BTF (CONFIG_DEBUG_INFO_BTF).
const btfPath = "/sys/kernel/btf/vmlinux"

// Prepare checks that this host can run the sensors and mounts what is
// missing: it fails with an actionable message when vigil is not root or
// the kernel has no BTF, and mounts tracefs when it is not mounted.
func Prepare() error {
	if os.Geteuid() != 0 {
		return errors.New("vigil monitor must run as root: it loads eBPF programs (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN); try: sudo vigil monitor")
	}
	if _, err := os.Stat(btfPath); err != nil {
		return fmt.Errorf("this kernel exposes no BTF at %s: vigil's CO-RE programs need a kernel built with CONFIG_DEBUG_INFO_BTF=y: %w", btfPath, err)
	}
	// Attaching tracepoints needs their ids from tracefs.
	if _, err := kernfs.Tracefs(); err != nil {
		return fmt.Errorf("finding tracefs (needed to attach tracepoints): %w", err)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return fmt.Errorf("raising RLIMIT_MEMLOCK for BPF maps: %w", err)
	}
	return nil
}
