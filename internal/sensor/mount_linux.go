package sensor

import (
	"fmt"
	"path"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
)

// mountSensor reports mount, umount2, move_mount, pivot_root, fsopen and
// fsmount calls (bpf/mount.c).
type mountSensor struct {
	rec bpfobj.MountMountEvent
}

var mountRung = rung{mechanism: doctor.MountSyscalls, kind: "tracepoint",
	progs: []string{"mount_enter", "umount_enter", "move_mount_enter", "pivot_root_enter", "fsmount_enter", "fsopen_enter", "mount_exit"},
	also: map[string][]string{"mount_exit": {
		"tracepoint/syscalls/sys_exit_umount", "tracepoint/syscalls/sys_exit_move_mount",
		"tracepoint/syscalls/sys_exit_pivot_root", "tracepoint/syscalls/sys_exit_fsmount",
		"tracepoint/syscalls/sys_exit_fsopen",
	}}}

var mountRungs = []rung{mountRung, compat(mountRung, doctor.CompatLoops, bpfobj.LoadMountCompat)}

func (s *mountSensor) name() string                            { return "mount" }
func (s *mountSensor) types() []event.Type                     { return []event.Type{event.TypeMount} }
func (s *mountSensor) rungs() []rung                           { return mountRungs }
func (s *mountSensor) loadSpec() (*ebpf.CollectionSpec, error) { return bpfobj.LoadMount() }

var mountSyscalls = map[bpfobj.MountMountSyscall]string{
	bpfobj.MountMountSyscallMCALL_MOUNT:      "mount",
	bpfobj.MountMountSyscallMCALL_UMOUNT:     "umount2",
	bpfobj.MountMountSyscallMCALL_MOVE_MOUNT: "move_mount",
	bpfobj.MountMountSyscallMCALL_PIVOT_ROOT: "pivot_root",
	bpfobj.MountMountSyscallMCALL_FSMOUNT:    "fsmount",
	bpfobj.MountMountSyscallMCALL_FSOPEN:     "fsopen",
}

const (
	mntxSrcDir     = uint32(bpfobj.MountMountXflagsMNTX_SRC_DIR)
	mntxTgtDir     = uint32(bpfobj.MountMountXflagsMNTX_TGT_DIR)
	mntxDirSkipped = uint32(bpfobj.MountMountXflagsMNTX_DIR_SKIPPED)
)

func (s *mountSensor) decode(kind uint32, raw []byte, ev *event.Event) error {
	if kind != kindMount {
		return fmt.Errorf("mount sensor: unexpected record kind %d", kind)
	}
	load(&s.rec, raw)
	r := &s.rec
	name, ok := mountSyscalls[bpfobj.MountMountSyscall(r.Syscall)]
	if !ok {
		return fmt.Errorf("mount sensor: unknown call %d", r.Syscall)
	}
	m := &event.Mount{Syscall: name, Flags: r.Flags, AttrFlags: r.AttrFlags,
		SourceDirfd: r.SrcDfd, TargetDirfd: r.TgtDfd, Result: r.Result,
		Unresolved: r.Xflags&mntxDirSkipped != 0}
	off := uint32(0)
	m.Source = cstring(slice(r.Data[:], off, r.SrcLen))
	off += r.SrcLen
	m.Target = cstring(slice(r.Data[:], off, r.TgtLen))
	off += r.TgtLen
	m.FSType = cstring(slice(r.Data[:], off, r.FstypeLen))
	off += r.FstypeLen
	if r.Xflags&mntxSrcDir != 0 {
		m.ResolvedSource = resolveIn(joinPath(slice(r.Data[:], off, r.SrcDirLen), r.FileFlags), m.Source)
		off += r.SrcDirLen
	}
	if r.Xflags&mntxTgtDir != 0 {
		m.ResolvedTarget = resolveIn(joinPath(slice(r.Data[:], off, r.TgtDirLen), r.FileFlags), m.Target)
	}
	ev.Mount = m
	return nil
}

// resolveIn returns the relative path p (or, when p is empty, the
// directory itself: a dirfd with *_EMPTY_PATH) resolved lexically in dir.
func resolveIn(dir, p string) string {
	if p == "" {
		return dir
	}
	return path.Join(dir, p)
}
