package bench

import (
	"path/filepath"
	"testing"
)

// BenchmarkFileOverhead: a rename storm and a chmod storm (the file-
// tampering event types, issue 13), bare, under vigil with the type on
// (every call reported), with the type on but filtered out in the kernel
// (--file-prefix), and under bpftrace printing the same calls; ratios to
// bare in one run.
func BenchmarkFileOverhead(b *testing.B) { overhead(b, fileStorms()) }

func fileStorms() []storm {
	bare := peer{name: "bare"}
	vigilWith := func(name, events string, extra ...string) peer {
		return peer{name, func(b *testing.B, v string) *monitor {
			return startVigil(b, v, append([]string{"--events", events}, extra...)...)
		}}
	}
	bt := func(prog string) peer {
		return peer{"bpftrace", func(b *testing.B, _ string) *monitor { return startBpftrace(b, prog) }}
	}
	return []storm{
		{
			name: "rename",
			args: func(dir string) []string { return []string{"rename", "100000", filepath.Join(dir, "target")} },
			peers: []peer{bare,
				vigilWith("vigil-rename", "rename"),
				vigilWith("vigil-rename-filtered", "rename", "--file-prefix", "/nonexistent-vigil-prefix/"),
				bt(`tracepoint:syscalls:sys_enter_rename { printf("rename %d %s %s %s\n", pid, comm, str(args->oldname), str(args->newname)); }
tracepoint:syscalls:sys_exit_rename { printf("= %d\n", args->ret); }`),
			},
		},
		{
			name: "chmod",
			args: func(dir string) []string { return []string{"chmod", "100000", filepath.Join(dir, "target")} },
			peers: []peer{bare,
				vigilWith("vigil-chmod", "chmod"),
				vigilWith("vigil-chmod-filtered", "chmod", "--file-prefix", "/nonexistent-vigil-prefix/"),
				bt(`tracepoint:syscalls:sys_enter_chmod { printf("chmod %d %s %s %o\n", pid, comm, str(args->filename), args->mode); }
tracepoint:syscalls:sys_exit_chmod { printf("= %d\n", args->ret); }`),
			},
		},
	}
}
