// Package dynhook runs the hooks of a policy's hooks section
// (docs/hooks.md): any tracepoint, raw tracepoint or kernel function, by
// name, with arguments fetched through the kernel's BTF.
//
// No compiler runs on the host. bpf/hook.c holds one generic program per
// mechanism (tp_btf, raw_tp, fentry, fexit, fmod_ret, kprobe,
// kretprobe); Resolve turns each policy hook into a configuration for it
// (argument "fetch programs": which context slot, which pointers to follow
// at which offsets, what to read at the end), computed here from
// /sys/kernel/btf/vmlinux; Start loads one copy of the program per hook
// with that configuration as a frozen read-only global, so the verifier
// prunes every step a hook does not use, and attaches it.
//
// Errors: Resolve returns every problem at once as yamldoc errors at the
// hook's file:line:col, with the closest existing names for a misspelled
// tracepoint, function, argument or member. Start returns, per hook, the
// kernel's refusal of every mechanism it tried.
package dynhook
