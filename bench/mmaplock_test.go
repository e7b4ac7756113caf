package bench

import (
	"testing"
)

// BenchmarkMprotectHooks weighs, on a kernel without fentry (this
// project's hosts), a hook off the system-call path for mprotect against
// the syscall tracepoints vigil uses there. The mmap_lock tracepoints
// (include/trace/events/mmap_lock.h, 5.11+) fire where mprotect and mmap
// take the address space's write lock; a program there would read the
// call and its arguments from the task's registers. Both hooks are
// bpftrace programs that only count, so that the comparison is of where
// the hook sits, not of what it does: the getpid storm shows what each
// costs calls nobody watches (a syscall tracepoint sends every call of
// every task through the kernel's slow path), the mprotect storm what it
// costs the calls watched.
func BenchmarkMprotectHooks(b *testing.B) {
	bare := peer{name: "bare"}
	syscallTP := peer{"bpftrace-syscall-tp", func(b *testing.B, _ string) *monitor {
		return startBpftrace(b, `tracepoint:syscalls:sys_enter_mprotect { @enter = count(); }
tracepoint:syscalls:sys_exit_mprotect { @exit = count(); }`)
	}}
	// The write lock alone: mprotect, mmap, munmap, brk and the like;
	// page faults take it for reading.
	mmapLock := peer{"bpftrace-mmap-lock", func(b *testing.B, _ string) *monitor {
		return startBpftrace(b, `tracepoint:mmap_lock:mmap_lock_acquire_returned /args->write/ { @locked = count(); }
tracepoint:mmap_lock:mmap_lock_released /args->write/ { @released = count(); }`)
	}}
	vigil := peer{"vigil", func(b *testing.B, v string) *monitor { return startVigil(b, v) }}
	overhead(b, []storm{
		{name: "getpid", args: func(string) []string { return []string{"getpid", "2000000"} }, peers: []peer{bare, syscallTP, mmapLock, vigil}},
		{name: "mprotect", args: func(string) []string { return []string{"mprotect", "300000"} }, peers: []peer{bare, syscallTP, mmapLock, vigil}},
	})
}
