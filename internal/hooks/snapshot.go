package hooks

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/proc"
)

// Snapshot is every hook found in the running kernel at one moment; its
// JSON form is what vigil hooks --json prints and --diff reads back.
//
// A nil list means that kind could not be read (see Problems); an empty
// one means there is none.
type Snapshot struct {
	Taken       time.Time        `json:"taken"`
	Kernel      string           `json:"kernel"`
	BPF         []BPFProgram     `json:"bpf"`
	Seccomp     []SeccompProcess `json:"seccomp"`
	Ftrace      []FtraceHook     `json:"ftrace"`
	ProbeEvents []string         `json:"probe_events"`
	Livepatches []Livepatch      `json:"livepatches"`
	// Modules is nil when the kernel has no module support (no
	// /proc/modules) or, with an entry in Problems, when it is unreadable.
	Modules []Module `json:"modules"`
	Taint   Taint    `json:"taint"`
	LSMs    []string `json:"lsms"`
	// Problems says what could not be read, and why.
	Problems []string `json:"problems,omitempty"`
}

// BPFProgram is one loaded BPF program.
type BPFProgram struct {
	ID   uint32 `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
	Tag  string `json:"tag"`
	// Attach lists where the program's links attach it, e.g.
	// "tracepoint sched_process_fork" or "fentry kernel_clone". Programs
	// attached without a link (legacy perf event or cgroup attachment,
	// tc) or only loaded have none.
	Attach []string `json:"attach,omitempty"`
	Links  []uint32 `json:"links,omitempty"`
	// Owners are the processes holding a file descriptor to the program
	// or to one of its links.
	Owners []Owner `json:"owners,omitempty"`
	// Pinned lists bpffs paths pinning the program or its links.
	Pinned []string `json:"pinned,omitempty"`
}

// Owner is a process holding a BPF program or link.
type Owner struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
	// Via is "prog" or "link <id>".
	Via string `json:"via"`
}

// SeccompProcess is a process running under seccomp.
type SeccompProcess struct {
	PID int `json:"pid"`
	// StartTime is /proc/<pid>/stat field 22 (clock ticks after boot); with
	// PID it identifies the process across pid reuse.
	StartTime uint64 `json:"start_time"`
	Comm      string `json:"comm"`
	Cmdline   string `json:"cmdline"`
	// Mode is 1 for strict mode, 2 for filter mode.
	Mode    int `json:"mode"`
	Filters int `json:"filters"`
}

// FtraceHook is one function in tracefs enabled_functions.
type FtraceHook struct {
	Function string `json:"function"`
	// Count is how many ftrace_ops hook it (the "(N)" column).
	Count int `json:"count"`
	// Detail is the rest of the line: flags, trampoline, ops.
	Detail string `json:"detail,omitempty"`
}

// Livepatch is a kernel live patch.
type Livepatch struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
}

// Module is one line of /proc/modules.
type Module struct {
	Name  string `json:"name"`
	Size  uint64 `json:"size"`
	Refs  int    `json:"refs"`
	State string `json:"state"`
	Taint string `json:"taint,omitempty"`
}

// Taint is /proc/sys/kernel/tainted, decoded.
type Taint struct {
	Value uint64      `json:"value"`
	Flags []TaintFlag `json:"flags,omitempty"`
}

// TaintFlag is one set taint bit.
type TaintFlag struct {
	Bit     int    `json:"bit"`
	Letter  string `json:"letter"`
	Meaning string `json:"meaning"`
}

// Hook is one installed hook reduced to a stable identity for Diff.
type Hook struct {
	Kind string `json:"kind"`
	// Key identifies the hook across snapshots: BPF programs by
	// type/name/tag@attach points (not by id), seccomp processes by pid,
	// start time and filter count, others by name.
	Key     string `json:"key"`
	Summary string `json:"summary"`
}

// Hooks flattens the snapshot into hooks. Identical hooks appear as often
// as they are installed (two copies of one program, a function hooked by
// three ftrace_ops), so Diff counts them.
func (s *Snapshot) Hooks() []Hook {
	var hs []Hook
	for _, p := range s.BPF {
		attach := append([]string(nil), p.Attach...)
		sort.Strings(attach)
		at := strings.Join(attach, ",")
		key := fmt.Sprintf("%s/%s/%s@%s", p.Type, p.Name, p.Tag, at)
		if at == "" {
			at = "no link"
		}
		var owners []string
		for _, o := range p.Owners {
			owners = append(owners, fmt.Sprintf("%d %s", o.PID, proc.EscapeName(o.Comm)))
		}
		hs = append(hs, Hook{"bpf", key, fmt.Sprintf("%s %q id %d tag %s: %s (owners: %s)",
			p.Type, p.Name, p.ID, p.Tag, at, strings.Join(dedupe(owners), ", "))})
	}
	for _, p := range s.Seccomp {
		hs = append(hs, Hook{"seccomp", fmt.Sprintf("%d/%d/%d", p.PID, p.StartTime, p.Filters),
			fmt.Sprintf("pid %d %s: mode %d, %d filters (%s)", p.PID, proc.EscapeName(p.Comm), p.Mode, p.Filters, p.Cmdline)})
	}
	for _, f := range s.Ftrace {
		for i := 0; i < max(f.Count, 1); i++ {
			hs = append(hs, Hook{"ftrace", f.Function, fmt.Sprintf("%s (%d) %s", f.Function, f.Count, f.Detail)})
		}
	}
	for _, e := range s.ProbeEvents {
		hs = append(hs, Hook{"probe-event", e, e})
	}
	for _, l := range s.Livepatches {
		hs = append(hs, Hook{"livepatch", fmt.Sprintf("%s/%t", l.Name, l.Enabled), fmt.Sprintf("%s enabled=%t", l.Name, l.Enabled)})
	}
	for _, m := range s.Modules {
		hs = append(hs, Hook{"module", m.Name, fmt.Sprintf("%s %s %s", m.Name, m.State, m.Taint)})
	}
	for _, t := range s.Taint.Flags {
		hs = append(hs, Hook{"taint", t.Letter, fmt.Sprintf("%s (bit %d): %s", t.Letter, t.Bit, t.Meaning)})
	}
	for _, l := range s.LSMs {
		hs = append(hs, Hook{"lsm", l, l})
	}
	return hs
}

// Changes is the outcome of Diff.
type Changes struct {
	Appeared []Hook `json:"appeared"`
	Vanished []Hook `json:"vanished"`
}

// Diff reports the hooks in cur that base lacks (appeared) and those in
// base that cur lacks (vanished), counting identical keys as a multiset.
func Diff(base, cur *Snapshot) Changes {
	count := map[string]int{}
	for _, h := range base.Hooks() {
		count[h.Kind+"\x00"+h.Key]++
	}
	ch := Changes{Appeared: []Hook{}, Vanished: []Hook{}}
	for _, h := range cur.Hooks() {
		k := h.Kind + "\x00" + h.Key
		if count[k] > 0 {
			count[k]--
			continue
		}
		ch.Appeared = append(ch.Appeared, h)
	}
	for _, h := range base.Hooks() {
		k := h.Kind + "\x00" + h.Key
		if count[k] > 0 {
			count[k]--
			ch.Vanished = append(ch.Vanished, h)
		}
	}
	return ch
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
