package kernfs

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// mountsOfType returns the mount points of every file system of type
// fstype in /proc/self/mountinfo.
func mountsOfType(fstype string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("reading mountinfo: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if mp, ok := parseMountinfoLine(sc.Text(), fstype); ok {
			out = append(out, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading mountinfo: %w", err)
	}
	return out, nil
}

// parseMountinfoLine returns the mount point of one mountinfo line
// (proc(5): "id parent maj:min root mountpoint opts [optional...] - fstype
// source superopts") when its file system type is fstype.
func parseMountinfoLine(line, fstype string) (string, bool) {
	pre, post, ok := strings.Cut(line, " - ")
	if !ok {
		return "", false
	}
	f := strings.Fields(pre)
	p := strings.Fields(post)
	if len(f) < 5 || len(p) < 1 || p[0] != fstype {
		return "", false
	}
	return unescapeOctal(f[4]), true
}

// unescapeOctal undoes the \NNN escapes the kernel writes for spaces and
// other special characters in mount paths.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + c - '0'
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
