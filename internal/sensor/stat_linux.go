package sensor

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/policy"
)

// StatFile is a policy.StatFunc: it names path's inode as the kernel
// does, with the device in the kernel's encoding (MAJOR << 20 | MINOR,
// what super_block.s_dev holds), which differs from stat(2)'s.
func StatFile(path string) (policy.FileID, bool, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return policy.FileID{}, false, nil
		}
		return policy.FileID{}, false, fmt.Errorf("stat %s: %w", path, err)
	}
	dev := unix.Major(st.Dev)<<20 | unix.Minor(st.Dev)
	return policy.FileID{Dev: dev, Ino: st.Ino}, true, nil
}
