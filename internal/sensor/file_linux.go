package sensor

import (
	"fmt"
	"path"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
)

// fileSensor reports file tampering: unlink (and rmdir), rename, link,
// symlink, chmod and chown (bpf/file.c). Each type is loaded on its own
// through doctor.FileOps's ladder, filtered in the kernel by
// Config.FilePrefixes.
type fileSensor struct {
	rec bpfobj.FileFileEvent
}

// fileRungs are every file type's rungs, named as doctor's ladders name
// them: fentry, then the syscall tracepoints (chmod: with fchmodat2, then
// without) and their compat twins.
var fileRungs = func() []rung {
	var out []rung
	for _, o := range doctor.FileOps {
		var progs []string
		for _, f := range o.Funcs {
			progs = append(progs, fileFentryProgs[f]...)
		}
		for _, f := range o.Exits {
			progs = append(progs, f+"_exit")
		}
		for _, m := range o.Mid {
			progs = append(progs, fileMidProgs[m])
		}
		out = append(out, rung{mechanism: o.FentryMechanism(), kind: "fentry", progs: progs})
		tp := func(calls []string, all bool) {
			r := rung{mechanism: o.TracepointMechanism(all), kind: "tracepoint", also: map[string][]string{}}
			exit := o.Type + "_exit"
			for _, c := range calls {
				r.progs = append(r.progs, c+"_enter")
				if c != o.Type {
					r.also[exit] = append(r.also[exit], "tracepoint/syscalls/sys_exit_"+c)
				}
			}
			r.progs = append(r.progs, exit)
			out = append(out, r, compat(r, doctor.CompatLoops, bpfobj.LoadFileCompat))
		}
		if o.NewCalls != nil {
			tp(append(append([]string(nil), o.Calls...), o.NewCalls...), true)
		}
		tp(o.Calls, false)
	}
	return out
}()

// fileFentryProgs are the fentry and fexit programs of each kernel function.
var fileFentryProgs = map[string][]string{
	"do_unlinkat":  {"unlink_fn", "unlink_fn_exit"},
	"do_rmdir":     {"rmdir_fn", "rmdir_fn_exit"},
	"do_renameat2": {"rename_fn", "rename_fn_exit"},
	"do_linkat":    {"link_fn", "link_fn_exit"},
	"do_symlinkat": {"symlink_fn", "symlink_fn_exit"},
	"do_fchmodat":  {"chmod_fn", "chmod_fn_exit"},
	"vfs_fchmod":   {"chmod_fd_fn", "chmod_fd_fn_exit"},
	"do_fchownat":  {"chown_fn", "chown_fn_exit"},
	"vfs_fchown":   {"chown_fd_fn", "chown_fd_fn_exit"},
}

// fileMidProgs are the fentry programs on each security_path_* entry.
var fileMidProgs = map[string]string{
	"path_unlink": "unlink_mid_unlink", "path_rmdir": "unlink_mid_rmdir", "path_rename": "rename_mid",
	"path_link": "link_mid", "path_symlink": "symlink_mid", "path_chmod": "chmod_mid", "path_chown": "chown_mid",
}

func (s *fileSensor) name() string                            { return "file" }
func (s *fileSensor) types() []event.Type                     { return event.FileTypes }
func (s *fileSensor) rungs() []rung                           { return fileRungs }
func (s *fileSensor) loadSpec() (*ebpf.CollectionSpec, error) { return bpfobj.LoadFile() }

var fileSyscalls = map[bpfobj.FileFileSyscall]string{
	bpfobj.FileFileSyscallFSC_UNLINK: "unlink", bpfobj.FileFileSyscallFSC_UNLINKAT: "unlinkat", bpfobj.FileFileSyscallFSC_RMDIR: "rmdir",
	bpfobj.FileFileSyscallFSC_RENAME: "rename", bpfobj.FileFileSyscallFSC_RENAMEAT: "renameat", bpfobj.FileFileSyscallFSC_RENAMEAT2: "renameat2",
	bpfobj.FileFileSyscallFSC_LINK: "link", bpfobj.FileFileSyscallFSC_LINKAT: "linkat",
	bpfobj.FileFileSyscallFSC_SYMLINK: "symlink", bpfobj.FileFileSyscallFSC_SYMLINKAT: "symlinkat",
	bpfobj.FileFileSyscallFSC_CHMOD: "chmod", bpfobj.FileFileSyscallFSC_FCHMOD: "fchmod",
	bpfobj.FileFileSyscallFSC_FCHMODAT: "fchmodat", bpfobj.FileFileSyscallFSC_FCHMODAT2: "fchmodat2",
	bpfobj.FileFileSyscallFSC_CHOWN: "chown", bpfobj.FileFileSyscallFSC_FCHOWN: "fchown",
	bpfobj.FileFileSyscallFSC_LCHOWN: "lchown", bpfobj.FileFileSyscallFSC_FCHOWNAT: "fchownat",
}

