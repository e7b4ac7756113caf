// Package sensor loads vigil's eBPF sensors, attaches each event type
// through the best mechanism the running kernel accepts, and turns the
// records of the shared ring buffer into events.
//
// A sensor is a named unit of programs, maps and links that start and
// close together (process: fork, exec, exit; module; mprotect; open). For
// each event type a sensor has a ladder of mechanisms, best first (fentry
// before tp_btf before classic tracepoints); Start tries them in order,
// loading and attaching for real, and keeps the first that works. The
// choice and the reason for every refusal are reported, never guessed.
//
// Errors: Start returns an error naming the program and the kernel's
// reason when no mechanism of a selected event type works.
package sensor

import (
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
)

// OpenFilter selects, in the kernel, which opens are reported. Empty
// fields do not filter; set fields are ANDed.
type OpenFilter struct {
	Pids     []uint32 // thread-group ids
	Comms    []string // task comms (at most 15 bytes each)
	Prefixes []string // prefixes of the path as the caller passed it
}

// Limits of OpenFilter, those of bpf/open.c.
const (
	MaxOpenPrefixes = 8
	MaxPrefixLen    = 127
	MaxFilterPids   = 1024
	MaxFilterComms  = 1024
)

// Config says what to watch.
type Config struct {
	// Types are the event types to report; programs of other types are
	// not loaded.
	Types []event.Type
	// Open filters open events in the kernel.
	Open OpenFilter
	// Net filters connect, accept and listen events in the kernel.
	Net NetFilter
	// FilePrefixes, when set, keep only the file-tampering events
	// (unlink, rename, link, symlink, chmod, chown) one of whose names,
	// as passed, starts with one of them (at most MaxOpenPrefixes, each
	// at most MaxPrefixLen bytes), filtered in the kernel.
	FilePrefixes []string
	// RingBytes is the ring buffer's size, a power of two multiple of the
	// page size; 0 means DefaultRingBytes.
	RingBytes int
	// MprotectAll reports every mprotect call. Otherwise the kernel
	// queues only those that matter for security: any that adds
	// PROT_EXEC, any writable and executable, any that makes executable
	// memory writable (and every mmap with PROT_EXEC, as always). Kill
	// rules see every call either way.
	MprotectAll bool
	// SelfTgid is excluded from open and mprotect events (vigil's own
	// reads of /proc would otherwise feed back); 0 excludes nothing.
	SelfTgid uint32
	// Rules are the policy rules the BPF programs enforce (kill, and
	// deny through BPF LSM); nil for none. Their event types must be in
	// Types.
	Rules *policy.KernelRules
	// ForceMechanism, when not empty, skips every rung of each ladder
	// whose mechanism is not this one (for tests of the fallbacks):
	// "fentry", "tp_btf", "tracepoint", "raw_syscall", or "compat" for the
	// compat build's rungs (bpf/include/common.h).
	ForceMechanism string
}

// DefaultRingBytes is the default ring buffer size: half a second of a
// 50,000 events/s storm, which the reader drains every 20 ms. The whole
// ring is resident (mapped twice into vigil), so it is most of vigil's
// memory: 8 MiB keeps the agent under 50 MB.
const DefaultRingBytes = 8 << 20

// Choice records which mechanism an event type uses, and why better ones
// were passed over.
type Choice struct {
	Type      event.Type
	Mechanism string   // e.g. "tp_btf/sched_process_fork"
	Refused   []string // better rungs that failed, each with the kernel's reason
}
