package doctor

import "strings"

// FileOp describes the kernel side of one file-tampering event type
// (bpf/file.c): the functions that do the calls, the LSM entry they pass
// with the looked-up paths, and the system calls.
type FileOp struct {
	Type  string   // the event type
	Funcs []string // kernel functions of the calls: fentry (names) and fexit (result)
	Mid   []string // LSM hooks without "security_"/"bpf_lsm_": path_unlink, ...
	Calls []string // system calls with sys_enter_/sys_exit_ tracepoints
	// NewCalls are calls some kernels lack (fchmodat2, 6.6): the first
	// tracepoint rung has them, a second one goes without.
	NewCalls []string
	// Exits are inner functions whose fexit completes the event where
	// the compiler inlined a Funcs entry into its system call (chmod_common,
	// chown_common), so that its fentry never fires there.
	Exits []string
}

// FileOps are the file-tampering event types, in event.FileTypes order.
var FileOps = []FileOp{
	{"unlink", []string{"do_unlinkat", "do_rmdir"}, []string{"path_unlink", "path_rmdir"}, []string{"unlink", "unlinkat", "rmdir"}, nil, nil},
	{"rename", []string{"do_renameat2"}, []string{"path_rename"}, []string{"rename", "renameat", "renameat2"}, nil, nil},
	{"link", []string{"do_linkat"}, []string{"path_link"}, []string{"link", "linkat"}, nil, nil},
	{"symlink", []string{"do_symlinkat"}, []string{"path_symlink"}, []string{"symlink", "symlinkat"}, nil, nil},
	{"chmod", []string{"do_fchmodat", "vfs_fchmod"}, []string{"path_chmod"}, []string{"chmod", "fchmod", "fchmodat"}, []string{"fchmodat2"}, []string{"chmod_common"}},
	{"chown", []string{"do_fchownat", "vfs_fchown"}, []string{"path_chown"}, []string{"chown", "fchown", "lchown", "fchownat"}, nil, []string{"chown_common"}},
}

// FileOpOf returns the FileOp of event type t, and false for none.
func FileOpOf(t string) (FileOp, bool) {
	for _, o := range FileOps {
		if o.Type == t {
			return o, true
		}
	}
	return FileOp{}, false
}

func braces(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return "{" + strings.Join(names, ",") + "}"
}

func prefixed(p string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = p + n
	}
	return out
}

// FentryMechanism is the fentry rung of o: fentry and fexit on the
// functions, fentry on the security_path_* entries (no BPF LSM needed to
// observe).
func (o FileOp) FentryMechanism() string {
	m := "fentry+fexit/" + braces(o.Funcs)
	if o.Exits != nil {
		m += " + fexit/" + braces(o.Exits)
	}
	return m + " + fentry/" + braces(prefixed("security_", o.Mid))
}

// TracepointMechanism is the syscall tracepoint rung of o, with the
// calls some kernels lack when all is set.
func (o FileOp) TracepointMechanism(all bool) string {
	calls := o.Calls
	if all {
		calls = append(append([]string(nil), o.Calls...), o.NewCalls...)
	}
	return "tracepoint/syscalls/sys_{enter,exit}_" + braces(calls)
}

// DenyMechanism is the BPF LSM rung of o's deny ladder.
func (o FileOp) DenyMechanism() string { return "lsm/" + braces(o.Mid) }

// fileLadder is the event ladder of a file-tampering type: fentry/fexit
// on the kernel functions (exact paths from the kernel's dentries, io_uring
// included), then the system calls' tracepoints (paths joined in
// userspace), then their compat build.
func fileLadder(t string) Ladder {
	o, _ := FileOpOf(t)
	var pts []Point
	for _, f := range o.Funcs {
		pts = append(pts, Point{BTFFunc, f, false})
	}
	for _, f := range o.Exits {
		pts = append(pts, Point{BTFFunc, f, false})
	}
	for _, m := range o.Mid {
		pts = append(pts, Point{BTFFunc, "security_" + m, false})
	}
	rungs := []Rung{{o.FentryMechanism(), []string{"fentry", "fexit", "task-storage", "bpf-loop", "atomics"}, pts}}
	tp := []string{"tracepoint", "syscall-tracepoints", "bpf-loop", "atomics"}
	if o.NewCalls != nil {
		rungs = append(rungs, withCompat(CompatLoops, Rung{o.TracepointMechanism(true), tp,
			syscallPoints("both", append(append([]string(nil), o.Calls...), o.NewCalls...)...)})...)
	}
	rungs = append(rungs, withCompat(CompatLoops, Rung{o.TracepointMechanism(false), tp, syscallPoints("both", o.Calls...)})...)
	return Ladder{Name: t, Kind: Event, IfNone: "no " + t + " events", Rungs: rungs}
}

// fileDenyLadder is the deny ladder of a file-tampering type: BPF LSM's
// path hooks, or nothing (fanotify has no permission event for these).
func fileDenyLadder(t string) Ladder {
	o, _ := FileOpOf(t)
	var pts []Point
	for _, m := range o.Mid {
		pts = append(pts, Point{BTFFunc, "bpf_lsm_" + m, false})
	}
	return Ladder{Name: "deny " + t, Kind: Action, IfNone: "policy with deny " + t + " refused",
		Rungs: []Rung{{o.DenyMechanism(), []string{"bpf-lsm", "lsm-bpf-active"}, pts}}}
}
