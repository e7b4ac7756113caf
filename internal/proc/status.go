package proc

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Status is what vigil reads from /proc/PID/status (fs/proc/array.c,
// proc_pid_status). Fields says which of the lines were there: Umask is
// Linux 4.7+, Seccomp needs CONFIG_SECCOMP, Seccomp_filters is 5.9+.
type Status struct {
	Name           string // comm, with the kernel's escaping undone (see EscapeName)
	Umask          uint32
	Tgid           uint32 // thread-group id: the pid of a thread's process
	Ppid           uint32
	Uid            [4]uint32 // real, effective, saved, filesystem
	Gid            [4]uint32 // real, effective, saved, filesystem
	Groups         []uint32  // supplementary groups, sorted
	CapEff         uint64    // effective capabilities
	Seccomp        int       // 0 disabled, 1 strict, 2 filter
	SeccompFilters int       // filters attached to the task
	Fields         Field     // the lines the file had
}

// Field names one line of /proc/PID/status, as a bit of Status.Fields.
type Field uint16

// The lines of /proc/PID/status that ParseStatus reads.
const (
	FieldName Field = 1 << iota
	FieldUmask
	FieldTgid
	FieldPpid
	FieldUid
	FieldGid
	FieldGroups
	FieldCapEff
	FieldSeccomp
	FieldSeccompFilters
)

// Has reports whether the file had every line in f.
func (s *Status) Has(f Field) bool { return s.Fields&f == f }

// ParseStatus parses the text of /proc/PID/status. It reads the lines
// Status holds and ignores the others; a line it reads that does not
// parse is an error. It never fails for a missing line: callers check
// Has for the ones they need.
func ParseStatus(b []byte) (Status, error) {
	var s Status
	for line := range bytes.Lines(b) {
		k, v, ok := bytes.Cut(bytes.TrimSuffix(line, []byte{'\n'}), []byte{':'})
		if !ok {
			continue
		}
		f, err := s.parseLine(string(k), v)
		if err != nil {
			return s, fmt.Errorf("parsing status field %s %q: %w", k, v, err)
		}
		s.Fields |= f
	}
	slices.Sort(s.Groups)
	return s, nil
}

// parseLine parses the value v of the line named k into s and returns
// the Field it filled, 0 for a line Status does not hold.
func (s *Status) parseLine(k string, v []byte) (Field, error) {
	var err error
	switch k {
	case "Name":
		// proc_task_name writes "Name:\t" and the escaped comm, which
		// may itself start or end with blanks: only the tab is cut.
		s.Name = unescapeName(bytes.TrimPrefix(v, []byte{'\t'}))
		return FieldName, nil
	case "Umask":
		s.Umask, err = parseUint32(bytes.TrimSpace(v), 8)
		return FieldUmask, err
	case "Tgid":
		s.Tgid, err = parseUint32(bytes.TrimSpace(v), 10)
		return FieldTgid, err
	case "PPid":
		s.Ppid, err = parseUint32(bytes.TrimSpace(v), 10)
		return FieldPpid, err
	case "Uid":
		return FieldUid, parseIDs(&s.Uid, v)
	case "Gid":
		return FieldGid, parseIDs(&s.Gid, v)
	case "Groups":
		s.Groups = s.Groups[:0]
		for f := range bytes.FieldsSeq(v) {
			g, err := parseUint32(f, 10)
			if err != nil {
				return FieldGroups, err
			}
			s.Groups = append(s.Groups, g)
		}
		return FieldGroups, nil
	case "CapEff":
		s.CapEff, err = strconv.ParseUint(string(bytes.TrimSpace(v)), 16, 64)
		return FieldCapEff, err
	case "Seccomp":
		s.Seccomp, err = strconv.Atoi(string(bytes.TrimSpace(v)))
		return FieldSeccomp, err
	case "Seccomp_filters":
		s.SeccompFilters, err = strconv.Atoi(string(bytes.TrimSpace(v)))
		return FieldSeccompFilters, err
	}
	return 0, nil
}

// parseIDs parses the four ids of a Uid or Gid line: real, effective,
// saved, filesystem (task_state).
func parseIDs(ids *[4]uint32, v []byte) error {
	n := 0
	for f := range bytes.FieldsSeq(v) {
		if n == len(ids) {
			return fmt.Errorf("more than %d ids", len(ids))
		}
		id, err := parseUint32(f, 10)
		if err != nil {
			return err
		}
		ids[n] = id
		n++
	}
	if n != len(ids) {
		return fmt.Errorf("%d ids, want %d", n, len(ids))
	}
	return nil
}

func parseUint32(b []byte, base int) (uint32, error) {
	n, err := strconv.ParseUint(string(b), base, 32)
	return uint32(n), err
}

// unescapeName undoes the escaping of the comm in the Name line:
// proc_task_name writes it with seq_escape_str(..., ESCAPE_SPACE |
// ESCAPE_SPECIAL, "\n\\"), so a newline shows as `\n` and a backslash as
// `\\`; every other byte, valid UTF-8 or not, is written as it is. A
// backslash before anything else cannot come from the kernel and is kept.
func unescapeName(v []byte) string {
	i := bytes.IndexByte(v, '\\')
	if i < 0 {
		return string(v)
	}
	out := make([]byte, 0, len(v))
	for ; i >= 0; i = bytes.IndexByte(v, '\\') {
		out = append(out, v[:i]...)
		v = v[i:]
		switch {
		case len(v) >= 2 && v[1] == 'n':
			out, v = append(out, '\n'), v[2:]
		case len(v) >= 2 && v[1] == '\\':
			out, v = append(out, '\\'), v[2:]
		default:
			out, v = append(out, '\\'), v[1:]
		}
	}
	return string(append(out, v...))
}

// nameEscaper escapes as proc_task_name does.
var nameEscaper = strings.NewReplacer("\n", `\n`, `\`, `\\`)

// EscapeName returns comm as the Name line of /proc/PID/status shows it,
// newlines and backslashes escaped (the inverse of the unescaping that
// ParseStatus does), for text output that must stay one line per name.
func EscapeName(comm string) string {
	if !strings.ContainsAny(comm, "\n\\") {
		return comm
	}
	return nameEscaper.Replace(comm)
}
