package sensor

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Paths vigil needs.
const (
	btfPath     = "/sys/kernel/btf/vmlinux"
	tracefsPath = "/sys/kernel/tracing"
)

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
	if err := mountTracefs(); err != nil {
		return err
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return fmt.Errorf("raising RLIMIT_MEMLOCK for BPF maps: %w", err)
	}
	return nil
}

// mountTracefs mounts tracefs at /sys/kernel/tracing unless it is there:
// attaching tracepoints needs their ids from it.
func mountTracefs() error {
	if _, err := os.Stat(tracefsPath + "/events"); err == nil {
		return nil
	}
	if err := unix.Mount("tracefs", tracefsPath, "tracefs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting tracefs at %s (needed to attach tracepoints): %w", tracefsPath, err)
	}
	return nil
}
