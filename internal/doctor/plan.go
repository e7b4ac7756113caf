package doctor

import (
	"fmt"
	"slices"
	"strings"
)

// Kind says whether a ladder is for an event sensor or an action.
type Kind string

// Ladder kinds.
const (
	Event  Kind = "event"
	Action Kind = "action"
)

// PointKind says where an attach point must exist for a rung to be usable.
type PointKind string

// Attach point kinds.
const (
	// BTFFunc is a kernel function in vmlinux BTF (fentry, fexit and LSM
	// targets; LSM hooks appear as bpf_lsm_<hook>).
	BTFFunc PointKind = "btf-func"
	// BTFTracepoint is a raw tracepoint with BTF, present in vmlinux BTF as
	// the typedef btf_trace_<name>.
	BTFTracepoint PointKind = "btf-tracepoint"
	// Tracepoint is a tracefs event, "group/name".
	Tracepoint PointKind = "tracepoint"
	// BTFField is a member of a struct in vmlinux BTF, "struct.member";
	// CO-RE programs that read it do not load without it.
	BTFField PointKind = "btf-field"
)

// Point is a kernel attach point a rung needs.
type Point struct {
	Kind PointKind `json:"kind"`
	Name string    `json:"name"`
	// Optional points may be missing (sys_open does not exist on arm64).
	Optional bool `json:"optional,omitempty"`
}

// Rung is one mechanism for a ladder, usable when every probe in Needs
// said yes (or, for a name written "!probe", said no) and every
// non-optional point exists.
type Rung struct {
	Mechanism string   `json:"mechanism"`
	Needs     []string `json:"needs"`
	Points    []Point  `json:"points,omitempty"`
}

// Ladder lists, best first, the mechanisms vigil can use for one event
// type or action.
type Ladder struct {
	Name  string `json:"name"`
	Kind  Kind   `json:"kind"`
	Rungs []Rung `json:"rungs"`
	// IfNone says what vigil does when no rung is usable.
	IfNone string `json:"if_none"`
}

