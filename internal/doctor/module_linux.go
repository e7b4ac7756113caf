package doctor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/kernfs"
	"github.com/vigil-sec/vigil/internal/proc"
)

// ProbeModules checks whether kernel modules can be loaded here:
// /proc/modules exists (CONFIG_MODULES), kernel.modules_disabled is 0,
// and finit_module(2) with fd -1 gets past the kernel's permission checks
// to fail on the bad fd (EBADF) -- it cannot load anything.
func ProbeModules() error {
	errno := finitModuleBadFD()
	if !proc.Host.HasModules() {
		return missing("from finit_module(-1), and no /proc/modules (CONFIG_MODULES off)", errno)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/modules_disabled"); err == nil && strings.TrimSpace(string(b)) == "1" {
		return missing("kernel.modules_disabled=1", nil)
	}
	switch errno {
	case unix.EBADF:
		return nil
	case unix.ENOSYS:
		return missing("calling finit_module (CONFIG_MODULES off)", errno)
	case 0:
		return errors.New("calling finit_module(-1): unexpected success")
	}
	return judge("calling finit_module(-1)", errno)
}

// ProbeLockdown reads the kernel lockdown mode from securityfs
// (Linux 5.4) and returns it. Confidentiality mode forbids kprobes,
// tracefs and BPF reads of kernel memory, which vigil's sensors need, so
// it is reported as ErrNotSupported; "none" and "integrity" are fine.
func ProbeLockdown() (string, error) {
	dir, err := kernfs.Securityfs()
	if err != nil {
		return "", judge("finding securityfs", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "lockdown"))
	if errors.Is(err, os.ErrNotExist) {
		return "none (no lockdown LSM)", nil
	}
	if err != nil {
		return "", judge("reading lockdown", err)
	}
	mode := parseLockdown(string(b))
	if mode == "confidentiality" {
		return mode, missing("lockdown=confidentiality forbids BPF kernel reads and tracefs", nil)
	}
	return mode, nil
}

// parseLockdown returns the bracketed mode of
// "none [integrity] confidentiality".
func parseLockdown(s string) string {
	if _, rest, ok := strings.Cut(s, "["); ok {
		if mode, _, ok := strings.Cut(rest, "]"); ok {
			return mode
		}
	}
	return strings.TrimSpace(s)
}

// ProbeLSMActive reads the active LSM list from securityfs (Linux 4.13)
// and returns it; the error matches ErrNotSupported when "bpf" is not in
// it, since BPF LSM programs then load but never run.
func ProbeLSMActive() (string, error) {
	dir, err := kernfs.Securityfs()
	if err != nil {
		return "", judge("finding securityfs", err)
	}
	p := filepath.Join(dir, "lsm")
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return "", missing("finding "+p+" (CONFIG_SECURITY off)", nil)
	}
	if err != nil {
		return "", judge("reading "+p, err)
	}
	list := strings.TrimSpace(string(b))
	for _, l := range strings.Split(list, ",") {
		if l == "bpf" {
			return list, nil
		}
	}
	return list, missing(fmt.Sprintf("bpf not in active LSMs (%s)", list), nil)
}