// Flags of struct file_event (enum file_xflags).
const (
	fxBase1       = uint32(bpfobj.FileFileXflagsFX_BASE1)
	fxBase2       = uint32(bpfobj.FileFileXflagsFX_BASE2)
	fxUnresolved1 = uint32(bpfobj.FileFileXflagsFX_UNRESOLVED1)
	fxUnresolved2 = uint32(bpfobj.FileFileXflagsFX_UNRESOLVED2)
	fxIOUring     = uint32(bpfobj.FileFileXflagsFX_IO_URING)
	fxFD          = uint32(bpfobj.FileFileXflagsFX_FD)
)

func (s *fileSensor) decode(kind uint32, raw []byte, ev *event.Event) error {
	t := kindTypes[kind]
	if !event.IsFileType(t) {
		return fmt.Errorf("file sensor: unexpected record kind %d", kind)
	}
	load(&s.rec, raw)
	r := &s.rec
	data := r.Data[:]
	name1 := cstring(slice(data, 0, r.Name1Len))
	name2 := cstring(slice(data, r.Name1Len, r.Name2Len))
	off := r.Name1Len + r.Name2Len
	p1 := slice(data, off, r.Path1Len)
	p2 := slice(data, off+r.Path1Len, r.Path2Len)
	f := &event.File{Syscall: fileSyscalls[bpfobj.FileFileSyscall(r.Syscall)], Dirfd: r.Dirfd, NewDirfd: r.Newdirfd,
		FD: r.Xflags&fxFD != 0, Flags: r.Flags, Mode: r.Mode, Uid: int64(int32(r.Uid)), Gid: int64(int32(r.Gid)), Result: r.Result}
	if r.Xflags&fxIOUring != 0 {
		f.Via = event.ViaIOUring
	}
	var lex1, lex2, un1, un2 bool
	if t == event.TypeSymlink {
		f.Target = name1
		f.NewName = name2
		f.Path, lex2, un2 = resolved(name2, p2, r.FileFlags2, r.Xflags, fxBase2, fxUnresolved2)
	} else {
		f.Name, f.NewName = name1, name2
		if f.FD {
			f.Path, un1 = joinPath(p1, r.FileFlags1), len(p1) == 0
		} else {
			f.Path, lex1, un1 = resolved(name1, p1, r.FileFlags1, r.Xflags, fxBase1, fxUnresolved1)
		}
		if t == event.TypeRename || t == event.TypeLink {
			f.NewPath, lex2, un2 = resolved(name2, p2, r.FileFlags2, r.Xflags, fxBase2, fxUnresolved2)
		}
	}
	f.Lexical, f.Unresolved = lex1 || lex2, un1 || un2
	ev.File = f
	return nil
}

// resolved returns the absolute path of a name: the kernel's path of the
// object (comps), or the name joined to its base directory (base set:
// lexical), or the name itself when absolute; the name as passed, and
// unresolved, when none of these is known.
func resolved(name string, comps []byte, fflags, xflags, base, unres uint32) (p string, lexical, unresolved bool) {
	switch {
	case xflags&base != 0 && len(comps) > 0:
		return path.Join(joinPath(comps, fflags), name), true, false
	case xflags&base == 0 && len(comps) > 0:
		return joinPath(comps, fflags), false, false
	case xflags&unres == 0 && path.IsAbs(name):
		return path.Clean(name), true, false
	}
	return name, false, true
}

func (s *fileSensor) vars(cfg *Config) map[string]any {
	return map[string]any{"n_prefixes": uint32(len(cfg.FilePrefixes))}
}

func (s *fileSensor) configure(coll *ebpf.Collection, cfg *Config) error {
	for i, p := range cfg.FilePrefixes {
		var v bpfobj.FilePrefix
		v.Len = uint32(len(p))
		for j := 0; j < len(p); j++ {
			v.S[j] = int8(p[j])
		}
		if err := coll.Maps["file_prefixes"].Put(uint32(i), v); err != nil {
			return fmt.Errorf("adding prefix %q to the file filter: %w", p, err)
		}
	}
	return nil
}
