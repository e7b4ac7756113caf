package seccomp

import (
	"slices"

	"github.com/vigil-sec/vigil/internal/proc"
)

// procStatus is what the supervisor needs from /proc/TID/status: the
// task's status and the credentials that decide what it may open.
type procStatus struct {
	proc.Status
	Creds    creds
	HasCreds bool
}

// creds are the credentials that decide what a process may open.
type creds struct {
	Fsuid, Fsgid uint32
	Groups       []uint32
	CapEff       uint64
}

func (c *creds) equal(o *creds) bool {
	return c.Fsuid == o.Fsuid && c.Fsgid == o.Fsgid && c.CapEff == o.CapEff && slices.Equal(c.Groups, o.Groups)
}

// credFields are the lines of status that creds come from.
const credFields = proc.FieldUid | proc.FieldGid | proc.FieldGroups | proc.FieldCapEff

// readStatus reads /proc/TID/status (fs/proc/array.c:proc_pid_status).
func readStatus(tid uint32) (*procStatus, error) {
	st, err := proc.Host.Status(tid)
	if err != nil {
		return nil, err
	}
	return &procStatus{
		Status: st,
		// Uid and Gid list real, effective, saved and filesystem ids;
		// the kernel checks file access against the last.
		Creds:    creds{Fsuid: st.Uid[3], Fsgid: st.Gid[3], Groups: st.Groups, CapEff: st.CapEff},
		HasCreds: st.Has(credFields),
	}, nil
}
