package seccomp

import (
	"encoding/binary"
	"syscall"
	"testing"

	"golang.org/x/net/bpf"
)

// encodeData encodes a struct seccomp_data for x/net/bpf's VM. The VM
// loads words big-endian while the kernel loads them in host order, so
// each 32-bit word the filter reads is stored big-endian at the offset the
// kernel would read it from (as runc's patchbpf tests do). Encoding it
// little-endian here would test a filter the kernel never runs.
func encodeData(arch, nr uint32, args ...uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[offNr:], nr)
	binary.BigEndian.PutUint32(b[offArch:], arch)
	for i, v := range args {
		binary.BigEndian.PutUint32(b[offArgLo+8*i:], uint32(v))       // low word
		binary.BigEndian.PutUint32(b[offArgLo+8*i+4:], uint32(v>>32)) // high word
	}
	return b
}

func TestFilter(t *testing.T) {
	openat := sysnumX8664["openat"]
	getpid := sysnumX8664["getpid"]
	ptrace := sysnumX8664["ptrace"]
	p, err := NewPlan(&Rules{
		Paths:    []PathRule{{Name: "r", Path: "/etc/shadow", Action: ActionDeny, Errno: syscall.EACCES}},
		Syscalls: []SyscallRule{{Name: "s", Syscall: "ptrace", Nr: ptrace, Action: ActionDeny, Errno: syscall.EPERM}},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.Filter.Assemble()
	if err != nil {
		t.Fatal(err)
	}
	insns, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("disassembling the filter failed")
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatal(err)
	}
	const i386 = 0x40000003
	enosys := retErrno | uint32(syscall.ENOSYS)
	eperm := retErrno | uint32(syscall.EPERM)
	tests := []struct {
		desc string
		in   []byte
		want uint32
	}{
		{"an uncovered call runs", encodeData(auditArchX8664, getpid), retAllow},
		{"openat goes to the supervisor", encodeData(auditArchX8664, openat), retUserNotif},
		{"ptrace fails in the kernel", encodeData(auditArchX8664, ptrace), eperm},
		{"i386 open (int 0x80, nr 5) cannot bypass", encodeData(i386, 5), enosys},
		{"i386 call with openat's x86_64 number cannot bypass", encodeData(i386, openat), enosys},
		{"x32 openat cannot bypass", encodeData(auditArchX8664, x32SyscallBit|openat), enosys},
		{"x32 getpid fails too", encodeData(auditArchX8664, x32SyscallBit|getpid), enosys},
		{"an unknown arch fails", encodeData(0xc00000b7, openat), enosys},
		{"clone of a thread runs", encodeData(auditArchX8664, sysClone, 0x3d0f00), retAllow},
		{"clone with CLONE_NEWUSER fails", encodeData(auditArchX8664, sysClone, cloneNewUser|0x11), eperm},
		{"clone with the flag only in the high word runs", encodeData(auditArchX8664, sysClone, 1<<60), retAllow},
		{"unshare(CLONE_NEWUSER) fails", encodeData(auditArchX8664, sysUnshare, cloneNewUser), eperm},
		{"unshare(CLONE_NEWNS) goes to the supervisor", encodeData(auditArchX8664, sysUnshare, cloneNewNS), retUserNotif},
		{"clone with CLONE_NEWNS goes to the supervisor", encodeData(auditArchX8664, sysClone, cloneNewNS|0x11), retUserNotif},
		{"setuid goes to the supervisor", encodeData(auditArchX8664, sysnumX8664["setuid"]), retUserNotif},
		{"io_uring_setup fails", encodeData(auditArchX8664, sysnumX8664["io_uring_setup"]), enosys},
		{"open goes to the supervisor", encodeData(auditArchX8664, sysOpen), retUserNotif},
		{"creat goes to the supervisor", encodeData(auditArchX8664, sysCreat), retUserNotif},
		{"openat2 goes to the supervisor", encodeData(auditArchX8664, sysOpenat2), retUserNotif},
		{"clone3 gets ENOSYS", encodeData(auditArchX8664, sysClone3), enosys},
		{"the highest number runs", encodeData(auditArchX8664, 0x3fffffff), retAllow},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := vm.Run(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if uint32(got) != tt.want {
				t.Errorf("filter returned %#x, want %#x", uint32(got), tt.want)
			}
		})
	}
}

