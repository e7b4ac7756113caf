// Package event defines vigil's event model and its stable JSON form
// (documented in docs/events.md). It is pure Go: it knows nothing of BPF,
// /proc or the kernel, so every sensor, the policy engine, the seccomp
// supervisor and every output share one schema.
//
// Strings that come from the kernel (paths, argv, comm) are arbitrary
// bytes. The JSON form keeps them unambiguous: valid UTF-8 is written as
// is (escaped as JSON requires), and each byte that is not part of valid
// UTF-8 is written as a lone surrogate \udc80-\udcff, the convention of
// PEP 383 ("surrogateescape"). Valid UTF-8 can never contain those code
// points, so Decode gives back the exact bytes.
package event

import "time"

// SchemaVersion is the version of the JSON schema, written in every event
// as "schema". It changes only when a field changes meaning or goes away.
const SchemaVersion = 1

// Type names an event type. The names are the JSON "type" values.
type Type string

// The event types.
const (
	TypeFork      Type = "fork"
	TypeExec      Type = "exec"
	TypeExit      Type = "exit"
	TypeModule    Type = "module"
	TypeMprotect  Type = "mprotect"
	TypeOpen      Type = "open"
	TypeCred      Type = "cred"       // a change of credentials (set*id, setgroups, capset, setuid exec)
	TypePtrace    Type = "ptrace"     // ptrace of, or process_vm_writev into, another process
	TypeNamespace Type = "namespace"  // unshare, setns, clone into new namespaces
	TypeSyscall   Type = "syscall"    // a call intercepted by vigil run that is not an open
	TypeLost      Type = "lost"       // periodic report of events the kernel could not queue
	TypeHook      Type = "hook"       // a policy hook (docs/hooks.md) fired with action log
	TypeHookCount Type = "hook_count" // a count hook's matches over one interval
)

// KernelTypes are the event types the monitor's sensors produce, in the
// order used for summaries.
var KernelTypes = []Type{TypeFork, TypeExec, TypeExit, TypeModule, TypeMprotect, TypeOpen,
	TypeConnect, TypeAccept, TypeListen,
	TypeUnlink, TypeRename, TypeLink, TypeSymlink, TypeChmod, TypeChown,
	TypeCred, TypePtrace, TypeNamespace,
	TypeMount, TypeBPF,
}

// ParseType returns the Type named s, or false if s names none of
// KernelTypes.
func ParseType(s string) (Type, bool) {
	for _, t := range KernelTypes {
		if string(t) == s {
			return t, true
		}
	}
	return "", false
}

// Event is one observation. Exactly one of the per-type pointers is set,
// the one that matches Type (none for TypeLost, which uses Lost).
type Event struct {
	Type Type
	// Time is the wall-clock time of the event.
	Time time.Time
	// KernelNS is the kernel's monotonic clock (bpf_ktime_get_ns) at the
	// event, for ordering; zero where the source has none.
	KernelNS uint64
	Process  Process

	Fork      *Fork
	Exec      *Exec
	Exit      *Exit
	Module    *Module
	Mprotect  *Mprotect
	Open      *Open
	Net       *Net  // connect, accept and listen
	File      *File // unlink, rename, link, symlink, chmod, chown
	Syscall   *Syscall
	Lost      *Lost
	Hook      *Hook
	Cred      *Cred
	Ptrace    *Ptrace
	Namespace *Namespace
	Mount     *Mount
	BPF       *BPF

	// Verdict is set when a policy rule matched the event.
	Verdict *Verdict
}

// Process is the acting process: the task that made the call or, for
// fork, the parent.
type Process struct {
	Pid  uint32 // thread-group id (what userspace calls the pid)
	Tid  uint32 // thread id
	Ppid uint32 // parent's thread-group id
	Uid  uint32 // real uid
	Gid  uint32 // real gid
	Comm string // task comm, at most 15 bytes
	Exe  string // absolute path of the executable, "" when unknown
	// ParentComm and ParentExe describe the parent, from the process
	// table; empty when the parent is unknown.
	ParentComm string
	ParentExe  string
	// Ancestors is the chain above the process, parent first, from the
	// process table: up to MaxAncestors entries, ending early at pid 1
	// or at a process the table does not know.
	Ancestors []Ancestor
	// Cgroup, Namespaces and Container are the process's container
	// context (container.go): zero, zero and nil where the source gives
	// none. Container is nil for a process on the host.
	Cgroup     Cgroup
	Namespaces Namespaces
	Container  *Container
}

// MaxAncestors bounds Process.Ancestors: deep enough for init ->
// service manager -> service -> shell -> ... -> the actor on a
// container host, short enough to keep events small.
const MaxAncestors = 8

// Ancestor is one process above the acting one.
type Ancestor struct {
	Pid  uint32
	Comm string
	Exe  string // "" when unknown (kernel threads)
	// Start is when the process was forked (or, for processes older
	// than vigil, started); zero when unknown.
	Start time.Time
	// Args is the argv of its last exec, bounded; nil when the table
	// has not seen one. Shared, never modified: do not write to it.
	Args []string
}

// Fork is a new task: a process or a thread.
type Fork struct {
	ChildPid   uint32
	ChildTid   uint32
	CloneFlags uint64 // 0 where the mechanism does not give them
	HasFlags   bool   // CloneFlags is known
	Thread     bool   // the child is a thread of the parent's group
}

// Exec is a successful execve/execveat: the new image is in place.
type Exec struct {
	Filename  string   // the file name the caller passed
	Path      string   // the absolute path of the file executed
	Args      []string // argv, bounded
	Truncated bool     // Args or one of them was cut
	Euid      uint32
	BaseAddr  uint64 // mm->start_code of the new image
	Memfd     bool   // the binary is a memfd (fileless execution)
	Deleted   bool   // the binary's file has no link left
	Dev       uint64 // device of the executed file (new_encode_dev form)
	Ino       uint64 // inode of the executed file
}

