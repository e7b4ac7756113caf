package kernfs

import "testing"

func TestParseMountinfoLine(t *testing.T) {
	for _, tc := range []struct {
		desc, line, fstype, want string
		ok                       bool
	}{
		{"bpffs", "41 24 0:35 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:16 - bpf bpf rw,mode=700", "bpf", "/sys/fs/bpf", true},
		{"no optional fields", "41 24 0:35 / /sys/fs/bpf rw - bpf none rw", "bpf", "/sys/fs/bpf", true},
		{"escaped space", `90 41 0:50 / /run/my\040pins rw shared:1 - bpf bpf rw`, "bpf", "/run/my pins", true},
		{"other type", "25 1 0:22 / /proc rw,nosuid - proc proc rw", "bpf", "", false},
		{"garbage", "nonsense", "bpf", "", false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, ok := parseMountinfoLine(tc.line, tc.fstype)
			if got != tc.want || ok != tc.ok {
				t.Errorf("got (%q, %t), want (%q, %t)", got, ok, tc.want, tc.ok)
			}
		})
	}
}
