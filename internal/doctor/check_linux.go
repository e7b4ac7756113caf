package doctor

import (
	"context"
	"sync"

	"github.com/vigil-sec/vigil/internal/fanotify"
)

// probes are the probes of the table's rows by name. The seccomp rows are
// filled in by Probe, whose helper process they share.
var probes = map[string]func() (string, error){
	"btf":                 noDetail(ProbeBTF),
	"ringbuf":             noDetail(ProbeRingBuf),
	"tracepoint":          noDetail(ProbeTracepoint),
	"syscall-tracepoints": noDetail(ProbeSyscallTracepoints),
	"raw-tracepoint":      noDetail(ProbeRawTracepoint),
	"tp-btf":              noDetail(ProbeTPBTF),
	"fentry":              noDetail(ProbeFentry),
	"fexit":               noDetail(ProbeFexit),
	"fmod-ret":            noDetail(ProbeFmodRet),
	"kprobe":              noDetail(ProbeKprobe),
	"kretprobe":           noDetail(ProbeKretprobe),
	"bpf-lsm":             noDetail(ProbeBPFLSM),
	"lsm-bpf-active":      ProbeLSMActive,
	"bpf-send-signal":     noDetail(ProbeSendSignal),
	"bpf-loop":            noDetail(ProbeBPFLoop),
	"find-vma":            noDetail(ProbeFindVMA),
	"task-storage":        noDetail(ProbeTaskStorage),
	"atomics":             noDetail(ProbeAtomics),
	"fanotify-open-perm":  noDetail(ProbeFanotifyOpenPerm),
	"fanotify-exec-perm":  noDetail(ProbeFanotifyExecPerm),
	"fanotify-deny-errno": noDetail(fanotify.ProbeDenyErrno),
	"modules":             noDetail(ProbeModules),
	"lockdown":            ProbeLockdown,
}

// seccompRows are the rows ProbeSeccomp answers in one helper run.
var seccompRows = map[string]func(SeccompSupport) error{
	"seccomp-filter":      func(s SeccompSupport) error { return s.Filter },
	"seccomp-notify":      func(s SeccompSupport) error { return s.Notify },
	"seccomp-addfd":       func(s SeccompSupport) error { return s.AddFD },
	"seccomp-notify-wake": func(s SeccompSupport) error { return s.NotifyWake },
}

type checked struct {
	detail string
	err    error
}

var (
	checkMu sync.Mutex
	checks  = map[string]*checked{}
	// seccompOnce runs the seccomp helper once per process.
	seccompOnce = sync.OnceValue(func() SeccompSupport { return ProbeSeccomp(context.Background()) })
)

// Check runs the probe of the row named name once per process and returns
// its result, cached: the kernel's mechanisms do not change under a
// running vigil, and some probes load programs or start a helper. Every
// planner (sensors, policy, vigil doctor) asks here.
func Check(name string) (detail string, err error) {
	checkMu.Lock()
	c, ok := checks[name]
	checkMu.Unlock()
	if ok {
		return c.detail, c.err
	}
	c = &checked{}
	switch f, sc := probes[name], seccompRows[name]; {
	case f != nil:
		c.detail, c.err = f()
	case sc != nil:
		c.err = sc(seccompOnce())
	default:
		c.err = errUnknownProbe(name)
	}
	checkMu.Lock()
	if prev, ok := checks[name]; ok {
		c = prev // another goroutine won the race: one answer per process
	} else {
		checks[name] = c
	}
	checkMu.Unlock()
	return c.detail, c.err
}

type errUnknownProbe string

func (e errUnknownProbe) Error() string { return "no probe named " + string(e) }

// primeSeccomp runs the seccomp helper under ctx unless a result is
// cached already, and caches its rows.
func primeSeccomp(ctx context.Context) {
	checkMu.Lock()
	_, done := checks["seccomp-filter"]
	checkMu.Unlock()
	if done {
		return
	}
	sc := ProbeSeccomp(ctx)
	checkMu.Lock()
	defer checkMu.Unlock()
	for name, f := range seccompRows {
		if _, ok := checks[name]; !ok {
			checks[name] = &checked{err: f(sc)}
		}
	}
}