// Exit is the end of a thread or of a whole process.
type Exit struct {
	Code    int32 // exit status (0-255), meaningful when Signal is 0
	Signal  int32 // terminating signal, 0 for a normal exit
	Thread  bool  // only a thread ended; the process goes on
	CoreDmp bool  // a core was dumped
}

// Module is an attempt to load a kernel module.
type Module struct {
	Syscall string // "init_module" or "finit_module"
	Name    string // module name where the kernel gives it
	Path    string // the file, for finit_module
	Fd      int32  // the fd passed to finit_module, -1 otherwise
	Result  int64  // 0 or -errno
}

// Mprotect is a change of memory permissions: an mprotect or
// pkey_mprotect call, or an mmap call that asks for PROT_EXEC.
type Mprotect struct {
	Syscall string // "mprotect", "pkey_mprotect" or "mmap"
	Addr    uint64 // for mmap, the address asked for (the mapping's is Result)
	Len     uint64
	Prot    uint32 // requested PROT_* bits
	OldProt uint32 // PROT_* bits of the mapping at Addr before the call, where known
	HasOld  bool   // OldProt is known
	WX      bool   // the range becomes writable and executable, or flips between the two
	// MapFlags and Fd are mmap's MAP_* flags and descriptor (-1 for none);
	// zero for mprotect.
	MapFlags uint32
	Fd       int32
	// HasFile says Dev and Ino name the file mapped: mmap's file, or, for
	// an mprotect adding PROT_EXEC, the file of a mapping in the range.
	HasFile bool
	Dev     uint64
	Ino     uint64
	// FilesUnchecked says exec rules on files were checked against only
	// the first mappings of an mprotect range that spans more: kernels
	// without bpf_find_vma (before 5.17) give vigil no bounded walk of
	// them all.
	FilesUnchecked bool
	Result         int64 // 0 (mmap: the address mapped) or -errno
}

// Open is an open, openat or openat2 call, or an io_uring request that
// does the same.
type Open struct {
	Syscall      string // "open", "openat" or "openat2"
	Path         string // as the caller gave it
	ResolvedPath string // absolute path of the file opened, where known
	Dirfd        int32
	Flags        uint32 // O_* flags
	Mode         uint32
	Result       int64 // fd or -errno
	// Via is "" for a system call, ViaIOUring for an io_uring request
	// (IORING_OP_OPENAT for Syscall "openat", _OPENAT2 for "openat2").
	Via string
	// FixedFile: io_uring opened into a registered file slot; Result is
	// 0 or the slot picked, not a descriptor.
	FixedFile bool
	// Unresolved: the open succeeded but the file could not be looked up.
	Unresolved bool
	// NoResult: an io_uring request that asked for no completion on
	// success (IOSQE_CQE_SKIP_SUCCESS), reported at submission; Result is
	// not known.
	NoResult bool
}

// ViaIOUring is Open.Via for an open made through io_uring.
const ViaIOUring = "io_uring"

// Syscall is any other call intercepted by vigil run.
type Syscall struct {
	Name   string
	Nr     int32
	Args   [6]uint64
	Result int64
}

// Lost reports events the kernel could not queue since the previous
// report, per type.
type Lost struct {
	Counts map[Type]uint64
}

// Verdict records that a policy rule matched.
type Verdict struct {
	Rule     string
	Action   string // "log", "kill" or "deny"; vigil run also "redirect", "allow"
	Enforced bool   // the action took effect (false: could not, or log)
	// Mechanism names what carried the action out, e.g. "bpf_send_signal",
	// "fanotify", "lsm", "seccomp".
	Mechanism string
	// Severity is the rule's severity ("info" to "critical"), "" when
	// the rule gives none; alert routing sends events that have one.
	Severity string
	// Mitre is the rule's MITRE ATT&CK technique id, "" when none.
	Mitre string
}

// Alert reports whether ev is an alert: it carries the verdict of a rule
// with a severity. Alert routing (--alerts-only, the NATS alert subject)
// sends exactly these.
func (e *Event) Alert() bool { return e.Verdict != nil && e.Verdict.Severity != "" }

// Sink receives events: the sensors' reader hands every decoded event to
// one, and every output, exporter and verdict stage is one. Emit must not
// keep ev; Flush is called whenever the ring buffer runs dry, so buffered
// output reaches its reader promptly.
type Sink interface {
	Emit(ev *Event) error
	Flush() error
}

// Hook is a dynamic hook's record (docs/hooks.md): the hook that fired,
// the values of its arguments and, with return: true, the return value.
// For a TypeHookCount event, only Name, Target, Mechanism, Count and
// Interval are set.
type Hook struct {
	Name      string    // the hook's name in the policy
	Target    string    // "tracepoint:signal/signal_generate", "function:do_init_module"
	Mechanism string    // "tp_btf", "raw_tp", "fentry", "fexit", "kprobe", "kretprobe", "fmod_ret"
	Args      []HookArg // in the order of the hook's args
	HasRet    bool
	Ret       int64
	Killed    bool // the hook sent SIGKILL to the acting process
	Count     uint64
	Interval  time.Duration
}

// HookArg is one argument's value: a string (Str, IsStr) or an integer
// (Int; Signed says how to read it).
type HookArg struct {
	Name   string // as written in the policy: "sig", "mod->name"
	IsStr  bool
	Str    string
	Int    uint64
	Signed bool
}
