// Package doctor finds out, by trying, which kernel mechanisms vigil can
// use on the running host, and decides from that which mechanism each of
// vigil's event sensors and enforcement actions will use (the plan).
//
// Every probe follows the error contract of cilium/ebpf's features
// package: nil means the mechanism works here, an error matching
// ErrNotSupported means the kernel lacks or refuses it (the error text is
// the exact reason, e.g. "EPERM loading fentry/kernel_clone"), and any
// other error means the probe could not tell, most often because vigil
// runs without the privileges the probe needs.
//
// Probes load and attach do-nothing programs for a moment and create and
// close file descriptors; the seccomp probes run in a child process (the
// running executable re-executed through HelperMain) because a seccomp
// filter can never be removed from the thread that installed it.
// Nothing a probe does outlives the probe, except that tracefs and
// securityfs are mounted at their standard places when they are missing.
//
// vigil doctor prints a Report; sensor start-up reuses the individual
// Probe functions and Resolve.
package doctor
