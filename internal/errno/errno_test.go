package errno

import (
	"syscall"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		desc, in string
		want     syscall.Errno
		err      string
	}{
		{"name", "EACCES", syscall.EACCES, ""},
		{"lower-case name", "enosys", syscall.ENOSYS, ""},
		{"number", "13", syscall.EACCES, ""},
		{"largest number", "4095", 4095, ""},
		{"alias known by its other name", "EWOULDBLOCK", 0, `unknown errno "EWOULDBLOCK" (want a name like EACCES or a number)`},
		{"zero", "0", 0, "errno 0 out of range 1-4095"},
		{"too large", "99999", 0, "errno 99999 out of range 1-4095"},
		{"unknown name", "EWHAT", 0, `unknown errno "EWHAT" (want a name like EACCES or a number)`},
		{"empty", "", 0, `unknown errno "" (want a name like EACCES or a number)`},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("Parse(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestByName(t *testing.T) {
	for _, tt := range []struct {
		desc, in string
		want     syscall.Errno
		ok       bool
	}{
		{"upper case", "EPERM", syscall.EPERM, true},
		{"EAGAIN is 11", "EAGAIN", syscall.EAGAIN, true},
		{"case matters", "eperm", 0, false},
		{"not an errno", "EFOO", 0, false},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			got, ok := ByName(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ByName(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestNameRoundTrip(t *testing.T) {
	for e := syscall.Errno(1); e < 256; e++ {
		n := Name(e)
		if n == "" {
			continue
		}
		if got, ok := ByName(n); !ok || Name(got) != n {
			t.Errorf("ByName(Name(%d) = %q) = %d, %v", e, n, got, ok)
		}
	}
	if got := Names([]syscall.Errno{syscall.EPERM, syscall.EIO}); got != "EPERM, EIO" {
		t.Errorf("Names = %q", got)
	}
}
