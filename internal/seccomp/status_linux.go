package seccomp

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
)

// procStatus is what the supervisor needs from /proc/TID/status.
type procStatus struct {
	Tgid, Ppid uint32
	Comm       string
	Uid, Gid   uint32 // real
	Umask      uint32
	Creds      creds
	HasCreds   bool
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

// readStatus parses /proc/TID/status (fs/proc/array.c:proc_pid_status).
func readStatus(tid uint32) (*procStatus, error) {
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(tid), 10) + "/status")
	if err != nil {
		return nil, fmt.Errorf("reading status of %d: %w", tid, err)
	}
	return parseStatus(b)
}

func parseStatus(b []byte) (*procStatus, error) {
	var s procStatus
	seen := 0
	for line := range bytes.Lines(b) {
		k, v, ok := bytes.Cut(bytes.TrimSuffix(line, []byte("\n")), []byte(":"))
		if !ok {
			continue
		}
		f := bytes.Fields(v)
		switch string(k) {
		case "Name":
			s.Comm = string(bytes.TrimSpace(v))
		case "Umask":
			u, _ := strconv.ParseUint(string(bytes.TrimSpace(v)), 8, 32)
			s.Umask = uint32(u)
		case "Tgid":
			s.Tgid = atou(f, 0)
		case "PPid":
			s.Ppid = atou(f, 0)
		case "Uid": // real, effective, saved, fs
			s.Uid, s.Creds.Fsuid = atou(f, 0), atou(f, 3)
			seen++
		case "Gid":
			s.Gid, s.Creds.Fsgid = atou(f, 0), atou(f, 3)
			seen++
		case "Groups":
			for i := range f {
				s.Creds.Groups = append(s.Creds.Groups, atou(f, i))
			}
			seen++
		case "CapEff":
			c, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 16, 64)
			if err != nil {
				return nil, fmt.Errorf("parsing CapEff %q: %w", v, err)
			}
			s.Creds.CapEff = c
			seen++
		}
	}
	s.HasCreds = seen == 4
	slices.Sort(s.Creds.Groups)
	return &s, nil
}

// atou returns field i of f as a number, 0 if absent or malformed.
func atou(f [][]byte, i int) uint32 {
	if i >= len(f) {
		return 0
	}
	v, _ := strconv.ParseUint(string(f[i]), 10, 32)
	return uint32(v)
}

// exePath returns the executable of task tid, "" when unknown.
func exePath(tid uint32) string {
	p, err := os.Readlink("/proc/" + strconv.FormatUint(uint64(tid), 10) + "/exe")
	if err != nil {
		return ""
	}
	return p
}
