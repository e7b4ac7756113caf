package proc

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Seed fills the table from every process under its procfs root. A
// process that ends while it is read is skipped.
func (t *Table) Seed() error {
	ents, err := os.ReadDir(t.root)
	if err != nil {
		return fmt.Errorf("reading %s: %w", t.root, err)
	}
	for _, d := range ents {
		pid, err := strconv.ParseUint(d.Name(), 10, 32)
		if err != nil {
			continue
		}
		e, err := ReadEntry(t.root, uint32(pid))
		if err != nil {
			continue
		}
		t.put(&e)
	}
	return nil
}

// ReadEntry reads what the table keeps of pid from procfs at root.
func ReadEntry(root string, pid uint32) (Entry, error) {
	dir := filepath.Join(root, strconv.FormatUint(uint64(pid), 10))
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return Entry{}, fmt.Errorf("reading status of %d: %w", pid, err)
	}
	e, err := ParseStatus(status)
	if err != nil {
		return Entry{}, fmt.Errorf("parsing status of %d: %w", pid, err)
	}
	e.Pid = pid
	// Kernel threads have no executable; readlink fails and Exe stays "".
	if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
		e.Exe = exe
	}
	return e, nil
}

// ParseStatus reads Name, PPid and Uid from the text of /proc/PID/status.
// Name is unescaped as the kernel escapes it (\n and \\).
func ParseStatus(b []byte) (Entry, error) {
	var e Entry
	var seen int
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		v = bytes.TrimLeft(v, " \t")
		switch string(k) {
		case "Name":
			e.Comm = unescapeName(string(v))
			seen |= 1
		case "PPid":
			n, err := strconv.ParseUint(string(v), 10, 32)
			if err != nil {
				return e, fmt.Errorf("bad PPid %q", v)
			}
			e.Ppid = uint32(n)
			seen |= 2
		case "Uid":
			f := strings.Fields(string(v))
			if len(f) == 0 {
				return e, fmt.Errorf("bad Uid %q", v)
			}
			n, err := strconv.ParseUint(f[0], 10, 32)
			if err != nil {
				return e, fmt.Errorf("bad Uid %q", v)
			}
			e.Uid = uint32(n)
			seen |= 4
		}
	}
	if seen != 7 {
		return e, fmt.Errorf("missing Name, PPid or Uid")
	}
	return e, nil
}

// unescapeName undoes the escaping of proc_task_name(): "\n" and "\\".
func unescapeName(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return strings.NewReplacer(`\n`, "\n", `\\`, `\`).Replace(s)
}

func alive(root string, pid uint32) bool {
	_, err := os.Stat(filepath.Join(root, strconv.FormatUint(uint64(pid), 10)))
	return err == nil
}
