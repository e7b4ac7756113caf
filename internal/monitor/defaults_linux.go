package monitor

import (
	"slices"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proc"
)

// NoModulesReason says why module events are not among this kernel's
// default types when DefaultTypesHere leaves them out.
const NoModulesReason = "this kernel has no module support: a module call can only fail with ENOSYS, " +
	"and seeing those attempts takes a raw sys_enter program run on every system call of every task; " +
	"name module in --events to report them"

// DefaultTypesHere returns the default event types for the running
// kernel: DefaultTypes, less module where the kernel has no module
// support (CONFIG_MODULES off, no /proc/modules), and the reason when it
// leaves module out. With modules the module ladder has hooks on the two
// module calls alone (fentry/fexit on their entry points, or their
// syscall tracepoints); without, its only hook is the raw sys_enter
// tracepoint, which every system call would pay for.
func DefaultTypesHere() ([]event.Type, string) {
	return defaultTypes(proc.Host.HasModules())
}

func defaultTypes(hasModules bool) ([]event.Type, string) {
	if hasModules {
		return slices.Clone(DefaultTypes), ""
	}
	return slices.DeleteFunc(slices.Clone(DefaultTypes), func(t event.Type) bool { return t == event.TypeModule }), NoModulesReason
}
