package doctor

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ProbeFanotifyOpenPerm creates a FAN_CLASS_CONTENT fanotify group and
// marks a private temporary file for FAN_OPEN_PERM (needs
// CONFIG_FANOTIFY_ACCESS_PERMISSIONS), then closes the group; vigil's
// fanotify fallback for "deny open" uses it. Only that file is marked, so
// nobody else's opens wait on the probe.
func ProbeFanotifyOpenPerm() error {
	return probeFanotify(unix.FAN_OPEN_PERM, "FAN_OPEN_PERM")
}

// ProbeFanotifyExecPerm is ProbeFanotifyOpenPerm for FAN_OPEN_EXEC_PERM
// (Linux 5.0), the fallback for "deny exec".
func ProbeFanotifyExecPerm() error {
	return probeFanotify(unix.FAN_OPEN_EXEC_PERM, "FAN_OPEN_EXEC_PERM")
}

func probeFanotify(mask uint64, name string) error {
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_CONTENT|unix.FAN_CLOEXEC, unix.O_RDONLY|unix.O_LARGEFILE)
	if err != nil {
		return judge("initializing fanotify with FAN_CLASS_CONTENT", err)
	}
	defer unix.Close(fd)
	dir, err := os.MkdirTemp("", "vigil-doctor-")
	if err != nil {
		return fmt.Errorf("creating a file to mark: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "probe")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		return fmt.Errorf("creating a file to mark: %w", err)
	}
	if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD, mask, unix.AT_FDCWD, path); err != nil {
		return judge("marking a file for "+name, err)
	}
	return nil
}
