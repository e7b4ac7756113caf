package selftest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/vmtest"
)

// TestLSMDeniesExec attaches a BPF LSM program to bprm_check_security
// (security/security.c; BPF LSM since 5.7) that returns -EPERM for one file,
// matched by device and inode, and checks that exec of that file fails with
// EPERM while exec of its twin succeeds, and that closing the link lifts it.
func TestLSMDeniesExec(t *testing.T) {
	vmtest.RequireRoot(t)
	dir := t.TempDir()
	denied, allowed := filepath.Join(dir, "denied"), filepath.Join(dir, "allowed")
	for _, p := range []string{denied, allowed} {
		if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Before the program: both run, so a later EPERM is the program's doing.
	mustRun(t, denied)

	l, err := attachExecDeny(denied)
	if err != nil {
		vmtest.Mechanism(t, "probe BPF LSM", "no")
	}
	vmtest.Require(t, "BPF LSM on bprm_check_security", err)
	defer l.Close()
	if err := lsmActive(); err != nil {
		vmtest.Require(t, "bpf in the active LSMs", err)
	}

	err = exec.Command(denied).Run()
	if !errors.Is(err, syscall.EPERM) {
		t.Fatalf("exec %s: got %v, want EPERM", denied, err)
	}
	t.Logf("exec of the denied file: %v", err)
	mustRun(t, allowed)

	if err := l.Close(); err != nil {
		t.Fatalf("closing LSM link: %v", err)
	}
	mustRun(t, denied)
	vmtest.Mechanism(t, "probe BPF LSM", "yes")
}

func mustRun(t *testing.T, path string) {
	t.Helper()
	if err := exec.Command(path).Run(); err != nil {
		t.Fatalf("exec %s: %v", path, err)
	}
}

// lsmActive checks securityfs for "bpf" in the active LSMs: without it an
// LSM program attaches but is never called. An unreadable list (securityfs
// not mounted on a host) is not an error: the exec checks will tell.
func lsmActive() error {
	b, err := os.ReadFile("/sys/kernel/security/lsm")
	if err != nil {
		if vmtest.InGuest() {
			return err
		}
		return nil
	}
	for _, m := range strings.Split(strings.TrimSpace(string(b)), ",") {
		if m == "bpf" {
			return nil
		}
	}
	return fmt.Errorf("active LSMs %q lack bpf: %w", b, ebpf.ErrNotSupported)
}

// attachExecDeny loads and attaches an LSM program denying exec of path:
//
//	int bprm_check_security(struct linux_binprm *bprm) {
//		struct inode *i = bprm->file->f_inode;
//		if (i->i_ino == INO && i->i_sb->s_dev == DEV) return -EPERM;
//		return 0;
//	}
//
// The struct offsets come from the running kernel's BTF, as CO-RE would.
func attachExecDeny(path string) (link.Link, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, err
	}
	// The kernel's dev_t is MKDEV(major, minor) = major<<20 | minor.
	kdev := int64(unix.Major(st.Dev))<<20 | int64(unix.Minor(st.Dev))

	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("loading kernel BTF: %w", err)
	}
	var off struct{ file, inode, ino, sb, dev uint32 }
	for _, f := range []struct {
		dst         *uint32
		typ, member string
	}{
		{&off.file, "linux_binprm", "file"},
		{&off.inode, "file", "f_inode"},
		{&off.ino, "inode", "i_ino"},
		{&off.sb, "inode", "i_sb"},
		{&off.dev, "super_block", "s_dev"},
	} {
		if *f.dst, err = memberOffset(kernel, f.typ, f.member); err != nil {
			return nil, err
		}
	}

	insns := asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, 0, asm.DWord), // bprm (first argument)
		asm.LoadMem(asm.R2, asm.R2, int16(off.file), asm.DWord),
		asm.LoadMem(asm.R3, asm.R2, int16(off.inode), asm.DWord),
		asm.LoadMem(asm.R4, asm.R3, int16(off.ino), asm.DWord),
		asm.LoadImm(asm.R5, int64(st.Ino), asm.DWord),
		asm.JNE.Reg(asm.R4, asm.R5, "allow"),
		asm.LoadMem(asm.R3, asm.R3, int16(off.sb), asm.DWord),
		asm.LoadMem(asm.R4, asm.R3, int16(off.dev), asm.Word),
		asm.LoadImm(asm.R5, kdev, asm.DWord),
		asm.JNE.Reg(asm.R4, asm.R5, "allow"),
		asm.Mov.Imm(asm.R0, -int32(unix.EPERM)),
		asm.Return(),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("allow"),
		asm.Return(),
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "deny_exec",
		Type:         ebpf.LSM,
		AttachType:   ebpf.AttachLSMMac,
		AttachTo:     "bprm_check_security",
		Instructions: insns,
		License:      "GPL",
	})
	if err != nil {
		return nil, fmt.Errorf("loading LSM program: %w", err)
	}
	defer prog.Close()
	l, err := link.AttachLSM(link.LSMOptions{Program: prog})
	if err != nil {
		return nil, fmt.Errorf("attaching LSM program: %w", err)
	}
	return l, nil
}

// memberOffset is the byte offset of member in struct typ, looking through
// anonymous structs and unions.
func memberOffset(spec *btf.Spec, typ, member string) (uint32, error) {
	var s *btf.Struct
	if err := spec.TypeByName(typ, &s); err != nil {
		return 0, fmt.Errorf("finding struct %s in kernel BTF: %w", typ, err)
	}
	if off, ok := findMember(s.Members, member); ok {
		return off / 8, nil
	}
	return 0, fmt.Errorf("struct %s has no member %s", typ, member)
}

func findMember(ms []btf.Member, name string) (uint32, bool) {
	for _, m := range ms {
		if m.Name == name {
			return uint32(m.Offset), true
		}
		if m.Name != "" {
			continue
		}
		var inner []btf.Member
		switch u := btf.UnderlyingType(m.Type).(type) {
		case *btf.Struct:
			inner = u.Members
		case *btf.Union:
			inner = u.Members
		}
		if off, ok := findMember(inner, name); ok {
			return uint32(m.Offset) + off, true
		}
	}
	return 0, false
}
