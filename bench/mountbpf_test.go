package bench

import (
	"os"
	"testing"
)

// Storm lengths of BenchmarkMountBPF: a few seconds each, bare.
const (
	mountCalls   = "10000" // mount + umount2 pairs
	bpfLoadCalls = "5000"  // BPF_PROG_LOAD + close
)

// BenchmarkMountBPF measures the mount and bpf sensors on storms of
// their calls: a tmpfs mount + umount2 storm (in a private mount
// namespace) and a bpf(BPF_PROG_LOAD) storm, bare, under vigil monitor
// with that one type on, and under bpftrace tracing the same calls and
// printing the same facts. Each peer is reported as a ratio to bare.
func BenchmarkMountBPF(b *testing.B) { overhead(b, mountBPFStorms()) }

func mountBPFStorms() []storm {
	bare := peer{name: "bare"}
	vigil := func(events string) peer {
		return peer{"vigil", func(b *testing.B, v string) *monitor { return startVigil(b, v, "--events", events) }}
	}
	bt := func(prog string) peer {
		return peer{"bpftrace", func(b *testing.B, _ string) *monitor { return startBpftrace(b, prog) }}
	}
	withPeer := func(ps ...peer) []peer {
		if os.Getenv("VIGIL_BENCH_NO_PEERS") != "" {
			return ps[:2]
		}
		return ps
	}
	return []storm{
		{"mount", func(dir string) []string { return []string{"mount", mountCalls, dir} }, withPeer(bare, vigil("mount"),
			bt(`tracepoint:syscalls:sys_enter_mount { printf("mount %d %s %s %s %x\n", pid, str(args->dev_name), str(args->dir_name), str(args->type), args->flags); }
tracepoint:syscalls:sys_enter_umount { printf("umount %d %s %d\n", pid, str(args->name), args->flags); }
tracepoint:syscalls:sys_exit_mount,tracepoint:syscalls:sys_exit_umount { printf("ret %d %d\n", pid, args->ret); }`))},
		{"bpfload", func(string) []string { return []string{"bpfload", bpfLoadCalls} }, withPeer(bare, vigil("bpf"),
			bt(`tracepoint:syscalls:sys_enter_bpf /args->cmd == 5 || args->cmd == 8 || args->cmd == 17 || args->cmd == 28/ { @c[tid] = args->cmd + 1; }
tracepoint:syscalls:sys_exit_bpf /@c[tid]/ { printf("bpf %d %d %d\n", pid, @c[tid] - 1, args->ret); delete(@c[tid]); }`))},
	}
}
