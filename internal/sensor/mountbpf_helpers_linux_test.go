package sensor

import (
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// helperMount, run in its own mount namespace in directory dir (which
// holds the empty directories a, b, c, d, e), makes every kind of mount
// call with relative paths: a tmpfs mount, a bind mount, a move, two
// umounts, the new mount API (fsopen, fsmount, move_mount) and a
// pivot_root, whose result it prints (rootfs refuses it: EINVAL).
func helperMount(args []string) int {
	dir := args[len(args)-1]
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		return 1
	}
	if err := os.Chdir(dir); err != nil {
		return fail("chdir", err)
	}
	if err := unix.Mount("tmpfs", "a", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m"); err != nil {
		return fail("mount tmpfs", err)
	}
	if err := unix.Mount("a", "b", "", unix.MS_BIND, ""); err != nil {
		return fail("bind mount", err)
	}
	if err := unix.Mount("b", "c", "", unix.MS_MOVE, ""); err != nil {
		return fail("move mount", err)
	}
	if err := unix.Unmount("c", 0); err != nil {
		return fail("umount c", err)
	}
	if err := unix.Unmount("a", unix.MNT_DETACH); err != nil {
		return fail("umount a", err)
	}
	fs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fail("fsopen", err)
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return fail("fsconfig", err)
	}
	mnt, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return fail("fsmount", err)
	}
	if err := unix.MoveMount(mnt, "", unix.AT_FDCWD, "d", unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fail("move_mount", err)
	}
	unix.Close(mnt)
	unix.Close(fs)
	if err := unix.Unmount("d", 0); err != nil {
		return fail("umount d", err)
	}
	if err := unix.Mount("tmpfs", "e", "tmpfs", 0, ""); err != nil {
		return fail("mount e", err)
	}
	if err := os.Mkdir("e/old", 0o755); err != nil {
		return fail("mkdir", err)
	}
	fmt.Println(unix.PivotRoot("e", "e/old"))
	return 0
}

// helperMountFail tries to mount a tmpfs on a directory that does not
// exist, which changes nothing.
func helperMountFail(args []string) int {
	err := unix.Mount("tmpfs", args[len(args)-1], "tmpfs", 0, "")
	fmt.Fprintln(os.Stderr, "mount:", err)
	return 1
}

// helperBPF loads a socket filter named vigil_sf and a raw tracepoint
// program named vigil_rtp, which it attaches to sched_process_free
// (BPF_RAW_TRACEPOINT_OPEN) and, given a cgroup directory, a cgroup skb
// program vigil_skb linked to it (BPF_LINK_CREATE, or BPF_PROG_ATTACH on
// kernels without cgroup links). It prints "NAME ID" for each.
func helperBPF(args []string) int {
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		return 1
	}
	ret0 := asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}
	ret1 := asm.Instructions{asm.Mov.Imm(asm.R0, 1), asm.Return()}
	printID := func(p *ebpf.Program, name string) error {
		info, err := p.Info()
		if err != nil {
			return err
		}
		id, _ := info.ID()
		fmt.Println(name, id)
		return nil
	}
	sf, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "vigil_sf", Type: ebpf.SocketFilter, Instructions: ret0, License: "MIT"})
	if err != nil {
		return fail("loading socket filter", err)
	}
	defer sf.Close()
	if err := printID(sf, "vigil_sf"); err != nil {
		return fail("socket filter info", err)
	}
	rtp, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "vigil_rtp", Type: ebpf.RawTracepoint, Instructions: ret0, License: "GPL"})
	if err != nil {
		return fail("loading raw tracepoint program", err)
	}
	defer rtp.Close()
	if err := printID(rtp, "vigil_rtp"); err != nil {
		return fail("raw tracepoint program info", err)
	}
	l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_process_free", Program: rtp})
	if err != nil {
		return fail("attaching raw tracepoint", err)
	}
	defer l.Close()
	if len(args) == 0 || args[len(args)-1] == "-" {
		return 0
	}
	skb, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "vigil_skb", Type: ebpf.CGroupSKB, AttachType: ebpf.AttachCGroupInetIngress,
		Instructions: ret1, License: "MIT"})
	if err != nil {
		return fail("loading cgroup skb program", err)
	}
	defer skb.Close()
	if err := printID(skb, "vigil_skb"); err != nil {
		return fail("cgroup skb program info", err)
	}
	cl, err := link.AttachCgroup(link.CgroupOptions{Path: args[len(args)-1], Attach: ebpf.AttachCGroupInetIngress, Program: skb})
	if err != nil {
		return fail("attaching to cgroup", err)
	}
	defer cl.Close()
	return 0
}
