package proc

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHostStatusHostileName names a thread of this process as a hostile
// program might (prctl PR_SET_NAME) and reads it back from the kernel.
func TestHostStatusHostileName(t *testing.T) {
	for _, tc := range []struct{ desc, name string }{
		{"newline", "a\nUid:\t0 0 0 0"},
		{"backslashes", `\\n\x`},
		{"not UTF-8", "sh\xff\xfe\t "},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			want := tc.name
			if len(want) > 15 { // TASK_COMM_LEN - 1
				want = want[:15]
			}
			done := make(chan struct{})
			var got Status
			var comm string
			var err error
			go func() {
				// The thread is renamed and never unlocked, so the
				// runtime ends it with the goroutine.
				runtime.LockOSThread()
				defer close(done)
				tid := uint32(unix.Gettid())
				// The same as prctl(PR_SET_NAME) (fs/proc/base.c, comm_write).
				if err = os.WriteFile(Host.path(tid, "comm"), []byte(tc.name), 0); err != nil {
					return
				}
				got, err = Host.Status(tid)
				comm = Host.Comm(tid)
			}()
			<-done
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != want || comm != want {
				t.Errorf("Name %q, comm %q; want %q", got.Name, comm, want)
			}
			if got.Tgid != uint32(os.Getpid()) || got.Uid[0] != uint32(os.Getuid()) || !got.Has(FieldTgid|FieldUid|FieldPpid) {
				t.Errorf("status of the renamed thread = %+v", got)
			}
		})
	}
}

func TestHostExe(t *testing.T) {
	want, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if got := Host.Exe(uint32(os.Getpid())); got != want {
		t.Errorf("Exe(self) = %q, want %q", got, want)
	}
	if st, err := Host.Status(2); err == nil && st.Name == "kthreadd" {
		if got := Host.Exe(2); got != "" {
			t.Errorf("Exe(kthreadd) = %q, want none", got)
		}
	}
}

func TestHostKernelRelease(t *testing.T) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	if got, want := Host.KernelRelease(), unix.ByteSliceToString(u.Release[:]); got != want {
		t.Errorf("KernelRelease = %q, uname says %q", got, want)
	}
}
