package cgroup

import "testing"

func TestParseProcCgroup(t *testing.T) {
	cases := []struct {
		name, in, want string
		bad            bool
	}{
		{"v2 only", "0::/system.slice/a.service\n", "/system.slice/a.service", false},
		{"hybrid", "9:name=systemd:/\n4:memory:/x\n0::/user.slice\n", "/user.slice", false},
		{"root", "0::/\n", "/", false},
		{"v1 only", "4:memory:/x\n", "", true},
		{"malformed", "0::relative\n", "", true},
		{"empty", "", "", true},
	}
	for _, c := range cases {
		got, err := parseProcCgroup([]byte(c.in))
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("%s: parseProcCgroup = %q, %v; want %q, error %v", c.name, got, err, c.want, c.bad)
		}
	}
}