func TestFilterManySyscalls(t *testing.T) {
	// Every syscall named: the program grows past 255 instructions, which
	// only works because no jump spans more than one block.
	f := &Filter{Syscalls: map[uint32]Verdict{}}
	for _, nr := range sysnumX8664 {
		f.Syscalls[nr] = Verdict{Notify: true}
	}
	raw, err := f.Assemble()
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 700 || len(raw) > 4096 {
		t.Fatalf("program has %d instructions", len(raw))
	}
	insns, _ := bpf.Disassemble(raw)
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatal(err)
	}
	got, err := vm.Run(encodeData(auditArchX8664, sysnumX8664["getpid"]))
	if err != nil || uint32(got) != retUserNotif {
		t.Fatalf("getpid: %#x, %v", uint32(got), err)
	}
}

func TestPathRuleMatch(t *testing.T) {
	tests := []struct {
		desc       string
		rule       PathRule
		path       string
		ok         bool
		wantTarget string
	}{
		{"exact", PathRule{Path: "/etc/hosts", Target: "/tmp/h"}, "/etc/hosts", true, "/tmp/h"},
		{"exact is not a prefix", PathRule{Path: "/etc"}, "/etc/hosts", false, ""},
		{"prefix matches itself", PathRule{Path: "/etc", Prefix: true}, "/etc", true, ""},
		{"prefix matches below", PathRule{Path: "/etc", Prefix: true}, "/etc/ssh/x", true, ""},
		{"prefix is per component", PathRule{Path: "/etc", Prefix: true}, "/etcetera", false, ""},
		{"root prefix", PathRule{Path: "/", Prefix: true}, "/a", true, ""},
		{"prefix redirect maps the rest", PathRule{Path: "/data", Prefix: true, Target: "/tmp/d/"}, "/data/x/y", true, "/tmp/d/x/y"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			target, ok := tt.rule.Match(tt.path)
			if ok != tt.ok || target != tt.wantTarget {
				t.Errorf("Match(%q) = %q, %v; want %q, %v", tt.path, target, ok, tt.wantTarget, tt.ok)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	ptrace := sysnumX8664["ptrace"]
	deny := func(name string) *Rules {
		nr := sysnumX8664[name]
		return &Rules{Syscalls: []SyscallRule{{Name: "s", Syscall: name, Nr: nr, Action: ActionDeny, Errno: syscall.EPERM}}}
	}
	t.Run("a deny fails in the kernel", func(t *testing.T) {
		p, err := NewPlan(deny("ptrace"), false)
		if err != nil {
			t.Fatal(err)
		}
		if v := p.Filter.Syscalls[ptrace]; v.Notify || v.Errno != syscall.EPERM {
			t.Errorf("verdict %+v", v)
		}
		if p.Paths {
			t.Error("opens intercepted without path rules or trace")
		}
	})
	t.Run("a traced deny goes to the supervisor", func(t *testing.T) {
		p, _ := NewPlan(deny("ptrace"), true)
		if v := p.Filter.Syscalls[ptrace]; !v.Notify {
			t.Errorf("verdict %+v", v)
		}
	})
	t.Run("execve is denied in the supervisor", func(t *testing.T) {
		p, _ := NewPlan(deny("execve"), false)
		if v := p.Filter.Syscalls[sysExecve]; !v.Notify {
			t.Errorf("verdict %+v", v)
		}
	})
	t.Run("sendmsg cannot be denied", func(t *testing.T) {
		if _, err := NewPlan(deny("sendmsg"), false); err == nil {
			t.Error("no error")
		}
	})
	t.Run("sendmsg cannot be logged", func(t *testing.T) {
		rs := deny("sendmsg")
		rs.Syscalls[0].Action = ActionLog
		if _, err := NewPlan(rs, false); err == nil {
			t.Error("no error")
		}
	})
}
