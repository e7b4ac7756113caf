package doctor

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf/btf"

	"github.com/vigil-sec/vigil/internal/kernfs"
	"github.com/vigil-sec/vigil/internal/proc"
)

// row describes one probe: its name, label, and the vigil features beyond
// the Ladders that use the mechanism.
type row struct {
	name, title string
	uses        []string
}

// rows is the table, in print order.
var rows = []row{
	{"btf", "BTF (/sys/kernel/btf/vmlinux)", []string{"CO-RE sensors"}},
	{"ringbuf", "BPF ring buffer", []string{"every BPF sensor"}},
	{"tracepoint", "tracepoints", nil},
	{"syscall-tracepoints", "syscall tracepoints (events/syscalls)", nil},
	{"raw-tracepoint", "raw tracepoints", nil},
	{"tp-btf", "tp_btf (BTF raw tracepoints)", nil},
	{"fentry", "fentry (ftrace trampoline)", nil},
	{"fexit", "fexit (ftrace trampoline)", nil},
	{"fmod-ret", "fmod_ret", nil},
	{"kprobe", "kprobes", nil},
	{"kretprobe", "kretprobes", nil},
	{"bpf-lsm", "BPF LSM programs", nil},
	{"lsm-bpf-active", "bpf in active LSMs", nil},
	{"bpf-send-signal", "bpf_send_signal helper", nil},
	{"bpf-loop", "bpf_loop helper (5.17)", nil},
	{"find-vma", "bpf_find_vma helper (5.17)", nil},
	{"task-storage", "task-local storage, bpf_get_current_task_btf (5.11)", nil},
	{"atomics", "BPF atomics: compare-and-swap, exchange (5.12)", []string{"scratch slots of preemptible programs"}},
	{"seccomp-filter", "seccomp filters", []string{"vigil run"}},
	{"seccomp-notify", "seccomp user notification", []string{"vigil run supervisor"}},
	{"seccomp-addfd", "seccomp NOTIF_ADDFD", []string{"vigil run supervisor (emulated opens)"}},
	{"seccomp-notify-wake", "seccomp NOTIF_RECV wake on exit (6.11)", []string{"vigil run supervisor shutdown"}},
	{"fanotify-open-perm", "fanotify FAN_OPEN_PERM", nil},
	{"fanotify-exec-perm", "fanotify FAN_OPEN_EXEC_PERM", nil},
	{"fanotify-deny-errno", "fanotify FAN_DENY_ERRNO", []string{"deny through fanotify with an errno other than EPERM"}},
	{"modules", "kernel module loading", []string{"module event (nothing to see without it)", "vigil hooks"}},
	{"lockdown", "lockdown mode", []string{"every BPF sensor (confidentiality blocks reads)"}},
}

// Probe runs every probe (each once per process: see Check) and resolves
// the plan. Each probe is bounded in time; ctx cancels the seccomp helper
// when Probe is the first to need it.
func Probe(ctx context.Context) Report {
	primeSeccomp(ctx)
	rep := Report{Kernel: proc.Host.KernelRelease(), UID: os.Geteuid(), Privileged: privileged()}
	for _, r := range rows {
		detail, err := Check(r.name)
		res := Result{Name: r.name, Title: r.title, UsedBy: usedBy(r)}
		res.Status, res.Reason = verdict(err)
		if err == nil || res.Status == No {
			res.Detail = detail
		}
		rep.Results = append(rep.Results, res)
	}
	rep.Plan = Resolve(Ladders, rep.Results, PointExists)
	return rep
}

func noDetail(f func() error) func() (string, error) {
	return func() (string, error) { return "", f() }
}

// usedBy lists what relies on r: its own uses, then every ladder with a
// rung that needs it ("fork event", "deny exec action"); the plan says
// which rung.
func usedBy(r row) []string {
	out := append([]string(nil), r.uses...)
	for _, l := range Ladders {
	rungs:
		for _, rung := range l.Rungs {
			for _, n := range rung.Needs {
				if n == r.name {
					out = append(out, l.Name+" "+string(l.Kind))
					break rungs
				}
			}
		}
	}
	return out
}

// PointExists reports whether an attach point exists in the running
// kernel, looking in vmlinux BTF or tracefs.
func PointExists(p Point) (bool, error) {
	switch p.Kind {
	case BTFFunc:
		return kernelHas(p.Name, &btf.Func{})
	case BTFTracepoint:
		return kernelHas("btf_trace_"+p.Name, &btf.Typedef{})
	case BTFField:
		return kernelHasField(p.Name)
	case Tracepoint:
		dir, err := kernfs.Tracefs()
		if err != nil {
			return false, err
		}
		_, err = os.Stat(filepath.Join(dir, "events", p.Name))
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	return false, errors.New("unknown point kind " + string(p.Kind))
}
