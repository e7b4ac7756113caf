// Package seccomp runs a command tree under a seccomp user-notification
// supervisor: the filter builder (classic BPF assembled with
// golang.org/x/net/bpf, with named labels), the kernel ABI of user
// notification, the re-exec shim that installs the filter and execs the
// command, and the supervisor that answers notifications, performing
// opens on the callers' behalf and injecting the fds.
//
// The filter builder, rules and plan are pure Go and testable anywhere;
// the rest needs Linux 5.14 on x86_64. docs/run.md describes the design
// and what it guarantees.
//
// Errors: Run returns an error only when supervision could not be set up;
// everything the command does, including failing to start, is its exit
// status. Errors are wrapped with the action that failed ("installing
// seccomp filter: ...").
package seccomp
