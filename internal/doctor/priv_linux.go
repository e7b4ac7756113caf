package doctor

import (
	"golang.org/x/sys/unix"
)

// privileged reports whether this process has CAP_SYS_ADMIN in its
// effective set, which every probe here is satisfied with.
func privileged() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return unix.Geteuid() == 0
	}
	return data[0].Effective&(1<<unix.CAP_SYS_ADMIN) != 0
}