// Ladders is the single list of mechanisms vigil implements for each event
// and action, in order of preference. vigil doctor prints it resolved;
// sensor and enforcer start-up read it to pick their attachment.
var Ladders = []Ladder{
	{Name: "fork", Kind: Event, IfNone: "no fork events", Rungs: []Rung{
		{"fexit/kernel_clone", []string{"fexit"}, []Point{{BTFFunc, "kernel_clone", false}}},
		{"tp_btf/sched_process_fork", []string{"tp-btf"}, []Point{{BTFTracepoint, "sched_process_fork", false}}},
	}},
	{Name: "exec", Kind: Event, IfNone: "no exec events", Rungs: withCompat(CompatLoops,
		Rung{"tp_btf/sched_process_exec", []string{"tp-btf", "bpf-loop", "atomics"}, []Point{{BTFTracepoint, "sched_process_exec", false}}},
	)},
	{Name: "exit", Kind: Event, IfNone: "no exit events", Rungs: []Rung{
		// acct_collect(code, group_dead) is do_exit()'s first call after it
		// knows whether the thread ends the process.
		{"fentry/acct_collect (in do_exit)", []string{"fentry"}, []Point{{BTFFunc, "acct_collect", false}}},
		{"tp_btf/sched_process_exit", []string{"tp-btf"}, []Point{{BTFTracepoint, "sched_process_exit", false}}},
	}},
	{Name: "module", Kind: Event, IfNone: "no module events", Rungs: withCompat(CompatLoops,
		// The calls' own entry points: a trampoline on these two calls
		// alone, where any syscall tracepoint slows every system call.
		Rung{ModuleFentry, []string{"fentry", "fexit", "bpf-loop", "atomics"}, sysFuncPoints("init_module", "finit_module")},
		Rung{"tracepoint/syscalls/sys_{enter,exit}_{init,finit}_module", []string{"tracepoint", "syscall-tracepoints", "bpf-loop", "atomics"},
			syscallPoints("both", "init_module", "finit_module")},
		// Kernels without CONFIG_MODULES have no module syscall tracepoints;
		// the raw sys_enter tracepoint, filtered by number, still sees the
		// calls, whose only possible result there is ENOSYS (sys_ni_syscall).
		Rung{"tp_btf/sys_enter (filtered by syscall number; no modules: ENOSYS)", []string{"tp-btf", "!modules", "bpf-loop", "atomics"},
			[]Point{{BTFTracepoint, "sys_enter", false}}},
		Rung{"tp_btf/sys_enter+sys_exit (filtered by syscall number)", []string{"tp-btf", "bpf-loop", "atomics"},
			[]Point{{BTFTracepoint, "sys_enter", false}, {BTFTracepoint, "sys_exit", false}}},
	)},
	{Name: "mprotect", Kind: Event, IfNone: "no mprotect events", Rungs: withCompat(CompatMprotect,
		Rung{MprotectFentry, []string{"fentry", "fexit", "task-storage", "find-vma", "bpf-loop"},
			sysFuncPoints("mprotect", "pkey_mprotect", "mmap")},
		// mmap only where it asks for PROT_EXEC, filtered at sys_enter_mmap.
		Rung{"tracepoint/syscalls/sys_{enter,exit}_{mprotect,pkey_mprotect,mmap}", []string{"tracepoint", "syscall-tracepoints", "task-storage", "find-vma", "bpf-loop"},
			syscallPoints("both", "mprotect", "pkey_mprotect", "mmap")},
	)},
	{Name: "open", Kind: Event, IfNone: "no open events", Rungs: append(append([]Rung{
		// First the calls' own entry points, off the syscall slow path.
		{OpenFentry + " + " + OpenIOUringReq, []string{"fentry", "fexit", "tp-btf", "task-storage", "bpf-loop", "atomics"},
			append(openFuncPoints(), Point{BTFTracepoint, "io_uring_submit_req", false}, Point{BTFTracepoint, "io_uring_req_failed", false},
				Point{BTFTracepoint, "io_uring_complete", false}, Point{BTFField, "io_kiocb.cmd", false}, Point{BTFField, "io_open.filename", false})},
		{OpenFentry + " + " + OpenIOUringSqe, []string{"fentry", "fexit", "tp-btf", "task-storage", "bpf-loop", "atomics"},
			append(openFuncPoints(), Point{BTFTracepoint, "io_uring_submit_sqe", false}, Point{BTFTracepoint, "io_uring_req_failed", false},
				Point{BTFTracepoint, "io_uring_complete", false}, Point{BTFField, "io_kiocb.cmd", false}, Point{BTFField, "io_open.filename", false})},
	}, withCompat(CompatOpen, Rung{OpenFentry, []string{"fentry", "fexit", "task-storage", "bpf-loop", "atomics"}, openFuncPoints()})...), append([]Rung{
		// The system calls, and io_uring's IORING_OP_OPENAT and _OPENAT2
		// (io_submit_sqe() traces a request once prepared, struct io_open
		// in req->cmd since 6.0; the tracepoint is io_uring_submit_req
		// since 6.3, io_uring_submit_sqe(req, ...) before).
		{OpenSyscalls + " + " + OpenIOUringReq, []string{"tracepoint", "syscall-tracepoints", "tp-btf", "task-storage", "bpf-loop", "atomics"},
			append(openPoints(), Point{BTFTracepoint, "io_uring_submit_req", false}, Point{BTFTracepoint, "io_uring_req_failed", false},
				Point{BTFTracepoint, "io_uring_complete", false}, Point{BTFField, "io_kiocb.cmd", false}, Point{BTFField, "io_open.filename", false})},
		{OpenSyscalls + " + " + OpenIOUringSqe, []string{"tracepoint", "syscall-tracepoints", "tp-btf", "task-storage", "bpf-loop", "atomics"},
			append(openPoints(), Point{BTFTracepoint, "io_uring_submit_sqe", false}, Point{BTFTracepoint, "io_uring_req_failed", false},
				Point{BTFTracepoint, "io_uring_complete", false}, Point{BTFField, "io_kiocb.cmd", false}, Point{BTFField, "io_open.filename", false})},
		// Every kernel with io_uring's req->cmd (6.0) passes the compat
		// probes: these two have no compat twins.
	},
		// Without io_uring's tracepoints (CONFIG_IO_URING off, or before
		// 6.0), opens through io_uring are not seen.
		withCompat(CompatOpen, Rung{OpenSyscalls, []string{"tracepoint", "syscall-tracepoints", "task-storage", "bpf-loop", "atomics"}, openPoints()})...)...)},
	connectLadder, acceptLadder, listenLadder,
	// File tampering (plan_file.go): one ladder per type.
	fileLadder("unlink"), fileLadder("rename"), fileLadder("link"),
	fileLadder("symlink"), fileLadder("chmod"), fileLadder("chown"),
	// The privilege sensor (bpf/priv.c). Hosts that refuse fentry and BPF
	// LSM leave the system calls' tracepoints, filtered at entry.
	{Name: "cred", Kind: Event, IfNone: "no cred events", Rungs: withCompat(CompatLoops,
		// Every path that changes a task's credentials ends in
		// commit_creds(new), with the old ones still in current->cred.
		Rung{CredCommit, []string{"fentry", "bpf-loop"}, []Point{{BTFFunc, "commit_creds", false}}},
		Rung{CredSyscalls, []string{"tracepoint", "syscall-tracepoints", "bpf-loop"},
			syscallPoints("both", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups", "capset", "execve", "execveat")},
	)},
	{Name: "ptrace", Kind: Event, IfNone: "no ptrace events", Rungs: withCompat(CompatLoops,
		Rung{PtraceSyscalls, []string{"tracepoint", "syscall-tracepoints", "bpf-loop"},
			syscallPoints("both", "ptrace", "process_vm_writev")},
	)},
	{Name: "namespace", Kind: Event, IfNone: "no namespace events", Rungs: withCompat(CompatLoops,
		// unshare(2)'s body is ksys_unshare; setns(2)'s is inlined in its
		// x86_64 syscall wrapper.
		Rung{NamespaceFentry, []string{"fentry", "fexit", "tp-btf", "bpf-loop"},
			[]Point{{BTFFunc, "ksys_unshare", false}, {BTFFunc, "__x64_sys_setns", false}, {BTFTracepoint, "sched_process_fork", false}}},
		Rung{NamespaceSyscalls, []string{"tracepoint", "syscall-tracepoints", "tp-btf", "bpf-loop"},
			append(syscallPoints("both", "unshare", "setns"), Point{BTFTracepoint, "sched_process_fork", false})},
	)},
	// Mount-table changes: rare (CAP_SYS_ADMIN), so syscall tracepoints
	// on these calls alone cost nothing elsewhere.
	{Name: "mount", Kind: Event, IfNone: "no mount events", Rungs: withCompat(CompatLoops,
		Rung{MountSyscalls, []string{"tracepoint", "syscall-tracepoints", "bpf-loop", "atomics"},
			syscallPoints("both", "mount", "umount", "move_mount", "pivot_root", "fsmount", "fsopen")},
	)},
	// bpf(2) program loads and attachments; sys_enter_bpf drops every
	// other command (map operations) at once. No fexit rung: fexit on
	// bpf_prog_load and bpf_link_settle would miss BPF_PROG_ATTACH, whose
	// attach functions are per type and mostly inlined.
	{Name: "bpf", Kind: Event, IfNone: "no bpf events", Rungs: withCompat(CompatLoops,
		Rung{BPFSyscalls, []string{"tracepoint", "syscall-tracepoints", "bpf-loop", "atomics"}, syscallPoints("both", "bpf")},
	)},
	{Name: "kill", Kind: Action, IfNone: "policy with kill refused", Rungs: []Rung{
		{"bpf_send_signal(SIGKILL) from the event's hook", []string{"bpf-send-signal"}, nil},
	}},
	{Name: "deny exec", Kind: Action, IfNone: "policy with deny exec refused", Rungs: []Rung{
		{"lsm/bprm_check_security", []string{"bpf-lsm", "lsm-bpf-active"}, []Point{{BTFFunc, "bpf_lsm_bprm_check_security", false}}},
		{"fanotify FAN_OPEN_EXEC_PERM", []string{"fanotify-exec-perm"}, nil},
	}},
	// Exec deny rules on files also stop the file being mapped executable
	// (ld.so /tmp/x/prog, LD_PRELOAD, dlopen run it without an exec).
	// Without BPF LSM the mprotect sensor kills the process at the
	// mapping call instead: the payload never runs, but the caller dies.
	{Name: "deny exec mapping", Kind: Action, IfNone: "deny exec rules do not cover mapping the file executable", Rungs: []Rung{
		{"lsm/mmap_file + lsm/file_mprotect", []string{"bpf-lsm", "lsm-bpf-active"},
			[]Point{{BTFFunc, "bpf_lsm_mmap_file", false}, {BTFFunc, "bpf_lsm_file_mprotect", false}}},
		{"bpf_send_signal(SIGKILL) at sys_{enter,exit}_{mmap,mprotect}", []string{"bpf-send-signal", "tracepoint", "syscall-tracepoints"},
			syscallPoints("both", "mmap", "mprotect")},
	}},
	{Name: "deny open", Kind: Action, IfNone: "policy with deny open refused", Rungs: []Rung{
		{"lsm/file_open", []string{"bpf-lsm", "lsm-bpf-active"}, []Point{{BTFFunc, "bpf_lsm_file_open", false}}},
		{"fanotify FAN_OPEN_PERM", []string{"fanotify-open-perm"}, nil},
	}},
	{Name: "deny mprotect", Kind: Action, IfNone: "policy with deny mprotect refused", Rungs: []Rung{
		{"lsm/file_mprotect + lsm/mmap_file", []string{"bpf-lsm", "lsm-bpf-active"},
			[]Point{{BTFFunc, "bpf_lsm_file_mprotect", false}, {BTFFunc, "bpf_lsm_mmap_file", false}}},
	}},
	{Name: "deny cred", Kind: Action, IfNone: "policy with deny cred refused", Rungs: []Rung{
		{"lsm/task_fix_setuid + lsm/task_fix_setgid + lsm/capset", []string{"bpf-lsm", "lsm-bpf-active"},
			[]Point{{BTFFunc, "bpf_lsm_task_fix_setuid", false}, {BTFFunc, "bpf_lsm_task_fix_setgid", false}, {BTFFunc, "bpf_lsm_capset", false}}},
	}},
	{Name: "deny ptrace", Kind: Action, IfNone: "policy with deny ptrace refused", Rungs: []Rung{
		{"lsm/ptrace_access_check + lsm/ptrace_traceme", []string{"bpf-lsm", "lsm-bpf-active"},
			[]Point{{BTFFunc, "bpf_lsm_ptrace_access_check", false}, {BTFFunc, "bpf_lsm_ptrace_traceme", false}}},
	}},
	{Name: "deny module", Kind: Action, IfNone: "policy with deny module refused", Rungs: []Rung{
		{"lsm/kernel_read_file + lsm/kernel_load_data", []string{"bpf-lsm", "lsm-bpf-active"},
			[]Point{{BTFFunc, "bpf_lsm_kernel_read_file", false}, {BTFFunc, "bpf_lsm_kernel_load_data", false}}},
	}},
	denyConnectLadder, denyAcceptLadder, denyListenLadder,
	fileDenyLadder("unlink"), fileDenyLadder("rename"), fileDenyLadder("link"),
	fileDenyLadder("symlink"), fileDenyLadder("chmod"), fileDenyLadder("chown"),
	{Name: "deny mount", Kind: Action, IfNone: "policy with deny mount refused", Rungs: []Rung{
		{"lsm/sb_mount + lsm/sb_umount + lsm/move_mount + lsm/sb_pivotroot", []string{"bpf-lsm", "lsm-bpf-active"},
			[]Point{{BTFFunc, "bpf_lsm_sb_mount", false}, {BTFFunc, "bpf_lsm_sb_umount", false},
				{BTFFunc, "bpf_lsm_move_mount", false}, {BTFFunc, "bpf_lsm_sb_pivotroot", false}}},
	}},
	{Name: "deny bpf", Kind: Action, IfNone: "policy with deny bpf refused", Rungs: []Rung{
		{"lsm/bpf", []string{"bpf-lsm", "lsm-bpf-active"}, []Point{{BTFFunc, "bpf_lsm_bpf", false}}},
	}},
}

// Mechanisms of the open ladder, shared with the sensor's rungs.
const (
	OpenSyscalls   = "tracepoint/syscalls/sys_{enter,exit}_{open,openat,openat2}"
	OpenIOUringReq = "tp_btf/io_uring_{submit_req,req_failed,complete}"
	OpenIOUringSqe = "tp_btf/io_uring_{submit_sqe,req_failed,complete}"
)

// Mechanisms of the fentry/fexit rungs on the system calls' entry points
// (__x64_sys_<name>), shared with the sensors' rungs.
const (
	MprotectFentry = "fentry/fexit __x64_sys_{mprotect,pkey_mprotect,mmap}"
	OpenFentry     = "fentry/fexit __x64_sys_{open,openat,openat2}"
	ModuleFentry   = "fentry/fexit __x64_sys_{init,finit}_module"
)

// sysFuncPoints returns the BTF functions __x64_sys_<name>, the system
// calls' entry points on x86-64 (arch/x86/include/asm/syscall_wrapper.h).
func sysFuncPoints(names ...string) []Point {
	var pts []Point
	for _, n := range names {
		pts = append(pts, Point{BTFFunc, "__x64_sys_" + n, false})
	}
	return pts
}

// openFuncPoints are the entry points of the open event's system calls.
func openFuncPoints() []Point { return sysFuncPoints("open", "openat", "openat2") }

// Mechanisms of the privilege sensor's ladders, shared with its rungs.
const (
	CredCommit        = "fentry/commit_creds"
	CredSyscalls      = "tracepoint/syscalls/sys_{enter,exit}_{set*id,setgroups,capset,execve,execveat}"
	PtraceSyscalls    = "tracepoint/syscalls/sys_{enter,exit}_{ptrace,process_vm_writev}"
	NamespaceFentry   = "fentry+fexit/{ksys_unshare,__x64_sys_setns} + tp_btf/sched_process_fork"
	NamespaceSyscalls = "tracepoint/syscalls/sys_{enter,exit}_{unshare,setns} + tp_btf/sched_process_fork"
)

// Mechanisms of the mount and bpf ladders, shared with the sensors' rungs.
const (
	MountSyscalls = "tracepoint/syscalls/sys_{enter,exit}_{mount,umount,move_mount,pivot_root,fsmount,fsopen}"
	BPFSyscalls   = "tracepoint/syscalls/sys_{enter,exit}_bpf (filtered by command)"
)

// openPoints are the syscall tracepoints of the open event.
func openPoints() []Point {
	return append(syscallPoints("both", "openat", "openat2"),
		Point{Tracepoint, "syscalls/sys_enter_open", true}, Point{Tracepoint, "syscalls/sys_exit_open", true})
}

// What each sensor's compat build (bpf/include/common.h, VIGIL_COMPAT)
// does instead, as its rungs' names say it.
const (
	CompatLoops    = "compat: bounded loops"
	CompatMprotect = "compat: bounded loops, in-flight by thread, old protection from the mm's rb-tree"
	CompatOpen     = "compat: bounded loops, in-flight by thread"
)

// CompatProbes are the probes that decide between a sensor's default
// object and its compat build: a default rung needs those of them its
// object uses; its compat twin needs none of them.
var CompatProbes = []string{"bpf-loop", "find-vma", "task-storage", "atomics"}

// withCompat returns rungs followed, after each that needs one of
// CompatProbes, by its twin built with VIGIL_COMPAT: the same hooks,
// named "<mechanism> (<what>)", needing none of those probes.
func withCompat(what string, rungs ...Rung) []Rung {
	var out []Rung
	for _, r := range rungs {
		out = append(out, r)
		var needs []string
		for _, n := range r.Needs {
			if !slices.Contains(CompatProbes, n) {
				needs = append(needs, n)
			}
		}
		if len(needs) == len(r.Needs) {
			continue
		}
		out = append(out, Rung{Mechanism: r.Mechanism + " (" + what + ")", Needs: needs, Points: r.Points})
	}
	return out
}

// syscallPoints returns the syscall tracepoints sys_enter_<name> and
// sys_exit_<name> (which is "enter", "exit" or "both") for each syscall.
func syscallPoints(which string, names ...string) []Point {
	var pts []Point
	for _, n := range names {
		if which != "exit" {
			pts = append(pts, Point{Tracepoint, "syscalls/sys_enter_" + n, false})
		}
		if which != "enter" {
			pts = append(pts, Point{Tracepoint, "syscalls/sys_exit_" + n, false})
		}
	}
	return pts
}

// Choice is a ladder resolved against one host.
type Choice struct {
	Ladder string `json:"ladder"`
	Kind   Kind   `json:"kind"`
	// Use is the mechanism vigil will use, empty when none is usable.
	Use string `json:"use"`
	// Fallback is the next usable mechanism below Use, if any.
	Fallback string `json:"fallback,omitempty"`
	// IfNone is what happens when Use is empty.
	IfNone string `json:"if_none,omitempty"`
	// Skipped says why each better mechanism than Use is unusable.
	Skipped []Skip `json:"skipped,omitempty"`
}

// Skip is a mechanism passed over and why.
type Skip struct {
	Mechanism string `json:"mechanism"`
	Reason    string `json:"reason"`
}

// PointChecker reports whether an attach point exists in the running
// kernel; an error means it could not tell.
type PointChecker func(Point) (bool, error)

// Resolve picks for each ladder the first rung whose probes said yes and
// whose attach points exist, and the next such rung as its fallback.
func Resolve(ladders []Ladder, results []Result, exists PointChecker) []Choice {
	status := make(map[string]Result, len(results))
	for _, r := range results {
		status[r.Name] = r
	}
	out := make([]Choice, 0, len(ladders))
	for _, l := range ladders {
		c := Choice{Ladder: l.Name, Kind: l.Kind}
		undecided := false
		for _, r := range l.Rungs {
			why, unknown := unusable(r, status, exists)
			undecided = undecided || unknown && c.Use == ""
			switch {
			case why != "" && c.Use == "":
				c.Skipped = append(c.Skipped, Skip{r.Mechanism, why})
			case why != "":
			case c.Use == "":
				c.Use = r.Mechanism
			case c.Fallback == "":
				c.Fallback = r.Mechanism
			}
		}
		switch {
		case c.Use == "" && undecided:
			c.IfNone = "undecided: some probes could not tell (run vigil doctor as root)"
		case c.Use == "":
			c.IfNone = l.IfNone
		}
		out = append(out, c)
	}
	return out
}

// unusable returns why rung r cannot be used, or "" when it can, and
// whether that is only for want of knowing (a probe could not tell).
func unusable(r Rung, status map[string]Result, exists PointChecker) (string, bool) {
	var why []string
	unknown := true
	for _, n := range r.Needs {
		if absent, ok := strings.CutPrefix(n, "!"); ok {
			res, ok := status[absent]
			switch {
			case !ok:
				why = append(why, absent+" not probed")
			case res.Status == Yes:
				why = append(why, absent+" available")
				unknown = false
			case res.Status == Unknown:
				why = append(why, absent+" unknown")
			}
			continue
		}
		res, ok := status[n]
		switch {
		case !ok:
			why = append(why, n+" not probed")
		case res.Status == No:
			why = append(why, n+": "+res.Reason)
			unknown = false
		case res.Status == Unknown:
			why = append(why, n+" unknown")
		}
	}
	if len(why) > 0 {
		return strings.Join(why, "; "), unknown
	}
	for _, p := range r.Points {
		ok, err := exists(p)
		switch {
		case err != nil:
			why = append(why, fmt.Sprintf("%s %s: %v", p.Kind, p.Name, err))
		case !ok && !p.Optional:
			why = append(why, fmt.Sprintf("no %s %s", p.Kind, p.Name))
		}
	}
	return strings.Join(why, "; "), false
}
